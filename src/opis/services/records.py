"""Records as readers get them: one by id, the newest, their revisions, a search with
its labels, a stored file; and the public shape of a record (what /document/{id}.json
and ``opis show --json`` return)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from opis.model import Record
from opis.search import hybrid
from opis.search.base import (
    ENTITY_FACETS,
    STOPWORDS,
    SearchEngine,
    SearchRequest,
    SearchResult,
)
from opis.search.names import expand
from opis.search.query import parse_query, positive_units
from opis.services.attachments import AttachmentStore, Served
from opis.services.embedding import semantic_search
from opis.store import collections
from opis.store import entities as entity_store
from opis.store import records as store
from opis.store.db import Database

PRIVATE_FIELDS = ("source_path",)


def record_json(record: Record) -> dict[str, Any]:
    """The record with its documented field names (docs/json.md); server paths removed."""
    data = record.to_dict()
    for name in PRIVATE_FIELDS:
        data.pop(name, None)
    return data


@dataclass
class TimedResult:
    result: SearchResult
    records: dict[str, Record]
    milliseconds: float
    labels: dict[str, str] = field(default_factory=dict)  # entity/collection id -> name

class Records:
    """Reading published records (through the read replicas, when there are any)."""

    def __init__(self, db: Database, engine: SearchEngine, attachments: AttachmentStore):
        self.db = db
        self.engine = engine
        self.attachments = attachments
        self.semantic = semantic_search(db)  # the model and vectors load on first use

    def get(self, record_id: str) -> Record | None:
        with self.db.sessions() as session:
            return store.get_record(session, record_id)

    def count(self) -> int:
        with self.db.sessions() as session:
            return store.count_records(session)

    def recent(self, limit: int = 10) -> list[Record]:
        with self.db.sessions() as session:
            return store.recent_records(session, limit)

    def revisions(self, record_id: str) -> list[store.Revision]:
        with self.db.sessions() as session:
            return store.revisions(session, record_id)

    def search(self, request: SearchRequest) -> TimedResult:
        started = time.perf_counter()
        with self.db.sessions() as session:
            node = expand(parse_query(request.query),
                          lambda keys: entity_store.variants_by_keys(session, keys),
                          lambda keys: entity_store.entities_by_keys(session, keys))
            result = hybrid.search(request, node, self.engine, self.semantic, session,
                                   lambda ids: store.get_records(session, ids, light=True))
            found = store.get_records(session, [h.id for h in result.hits], light=True)
            ids = {v for k in ENTITY_FACETS for v, _ in result.facets.get(k, [])}
            ids |= set(request.entities)
            labels = entity_store.preferred_names(session, ids)
            labels.update(collections.titles(session))
        # A hit whose record is gone (or withdrawn) is never shown.
        result.hits = [h for h in result.hits if h.id in found]
        return TimedResult(result, found, (time.perf_counter() - started) * 1000, labels)

    def find_units(self, query: str) -> list[str]:
        """What to mark when a reader opens a document from a search: each unit of the
        query as the search's snippets mark it (a word, a phrase, a name in every
        spelling the authority knows, a prefix as ``stem*``); no stop word alone."""
        with self.db.sessions() as session:
            node = expand(parse_query(query),
                          lambda keys: entity_store.variants_by_keys(session, keys),
                          lambda keys: entity_store.entities_by_keys(session, keys))
        units = [" ".join(u) for u in positive_units(node)
                 if not all(w.casefold() in STOPWORDS for w in u)]
        return list(dict.fromkeys(units))

    def attachment(self, sha256: str) -> Served | None:
        """A stored file and how to send it (its type read from its bytes, never taken
        from the record), if a published record lists it."""
        if self.attachments.path_for(sha256) is None:
            return None
        with self.db.sessions() as session:
            for record_id in store.ids_mentioning_text(session, sha256):
                record = store.get_record(session, record_id)
                entries = record.extra.get("attachments") if record else None
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict) and entry.get("sha256") == sha256:
                        return self.attachments.served(sha256, entry.get("name"))
        return None
