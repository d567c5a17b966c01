"""Online, consistent backups and their restore.

Three formats, told apart by their first bytes on restore:

- ``sqlite``: SQLite's own online backup API, page by page under a read lock, so an
  ingest or an edit running meanwhile is either wholly in the copy or not at all.
- ``pgdump``: ``pg_dump --format=custom`` of the database's schema (one snapshot);
  restored with ``pg_restore --clean --single-transaction``: all or nothing.
- ``jsonl``: opis's one lossless archive format (the file ``opis export --format
  jsonl`` writes, and ``opis import`` reads) with the accounts, the server's settings
  and the embeddings added, read in one repeatable-read snapshot and restored in one
  transaction. Portable between SQLite and PostgreSQL, and the fallback when
  ``pg_dump`` is not installed. Backups made before it (``opis-backup``, every table
  row for row) are still restored.

The search index is never backed up: it is derived data, rebuilt from the restored
records, so it cannot disagree with them. Attachments (scans, PDFs) are files, copied
beside the backup into ``<backup>.files/`` in the store's own layout (``ab/abcd…`` by
SHA-256): a file already there is not copied again, so a nightly backup to the same
path only adds what is new. A restore checks every file against its hash before it
changes anything.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from opis.services.attachments import AttachmentRefused, AttachmentStore
from opis.store import archive_lines as lines
from opis.store import archive_load, dumps
from opis.store import records as record_store
from opis.store.archive_lines import BulkError, BulkReport
from opis.store.db import Database
from opis.store.dumps import OLD_JSONL_MAGIC, PGDUMP_MAGIC, SQLITE_MAGIC, BackupError

FORMATS = ("sqlite", "pgdump", "jsonl")


@dataclass(frozen=True)
class BackupResult:
    """What a backup or restore did: its format, the attachment files it holds or put
    back, and the hashes records name that it could not find (none, normally)."""

    format: str
    files: int = 0
    missing: list[str] = field(default_factory=list)


def files_folder(path: Path) -> Path:
    """Where a backup's attachment files go: ``<backup>.files/``."""
    return Path(str(path) + ".files")


def default_format(db: Database) -> str:
    if db.dialect == "sqlite":
        return "sqlite"
    return "pgdump" if shutil.which("pg_dump") else "jsonl"


def detect_format(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(512)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "pgdump"
    first = head.split(b"\n", 1)[0]
    if head.startswith(b"{") and (OLD_JSONL_MAGIC.encode() in first
                                  or lines.MAGIC.encode() in first):
        return "jsonl"
    raise BackupError(f"{path} is not an opis backup (not SQLite, pg_dump or opis JSONL)")


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def backup(db: Database, path: Path, fmt: str | None = None, *,
           attachments: AttachmentStore | None = None, files: bool = True) -> BackupResult:
    """Write a consistent copy of the database to ``path`` (replaced only when complete)
    and, unless ``files`` is false, the attachment store's files to ``<path>.files/``.

    The files are copied after the database snapshot and before the snapshot is
    renamed into place: the store only ever gains files, so every file the snapshot's
    records name is already there, and a backup file never exists without them."""
    fmt = fmt or default_format(db)
    if fmt not in FORMATS:
        raise BackupError(f"unknown backup format {fmt!r}; use one of: {', '.join(FORMATS)}")
    store = attachments or AttachmentStore.for_database(db.sqlite_path)
    tmp = _atomic_target(path)
    copied = 0
    try:
        if fmt == "sqlite":
            dumps.sqlite_backup(db, tmp)
        elif fmt == "pgdump":
            dumps.pg_dump(db, tmp)
        else:
            with tmp.open("w", encoding="utf-8") as f, lines.snapshot(db) as session:
                lines.write(session, f, BulkReport("jsonl", path), None, None,
                            include_accounts=True, server_state=True)
        if files:
            copied = _copy_files(store, files_folder(path))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return BackupResult(fmt, copied, _missing(db, store) if files else [])


def restore(db: Database, path: Path, *,
            attachments: AttachmentStore | None = None) -> BackupResult:
    """Replace the database's contents with the backup at ``path`` and put the files of
    ``<path>.files/`` back into the attachment store, each checked against its hash
    first: a damaged file stops the restore before the database is touched. The
    caller rebuilds the search index afterwards."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    fmt = detect_format(path)
    store = attachments or AttachmentStore.for_database(db.sqlite_path)
    restored = _restore_files(files_folder(path), store)
    if fmt == "sqlite":
        dumps.sqlite_restore(db, path)
    elif fmt == "pgdump":
        dumps.pg_restore(db, path)
    else:
        db.migrate()
        _restore_jsonl(db, path)
    db.migrate()  # a backup from an older opis is brought up to date
    return BackupResult(fmt, restored, _missing(db, store))


def _restore_jsonl(db: Database, path: Path) -> None:
    """Empty the database and load the file, in one transaction: a bad line leaves the
    archive as it was. An ``opis-backup`` file from an older opis goes row for row."""
    with path.open("rb") as f:
        first = f.readline(4096)
    if OLD_JSONL_MAGIC.encode() in first:
        dumps.jsonl_restore(db, path)
        return
    try:
        with db.transaction() as session, path.open(encoding="utf-8") as f:
            archive_load.clear(session)
            archive_load.load(session, f, path, False, BulkReport("jsonl", path))
    except BulkError as e:
        raise BackupError(f"{e}; nothing was restored") from None
    except UnicodeDecodeError as e:
        raise BackupError(f"{path} is not UTF-8 text ({e.reason}); nothing was restored") \
            from None


# -- attachment files --------------------------------------------------------------------------

def _copy_files(store: AttachmentStore, folder: Path) -> int:
    """Copy each stored file not yet in ``folder`` (same layout); return how many the
    folder holds. Written to ``.part`` and renamed: never half a file under a hash."""
    n = 0
    for digest in store.hashes():
        source = store.root / digest[:2] / digest
        target = folder / digest[:2] / digest
        if not (target.is_file() and target.stat().st_size == source.stat().st_size):
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            shutil.copyfile(source, partial)
            os.replace(partial, target)
        n += 1
    return n


def _restore_files(folder: Path, store: AttachmentStore) -> int:
    """Put a backup's files into the store, each checked against its name."""
    if not folder.is_dir():
        return 0  # a backup made without attachments, or by an older opis
    backed_up = AttachmentStore(folder)
    n = 0
    for digest in backed_up.hashes():
        try:
            store.add(folder / digest[:2] / digest, digest)
        except (AttachmentRefused, OSError) as e:
            raise BackupError(
                f"{folder / digest[:2] / digest} is damaged ({e}); nothing was restored. "
                "Restore it from another copy, or delete it to restore without it") from None
        n += 1
    return n


def _missing(db: Database, store: AttachmentStore) -> list[str]:
    """Hashes the records name whose files the store does not have."""
    with db.primary_sessions() as session:
        named = record_store.attachment_hashes(session)
    return sorted(h for h in named if store.path_for(h) is None)
