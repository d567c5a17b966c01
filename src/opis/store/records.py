"""Reading and writing records, with a revision for every version ever stored."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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


def content_hash(record: Record) -> str:
    """Hash of what the record says, ignoring where it was read from."""
    data = record.to_dict()
    data.pop("source_path", None)
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _fill(row: RecordRow, record: Record) -> None:
    data = record.to_dict()
    row.title = record.title
    row.date = record.date
    span = bounds(record.date)
    row.date_start, row.date_end = span if span else (None, None)
    row.original_language = record.original_language
    row.classification = record.classification
    ref = record.archival_reference
    row.repository = (ref.repository if ref and ref.repository else record.repository_title)
    row.source_url = record.source_url
    row.source_format = record.source_format
    row.text = record.text
    data.pop("text")
    data.pop("annotations")
    data.pop("mentions")
    row.data = data
    row.annotations = [
        AnnotationRow(seq=i, kind=a.kind, start=a.start, end=a.end, text=a.text, note=a.note)
        for i, a in enumerate(record.annotations)
    ]
    row.mentions = [
        MentionRow(entity_id=m.entity_id, start=m.start, end=m.end, text=m.text, field=m.field)
        for m in record.mentions
    ]


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


def put_record(session: Session, record: Record, *, author: str = "ingest",
               reason: str = "ingest") -> str:
    """Insert or update; return "added", "updated" or "unchanged".

    An update keeps the previous version: every stored version is a revision row.
    """
    digest = content_hash(record)
    row = session.get(RecordRow, record.id)
    now = _now()
    if row is None:
        row = RecordRow(id=record.id, created_at=now, updated_at=now, version=1,
                        content_hash=digest, status="published")
        _fill(row, record)
        session.add(row)
        status = "added"
    elif row.content_hash == digest:
        return "unchanged"
    else:
        row.annotations.clear()
        row.mentions.clear()
        session.flush()  # old annotation rows go before new ones take their (record, seq)
        _fill(row, record)
        row.version += 1
        row.content_hash = digest
        row.updated_at = now
        status = "updated"
    session.add(RevisionRow(record_id=record.id, number=row.version, created_at=now,
                            author=author, reason=reason, data=record.to_dict(),
                            content_hash=digest))
    session.flush()
    return status


def get_record(session: Session, record_id: str, *, public: bool = True) -> Record | None:
    row = session.get(RecordRow, record_id)
    if row is None or (public and row.status != "published"):
        return None
    return to_record(row)


def get_records(session: Session, ids: list[str], *, public: bool = True) -> dict[str, Record]:
    if not ids:
        return {}
    stmt = select(RecordRow).where(RecordRow.id.in_(ids))
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
