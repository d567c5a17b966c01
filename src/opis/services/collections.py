"""Collections: curated, ordered sets of records (a seminar's reading, a FRUS volume),
saved and deleted through the archive's one write protocol so a collection filter in a
search always finds what the collection holds."""

from __future__ import annotations

from opis.model.entity import Collection
from opis.services.unit_of_work import UnitOfWork
from opis.store import collections
from opis.store.db import Database


class Collections:
    def __init__(self, db: Database, writes: UnitOfWork):
        self.db = db
        self.writes = writes

    def collection(self, collection_id: str, *, public: bool = True) -> Collection | None:
        with self.db.sessions() as session:
            return collections.get_collection(session, collection_id, public=public)

    def list_collections(self) -> list[tuple[Collection, int]]:
        with self.db.sessions() as session:
            return collections.list_collections(session)

    def save_collection(self, collection: Collection) -> None:
        with self.writes.write() as change:
            session = change.session
            old = collections.get_collection(session, collection.id, public=False)
            collections.put_collection(session, collection)
            change.reindex(set(collection.record_ids) | set(old.record_ids if old else []))

    def delete_collection(self, collection_id: str) -> bool:
        with self.writes.write() as change:
            session = change.session
            old = collections.get_collection(session, collection_id, public=False)
            ok = collections.delete_collection(session, collection_id)
            if old:
                change.reindex(old.record_ids)
        return ok

    def record_collections(self, record_id: str) -> list[tuple[Collection, str | None,
                                                               str | None]]:
        """Each collection holding the record, with the previous and next record in it."""
        with self.db.sessions() as session:
            out = []
            for cid in collections.collections_of(session, record_id):
                c = collections.get_collection(session, cid)
                if c is None:
                    continue
                prev, nxt = collections.neighbours(session, cid, record_id)
                out.append((c, prev, nxt))
            return out
