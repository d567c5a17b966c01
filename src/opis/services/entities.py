"""Entities (people, places, organisations, events): reading the authority file, and the
curators' changes to it (merge, split, rename, import), each re-indexing the records it
touches through the archive's one write protocol."""

from __future__ import annotations

from collections.abc import Iterable

from opis.model import Record
from opis.model.entity import Entity
from opis.names import authority
from opis.services.unit_of_work import UnitOfWork
from opis.store import entities as entity_store
from opis.store import records as store
from opis.store.db import Database


class Entities:
    def __init__(self, db: Database, writes: UnitOfWork):
        self.db = db
        self.writes = writes

    def entity(self, entity_id: str) -> Entity | None:
        with self.db.sessions() as session:
            return entity_store.get_entity(session, entity_id)

    def entities(self, ids: Iterable[str]) -> dict[str, Entity]:
        with self.db.sessions() as session:
            return entity_store.get_entities(session, ids)

    def entity_records(self, entity_id: str, limit: int = 50) -> list[tuple[Record, int]]:
        with self.db.sessions() as session:
            hits = entity_store.records_mentioning(session, entity_id, limit)
            found = store.get_records(session, [r for r, _ in hits])
        return [(found[r], n) for r, n in hits if r in found]

    def list_entities(self, kind: str | None = None, limit: int = 100,
                      offset: int = 0) -> list[entity_store.EntityStats]:
        with self.db.sessions() as session:
            return entity_store.list_entities(session, kind, limit, offset)

    def merge_entities(self, keep: str, drop: str) -> int:
        with self.writes.write() as change:
            session = change.session
            moved = entity_store.merge(session, keep, drop)
            change.reindex(entity_store.mention_record_ids(session, [keep]))
        return moved

    def rename_entity(self, entity_id: str, preferred: str) -> None:
        with self.writes.write() as change:
            entity_store.rename(change.session, entity_id, preferred, authority.key(preferred))

    def split_entity(self, entity_id: str, variants: list[str], preferred: str) -> Entity:
        with self.writes.write() as change:
            session = change.session
            old = entity_store.get_entity(session, entity_id)
            if old is None:
                raise KeyError(entity_id)
            new = Entity(authority.new_entity_id(
                old.kind, preferred, lambda e: entity_store.entity_exists(session, e)),
                old.kind, preferred, [v for v in variants if v != preferred])
            entity_store.split(session, entity_id, variants, new, authority.key)
            change.reindex(entity_store.mention_record_ids(session, [entity_id, new.id]))
        return new

    def import_authority(self, entities: Iterable[Entity]) -> int:
        """Add or extend authority records (from CSV or JSON); existing ids gain spellings."""
        n = 0
        with self.writes.write() as change:
            session = change.session
            for e in entities:
                if entity_store.entity_exists(session, e.id):
                    for v in [e.preferred, *e.variants]:
                        entity_store.add_variant(session, e.id, v, authority.key(v))
                else:
                    entity_store.create_entity(session, e, authority.key)
                n += 1
        return n
