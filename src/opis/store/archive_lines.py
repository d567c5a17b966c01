"""opis's lossless archive format on the database side: one JSON object per line (records
with their ids, status, timestamps, versions and content hashes, their marks and
mentions, the authority file with every spelling, the glossary, collections in their
order, revisions, the audit log, accounts when asked for, and in a backup the server's
settings and embeddings), written from one read snapshot and loaded in the caller's
transaction with every line checked first.
``services/bulk.py`` names the files and the formats made for people."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select, text
from sqlalchemy.orm import Session, selectinload

import opis.store.held  # noqa: F401 - registers the held updates on Base
import opis.store.passage_tables  # noqa: F401 - registers the passage tables on Base
from opis.model import Record
from opis.store.account_tables import AuditRow, TokenRow, UserRow
from opis.store.db import Database
from opis.store.records import to_record
from opis.store.row_codec import encode_row
from opis.store.tables import (
    Base,
    CollectionItemRow,
    CollectionRow,
    EntityRow,
    GlossaryRow,
    MentionRow,
    RecordRow,
    RevisionRow,
)

MAGIC = "opis-export"
# What a backup carries besides the archive and its accounts, row for row: the session
# signing key and other settings, the embeddings (costly to compute again) and the
# updates an ingest held for a curator. Signed-in
# sessions, login throttling and the index journal are left behind: a restore starts
# everyone signed out and rebuilds the index.
SERVER_TABLES = ("settings", "passages", "passage_log", "embedded_records", "held_updates")
VERSION = 1
PUBLISHED = "published"
_CHUNK = 500


class BulkError(Exception):
    """An export or import that could not be done; the message names the file and line."""


@dataclass
class BulkReport:
    """What was written or read, by line type; ``skipped`` counts rows --merge left alone."""

    format: str
    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    indexed: int = 0

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    def skip(self, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1

    def summary(self) -> str:
        parts = [f"{n} {k}" for k, n in self.counts.items()]
        parts += [f"{n} {k} kept as they were" for k, n in self.skipped.items()]
        return ", ".join(parts) or "nothing"


# -- small conversions ---------------------------------------------------------------------

def _ts(value: datetime | None) -> str | None:
    """UTC with microseconds: SQLite hands back naive UTC, PostgreSQL aware; both print so."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def _line(kind: str, fields: dict[str, Any]) -> str:
    return json.dumps({"type": kind, **fields}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")) + "\n"


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


@contextmanager
def snapshot(db: Database) -> Iterator[Session]:
    """One read snapshot for every table, so an ingest meanwhile is wholly in or out."""
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        else:
            conn.exec_driver_sql("BEGIN")
        with Session(bind=conn) as session:
            yield session
        conn.rollback()


def _text_order(session: Session) -> Callable[[Any], Any]:
    """Order text by code point on either database (PostgreSQL's default collation may
    follow a locale), so an export is the same bytes whichever database it came from."""
    if session.get_bind().dialect.name == "postgresql":
        return lambda column: column.collate("C")
    return lambda column: column


def _schema_revision(session: Session) -> str | None:
    return session.execute(text("SELECT version_num FROM alembic_version")).scalar()


# -- export --------------------------------------------------------------------------------

def published(session: Session, ids: list[str] | None) -> Iterator[Record]:
    """Published records, by id, or in the given (search) order."""
    opts = (selectinload(RecordRow.annotations), selectinload(RecordRow.mentions))
    if ids is None:
        stmt = (select(RecordRow).where(RecordRow.status == PUBLISHED)
                .order_by(_text_order(session)(RecordRow.id))
                .options(*opts).execution_options(yield_per=200))
        for row in session.scalars(stmt):
            yield to_record(row)
        return
    for chunk in _chunks(ids):
        rows = {r.id: r for r in session.scalars(
            select(RecordRow).where(RecordRow.id.in_(chunk), RecordRow.status == PUBLISHED)
            .options(*opts))}
        for rid in chunk:
            if rid in rows:
                yield to_record(rows[rid])


def write(session: Session, f: TextIO, report: BulkReport, ids: list[str] | None,
          query: str | None, include_accounts: bool, server_state: bool = False) -> None:
    """The archive (or the records ``ids`` names, their history and the names they
    mention) as lines; ``include_accounts`` adds users and tokens, ``server_state`` (a
    backup) also the server's settings and the embedded passages, as ``row`` lines."""
    include_accounts = include_accounts or server_state
    header: dict[str, Any] = {"version": VERSION, "schema": _schema_revision(session),
                              "accounts": include_accounts}
    if server_state:
        header["server_state"] = True
    if query is not None:
        header["query"] = query
    f.write(_line(MAGIC, header))
    selected = sorted(ids) if ids is not None else None
    by = _text_order(session)

    # Entities first: mentions in the records refer to them.
    entity_ids: set[str] | None = None
    if selected is not None:
        entity_ids = set()
        for part in _chunks(selected):
            entity_ids |= _mentioned(session, part)
    entities = select(EntityRow).order_by(by(EntityRow.id)).options(
        selectinload(EntityRow.variants))
    for e in session.scalars(entities.execution_options(yield_per=500)):
        if entity_ids is not None and e.id not in entity_ids:
            continue
        f.write(_line("entity", {
            "id": e.id, "kind": e.kind, "preferred": e.preferred, "key": e.key,
            "description": e.description, "identifiers": dict(e.identifiers or {}),
            "created_at": _ts(e.created_at),
            "variants": [{"variant": v.variant, "key": v.key} for v in e.variants]}))
        report.add("entities")

    if selected is None:
        for g in session.scalars(select(GlossaryRow).order_by(
                by(GlossaryRow.scope), by(GlossaryRow.term), by(GlossaryRow.expansion))):
            f.write(_line("glossary", {"scope": g.scope, "term": g.term,
                                       "expansion": g.expansion, "source_id": g.source_id}))
            report.add("glossary entries")

    opts = (selectinload(RecordRow.annotations), selectinload(RecordRow.mentions))
    chunks: Iterable[list[str] | None] = [None] if selected is None else _chunks(selected)
    for chunk in chunks:
        stmt = select(RecordRow).order_by(by(RecordRow.id)).options(*opts)
        if chunk is not None:
            stmt = stmt.where(RecordRow.id.in_(chunk))
        for row in session.scalars(stmt.execution_options(yield_per=200)):
            f.write(_line("record", {
                "id": row.id, "status": row.status, "version": row.version,
                "content_hash": row.content_hash, "created_at": _ts(row.created_at),
                "updated_at": _ts(row.updated_at), "record": to_record(row).to_dict()}))
            report.add("records")

    chunks = [None] if selected is None else _chunks(selected)
    for chunk in chunks:
        revisions = select(RevisionRow).order_by(by(RevisionRow.record_id), RevisionRow.number)
        if chunk is not None:
            revisions = revisions.where(RevisionRow.record_id.in_(chunk))
        for r in session.scalars(revisions.execution_options(yield_per=200)):
            f.write(_line("revision", {
                "record_id": r.record_id, "number": r.number, "created_at": _ts(r.created_at),
                "author": r.author, "reason": r.reason, "content_hash": r.content_hash,
                "data": r.data}))
            report.add("revisions")

    if selected is not None:
        return  # a search result: its records, their history and the names they mention
    for c in session.scalars(select(CollectionRow).order_by(by(CollectionRow.id))):
        items = session.scalars(select(CollectionItemRow.record_id).where(
            CollectionItemRow.collection_id == c.id).order_by(CollectionItemRow.position))
        f.write(_line("collection", {
            "id": c.id, "title": c.title, "description": c.description,
            "created_at": _ts(c.created_at), "updated_at": _ts(c.updated_at),
            "record_ids": list(items)}))
        report.add("collections")
    for a in session.scalars(select(AuditRow).order_by(AuditRow.id)
                             .execution_options(yield_per=500)):
        f.write(_line("audit", {"at": _ts(a.at), "actor": a.actor, "action": a.action,
                                "record_id": a.record_id, "reason": a.reason,
                                "detail": a.detail}))
        report.add("audit entries")
    if not include_accounts:
        return
    names: dict[int, str] = {}
    for u in session.scalars(select(UserRow).order_by(UserRow.id)):
        names[u.id] = u.name
        f.write(_line("user", {"name": u.name, "role": u.role, "password_hash": u.password_hash,
                               "disabled": u.disabled, "created_at": _ts(u.created_at),
                               "updated_at": _ts(u.updated_at)}))
        report.add("users")
    for t in session.scalars(select(TokenRow).order_by(TokenRow.id)):
        f.write(_line("token", {"user": names.get(t.user_id), "label": t.label,
                                "scopes": t.scopes, "token_hash": t.token_hash,
                                "created_at": _ts(t.created_at),
                                "last_used_at": _ts(t.last_used_at),
                                "revoked_at": _ts(t.revoked_at),
                                "expires_at": _ts(t.expires_at)}))
        report.add("tokens")
    if not server_state:
        return
    tables = Base.metadata.tables
    for name in SERVER_TABLES:
        table = tables[name]
        order = list(table.primary_key.columns) or list(table.c)
        for values in session.execute(select(table).order_by(*order)
                                      .execution_options(yield_per=500)).mappings():
            f.write(_line("row", {"table": name, "row": encode_row(values)}))
            report.add(name.replace("_", " "))


def _mentioned(session: Session, record_ids: list[str]) -> set[str]:
    return set(session.scalars(select(MentionRow.entity_id).where(
        MentionRow.record_id.in_(record_ids)).distinct()))
