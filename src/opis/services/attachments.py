"""Original files kept beside the archive, content-addressed: a scan ingested twice,
or by two records, is stored once.

Files live under ``<database file>.files/`` for SQLite, or ``$OPIS_ATTACHMENTS`` (else
the user data folder) for PostgreSQL, as ``ab/abcdef...`` by SHA-256. A record's
``extra["attachments"]`` entries keep role, media type, size, hash and the original
file name, never a server path.

What may be copied in is decided here, never by the record (docs/security.md): a
path an entry names must resolve, symlinks and ``..`` followed, to a file the curator
named on the command line or to a file inside a folder named there (or in
``$OPIS_ATTACHMENT_ROOTS``); the archive's own database, index and store, hidden
files and SQLite databases are refused wherever they are. What is served is decided
here too: the media type comes from the file's bytes, from a short allow-list.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import filetype

from opis.config import data_dir, settings
from opis.model import Record

HASH_LENGTH = 64
ROOTS_ENV = "OPIS_ATTACHMENT_ROOTS"
# Images a browser shows in an <img> (the scan view): served inline.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Recognised from their bytes, but served as downloads: browsers render PDFs in a
# viewer with its own scripting, and mostly cannot show TIFF.
DOWNLOAD_TYPES = frozenset({"application/pdf", "image/tiff"})
TEXT_TYPE = "text/plain; charset=utf-8"
OTHER_TYPE = "application/octet-stream"
SNIFF_BYTES = 8192
# Files never worth attaching, whatever folder they sit in: an archive or its backup.
REFUSED_MAGIC = ((b"SQLite format 3\x00", "an SQLite database"), (b"PGDMP", "a pg_dump file"))


class AttachmentRefused(Exception):
    """A path an attachment entry names that ingest will not copy; the message says why."""


def is_hash(value: object) -> bool:
    return (isinstance(value, str) and len(value) == HASH_LENGTH
            and all(c in "0123456789abcdef" for c in value))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


@dataclass(frozen=True)
class AllowedFiles:
    """The files one ingest may attach: ``files`` the curator named one by one (a PDF
    ingested itself, ``--original`` and ``--translation``) and anything inside the
    ``roots`` (folders named on the command line, ``--attachment-root``,
    ``$OPIS_ATTACHMENT_ROOTS``); never anything inside ``refused`` (the archive's
    database, index and store, the user data folder). All paths are resolved."""

    files: frozenset[Path] = frozenset()
    roots: tuple[Path, ...] = ()
    refused: tuple[Path, ...] = ()

    @classmethod
    def named(cls, paths: Iterable[Path], roots: Iterable[Path] = (),
              refused: Iterable[Path] = ()) -> AllowedFiles:
        """What naming ``paths`` on the command line allows: each file itself, each
        folder with everything below it; plus ``roots`` and ``$OPIS_ATTACHMENT_ROOTS``."""
        files: set[Path] = set()
        folders = [Path(r).resolve() for r in roots]
        folders += [r.resolve() for r in settings().attachment_roots]
        for p in paths:
            resolved = Path(p).resolve()
            if resolved.is_dir():
                folders.append(resolved)
            else:
                files.add(resolved)
        return cls(frozenset(files), tuple(folders), tuple(Path(r).resolve() for r in refused))

    def is_own(self, path: Path) -> bool:
        """``path`` is part of the archive itself (a folder ingest skips it)."""
        resolved = path.resolve()
        return any(_inside(resolved, own) for own in self.refused)

    def check(self, candidate: Path) -> Path:
        """The resolved file ``candidate`` names, or AttachmentRefused saying why not."""
        try:
            resolved = candidate.resolve(strict=True)
        except FileNotFoundError:
            raise AttachmentRefused("no such file") from None
        except (OSError, RuntimeError) as e:  # a symlink loop, a name too long
            raise AttachmentRefused(f"cannot be resolved ({e})") from None
        if any(_inside(resolved, own) for own in self.refused):
            raise AttachmentRefused("it is part of the archive itself "
                                    "(its database, index or attachment store)")
        if resolved not in self.files:
            root = next((r for r in self.roots if _inside(resolved, r)), None)
            if root is None:
                raise AttachmentRefused(
                    "outside the files and folders named on the command line (ingest the "
                    "folder that holds it, or allow a folder with --attachment-root or "
                    f"${ROOTS_ENV})")
            if any(part.startswith(".") for part in resolved.relative_to(root).parts):
                raise AttachmentRefused("a hidden file or folder")
        if not resolved.is_file():
            raise AttachmentRefused("not a regular file")
        return resolved


NOTHING = AllowedFiles()


def served_type(head: bytes) -> str:
    """The media type opis sends for a file starting with ``head``: an allow-listed
    type the bytes confirm, UTF-8 text as text/plain (HTML, SVG, JSON and XML too,
    so none of them is ever rendered), anything else application/octet-stream."""
    kind = filetype.guess(head) if head else None
    mime = kind.mime if kind else None
    if mime == "image/apng":  # an animated PNG is a PNG to any browser
        mime = "image/png"
    if mime in INLINE_TYPES or mime in DOWNLOAD_TYPES:
        return mime
    if mime is None and _is_text(head):
        return TEXT_TYPE
    return OTHER_TYPE


def _is_text(head: bytes) -> bool:
    """UTF-8 without NUL or control characters (but tabs, line and form feeds)."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return not any(c < " " and c not in "\t\n\r\f" for c in text)


def _refused_kind(head: bytes) -> str | None:
    return next((what for magic, what in REFUSED_MAGIC if head.startswith(magic)), None)


@dataclass(frozen=True)
class Served:
    """How one stored file goes out: its path, its type, and whether a browser may
    show it in the page (confirmed images only) or must download it."""

    path: Path
    media_type: str
    inline: bool
    filename: str


class AttachmentStore:
    def __init__(self, root: Path):
        self.root = root

    @classmethod
    def for_database(cls, sqlite_path: Path | None) -> AttachmentStore:
        if sqlite_path is not None:
            return cls(Path(str(sqlite_path) + ".files"))
        return cls(settings().attachments or data_dir() / "attachments")

    def path_for(self, sha256: str) -> Path | None:
        """Where the file with this hash is, if it is stored (the hash is checked for
        shape first: it is never used as a path unchecked)."""
        if not is_hash(sha256):
            return None
        path = self.root / sha256[:2] / sha256
        return path if path.is_file() else None

    def hashes(self) -> Iterable[str]:
        """Every file in the store, by hash (half-written ``.part`` files excluded)."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2:
                for f in sorted(folder.iterdir()):
                    if is_hash(f.name) and f.name.startswith(folder.name) and f.is_file():
                        yield f.name

    def served(self, sha256: str, name: object = None) -> Served | None:
        """How the stored file with this hash is sent, its type read from its bytes.
        A database file is never sent, even one an older opis let a record attach."""
        path = self.path_for(sha256)
        if path is None:
            return None
        with path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
        if _refused_kind(head):
            return None
        media_type = served_type(head)
        return Served(path, media_type, media_type in INLINE_TYPES,
                      _download_name(name, sha256, media_type))

    def keep(self, record: Record, allowed: AllowedFiles = NOTHING, base: Path | None = None,
             *, dry_run: bool = False) -> list[str]:
        """Copy the files a record's attachment entries name into the store, each
        replaced by its hash, size and the type read from its bytes.

        An entry's ``path`` (relative ones from ``base``, the folder of the file the
        record came from) is copied only when ``allowed`` allows it; an entry with no
        path is kept only when its ``sha256`` names a file already stored (a record
        exported and ingested again). Anything else is dropped, and named (field, path,
        why) in the list returned: the record is stored without it. A dry run checks
        the same, copying nothing."""
        refused: list[str] = []
        raw = record.extra.get("attachments")
        if raw is None:
            return refused
        entries: list[dict[str, Any]] = []
        for i, entry in enumerate(_entries(raw)):
            where = f"attachments[{i}]"
            if not isinstance(entry, dict):
                refused.append(f"{where}: not an attachment (a mapping with a path); "
                               "stored without it")
                continue
            entry = dict(entry)
            source = entry.pop("path", None)
            name = entry.get("name")
            try:
                if source is not None:
                    where += ".path"
                    entry.update(self._take(source, allowed, base, dry_run))
                else:
                    where += ".sha256"
                    served = self.served(str(entry.get("sha256") or ""))
                    if served is None:
                        raise AttachmentRefused("names no stored file, and the entry has "
                                                "no path")
                    entry["media_type"] = served.media_type
            except AttachmentRefused as e:
                shown = f" {str(source)[:200]!r}" if source is not None else ""
                refused.append(f"{where}{shown}: {e}; stored without it")
                continue
            if isinstance(name, str) and name:
                entry["name"] = name  # the record's own label for the file wins
            entries.append(entry)
        if entries:
            record.extra["attachments"] = entries
        else:
            del record.extra["attachments"]
        return refused

    def _take(self, source: object, allowed: AllowedFiles, base: Path | None,
              dry_run: bool) -> dict[str, Any]:
        if not isinstance(source, str) or not source.strip() or "\x00" in source:
            raise AttachmentRefused("not a file path")
        candidate = Path(source)
        if not candidate.is_absolute():
            candidate = (base or Path.cwd()) / candidate
        resolved = allowed.check(candidate)
        digest, size, media_type = self._store(resolved, dry_run)
        return {"name": Path(source).name or resolved.name, "sha256": digest,
                "bytes": size, "media_type": media_type}

    def _store(self, source: Path, dry_run: bool) -> tuple[str, int, str]:
        """Hash the file through one descriptor (opened without following a symlink
        swapped in since the check), and copy it in under its hash unless stored."""
        try:
            fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as e:
            raise AttachmentRefused(f"cannot be opened ({e.strerror})") from None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise AttachmentRefused("not a regular file")
            head = f.read(SNIFF_BYTES)
            what = _refused_kind(head)
            if what:
                raise AttachmentRefused(f"{what} is never attached")
            f.seek(0)
            digest, size = _sha256(f)
            target = self.root / digest[:2] / digest
            if not dry_run and not target.exists():
                f.seek(0)
                self._write(f, target, digest)
        return digest, size, served_type(head)

    @staticmethod
    def _write(f: BinaryIO, target: Path, digest: str) -> None:
        """Copy to a ``.part`` file, check the copy still has the hash, rename it in:
        never a half-written file, nor one whose bytes differ from its name."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        with partial.open("wb") as out:
            shutil.copyfileobj(f, out, 1 << 20)
        with partial.open("rb") as check:
            if _sha256(check)[0] != digest:
                partial.unlink()
                raise AttachmentRefused("its bytes do not have the hash expected (the file "
                                        "changed while it was copied, or is damaged)")
        os.replace(partial, target)

    def add(self, source: Path, digest: str) -> str:
        """Copy a file in under ``digest``, its hash as a backup names it, checking the
        copy has it (AttachmentRefused when not, and nothing is stored); a file the
        store has is not copied again."""
        if self.path_for(digest) is None:
            with source.open("rb") as f:
                self._write(f, self.root / digest[:2] / digest, digest)
        return digest


def _entries(raw: object) -> list[object]:
    """Attachment entries in any shape a reader may give: a list of mappings, or of
    paths (a CSV cell "a.png; b.png" or a front-matter list of names)."""
    if isinstance(raw, str) and raw.lstrip().startswith(("[", "{")):
        with contextlib.suppress(json.JSONDecodeError):
            raw = json.loads(raw)  # a CSV cell holding JSON
    if isinstance(raw, str):
        raw = [p.strip() for p in raw.split(";") if p.strip()]
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        return [raw]
    return [{"path": e} if isinstance(e, str) else e for e in raw]


def _download_name(name: object, sha256: str, media_type: str) -> str:
    """A file name for Content-Disposition: the entry's own base name without control
    characters, else the hash's first digits."""
    text = Path(name).name if isinstance(name, str) else ""
    text = "".join(c for c in text if c >= " " and c != "\x7f")[:120].strip()
    if text:
        return text
    suffix = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
              "image/webp": ".webp", "image/tiff": ".tif", "application/pdf": ".pdf",
              TEXT_TYPE: ".txt"}.get(media_type, "")
    return sha256[:12] + suffix


def _sha256(f: BinaryIO) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size
