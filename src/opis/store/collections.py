"""Collections (ordered sets of records) and the glossary of abbreviations."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opis.model.entity import Collection, GlossaryEntry
from opis.store.entities import lock_authority
from opis.store.tables import CollectionItemRow, CollectionRow, GlossaryRow, RecordRow


def put_collection(session: Session, collection: Collection) -> None:
    lock_authority(session)  # two ingests of one volume take turns, not a duplicate key
    now = datetime.now(UTC)
    row = session.get(CollectionRow, collection.id)
    if row is None:
        row = CollectionRow(id=collection.id, created_at=now)
        session.add(row)
    row.title = collection.title
    row.description = collection.description
    row.updated_at = now
    session.flush()
    set_items(session, collection.id, collection.record_ids)


def set_items(session: Session, collection_id: str, record_ids: list[str]) -> None:
    session.execute(delete(CollectionItemRow).where(
        CollectionItemRow.collection_id == collection_id))
    session.add_all([CollectionItemRow(collection_id=collection_id, position=i, record_id=r)
                     for i, r in enumerate(dict.fromkeys(record_ids))])
    session.flush()


def get_collection(session: Session, collection_id: str, *, public: bool = True
                   ) -> Collection | None:
    row = session.get(CollectionRow, collection_id)
    if row is None:
        return None
    stmt = (select(CollectionItemRow.record_id).where(
        CollectionItemRow.collection_id == collection_id).order_by(CollectionItemRow.position))
    if public:
        stmt = stmt.join(RecordRow, RecordRow.id == CollectionItemRow.record_id).where(
            RecordRow.status == "published")
    return Collection(row.id, row.title, row.description, list(session.scalars(stmt)))


def titles(session: Session) -> dict[str, str]:
    """Collection id -> title, without counting members (a search's facet labels)."""
    return dict(session.execute(select(CollectionRow.id, CollectionRow.title)).all())


def list_collections(session: Session) -> list[tuple[Collection, int]]:
    counts = (select(CollectionItemRow.collection_id, func.count().label("n"))
              .join(RecordRow, RecordRow.id == CollectionItemRow.record_id)
              .where(RecordRow.status == "published")
              .group_by(CollectionItemRow.collection_id).subquery())
    stmt = (select(CollectionRow, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.collection_id == CollectionRow.id)
            .order_by(CollectionRow.title))
    return [(Collection(r.id, r.title, r.description), n) for r, n in session.execute(stmt)]


def delete_collection(session: Session, collection_id: str) -> bool:
    row = session.get(CollectionRow, collection_id)
    if row is None:
        return False
    session.delete(row)
    return True


def collections_of(session: Session, record_id: str) -> list[str]:
    return list(session.scalars(select(CollectionItemRow.collection_id).where(
        CollectionItemRow.record_id == record_id).order_by(CollectionItemRow.collection_id)))


def collections_of_many(session: Session, record_ids: list[str]) -> dict[str, list[str]]:
    """``collections_of`` for a batch of records in one query."""
    out: dict[str, list[str]] = {rid: [] for rid in record_ids}
    if record_ids:
        stmt = (select(CollectionItemRow.record_id, CollectionItemRow.collection_id)
                .where(CollectionItemRow.record_id.in_(record_ids))
                .order_by(CollectionItemRow.collection_id))
        for rid, cid in session.execute(stmt):
            out[rid].append(cid)
    return out


def neighbours(session: Session, collection_id: str, record_id: str) -> tuple[str | None,
                                                                              str | None]:
    ids = get_collection(session, collection_id)
    if ids is None or record_id not in ids.record_ids:
        return None, None
    i = ids.record_ids.index(record_id)
    prev = ids.record_ids[i - 1] if i > 0 else None
    nxt = ids.record_ids[i + 1] if i + 1 < len(ids.record_ids) else None
    return prev, nxt


def put_glossary(session: Session, entry: GlossaryEntry, scope: str) -> None:
    lock_authority(session)
    exists = session.scalar(select(GlossaryRow.id).where(
        GlossaryRow.scope == scope, GlossaryRow.term == entry.term,
        GlossaryRow.expansion == entry.expansion))
    if exists is None:
        session.add(GlossaryRow(term=entry.term, expansion=entry.expansion, scope=scope,
                                source_id=entry.id))


def glossary(session: Session, scope: str | None = None) -> list[tuple[str, str, str]]:
    stmt = select(GlossaryRow.term, GlossaryRow.expansion, GlossaryRow.scope)
    if scope:
        stmt = stmt.where(GlossaryRow.scope == scope)
    return [(term, expansion, scope_)
            for term, expansion, scope_ in session.execute(stmt.order_by(GlossaryRow.term))]
