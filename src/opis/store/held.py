"""Updates an ingest held back because they looked damaged (services/reingest_guard.py):
each kept whole, as read, until a curator accepts or rejects it on the held-updates
page, so a held update is never lost and never applied unseen. One per record: a later
held update of the same record replaces the earlier one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from opis.model import Record
from opis.store.db import affected
from opis.store.tables import Base, PackedJSON


class HeldRow(Base):
    __tablename__ = "held_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(200), unique=True)
    held_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(Text, default="")  # the file it came from
    reason: Mapped[str] = mapped_column(Text)  # why it was held
    data: Mapped[dict] = mapped_column(PackedJSON)  # the record as read


@dataclass
class HeldUpdate:
    id: int
    record_id: str
    held_at: datetime
    source: str
    reason: str
    record: Record


def _held(row: HeldRow) -> HeldUpdate:
    return HeldUpdate(row.id, row.record_id, row.held_at, row.source, row.reason,
                      Record.from_dict(row.data))


def hold(session: Session, record: Record, reason: str, source: str) -> None:
    session.execute(delete(HeldRow).where(HeldRow.record_id == record.id))
    session.add(HeldRow(record_id=record.id, held_at=datetime.now(UTC), source=source,
                        reason=reason, data=record.to_dict()))


def held_updates(session: Session) -> list[HeldUpdate]:
    rows = session.scalars(select(HeldRow).order_by(HeldRow.held_at, HeldRow.id))
    return [_held(r) for r in rows]


def held_update(session: Session, held_id: int) -> HeldUpdate | None:
    row = session.get(HeldRow, held_id)
    return _held(row) if row is not None else None


def release(session: Session, held_id: int) -> bool:
    """Forget a held update (accepted or rejected); False when it is gone already."""
    return affected(session.execute(delete(HeldRow).where(HeldRow.id == held_id))) > 0


def count_held(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(HeldRow)) or 0
