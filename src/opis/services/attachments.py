"""Original files kept beside the archive, content-addressed: a scan ingested twice,
or by two records, is stored once.

Files live under ``<database file>.files/`` for SQLite, or ``$OPIS_ATTACHMENTS`` (else
the user data folder) for PostgreSQL, as ``ab/abcdef...`` by SHA-256. A record's
``extra["attachments"]`` entries keep role, media type, size, hash and the original
file name, never a server path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from opis.config import data_dir
from opis.model import Record

HASH_LENGTH = 64


class AttachmentStore:
    def __init__(self, root: Path):
        self.root = root

    @classmethod
    def for_database(cls, sqlite_path: Path | None) -> AttachmentStore:
        if sqlite_path is not None:
            return cls(Path(str(sqlite_path) + ".files"))
        return cls(Path(os.environ.get("OPIS_ATTACHMENTS") or data_dir() / "attachments"))

    def path_for(self, sha256: str) -> Path | None:
        """Where the file with this hash is, if it is stored (the hash is checked for
        shape first: it is never used as a path unchecked)."""
        if len(sha256) != HASH_LENGTH or any(c not in "0123456789abcdef" for c in sha256):
            return None
        path = self.root / sha256[:2] / sha256
        return path if path.is_file() else None

    def keep(self, record: Record) -> None:
        """Copy each attachment's file into the store and replace its path by its hash."""
        kept = []
        for entry in record.extra.get("attachments") or []:
            entry = dict(entry)
            source = entry.pop("path", None)
            if source and Path(source).is_file():
                entry.setdefault("name", Path(source).name)
                entry["sha256"], entry["bytes"] = self._store(Path(source),
                                                              entry.get("sha256"))
            kept.append(entry)
        if kept:
            record.extra["attachments"] = kept

    def _store(self, source: Path, known: str | None) -> tuple[str, int]:
        digest = known or _sha256(source)
        target = self.root / digest[:2] / digest
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            shutil.copyfile(source, partial)
            os.replace(partial, target)  # never a half-written file under the hash
        return digest, target.stat().st_size


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
