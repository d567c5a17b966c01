"""Reading and writing records, with a revision for every version ever stored."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, Text, bindparam, delete, func, select
from sqlalchemy.orm import Session, selectinload

from opis.model import Record
from opis.model.dates import bounds
from opis.store.tables import AnnotationRow, MentionRow, RecordRow, RevisionRow


@dataclass
class Revision:
    record_id: str
    number: int
    created_at: datetime
    author: str
    reason: str
    data: dict


def content_hash(record: Record, data: dict | None = None) -> str:
    """Hash of what the record says, ignoring where it was read from and the mentions
    enrichment derives from it, so a record hashes the same before and after linking
    (an ingest skips unchanged sources before enriching them; an edit that changes
    nothing is recognised after)."""
    data = dict(data if data is not None else record.to_dict())
    data.pop("source_path", None)
    data.pop("mentions", None)
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()


# Core tables: bulk writes skip the ORM's per-row bookkeeping.
RECORDS = cast(Table, RecordRow.__table__)
ANNOTATIONS = cast(Table, AnnotationRow.__table__)
MENTIONS = cast(Table, MentionRow.__table__)
REVISIONS = cast(Table, RevisionRow.__table__)


def _now() -> datetime:
    return datetime.now(UTC)


def _columns(record: Record, full: dict) -> dict:
    """The promoted columns plus the JSON remainder of a record."""
    data = dict(full)
    for name in ("text", "annotations", "mentions"):
        data.pop(name)
    span = bounds(record.date)
    ref = record.archival_reference
    return {
        "title": record.title, "date": record.date,
        "date_start": span[0] if span else None, "date_end": span[1] if span else None,
        "original_language": record.original_language,
        "classification": record.classification,
        "repository": ref.repository if ref and ref.repository else record.repository_title,
        "source_url": record.source_url, "source_format": record.source_format,
        "text": record.text, "data": data,
    }


def to_record(row: RecordRow) -> Record:
    data = dict(row.data)
    data["text"] = row.text
    data["annotations"] = [
        {"kind": a.kind, "start": a.start, "end": a.end, "text": a.text, "note": a.note}
        for a in row.annotations
    ]
    data["mentions"] = [
        {"entity_id": m.entity_id, "start": m.start, "end": m.end, "text": m.text,
         "field": m.field} for m in row.mentions
    ]
    return Record.from_dict(data)


def ids_mentioning_text(session: Session, needle: str, limit: int = 20) -> list[str]:
    """Published records whose stored JSON contains ``needle`` (an attachment hash)."""
    stmt = (select(RecordRow.id).where(RecordRow.status == "published",
                                       func.cast(RecordRow.data, Text).contains(needle))
            .limit(limit))
    return list(session.scalars(stmt))


def attachment_hashes(session: Session) -> set[str]:
    """The SHA-256 of every file any record (published or not) lists as an attachment."""
    stmt = select(RecordRow.data).where(
        func.cast(RecordRow.data, Text).contains('"attachments"'))
    found: set[str] = set()
    for data in session.scalars(stmt).yield_per(500):
        extra = data.get("extra") if isinstance(data, dict) else None
        entries = extra.get("attachments") if isinstance(extra, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
                found.add(entry["sha256"])
    return found


def current_hashes(session: Session, ids: list[str]) -> dict[str, str]:
    """Content hash of each stored record among ``ids``."""
    if not ids:
        return {}
    return dict(session.execute(select(RecordRow.id, RecordRow.content_hash)
                                .where(RecordRow.id.in_(ids))).all())


def put_record(session: Session, record: Record, *, author: str = "ingest",
               reason: str = "ingest", digest: str | None = None) -> str:
    """Insert or update; return "added", "updated" or "unchanged".

    An update keeps the previous version: every stored version is a revision row.
    ``digest`` identifies the version (by default a hash of the record as given; the
    ingest passes the hash of the record as read, before enrichment, so unchanged
    sources are recognised without enriching them again).
    """
    digests = {record.id: digest} if digest else None
    return put_records(session, [record], author=author, reason=reason,
                       digests=digests)[record.id].change


@dataclass(frozen=True)
class Stored:
    """What writing one record did: its change and the status it now has."""

    change: str  # "added", "updated" or "unchanged"
    status: str  # "published", "withdrawn", ...


def _insert_rows(session: Session, table: Table, columns: tuple[str, ...],
                 rows: list[tuple]) -> None:
    """Insert plain rows (strings, numbers, None) through the driver's executemany. An
    ingest writes about ninety mention rows a record, and SQLAlchemy's processing of
    each row's parameters took longer than SQLite took to store it."""
    if not rows:
        return
    connection = session.connection()
    compiled = table.insert().inline().compile(dialect=connection.dialect,
                                               column_keys=list(columns))
    if compiled.positional:
        order = [columns.index(name) for name in compiled.positiontup or []]
        if order != list(range(len(columns))):
            rows = [tuple(row[i] for i in order) for row in rows]
        connection.exec_driver_sql(str(compiled), rows)
    else:
        connection.exec_driver_sql(str(compiled), [dict(zip(columns, row, strict=True))
                                                   for row in rows])


def put_records(session: Session, records: list[Record], *, author: str = "ingest",
                reason: str = "ingest", digests: dict[str, str] | None = None
                ) -> dict[str, Stored]:
    """Insert or update many records with one statement per table (an ingest writes
    five hundred at a time; a statement per row cost more than linking them).

    Each record's previous version stays as a revision; a record whose digest equals
    the stored one is left alone. Ids must be distinct.
    """
    if not records:
        return {}
    ids = [r.id for r in records]
    # Locked in id order (PostgreSQL; SQLite has one writer anyway): an ingest updating a
    # record a curator is saving waits for the curator's commit, then reads the new
    # version, instead of deadlocking with it over the record's child rows.
    current = {row.id: row for row in session.execute(
        select(RECORDS.c.id, RECORDS.c.content_hash, RECORDS.c.version, RECORDS.c.status)
        .where(RECORDS.c.id.in_(ids)).order_by(RECORDS.c.id).with_for_update())}
    now = _now()
    out: dict[str, Stored] = {}
    inserts, updates, children, revisions = [], [], [], []
    for record in records:
        full = record.to_dict()
        digest = (digests or {}).get(record.id) or content_hash(record, full)
        old = current.get(record.id)
        values = _columns(record, full)
        if old is None:
            version = 1
            out[record.id] = Stored("added", "published")
            inserts.append(dict(id=record.id, status="published", version=1,
                                content_hash=digest, created_at=now, updated_at=now, **values))
        elif old.content_hash == digest:
            out[record.id] = Stored("unchanged", old.status)
            continue
        else:
            version = old.version + 1
            out[record.id] = Stored("updated", old.status)
            updates.append(dict(rid=record.id, version=version, content_hash=digest,
                                updated_at=now, **values))
        children.append(record)
        revisions.append(dict(record_id=record.id, number=version, created_at=now,
                              author=author, reason=reason, data=full, content_hash=digest))
    if updates:
        gone = [u["rid"] for u in updates]
        session.execute(delete(AnnotationRow).where(AnnotationRow.record_id.in_(gone)))
        session.execute(delete(MentionRow).where(MentionRow.record_id.in_(gone)))
        session.execute(RECORDS.update().where(RECORDS.c.id == bindparam("rid")), updates)
    if inserts:
        session.execute(RECORDS.insert(), inserts)
    _insert_rows(session, ANNOTATIONS, ("record_id", "seq", "kind", "start", "end", "text",
                                        "note"),
                 [(r.id, i, a.kind, a.start, a.end, a.text, a.note)
                  for r in children for i, a in enumerate(r.annotations)])
    _insert_rows(session, MENTIONS, ("record_id", "entity_id", "start", "end", "text", "field"),
                 [(r.id, m.entity_id, m.start, m.end, m.text, m.field)
                  for r in children for m in r.mentions])
    if revisions:
        session.execute(REVISIONS.insert(), revisions)
    # Rows written through Core are not in the identity map; expire what may be cached.
    session.expire_all()
    return out


def get_record(session: Session, record_id: str, *, public: bool = True) -> Record | None:
    row = session.get(RecordRow, record_id)
    if row is None or (public and row.status != "published"):
        return None
    return to_record(row)


def get_records(session: Session, ids: list[str], *, public: bool = True,
                light: bool = False) -> dict[str, Record]:
    """Records by id in one query. ``light`` records (for result lists) carry every
    metadata field but no text, annotations or mentions: loading those for twenty hits
    cost more than the search itself."""
    if not ids:
        return {}
    if light:
        stmt = select(RecordRow.id, RecordRow.data).where(RecordRow.id.in_(ids))
        if public:
            stmt = stmt.where(RecordRow.status == "published")
        return {rid: Record.from_dict({**data, "text": "", "annotations": [], "mentions": []})
                for rid, data in session.execute(stmt)}
    stmt = (select(RecordRow).where(RecordRow.id.in_(ids))
            .options(selectinload(RecordRow.annotations), selectinload(RecordRow.mentions)))
    if public:
        stmt = stmt.where(RecordRow.status == "published")
    return {row.id: to_record(row) for row in session.scalars(stmt)}


def iter_records(session: Session, *, public: bool = True, batch: int = 500) -> Iterator[Record]:
    stmt = select(RecordRow).order_by(RecordRow.id)
    if public:
        stmt = stmt.where(RecordRow.status == "published")
    for row in session.scalars(stmt.execution_options(yield_per=batch)):
        yield to_record(row)


def count_records(session: Session, *, public: bool = True) -> int:
    stmt = select(func.count()).select_from(RecordRow)
    if public:
        stmt = stmt.where(RecordRow.status == "published")
    return session.scalar(stmt) or 0


def revisions(session: Session, record_id: str) -> list[Revision]:
    rows = session.scalars(select(RevisionRow).where(RevisionRow.record_id == record_id)
                           .order_by(RevisionRow.number))
    return [Revision(r.record_id, r.number, r.created_at, r.author, r.reason, r.data)
            for r in rows]


def recent_records(session: Session, limit: int = 10) -> list[Record]:
    stmt = (select(RecordRow).where(RecordRow.status == "published")
            .order_by(RecordRow.date_start.desc().nulls_last(), RecordRow.id).limit(limit))
    return [to_record(r) for r in session.scalars(stmt)]


def language_counts(session: Session) -> list[tuple[str, int]]:
    stmt = (select(RecordRow.original_language, func.count()).where(RecordRow.status == "published")
            .group_by(RecordRow.original_language).order_by(func.count().desc()))
    return [(lang or "", n) for lang, n in session.execute(stmt)]
