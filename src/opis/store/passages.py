"""Passages and their vectors: what the embedding stage writes and the vector index
reads (tables in ``passage_tables.py``). Every add and removal is logged with a growing
``seq`` so that a process holding an index snapshot can catch up by reading the tail."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from opis.store.account_tables import SettingRow
from opis.store.passage_tables import EmbeddedRow, PassageLogRow, PassageRow
from opis.store.tables import RecordRow


@dataclass
class StoredPassage:
    id: int
    record_id: str
    kind: str
    start: int | None
    end: int | None
    text: str
    digest: str


@dataclass
class NewPassage:
    """A passage to keep: ``id`` set when its vector is already stored (only its offsets
    may move), else ``vector`` holds the float32 bytes just computed."""

    kind: str
    text: str
    start: int | None
    end: int | None
    digest: str
    id: int | None = None
    vector: bytes | None = None


def _pending_clause(model: str):  # noqa: ANN202 - a SQLAlchemy condition
    return or_(EmbeddedRow.record_id.is_(None), EmbeddedRow.content_hash != RecordRow.content_hash,
               EmbeddedRow.model != model)


def pending_records(session: Session, model: str, limit: int, after: str = "") -> list[str]:
    """Published records not embedded in their current version by ``model``, in id order
    from ``after`` on, at most ``limit``."""
    stmt = (select(RecordRow.id)
            .outerjoin(EmbeddedRow, EmbeddedRow.record_id == RecordRow.id)
            .where(RecordRow.status == "published", RecordRow.id > after,
                   _pending_clause(model))
            .order_by(RecordRow.id).limit(limit))
    return list(session.scalars(stmt))


def count_pending(session: Session, model: str) -> int:
    stmt = (select(func.count()).select_from(RecordRow)
            .outerjoin(EmbeddedRow, EmbeddedRow.record_id == RecordRow.id)
            .where(RecordRow.status == "published", _pending_clause(model)))
    return session.scalar(stmt) or 0


def orphaned_records(session: Session) -> list[str]:
    """Records embedded once and since deleted or withdrawn: their passages must go."""
    stmt = (select(EmbeddedRow.record_id)
            .outerjoin(RecordRow, RecordRow.id == EmbeddedRow.record_id)
            .where(or_(RecordRow.id.is_(None), RecordRow.status != "published")))
    return list(session.scalars(stmt))


def stored_passages(session: Session, record_ids: Iterable[str]) -> dict[str, list[StoredPassage]]:
    ids = list(record_ids)
    out: dict[str, list[StoredPassage]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = (select(PassageRow.id, PassageRow.record_id, PassageRow.kind, PassageRow.start,
                   PassageRow.end, PassageRow.text, PassageRow.digest)
            .where(PassageRow.record_id.in_(ids)).order_by(PassageRow.id))
    for row in session.execute(stmt):
        out[row.record_id].append(StoredPassage(*row))
    return out


# One embedding writer at a time per archive schema (PostgreSQL).
_EMBED_LOCK = text("SELECT pg_advisory_xact_lock(1869640044, hashtext(current_schema()))")


def take_write_turn(session: Session) -> None:
    """Wait for any other ``opis embed`` writing passages, and hold the turn until this
    transaction ends, so that what it reads next (which passages a record has) stays
    true until it writes. Without it, two runs at once both saw a record unembedded and
    both stored its passages. On SQLite the driver begins a transaction only at the
    first write, so a write is what takes the turn: a no-op UPDATE, which takes the
    database's write lock before anything is read."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_EMBED_LOCK)
    else:
        session.execute(update(EmbeddedRow).where(EmbeddedRow.record_id.is_(None))
                        .values(model=EmbeddedRow.model))


def replace_passages(session: Session, record_id: str, content_hash: str, model: str,
                     passages: list[NewPassage], stored: list[StoredPassage]) -> tuple[int, int]:
    """Make ``passages`` the record's passages: stored ones not kept are removed, new ones
    inserted, each logged; the record is marked embedded at ``content_hash``. Returns
    (added, removed)."""
    kept = {p.id for p in passages if p.id is not None}
    gone = [s.id for s in stored if s.id not in kept]
    if gone:
        session.execute(delete(PassageRow).where(PassageRow.id.in_(gone)))
        session.execute(insert(PassageLogRow), [
            {"passage_id": i, "record_id": record_id, "op": "del"} for i in gone])
    old = {s.id: s for s in stored}
    for p in passages:
        if p.id is not None and (old[p.id].start, old[p.id].end) != (p.start, p.end):
            session.execute(update(PassageRow).where(PassageRow.id == p.id)
                            .values(start=p.start, end=p.end))
    added = 0
    for p in passages:
        if p.id is not None:
            continue
        new_id = session.scalar(insert(PassageRow).values(
            record_id=record_id, kind=p.kind, start=p.start, end=p.end, text=p.text,
            digest=p.digest, vector=p.vector).returning(PassageRow.id))
        session.execute(insert(PassageLogRow).values(passage_id=new_id, record_id=record_id,
                                                      op="add"))
        added += 1
    values = {"content_hash": content_hash, "model": model, "passages": len(passages),
              "embedded_at": datetime.now(UTC)}
    if session.get(EmbeddedRow, record_id) is None:
        session.execute(insert(EmbeddedRow).values(record_id=record_id, **values))
    else:
        session.execute(update(EmbeddedRow).where(EmbeddedRow.record_id == record_id)
                        .values(**values))
    return added, len(gone)


def forget_record(session: Session, record_id: str) -> int:
    """Remove a record's passages (logged) and its embedded mark; how many went."""
    stored = stored_passages(session, [record_id])[record_id]
    _, removed = replace_passages(session, record_id, "", "", [], stored)
    session.execute(delete(EmbeddedRow).where(EmbeddedRow.record_id == record_id))
    return removed


def last_seq(session: Session) -> int:
    return session.scalar(select(func.max(PassageLogRow.seq))) or 0


_COMPACTED = "passage_log.compacted_through"


def compacted_through(session: Session) -> int:
    """The last ``seq`` compaction removed from the log (0: nothing ever was): a process
    whose index reflects less than this cannot catch up from the log and rebuilds."""
    row = session.get(SettingRow, _COMPACTED)
    try:
        return int(row.value) if row else 0
    except ValueError:
        return 0


def compact_log(session: Session, keep: int) -> int:
    """Drop all but the newest ``keep`` entries of the change log, which otherwise grows
    by every passage ever added or removed; returns how many went. Written with the
    mark ``compacted_through`` in one transaction."""
    cutoff = last_seq(session) - keep
    if cutoff <= compacted_through(session):
        return 0
    gone = session.execute(delete(PassageLogRow).where(PassageLogRow.seq <= cutoff))
    row = session.get(SettingRow, _COMPACTED)
    if row is None:
        session.add(SettingRow(key=_COMPACTED, value=str(cutoff)))
    else:
        row.value = str(cutoff)
    return int(getattr(gone, "rowcount", 0) or 0)


def log_entry(session: Session, seq: int) -> int | None:
    """The passage id logged at ``seq`` (None when there is no such entry)."""
    return session.scalar(select(PassageLogRow.passage_id).where(PassageLogRow.seq == seq))


def log_since(session: Session, seq: int) -> list[tuple[int, int, str]]:
    """(seq, passage id, op) after ``seq``, in order."""
    stmt = (select(PassageLogRow.seq, PassageLogRow.passage_id, PassageLogRow.op)
            .where(PassageLogRow.seq > seq).order_by(PassageLogRow.seq))
    return [(r.seq, r.passage_id, r.op) for r in session.execute(stmt)]


def vectors(session: Session, ids: Iterable[int]) -> dict[int, bytes]:
    ids = list(ids)
    out: dict[int, bytes] = {}
    for i in range(0, len(ids), 500):
        stmt = select(PassageRow.id, PassageRow.vector).where(PassageRow.id.in_(ids[i:i + 500]))
        out.update((row.id, bytes(row.vector)) for row in session.execute(stmt))
    return out


def all_vectors(session: Session, batch: int = 2000) -> Iterable[tuple[list[int], list[bytes]]]:
    """Every stored vector, a batch of (ids, vectors) at a time, in id order."""
    after = 0
    while True:
        rows = session.execute(select(PassageRow.id, PassageRow.vector)
                               .where(PassageRow.id > after).order_by(PassageRow.id)
                               .limit(batch)).all()
        if not rows:
            return
        yield [r.id for r in rows], [bytes(r.vector) for r in rows]
        after = rows[-1].id


def title_vectors(session: Session, record_ids: Iterable[str]) -> dict[str, bytes]:
    """The vector of each record's title-and-summary passage."""
    ids = list(record_ids)
    if not ids:
        return {}
    stmt = select(PassageRow.record_id, PassageRow.vector).where(
        PassageRow.record_id.in_(ids), PassageRow.kind == "title")
    return {row.record_id: bytes(row.vector) for row in session.execute(stmt)}


def passages_by_id(session: Session, ids: Iterable[int]) -> dict[int, StoredPassage]:
    ids = list(ids)
    if not ids:
        return {}
    stmt = (select(PassageRow.id, PassageRow.record_id, PassageRow.kind, PassageRow.start,
                   PassageRow.end, PassageRow.text, PassageRow.digest)
            .where(PassageRow.id.in_(ids)))
    return {row.id: StoredPassage(*row) for row in session.execute(stmt)}


def count_passages(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PassageRow)) or 0


def count_embedded(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(EmbeddedRow)) or 0
