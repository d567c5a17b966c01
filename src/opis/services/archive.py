"""The archive: opening one (its database, search engine, write protocol and file store)
and handing out the services that read and write it, one per resource:

- ``records``     services/records.py      published records, search, stored files
- ``ingestion``   services/ingest.py       files and reader items in
- ``authority``   services/entities.py     the authority file and its curation
- ``collections`` services/collections.py  curated sets of records
- ``writes``      services/unit_of_work.py the one write protocol all of them use

The methods below are shorthands for the services'. Curation, accounts, harvesting and
export/import take the archive; every write goes through ``writes``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from opis.model import Record
from opis.model.entity import Collection, Entity
from opis.readers import Item
from opis.search.base import SearchEngine, SearchRequest
from opis.services.attachments import AttachmentStore, Served
from opis.services.collections import Collections
from opis.services.entities import Entities
from opis.services.ingest import Ingest, Intake
from opis.services.ingest_report import IngestProgress, IngestReport
from opis.services.records import Records, TimedResult
from opis.services.unit_of_work import UnitOfWork
from opis.store import maintenance
from opis.store.db import Database


def open_database(url: str, read_urls: Iterable[str] = ()) -> Database:
    """The database at ``url``, its schema brought up to date."""
    db = Database(url, read_urls)
    db.migrate()
    return db


def open_engine(db: Database) -> SearchEngine:
    """PostgreSQL's own full-text search in its database; Tantivy beside an SQLite file."""
    if db.dialect == "postgresql":
        from opis.search.postgres_engine import PostgresEngine

        return PostgresEngine()
    from opis.search.tantivy_engine import TantivyEngine

    path = db.sqlite_path
    return TantivyEngine(Path(str(path) + ".tantivy") if path else None)


class Archive:
    """One archive: a database and its search engine, kept in step."""

    def __init__(self, url: str, read_urls: Iterable[str] = ()):
        self.db = open_database(url, read_urls)
        self.engine = open_engine(self.db)
        self.writes = UnitOfWork(self.db, self.engine)
        self.writes.heal(recount=True)  # what a crash or a deleted index folder left
        maintenance.ensure_statistics(self.db)
        self.attachments = AttachmentStore.for_database(self.db.sqlite_path)
        self.records = Records(self.db, self.engine, self.attachments)
        # Search by meaning: the model and the vector index load on first use.
        self.semantic = self.records.semantic
        self.ingestion = Ingest(self.db, self.writes, self.attachments)
        self.authority = Entities(self.db, self.writes)
        self.collections = Collections(self.db, self.writes)

    def close(self) -> None:
        self.engine.close()
        self.db.dispose()

    def reindex(self) -> int:  # every record indexed afresh
        return self.writes.rebuild()

    def put(self, items: Iterable[Item], *args: Any, **options: Any) -> dict[str, str]:
        return self.ingestion.put(items, *args, **options)

    def intake(self, paths: Iterable[Path], *args: Any, **options: Any) -> Intake:
        return self.ingestion.intake(paths, *args, **options)

    def ingest(self, paths: list[Path], progress: Callable[[IngestProgress], None] | None = None,
               *args: Any, **options: Any) -> IngestReport:
        return self.ingestion.ingest(paths, progress, *args, **options)

    def ingest_pair(self, translation: Path, original: Path, *args: Any,
                    **options: Any) -> IngestReport:
        return self.ingestion.ingest_pair(translation, original, *args, **options)

    def get(self, record_id: str) -> Record | None:
        return self.records.get(record_id)

    def count(self) -> int:
        return self.records.count()

    def recent(self, limit: int = 10) -> list[Record]:
        return self.records.recent(limit)

    def revisions(self, record_id: str) -> list:
        return self.records.revisions(record_id)

    def search(self, request: SearchRequest) -> TimedResult:
        return self.records.search(request)

    def attachment(self, sha256: str) -> Served | None:
        return self.records.attachment(sha256)

    def entity(self, entity_id: str) -> Entity | None:
        return self.authority.entity(entity_id)

    def entities(self, ids: Iterable[str]) -> dict[str, Entity]:
        return self.authority.entities(ids)

    def entity_records(self, entity_id: str, limit: int = 50) -> list[tuple[Record, int]]:
        return self.authority.entity_records(entity_id, limit)

    def list_entities(self, kind: str | None = None, limit: int = 100, offset: int = 0) -> list:
        return self.authority.list_entities(kind, limit, offset)

    def merge_entities(self, keep: str, drop: str) -> int:
        return self.authority.merge_entities(keep, drop)

    def rename_entity(self, entity_id: str, preferred: str) -> None:
        self.authority.rename_entity(entity_id, preferred)

    def split_entity(self, entity_id: str, variants: list[str], preferred: str) -> Entity:
        return self.authority.split_entity(entity_id, variants, preferred)

    def import_authority(self, entities: Iterable[Entity]) -> int:
        return self.authority.import_authority(entities)

    def collection(self, collection_id: str, *, public: bool = True) -> Collection | None:
        return self.collections.collection(collection_id, public=public)

    def list_collections(self) -> list[tuple[Collection, int]]:
        return self.collections.list_collections()

    def save_collection(self, collection: Collection) -> None:
        self.collections.save_collection(collection)

    def delete_collection(self, collection_id: str) -> bool:
        return self.collections.delete_collection(collection_id)

    def record_collections(self, record_id: str) -> list[tuple[Collection, str | None,
                                                               str | None]]:
        return self.collections.record_collections(record_id)
