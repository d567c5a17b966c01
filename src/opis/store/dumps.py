"""The database side of backups: SQLite's online backup API, ``pg_dump``/``pg_restore``
of the database's schema, and the restore of JSON Lines backups written before opis had
one lossless archive format (``opis-backup``: every table row for row); new JSON Lines
backups are that format (``store/archive_lines.py``). ``services/backup.py`` chooses
among them and carries the attachment files beside them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, insert, text
from sqlalchemy.engine import make_url

import opis.store.account_tables  # noqa: F401 - registers the account tables on Base
import opis.store.held  # noqa: F401 - and the held updates
import opis.store.passage_tables  # noqa: F401 - and the embedded passages
from opis.store.db import Database
from opis.store.row_codec import decode_row, reset_sequences
from opis.store.tables import Base

OLD_JSONL_MAGIC = "opis-backup"  # row-for-row dumps of opis before the one archive format
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that could not be made; the message says why."""


# -- SQLite ------------------------------------------------------------------------------------

def sqlite_backup(db: Database, target: Path) -> None:
    if db.sqlite_path is None:
        raise BackupError("the sqlite format needs an SQLite database file")
    source = sqlite3.connect(str(db.sqlite_path), timeout=30)
    dest = sqlite3.connect(str(target))
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()


def sqlite_restore(db: Database, path: Path) -> None:
    if db.sqlite_path is None:
        raise BackupError("an SQLite backup restores into an SQLite database; "
                          "use a jsonl backup to move between SQLite and PostgreSQL")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check = source.execute("PRAGMA integrity_check").fetchone()
        if not check or check[0] != "ok":
            raise BackupError(f"{path} is damaged: {check[0] if check else 'no answer'}")
        tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "records" not in tables:
            raise BackupError(f"{path} is an SQLite file but not an opis database")
        db.dispose()
        db.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        dest = sqlite3.connect(str(db.sqlite_path), timeout=30)
        try:
            source.backup(dest)  # page by page under the destination's write lock
        finally:
            dest.close()
    finally:
        source.close()


# -- PostgreSQL with pg_dump -------------------------------------------------------------------

def _libpq(db: Database) -> str:
    url = make_url(db.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _schema(db: Database) -> str:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT current_schema()")).scalar_one()


def _run(cmd: list[str]) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError(f"{cmd[0]} is not installed; use --format jsonl") from None
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {done.stderr.strip()[:2000]}")


def pg_dump(db: Database, target: Path) -> None:
    if db.dialect != "postgresql":
        raise BackupError("the pgdump format needs a PostgreSQL database")
    _run(["pg_dump", "--format=custom", "--no-owner", f"--schema={_schema(db)}",
          f"--file={target}", _libpq(db)])


def pg_restore(db: Database, path: Path) -> None:
    if db.dialect != "postgresql":
        raise BackupError("a pg_dump backup restores into PostgreSQL; "
                          "use a jsonl backup to move between SQLite and PostgreSQL")
    listing = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True,
                             text=True, timeout=600)
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read {path}: {listing.stderr.strip()[:2000]}")
    # Restore the schema's contents, not the schema itself: dropping the schema would
    # fail (or take other objects with it) and the schema is already there.
    keep = [line for line in listing.stdout.splitlines() if " SCHEMA - " not in line]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
        f.write("\n".join(keep) + "\n")
        list_file = f.name
    try:
        db.dispose()
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--use-list={list_file}", f"--dbname={_libpq(db)}", str(path)])
    finally:
        os.unlink(list_file)


# -- JSONL backups of opis before the one archive format (restore only) --------------

def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise BackupError(f"{path}, line {n}: not JSON ({e.msg})") from None


def jsonl_restore(db: Database, path: Path) -> None:
    rows = _read_jsonl(path)
    header = next(rows, None)
    if not header or header.get("format") != OLD_JSONL_MAGIC:
        raise BackupError(f"{path} is not an opis JSONL backup")
    tables = {t.name: t for t in _tables()}
    batch: dict[str, list[dict[str, Any]]] = {}
    with db.engine.begin() as conn:  # all or nothing
        for table in reversed(_tables()):
            conn.execute(delete(table))

        def flush(name: str) -> None:
            if batch.get(name):
                conn.execute(insert(tables[name]), batch[name])
                batch[name] = []

        current = None
        for item in rows:
            name = item.get("t")
            if name not in tables:
                continue
            if name != current and current is not None:
                flush(current)
            current = name
            batch.setdefault(name, []).append(decode_row(tables[name], item["r"]))
            if len(batch[name]) >= 500:
                flush(name)
        for name in list(batch):
            flush(name)
        if db.dialect == "postgresql":
            reset_sequences(conn)
