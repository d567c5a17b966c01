"""What OAI-PMH harvesting reads: records in datestamp order with their set
memberships, the collections and the holding archives that make the sets. The
protocol itself (verbs, tokens, XML) is ``services/oai.py``; it never builds SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from opis.model import Record
from opis.store.records import to_record
from opis.store.tables import CollectionItemRow, CollectionRow, RecordRow


@dataclass(frozen=True)
class HarvestItem:
    """One record as a harvest sees it; ``record`` only when the whole record was read."""

    id: str
    updated_at: datetime
    status: str
    repository: str | None
    record: Record | None = None


@dataclass(frozen=True)
class SetScope:
    """Which records a set holds: every collection member, one collection's members,
    every record with a holding archive, or the records of the named archives."""

    kind: str  # "collection" | "repository"
    collection_id: str | None = None
    repositories: Sequence[str] | None = None


@dataclass(frozen=True)
class HarvestFilter:
    """A list's selection: changed before ``started``, within [``since``, ``before``),
    in ``scope`` when given."""

    started: datetime
    since: datetime | None = None
    before: datetime | None = None
    scope: SetScope | None = None


def earliest_change(session: Session) -> datetime | None:
    return session.scalar(select(func.min(RecordRow.updated_at)))


def first_record_id(session: Session) -> str | None:
    return session.scalar(select(RecordRow.id).order_by(RecordRow.id).limit(1))


def collections(session: Session) -> list[tuple[str, str, str | None]]:
    """(id, title, description) of every collection, by id."""
    return [(r.id, r.title, r.description)
            for r in session.scalars(select(CollectionRow).order_by(CollectionRow.id))]


def collection_exists(session: Session, collection_id: str) -> bool:
    return session.get(CollectionRow, collection_id) is not None


def repository_names(session: Session) -> list[str]:
    """Every non-blank holding-archive name, sorted."""
    names = session.scalars(select(RecordRow.repository)
                            .where(RecordRow.repository.is_not(None)).distinct())
    return sorted(n for n in names if n and n.strip())


def _conditions(where: HarvestFilter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = [RecordRow.updated_at < where.started]
    if where.since:
        out.append(RecordRow.updated_at >= where.since)
    if where.before:
        out.append(RecordRow.updated_at < where.before)
    scope = where.scope
    if scope is not None and scope.kind == "collection":
        items = select(CollectionItemRow.record_id)
        if scope.collection_id is not None:
            items = items.where(CollectionItemRow.collection_id == scope.collection_id)
        out.append(RecordRow.id.in_(items))
    elif scope is not None and scope.repositories is None:
        out.append(and_(RecordRow.repository.is_not(None), RecordRow.repository != ""))
    elif scope is not None:
        out.append(RecordRow.repository.in_(list(scope.repositories or [])))
    return out


def count(session: Session, where: HarvestFilter) -> int:
    return session.scalar(select(func.count()).select_from(RecordRow)
                          .where(*_conditions(where))) or 0


def page(session: Session, where: HarvestFilter, after: tuple[datetime, str] | None,
         size: int, *, whole: bool) -> list[HarvestItem]:
    """Up to ``size`` records after the keyset ``after`` (datestamp, id), in that order;
    ``whole`` reads each record with its marks and mentions, else only its header."""
    keyset = _conditions(where)
    if after:
        at, rid = after
        keyset.append(or_(RecordRow.updated_at > at,
                          and_(RecordRow.updated_at == at, RecordRow.id > rid)))
    order = (RecordRow.updated_at, RecordRow.id)
    if whole:
        stmt = (select(RecordRow).where(*keyset).order_by(*order).limit(size)
                .options(selectinload(RecordRow.annotations), selectinload(RecordRow.mentions)))
        return [_item(row, whole=True) for row in session.scalars(stmt)]
    heads = (select(RecordRow.id, RecordRow.updated_at, RecordRow.status, RecordRow.repository)
             .where(*keyset).order_by(*order).limit(size))
    return [HarvestItem(rid, at, status, repo) for rid, at, status, repo in session.execute(heads)]


def item(session: Session, record_id: str) -> HarvestItem | None:
    row = session.get(RecordRow, record_id)
    return None if row is None else _item(row, whole=True)


def memberships(session: Session, record_ids: Iterable[str]) -> dict[str, list[str]]:
    """record id -> the ids of the collections it belongs to, sorted."""
    ids = list(record_ids)
    out: dict[str, list[str]] = {}
    if not ids:
        return out
    stmt = (select(CollectionItemRow.record_id, CollectionItemRow.collection_id)
            .where(CollectionItemRow.record_id.in_(ids))
            .order_by(CollectionItemRow.record_id, CollectionItemRow.collection_id))
    for rid, cid in session.execute(stmt):
        out.setdefault(rid, []).append(cid)
    return out


def _item(row: RecordRow, *, whole: bool) -> HarvestItem:
    return HarvestItem(row.id, row.updated_at, row.status, row.repository,
                       to_record(row) if whole else None)
