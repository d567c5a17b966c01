"""The archive: records in the store and the search index kept in step with them.

Interfaces (CLI, web) call this service and never the store directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from opis.enrich.language import fill_language
from opis.model import Record
from opis.model.entity import Collection, Entity, GlossaryEntry
from opis.names import authority
from opis.readers import Item, ReadError, discover, read_path
from opis.readers.combine import combine
from opis.readers.ocr import file_attachment
from opis.search.base import ENTITY_FACETS, Indexable, SearchRequest, SearchResult
from opis.search.names import expand
from opis.search.query import parse_query
from opis.services.attachments import AttachmentStore
from opis.services.entities import FileContext, Linker
from opis.services.pipeline import Extractor
from opis.store import collections
from opis.store import entities as entity_store
from opis.store import records as store
from opis.store.db import Database


@dataclass
class Failure:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line else self.path
        return f"{where}: {self.message}"


BATCH_SIZE = 500


class _DryRun(Exception):
    """Raised inside a dry run's transaction so that everything is rolled back."""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclass
class IngestProgress:
    files_total: int
    bytes_total: int
    started: float
    files_done: int = 0
    bytes_done: int = 0
    records_done: int = 0
    path: Path | None = None

    @property
    def rate(self) -> float:
        """Records per second so far."""
        elapsed = time.perf_counter() - self.started
        return self.records_done / elapsed if elapsed > 0 else 0.0


@dataclass
class IngestReport:
    dry_run: bool = False
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict:
        """The report as ``opis ingest --report FILE`` writes it."""
        return {"dry_run": self.dry_run, "seconds": round(self.seconds, 3),
                "added": len(self.added), "updated": len(self.updated),
                "unchanged": len(self.unchanged), "failed": len(self.failed),
                "failures": [{"file": f.path, "line": f.line, "reason": f.message}
                             for f in self.failed],
                "records": {"added": self.added, "updated": self.updated,
                            "unchanged": self.unchanged}}


@dataclass
class TimedResult:
    result: SearchResult
    records: dict[str, Record]
    milliseconds: float
    labels: dict[str, str] = field(default_factory=dict)  # entity/collection id -> name


class Archive:
    """One archive: a database and its search engine."""

    def __init__(self, url: str):
        self.db = Database(url)
        self.db.migrate()
        if self.db.dialect == "postgresql":
            from opis.search.postgres_engine import PostgresEngine

            self.engine = PostgresEngine()
        else:
            from opis.search.tantivy_engine import TantivyEngine

            path = self.db.sqlite_path
            self.engine = TantivyEngine(Path(str(path) + ".tantivy") if path else None)
        self._heal_index()
        self.attachments = AttachmentStore.for_database(self.db.sqlite_path)

    def _heal_index(self) -> None:
        """An index out of step with the records (a crash between the two commits, a
        deleted folder) is rebuilt from the records, which are the truth."""
        with self.db.sessions() as session:
            if store.count_records(session) != self.engine.count(session):
                self.reindex()

    def close(self) -> None:
        self.engine.close()
        self.db.dispose()

    # -- writing ----------------------------------------------------------------------------

    def put(self, items: Iterable[Item], *, author: str = "ingest", reason: str = "ingest",
            context: FileContext | None = None, extractor: Extractor | None = None,
            dry_run: bool = False) -> dict[str, str]:
        """Store what a reader yielded, linked to the authority file and indexed, in one
        transaction: all or nothing. With ``dry_run`` everything is checked the same
        way and then rolled back, the index included."""
        statuses: dict[str, str] = {}
        context = context or FileContext()
        try:
            with self.db.transaction() as session:
                linker = Linker(session, context)
                pending: list[Record] = []
                for item in items:
                    if isinstance(item, Record):
                        pending.append(item)
                        continue
                    self._put_records(session, linker, pending, statuses, author, reason,
                                      extractor, dry_run)
                    pending = []
                    if isinstance(item, Entity):
                        linker.add_reader_entity(item)
                    elif isinstance(item, GlossaryEntry):
                        linker.add_glossary(item)
                        scope = item.id.split("/")[0] if item.id and "/" in item.id else "global"
                        collections.put_glossary(session, item, scope)
                    elif isinstance(item, Collection):
                        collections.put_collection(session, item)
                        self._restage(session, item.record_ids)
                self._put_records(session, linker, pending, statuses, author, reason, extractor,
                                  dry_run)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            self.engine.rollback()
            return statuses
        except BaseException:
            self.engine.rollback()
            raise
        self.engine.commit()
        return statuses

    def _put_records(self, session: Session, linker: Linker, records: list[Record],
                     statuses: dict[str, str], author: str, reason: str,
                     extractor: Extractor | None, dry_run: bool = False) -> None:
        """Check, skip the unchanged (before any enrichment), extract entities (on every
        core when an extractor pool is given), link and store a batch of records."""
        if not records:
            return
        digests = {}
        for record in records:
            if record.id in statuses or record.id in digests:
                raise ValueError(f"record id {record.id} appears twice")
            problems = record.check_annotations()
            if problems:
                raise ValueError(f"record {record.id}: " + "; ".join(problems))
            fill_language(record)  # cheap when the source names it; part of what is stored
            if not dry_run:
                self.attachments.keep(record)
            digests[record.id] = store.content_hash(record)
        stored = store.current_hashes(session, list(digests))
        changed = []
        for record in records:
            if stored.get(record.id) == digests[record.id]:
                statuses[record.id] = "unchanged"
            else:
                changed.append(record)
        found = extractor.run(changed) if extractor else [None] * len(changed)
        for record, cands in zip(changed, found, strict=True):
            linker.link(record, cands)
            status = store.put_record(session, record, author=author, reason=reason,
                                      digest=digests[record.id])
            statuses[record.id] = status
            kinds = {m.entity_id: linker.kind_of(m.entity_id) for m in record.mentions}
            self.engine.stage([self._indexable(session, record, kinds)], session)

    def ingest(self, paths: list[Path], progress: Callable[[IngestProgress], None] | None = None,
               *, dry_run: bool = False, workers: int | None = None,
               batch_size: int = BATCH_SIZE) -> IngestReport:
        """Read and store every file in batches of complete records.

        A batch is one transaction, so an ingest stopped at any point leaves whole records
        only; running it again skips what was stored (unchanged content is recognised
        before any enrichment) and finishes the rest. A file that cannot be read is
        reported with its line; the batch in which the error lies stores nothing.
        """
        report = IngestReport(dry_run=dry_run)
        started = time.perf_counter()
        files = list(discover(paths))
        state = IngestProgress(files_total=len(files),
                               bytes_total=sum(_size(f) for f in files), started=started)
        with Extractor(workers) as extractor:
            for path in files:
                state.path = path
                try:
                    if not path.exists():
                        raise ReadError(path, "no such file")
                    n = self._ingest_file(path, report, extractor, dry_run, batch_size,
                                          state, progress)
                    if n == 0:
                        raise ReadError(path, "no records found")
                except ReadError as e:
                    report.failed.append(Failure(e.path, e.message, e.line))
                except (OSError, ValueError) as e:
                    report.failed.append(Failure(str(path), str(e)))
                state.files_done += 1
                state.bytes_done += _size(path)
                if progress:
                    progress(state)
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_file(self, path: Path, report: IngestReport, extractor: Extractor,
                     dry_run: bool, batch_size: int, state: IngestProgress,
                     progress: Callable[[IngestProgress], None] | None) -> int:
        context = FileContext()
        batch: list[Item] = []
        records = 0

        def flush() -> None:
            statuses = self.put(batch, reason=f"ingest {path.name}", context=context,
                                extractor=extractor, dry_run=dry_run)
            for rid, status in statuses.items():
                getattr(report, status).append(rid)
            state.records_done += len(statuses)
            batch.clear()
            if progress:
                progress(state)

        for item in read_path(path):
            batch.append(item)
            if isinstance(item, Record):
                records += 1
                if records % batch_size == 0:
                    flush()
        if batch:
            flush()
        return records

    def _restage(self, session: Session, record_ids: Iterable[str]) -> None:
        """Index again records whose collections changed (one at a time: bounded memory)."""
        for rid in record_ids:
            record = store.get_record(session, rid, public=False)
            if record is not None:
                self.engine.stage([self._indexable(session, record)], session)

    def _indexable(self, session: Session, record: Record,
                   kinds: dict[str, str | None] | None = None) -> Indexable:
        """A record with what the index needs beyond it: entity kinds, collections."""
        if kinds is None or None in kinds.values():
            kinds = entity_store.kinds_of(session, {m.entity_id for m in record.mentions})
        return Indexable(record, kinds, collections.collections_of(session, record.id))

    def ingest_pair(self, translation: Path, original: Path) -> IngestReport:
        """One record from two files: the translation's text, with the original (a scan,
        a PDF, a transcription) beside it; both files kept as attachments."""
        report = IngestReport()
        started = time.perf_counter()
        try:
            pair = []
            for path in (translation, original):
                records = [i for i in read_path(path) if isinstance(i, Record)]
                if len(records) != 1:
                    raise ReadError(path, f"expected one record, found {len(records)}")
                pair.append(records[0])
            if not pair[0].extra.get("attachments"):
                pair[0].extra["attachments"] = [file_attachment(translation, "translation")]
            for rid, status in self.put([combine(*pair)],
                                        reason=f"ingest {translation.name} with "
                                               f"{original.name}").items():
                getattr(report, status).append(rid)
        except ReadError as e:
            report.failed.append(Failure(e.path, e.message, e.line))
        except (OSError, ValueError) as e:
            report.failed.append(Failure(str(translation), str(e)))
        report.seconds = time.perf_counter() - started
        return report

    def attachment(self, sha256: str) -> tuple[Path, str] | None:
        """A stored file and its media type, if a published record lists it."""
        path = self.attachments.path_for(sha256)
        if path is None:
            return None
        with self.db.sessions() as session:
            for record_id in store.ids_mentioning_text(session, sha256):
                record = store.get_record(session, record_id)
                for entry in (record.extra.get("attachments") or []) if record else []:
                    if entry.get("sha256") == sha256:
                        return path, entry.get("media_type") or "application/octet-stream"
        return None

    def reindex(self) -> int:
        with self.db.transaction() as session:
            n = self.engine.rebuild((self._indexable(session, r)
                                     for r in store.iter_records(session)), session)
        self.engine.commit()
        return n

    # -- reading ----------------------------------------------------------------------------

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
                          lambda keys: entity_store.variants_by_keys(session, keys))
            result = self.engine.search(request, node, session)
            found = store.get_records(session, [h.id for h in result.hits], light=True)
            ids = {v for k in ENTITY_FACETS for v, _ in result.facets.get(k, [])}
            ids |= set(request.entities)
            labels = {e.id: e.preferred for e in entity_store.get_entities(session, ids).values()}
            labels.update({c.id: c.title for c, _ in collections.list_collections(session)})
        # A hit whose record is gone (or withdrawn) is never shown.
        result.hits = [h for h in result.hits if h.id in found]
        return TimedResult(result, found, (time.perf_counter() - started) * 1000, labels)

    # -- entities ---------------------------------------------------------------------------

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

    def co_mentioned(self, entity_id: str, kind: str | None = None,
                     limit: int = 20) -> list[tuple[Entity, int]]:
        with self.db.sessions() as session:
            pairs = entity_store.co_mentioned(session, entity_id, kind, limit)
            ents = entity_store.get_entities(session, [e for e, _ in pairs])
        return [(ents[e], n) for e, n in pairs if e in ents]

    def network(self, entity_id: str, size: int = 25) -> dict:
        """Co-mention network around a person: nodes, and edges weighted by shared records."""
        with self.db.sessions() as session:
            center = entity_store.get_entity(session, entity_id)
            if center is None:
                return {"nodes": [], "edges": []}
            around = entity_store.co_mentioned(session, entity_id, center.kind, size)
            ids = [entity_id] + [e for e, _ in around]
            ents = entity_store.get_entities(session, ids)
            recs = {e: set(entity_store.mention_record_ids(session, [e])) for e in ids}
        edges = []
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                shared = len(recs[a] & recs[b])
                if shared:
                    edges.append({"source": a, "target": b, "weight": shared})
        nodes = [{"id": e, "label": ents[e].preferred, "records": len(recs[e]),
                  "center": e == entity_id} for e in ids if e in ents]
        return {"nodes": nodes, "edges": edges}

    def shared_records(self, a: str, b: str) -> list[str]:
        with self.db.sessions() as session:
            return entity_store.shared_records(session, a, b)

    def list_entities(self, kind: str | None = None, limit: int = 100,
                      offset: int = 0) -> list[entity_store.EntityStats]:
        with self.db.sessions() as session:
            return entity_store.list_entities(session, kind, limit, offset)

    def merge_entities(self, keep: str, drop: str) -> int:
        with self.db.transaction() as session:
            moved = entity_store.merge(session, keep, drop)
            self._restage(session, entity_store.mention_record_ids(session, [keep]))
        self.engine.commit()
        return moved

    def rename_entity(self, entity_id: str, preferred: str) -> None:
        with self.db.transaction() as session:
            entity_store.rename(session, entity_id, preferred, authority.key(preferred))

    def split_entity(self, entity_id: str, variants: list[str], preferred: str) -> Entity:
        with self.db.transaction() as session:
            old = entity_store.get_entity(session, entity_id)
            if old is None:
                raise KeyError(entity_id)
            new = Entity(authority.new_entity_id(
                old.kind, preferred, lambda e: entity_store.entity_exists(session, e)),
                old.kind, preferred, [v for v in variants if v != preferred])
            entity_store.split(session, entity_id, variants, new, authority.key)
            self._restage(session, entity_store.mention_record_ids(session, [entity_id, new.id]))
        self.engine.commit()
        return new

    def import_authority(self, entities: Iterable[Entity]) -> int:
        """Add or extend authority records (from CSV or JSON); existing ids gain spellings."""
        n = 0
        with self.db.transaction() as session:
            for e in entities:
                if entity_store.entity_exists(session, e.id):
                    for v in [e.preferred, *e.variants]:
                        entity_store.add_variant(session, e.id, v, authority.key(v))
                else:
                    entity_store.create_entity(session, e, authority.key)
                n += 1
        return n

    # -- collections ----------------------------------------------------------------------

    def collection(self, collection_id: str, *, public: bool = True) -> Collection | None:
        with self.db.sessions() as session:
            return collections.get_collection(session, collection_id, public=public)

    def list_collections(self) -> list[tuple[Collection, int]]:
        with self.db.sessions() as session:
            return collections.list_collections(session)

    def save_collection(self, collection: Collection) -> None:
        with self.db.transaction() as session:
            old = collections.get_collection(session, collection.id, public=False)
            collections.put_collection(session, collection)
            self._restage(session, set(collection.record_ids) |
                          set(old.record_ids if old else []))
        self.engine.commit()

    def delete_collection(self, collection_id: str) -> bool:
        with self.db.transaction() as session:
            old = collections.get_collection(session, collection_id, public=False)
            ok = collections.delete_collection(session, collection_id)
            session.flush()
            if old:
                self._restage(session, old.record_ids)
        self.engine.commit()
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

    def glossary(self, scope: str | None = None) -> list[tuple[str, str, str]]:
        with self.db.sessions() as session:
            return collections.glossary(session, scope)
