"""The audit log, status revisions, row locks and the search-index journal.

Everything here runs inside the caller's transaction, so a write, its revision, its
audit entry and its index intent are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from opis.model import Record
from opis.store.account_tables import AuditRow, IndexPendingRow
from opis.store.db import affected
from opis.store.records import Revision, to_record
from opis.store.tables import RecordRow, RevisionRow


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    record_id: str | None
    reason: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class RecordState:
    """A record as curators see it: whatever its status, with its version."""

    record: Record
    status: str
    version: int
    updated_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


# -- audit log -----------------------------------------------------------------------------

def add_entry(session: Session, *, actor: str, action: str, reason: str = "",
              record_id: str | None = None, detail: dict[str, Any] | None = None) -> None:
    session.add(AuditRow(at=_now(), actor=actor[:200], action=action[:32], record_id=record_id,
                         reason=reason, detail=detail or {}))


def entries(session: Session, *, limit: int = 100, offset: int = 0,
            record_id: str | None = None, actor: str | None = None) -> list[AuditEntry]:
    stmt = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit).offset(offset)
    if record_id:
        stmt = stmt.where(AuditRow.record_id == record_id)
    if actor:
        stmt = stmt.where(AuditRow.actor == actor)
    return [AuditEntry(r.id, r.at, r.actor, r.action, r.record_id, r.reason, dict(r.detail or {}))
            for r in session.scalars(stmt)]


def count_entries(session: Session, *, record_id: str | None = None,
                  actor: str | None = None) -> int:
    stmt = select(func.count()).select_from(AuditRow)
    if record_id:
        stmt = stmt.where(AuditRow.record_id == record_id)
    if actor:
        stmt = stmt.where(AuditRow.actor == actor)
    return session.scalar(stmt) or 0


# -- records as curators see them ----------------------------------------------------------

def lock_record(session: Session, record_id: str) -> bool:
    """Take the record's write lock before reading it; False when there is no such record.

    A no-op UPDATE as the transaction's first statement makes SQLite take its write lock
    up front (so the read that follows cannot go stale) and PostgreSQL lock the row, so
    two editors of one record queue instead of both claiming the same revision number.
    """
    result = session.execute(update(RecordRow).where(RecordRow.id == record_id)
                             .values(version=RecordRow.version)
                             .execution_options(synchronize_session=False))
    return bool(affected(result))


def record_state(session: Session, record_id: str) -> RecordState | None:
    row = session.get(RecordRow, record_id)
    if row is None:
        return None
    return RecordState(to_record(row), row.status, row.version, row.updated_at)


def set_status(session: Session, record_id: str, status: str, *, author: str,
               reason: str) -> int:
    """Change a record's status as a revision of its own; return the new version.

    The revision keeps the whole record plus ``status`` so the history shows when and
    why a record left or returned to public view.
    """
    row = session.get(RecordRow, record_id)
    if row is None:
        raise KeyError(record_id)
    now = _now()
    row.status = status
    row.version += 1
    row.updated_at = now
    data = to_record(row).to_dict()
    data["status"] = status
    session.add(RevisionRow(record_id=record_id, number=row.version, created_at=now,
                            author=author, reason=reason, data=data,
                            content_hash=row.content_hash))
    session.flush()
    return row.version


def revision(session: Session, record_id: str, number: int) -> Revision | None:
    r = session.scalar(select(RevisionRow).where(RevisionRow.record_id == record_id,
                                                 RevisionRow.number == number))
    if r is None:
        return None
    return Revision(r.record_id, r.number, r.created_at, r.author, r.reason, r.data)


def last_revision_number(session: Session, record_id: str) -> int:
    return session.scalar(select(func.max(RevisionRow.number))
                          .where(RevisionRow.record_id == record_id)) or 0


# -- the search-index journal --------------------------------------------------------------

def mark_pending(session: Session, record_ids: Iterable[str]) -> None:
    """Note, in the writing transaction, that these records' index entries may lag
    (one query and one insert for a whole ingest batch)."""
    ids = set(record_ids)
    if not ids:
        return
    session.flush()
    table = cast(Table, IndexPendingRow.__table__)
    noted = set(session.scalars(select(table.c.record_id).where(table.c.record_id.in_(ids))))
    if ids - noted:
        session.execute(table.insert(), [{"record_id": rid} for rid in sorted(ids - noted)])


def pending(session: Session) -> list[str]:
    return list(session.scalars(select(IndexPendingRow.record_id)
                                .order_by(IndexPendingRow.record_id)))


def clear_pending(session: Session, record_ids: Iterable[str]) -> None:
    ids = list(set(record_ids))
    if ids:
        session.execute(delete(IndexPendingRow).where(IndexPendingRow.record_id.in_(ids)))
