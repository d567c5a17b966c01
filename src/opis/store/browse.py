"""What the reading room's pages read beyond single records: a stamp that changes with
any record or collection, record summaries without their text, published ids in key
order, entities with their record and mention counts, who is named with whom, and the
raw data the subject index and snippets are made from. ``services/reading.py`` turns
these rows into the pages' representations."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Float, String, column, func, select, values
from sqlalchemy.orm import Session, selectinload

from opis.model.entity import Entity
from opis.store import entities as entity_store
from opis.store.tables import CollectionRow, EntityRow, MentionRow, RecordRow, RevisionRow

PUBLISHED = RecordRow.status == "published"
_CHUNK = 500


def change_stamp(session: Session) -> tuple[str, ...]:
    """Changes whenever a record or a collection is added, changed, withdrawn or deleted.

    Every change to a record (withdrawals too) writes a revision, and records are never
    deleted, so the newest revision's id says it; it is read from the primary key's
    index. Counting the records did too, but took a scan per page (a hundred
    milliseconds at a million records)."""
    parts = (select(func.max(RevisionRow.id)),
             select(func.max(RecordRow.updated_at)),
             select(func.count()).select_from(CollectionRow),
             select(func.max(CollectionRow.updated_at)))
    row = session.execute(select(*(p.scalar_subquery() for p in parts))).one()
    return tuple(str(v) for v in row)


def record_version(session: Session, record_id: str) -> tuple[int, str] | None:
    row = session.execute(select(RecordRow.version, RecordRow.updated_at)
                          .where(RecordRow.id == record_id, PUBLISHED)).first()
    return (row.version, str(row.updated_at)) if row else None


def entity_labels(session: Session, ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(ids), _CHUNK):
        out.update((eid, name) for eid, name in session.execute(
            select(EntityRow.id, EntityRow.preferred).where(EntityRow.id.in_(ids[i:i + _CHUNK]))))
    return out


def summary_rows(session: Session, ids: list[str]) -> list[Any]:
    """Published records' (id, title, date, original_language, repository,
    classification, data) for these ids, in no particular order."""
    cols = (RecordRow.id, RecordRow.title, RecordRow.date, RecordRow.original_language,
            RecordRow.repository, RecordRow.classification, RecordRow.data)
    out: list[Any] = []
    for i in range(0, len(ids), _CHUNK):
        out += session.execute(select(*cols).where(RecordRow.id.in_(ids[i:i + _CHUNK]),
                                                   PUBLISHED)).all()
    return out


def published_ids(session: Session, after: str | None, limit: int) -> list[str]:
    stmt = select(RecordRow.id).where(PUBLISHED).order_by(RecordRow.id).limit(limit)
    if after is not None:
        stmt = stmt.where(RecordRow.id > after)
    return list(session.scalars(stmt))


def count_published(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(RecordRow).where(PUBLISHED)) or 0


def entities_with_counts(session: Session, kind: str | None, after: str | None, limit: int,
                         by: str, offset: int) -> list[tuple[Entity, int, int]]:
    """(entity, published records naming it, mentions) for a page of entities."""
    counts = (select(MentionRow.entity_id.label("eid"),
                     func.count(func.distinct(MentionRow.record_id)).label("records"),
                     func.count().label("mentions"))
              .join(RecordRow, RecordRow.id == MentionRow.record_id).where(PUBLISHED)
              .group_by(MentionRow.entity_id).subquery())
    stmt = (select(EntityRow, counts.c.records, counts.c.mentions)
            .join(counts, counts.c.eid == EntityRow.id)
            .options(selectinload(EntityRow.variants)).limit(limit))
    if by == "records":
        stmt = stmt.order_by(counts.c.records.desc(), EntityRow.preferred, EntityRow.id) \
            .offset(offset)
    else:
        stmt = stmt.order_by(EntityRow.id)
    if kind:
        stmt = stmt.where(EntityRow.kind == kind)
    if after is not None:
        stmt = stmt.where(EntityRow.id > after)
    return [(entity_store.to_entity(row), r, m) for row, r, m in session.execute(stmt)]


def entity_kind(session: Session, entity_id: str) -> str | None:
    row = session.get(EntityRow, entity_id)
    return row.kind if row is not None else None


def mention_pairs(session: Session, entity_ids: Iterable[str], *,
                  record_ids: Iterable[str] | None = None, exclude: str | None = None,
                  published: bool = True) -> list[tuple[str, str]]:
    """Distinct (entity id, record id) of mentions of these entities."""
    ents = list(entity_ids)
    if not ents:
        return []
    stmt = select(MentionRow.entity_id, MentionRow.record_id).distinct() \
        .where(MentionRow.entity_id.in_(ents))
    if published:
        stmt = stmt.join(RecordRow, RecordRow.id == MentionRow.record_id).where(PUBLISHED)
    if record_ids is not None:
        stmt = stmt.where(MentionRow.record_id.in_(list(record_ids)))
    if exclude is not None:
        stmt = stmt.where(MentionRow.record_id != exclude)
    return [(eid, rid) for eid, rid in session.execute(stmt)]


def shared_entity_scores(session: Session, weights: dict[str, float], exclude: str
                         ) -> dict[str, float]:
    """For every published record naming any of these entities (but ``exclude``), the
    sum of the weights of those it names: added up in the database, one row a record,
    where reading every (entity, record) pair into Python took longer than the query."""
    if not weights:
        return {}
    weight = values(column("eid", String), column("w", Float), name="weights") \
        .data(list(weights.items()))
    pairs = (select(MentionRow.entity_id, MentionRow.record_id).distinct()
             .where(MentionRow.entity_id.in_(list(weights)), MentionRow.record_id != exclude)
             .subquery())
    stmt = (select(pairs.c.record_id, func.sum(weight.c.w))
            .join(weight, weight.c.eid == pairs.c.entity_id)
            .join(RecordRow, RecordRow.id == pairs.c.record_id).where(PUBLISHED)
            .group_by(pairs.c.record_id))
    return {rid: float(score) for rid, score in session.execute(stmt)}


def count_entities(session: Session, kind: str | None) -> int:
    stmt = (select(func.count(func.distinct(MentionRow.entity_id)))
            .join(RecordRow, RecordRow.id == MentionRow.record_id).where(PUBLISHED))
    if kind:
        stmt = stmt.join(EntityRow, EntityRow.id == MentionRow.entity_id).where(
            EntityRow.kind == kind)
    return session.scalar(stmt) or 0


def entity_record_count(session: Session, entity_id: str) -> int:
    return session.scalar(
        select(func.count(func.distinct(MentionRow.record_id)))
        .join(RecordRow, RecordRow.id == MentionRow.record_id)
        .where(MentionRow.entity_id == entity_id, PUBLISHED)) or 0


def mentions_in(session: Session, entity_id: str, record_ids: list[str]) -> list[Any]:
    """(record_id, field, start, end, text) of the entity's mentions in these records,
    by record and position in the source."""
    return list(session.execute(
        select(MentionRow.record_id, MentionRow.field, MentionRow.start, MentionRow.end,
               MentionRow.text)
        .where(MentionRow.entity_id == entity_id, MentionRow.record_id.in_(record_ids))
        .order_by(MentionRow.record_id, MentionRow.id)).all())


def texts(session: Session, ids: list[str]) -> dict[str, str]:
    return {rid: text for rid, text in session.execute(
        select(RecordRow.id, RecordRow.text).where(RecordRow.id.in_(ids)))}


def data_of(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored JSON of these records (metadata, notes, extra fields)."""
    return {rid: data or {} for rid, data in session.execute(
        select(RecordRow.id, RecordRow.data).where(RecordRow.id.in_(ids)))}


def published_data(session: Session) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, stored JSON) of every published record, by id, streamed."""
    stmt = select(RecordRow.id, RecordRow.data).where(PUBLISHED).order_by(RecordRow.id)
    for rid, data in session.execute(stmt.execution_options(yield_per=500)):
        yield rid, data or {}


def newest(session: Session, ids: list[str], limit: int) -> list[tuple[str, Any, Any]]:
    """(id, created_at, updated_at) of the published records among ``ids`` changed most
    recently, newest first: a search's feed of new and corrected documents."""
    out: list[tuple[str, Any, Any]] = []
    for i in range(0, len(ids), 500):
        out += session.execute(select(RecordRow.id, RecordRow.created_at, RecordRow.updated_at)
                               .where(RecordRow.id.in_(ids[i:i + 500]), PUBLISHED)).all()
    return sorted(out, key=lambda r: (r[2], r[0]), reverse=True)[:limit]
