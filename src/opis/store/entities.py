"""The authority file in the database: entities, their spellings, and mentions.

Several processes may ingest at once (PostgreSQL). Linking reads the authority file,
decides, then adds entities and spellings; two transactions doing that together would
both create the same person (a duplicate-key failure of a whole batch, or a deadlock
when they create two people in opposite orders). ``lock_authority`` makes them take
turns, from the first lookup to the commit, so each links against what the other
committed. Only linking and authority edits wait; readers and curation edits never do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, literal, select, text, union_all, update
from sqlalchemy.orm import Session, selectinload

from opis.model.entity import Entity, Mention
from opis.store.db import affected
from opis.store.tables import EntityRow, MentionRow, RecordRow, VariantRow

# A transaction-level advisory lock per schema (so archives in other schemas of the same
# database do not wait for each other); released by PostgreSQL at commit or rollback.
_AUTHORITY_LOCK = text("SELECT pg_advisory_xact_lock(1869640041, hashtext(current_schema()))")
_LOCKED = "opis.authority_lock"


def lock_authority(session: Session) -> None:
    """Wait until no other transaction is linking names or changing the authority file,
    and hold that turn until this transaction ends (PostgreSQL; a no-op on SQLite, where
    one writer at a time is the rule anyway). Taken once per transaction."""
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_LOCKED) is transaction:
        return
    session.execute(_AUTHORITY_LOCK)
    session.info[_LOCKED] = session.get_transaction()


@dataclass
class EntityStats:
    entity: Entity
    records: int
    mentions: int


def to_entity(row: EntityRow) -> Entity:
    return Entity(id=row.id, kind=row.kind, preferred=row.preferred,
                  variants=[v.variant for v in row.variants if v.variant != row.preferred],
                  description=row.description, identifiers=dict(row.identifiers or {}))


def get_entity(session: Session, entity_id: str) -> Entity | None:
    row = session.get(EntityRow, entity_id)
    return to_entity(row) if row else None


def get_entities(session: Session, ids: Iterable[str]) -> dict[str, Entity]:
    ids = list(set(ids))
    if not ids:
        return {}
    rows = session.scalars(select(EntityRow).where(EntityRow.id.in_(ids))
                           .options(selectinload(EntityRow.variants)))
    return {r.id: to_entity(r) for r in rows}


def preferred_names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """Entity id -> preferred name, one query: the labels of a result page's facets
    (loading whole entities with every spelling cost more than the search)."""
    ids = list(set(ids))
    if not ids:
        return {}
    return dict(session.execute(select(EntityRow.id, EntityRow.preferred)
                                .where(EntityRow.id.in_(ids))).all())


def ids_by_key(session: Session, kind: str | None, key: str) -> list[str]:
    """Entities with a spelling whose romanization key is ``key``."""
    stmt = select(VariantRow.entity_id).where(VariantRow.key == key)
    if kind:
        stmt = stmt.join(EntityRow, EntityRow.id == VariantRow.entity_id).where(
            EntityRow.kind == kind)
    return sorted(set(session.scalars(stmt)))


def variants_by_keys(session: Session, keys: Iterable[str]) -> dict[str, set[str]]:
    """For each key, every spelling of every entity that has a spelling with that key."""
    keys = list(set(keys))
    if not keys:
        return {}
    hits = session.execute(select(VariantRow.key, VariantRow.entity_id)
                           .where(VariantRow.key.in_(keys))).all()
    entity_ids = {e for _, e in hits}
    spellings: dict[str, set[str]] = {}
    for eid, variant in session.execute(select(VariantRow.entity_id, VariantRow.variant)
                                        .where(VariantRow.entity_id.in_(entity_ids))):
        spellings.setdefault(eid, set()).add(variant)
    out: dict[str, set[str]] = {}
    for key, eid in hits:
        out.setdefault(key, set()).update(spellings.get(eid, ()))
    return out


def entities_by_keys(session: Session, keys: Iterable[str]) -> dict[str, set[str]]:
    """For each key, the entities that have a spelling with that key."""
    keys = list(set(keys))
    out: dict[str, set[str]] = {}
    if keys:
        for key, eid in session.execute(select(VariantRow.key, VariantRow.entity_id)
                                        .where(VariantRow.key.in_(keys))):
            out.setdefault(key, set()).add(eid)
    return out


def kinds_of(session: Session, ids: Iterable[str]) -> dict[str, str]:
    ids = list(set(ids))
    if not ids:
        return {}
    return dict(session.execute(select(EntityRow.id, EntityRow.kind)
                                .where(EntityRow.id.in_(ids))).all())


def lookup_keys(session: Session, keys: Iterable[str]) -> list[tuple[str, str, str]]:
    """(key, entity id, kind) for every spelling with one of these keys: one query.

    Linking starts here, so this takes the authority turn (``lock_authority``) first:
    what it reads stays true until the transaction commits."""
    keys = list(set(keys))
    if not keys:
        return []
    lock_authority(session)
    rows = session.execute(select(VariantRow.key, VariantRow.entity_id, EntityRow.kind)
                           .join(EntityRow, EntityRow.id == VariantRow.entity_id)
                           .where(VariantRow.key.in_(keys)))
    return [(k, e, kind) for k, e, kind in rows]


def spellings_of(session: Session, ids: Iterable[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    ids = list(set(ids))
    if ids:
        for eid, v in session.execute(select(VariantRow.entity_id, VariantRow.variant)
                                      .where(VariantRow.entity_id.in_(ids))):
            out.setdefault(eid, set()).add(v)
    return out


def create_entity(session: Session, entity: Entity, key_of) -> EntityRow:  # noqa: ANN001
    """Add an entity. If another transaction committed one with this id after the caller
    looked (possible only for callers that looked before taking the authority turn, such
    as an authority import), that entity gains these spellings instead of the whole
    transaction failing on a duplicate key."""
    lock_authority(session)
    existing = session.get(EntityRow, entity.id)
    if existing is not None:
        for spelling in dict.fromkeys([entity.preferred, *entity.variants]):
            add_variant(session, entity.id, spelling, key_of(spelling))
        return existing
    row = EntityRow(id=entity.id, kind=entity.kind, preferred=entity.preferred,
                    key=key_of(entity.preferred), description=entity.description,
                    identifiers=dict(entity.identifiers), created_at=datetime.now(UTC))
    session.add(row)
    for spelling in dict.fromkeys([entity.preferred, *entity.variants]):
        row.variants.append(VariantRow(variant=spelling, key=key_of(spelling)))
    session.flush()
    return row


def add_variant(session: Session, entity_id: str, variant: str, key: str) -> None:
    lock_authority(session)
    exists = session.scalar(select(VariantRow.id).where(
        VariantRow.entity_id == entity_id, VariantRow.variant == variant))
    if exists is None:
        session.add(VariantRow(entity_id=entity_id, variant=variant, key=key))
        session.flush()


def entity_exists(session: Session, entity_id: str) -> bool:
    return session.get(EntityRow, entity_id) is not None


def mention_counts(session: Session, ids: Iterable[str]) -> dict[str, int]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.execute(select(MentionRow.entity_id, func.count(func.distinct(
        MentionRow.record_id))).where(MentionRow.entity_id.in_(ids))
        .group_by(MentionRow.entity_id))
    return dict(rows.all())


def mention_counts_upto(session: Session, ids: Iterable[str], cap: int) -> dict[str, int]:
    """Records naming each entity, counted only up to ``cap``: enough to tell a rare name
    from a common one, and read from the (entity, record) index a few rows at a time,
    where counting every record of a name in a million took a second. One statement for
    up to 200 entities (a document page names a hundred: one query each was a hundred
    round trips to a database server)."""
    out: dict[str, int] = {}
    wanted = list(dict.fromkeys(ids))
    for i in range(0, len(wanted), 200):
        parts = []
        for eid in wanted[i:i + 200]:
            distinct = (select(MentionRow.record_id).where(MentionRow.entity_id == eid)
                        .distinct().limit(cap).subquery())
            parts.append(select(literal(eid).label("id"),
                                select(func.count()).select_from(distinct)
                                .scalar_subquery().label("n")))
        out.update((eid, n or 0) for eid, n in session.execute(union_all(*parts)))
    return {e: n for e, n in out.items() if n}


def replace_mentions(session: Session, record_id: str, mentions: list[Mention]) -> None:
    session.execute(delete(MentionRow).where(MentionRow.record_id == record_id))
    session.add_all([MentionRow(record_id=record_id, entity_id=m.entity_id, start=m.start,
                                end=m.end, text=m.text, field=m.field) for m in mentions])


def mentions_of(session: Session, record_id: str) -> list[Mention]:
    rows = session.scalars(select(MentionRow).where(MentionRow.record_id == record_id)
                           .order_by(MentionRow.id))
    return [Mention(r.entity_id, r.start, r.end, r.text, r.field) for r in rows]


def record_entities(session: Session, record_ids: Iterable[str]) -> dict[str, list[str]]:
    """Distinct entity ids per record, in first-mention order."""
    out: dict[str, list[str]] = {}
    rows = session.execute(select(MentionRow.record_id, MentionRow.entity_id)
                           .where(MentionRow.record_id.in_(list(record_ids)))
                           .order_by(MentionRow.record_id, MentionRow.id))
    for rid, eid in rows:
        lst = out.setdefault(rid, [])
        if eid not in lst:
            lst.append(eid)
    return out


def records_mentioning(session: Session, entity_id: str, limit: int = 50,
                       offset: int = 0) -> list[tuple[str, int]]:
    """(record id, number of mentions) of published records naming the entity."""
    rows = session.execute(
        select(MentionRow.record_id, func.count())
        .join(RecordRow, RecordRow.id == MentionRow.record_id)
        .where(MentionRow.entity_id == entity_id, RecordRow.status == "published")
        .group_by(MentionRow.record_id)
        .order_by(func.count().desc(), MentionRow.record_id).limit(limit).offset(offset))
    return [(r, n) for r, n in rows]


def first_mention(session: Session, entity_id: str, record_ids: list[str]) -> dict[str, tuple]:
    rows = session.execute(
        select(MentionRow.record_id, MentionRow.start, MentionRow.end)
        .where(MentionRow.entity_id == entity_id, MentionRow.record_id.in_(record_ids),
               MentionRow.start.is_not(None))
        .order_by(MentionRow.record_id, MentionRow.start))
    out: dict[str, tuple] = {}
    for rid, s, e in rows:
        out.setdefault(rid, (s, e))
    return out


def co_mentioned(session: Session, entity_id: str, kind: str | None = None,
                 limit: int = 20) -> list[tuple[str, int]]:
    """Entities named in the same published records, with the number of shared records."""
    mine = (select(MentionRow.record_id).join(RecordRow, RecordRow.id == MentionRow.record_id)
            .where(MentionRow.entity_id == entity_id, RecordRow.status == "published")
            .distinct())
    stmt = (select(MentionRow.entity_id, func.count(func.distinct(MentionRow.record_id)))
            .where(MentionRow.record_id.in_(mine), MentionRow.entity_id != entity_id))
    if kind:
        stmt = stmt.join(EntityRow, EntityRow.id == MentionRow.entity_id).where(
            EntityRow.kind == kind)
    stmt = stmt.group_by(MentionRow.entity_id).order_by(
        func.count(func.distinct(MentionRow.record_id)).desc(), MentionRow.entity_id).limit(limit)
    return [(e, n) for e, n in session.execute(stmt)]


def shared_records(session: Session, a: str, b: str) -> list[str]:
    sa = select(MentionRow.record_id).where(MentionRow.entity_id == a)
    stmt = (select(MentionRow.record_id).join(RecordRow, RecordRow.id == MentionRow.record_id)
            .where(MentionRow.entity_id == b, MentionRow.record_id.in_(sa),
                   RecordRow.status == "published").distinct().order_by(MentionRow.record_id))
    return list(session.scalars(stmt))


def list_entities(session: Session, kind: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[EntityStats]:
    """Entities by number of published records naming them."""
    counts = (select(MentionRow.entity_id.label("eid"),
                     func.count(func.distinct(MentionRow.record_id)).label("records"),
                     func.count().label("mentions"))
              .join(RecordRow, RecordRow.id == MentionRow.record_id)
              .where(RecordRow.status == "published")
              .group_by(MentionRow.entity_id).subquery())
    stmt = select(EntityRow, counts.c.records, counts.c.mentions).join(
        counts, counts.c.eid == EntityRow.id)
    if kind:
        stmt = stmt.where(EntityRow.kind == kind)
    stmt = stmt.order_by(counts.c.records.desc(), counts.c.mentions.desc(),
                         EntityRow.preferred).limit(limit).offset(offset)
    return [EntityStats(to_entity(row), r, m) for row, r, m in session.execute(stmt)]


def rename(session: Session, entity_id: str, preferred: str, key: str) -> None:
    lock_authority(session)
    row = session.get(EntityRow, entity_id)
    if row is None:
        raise KeyError(entity_id)
    row.preferred = preferred
    row.key = key
    add_variant(session, entity_id, preferred, key)


def merge(session: Session, keep: str, drop: str) -> int:
    """Move every spelling and mention of ``drop`` onto ``keep``; return mentions moved."""
    lock_authority(session)
    if keep == drop:
        raise ValueError("cannot merge an entity with itself")
    keep_row, drop_row = session.get(EntityRow, keep), session.get(EntityRow, drop)
    if keep_row is None or drop_row is None:
        raise KeyError(keep if keep_row is None else drop)
    for v in list(drop_row.variants):
        add_variant(session, keep, v.variant, v.key)
    ids = dict(drop_row.identifiers or {})
    ids.update(keep_row.identifiers or {})
    keep_row.identifiers = ids
    moved = affected(session.execute(update(MentionRow).where(MentionRow.entity_id == drop)
                                     .values(entity_id=keep)))
    session.delete(drop_row)
    session.flush()
    return moved or 0


def split(session: Session, entity_id: str, variants: list[str], new: Entity,
          key_of) -> int:  # noqa: ANN001
    """Give the listed spellings (and their mentions) to a new entity."""
    lock_authority(session)
    row = session.get(EntityRow, entity_id)
    if row is None:
        raise KeyError(entity_id)
    create_entity(session, new, key_of)
    moved = 0
    for v in list(row.variants):
        if v.variant in variants:
            moved += affected(session.execute(
                update(MentionRow).where(MentionRow.entity_id == entity_id,
                                         MentionRow.text == v.variant)
                .values(entity_id=new.id)))
            session.delete(v)
    session.flush()
    return moved


def mention_record_ids(session: Session, entity_ids: Iterable[str]) -> list[str]:
    return sorted(set(session.scalars(select(MentionRow.record_id).where(
        MentionRow.entity_id.in_(list(entity_ids))))))


def spellings_near_key(session: Session, key: str, limit: int = 2000) -> list[tuple[str, str]]:
    """(spelling, key) of the authority's spellings whose key starts as ``key`` does
    (its first three characters): the candidates a mistyped name is compared with."""
    head = key[:3]
    if len(head) < 3:
        return []
    rows = session.execute(select(VariantRow.variant, VariantRow.key)
                           .where(VariantRow.key.startswith(head, autoescape=True))
                           .limit(limit))
    return [(variant, k) for variant, k in rows]
