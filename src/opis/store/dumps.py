"""The database side of backups: SQLite's online backup API, ``pg_dump``/``pg_restore``
of the database's schema, and opis's portable JSON Lines dump of every table, restored
in one transaction. ``services/backup.py`` chooses among them and carries the
attachment files beside them."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, LargeBinary, Table, delete, insert, select, text
from sqlalchemy.engine import Connection, make_url

import opis.store.account_tables  # noqa: F401 - registers the account tables on Base
import opis.store.passage_tables  # noqa: F401 - and the embedded passages
from opis.store.db import Database
from opis.store.tables import Base

JSONL_MAGIC = "opis-backup"
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


# -- JSONL, for either database ----------------------------------------------------------------

def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in row.items():
        if name not in table.c:
            continue  # a column a later opis dropped
        kind = table.c[name].type
        if value is not None and isinstance(kind, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(kind, Date):
            value = date.fromisoformat(value)
        elif value is not None and isinstance(kind, LargeBinary):
            value = base64.b64decode(value)
        out[name] = value
    return out


def _schema_revision(conn: Connection) -> str | None:
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no alembic table: an empty database
        return None


def jsonl_dump(db: Database, target: Path) -> None:
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        else:
            conn.exec_driver_sql("BEGIN")  # one read snapshot for every table
        header = {"format": JSONL_MAGIC, "version": 1, "schema": _schema_revision(conn),
                  "created": datetime.now().astimezone().isoformat(),
                  "tables": [t.name for t in _tables()]}
        with target.open("w", encoding="utf-8") as f:
            f.write(json.dumps(header) + "\n")
            for table in _tables():
                order = list(table.primary_key.columns) or list(table.c)
                for row in conn.execute(select(table).order_by(*order)).mappings():
                    f.write(json.dumps({"t": table.name,
                                        "r": {k: _encode(v) for k, v in row.items()}},
                                       ensure_ascii=False) + "\n")
        conn.rollback()


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
    if not header or header.get("format") != JSONL_MAGIC:
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
            batch.setdefault(name, []).append(_decode(tables[name], item["r"]))
            if len(batch[name]) >= 500:
                flush(name)
        for name in list(batch):
            flush(name)
        if db.dialect == "postgresql":
            _reset_sequences(conn)


def _reset_sequences(conn: Connection) -> None:
    """Rows came with their ids: move each id sequence past the largest one restored."""
    quote = conn.dialect.identifier_preparer.quote
    for table in _tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1:
            continue
        seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                           {"t": table.name, "c": pk[0].name}).scalar()
        if seq:
            conn.execute(text(f"SELECT setval(:s, coalesce((SELECT max({quote(pk[0].name)}) "
                              f"FROM {quote(table.name)}), 0) + 1, false)"), {"s": seq})
