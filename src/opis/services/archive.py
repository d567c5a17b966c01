"""The archive: records in the store and the search index kept in step with them.

Interfaces (CLI, web) call this service and never the store directly.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from opis.config import data_dir
from opis.enrich.entities import Candidate
from opis.enrich.language import fill_language
from opis.model import Record
from opis.model.entity import Collection, Entity, GlossaryEntry
from opis.model.record import id_problem
from opis.model.urls import web_address_problem
from opis.names import authority
from opis.readers import Item, Limits, ReadError, Rejected, discover, read_path, reader_process
from opis.readers.combine import combine
from opis.readers.ocr import file_attachment
from opis.search import hybrid
from opis.search.base import ENTITY_FACETS, Indexable, SearchRequest, SearchResult
from opis.search.names import expand
from opis.search.query import parse_query
from opis.services.attachments import NOTHING, AllowedFiles, AttachmentStore, Served
from opis.services.embedding import semantic_search
from opis.services.entities import FileContext, Linker
from opis.services.pipeline import Extractor, Pending, collect_garbage, collection_paused
from opis.store import audit, collections
from opis.store import entities as entity_store
from opis.store import records as store
from opis.store.db import Database


@dataclass
class Failure:
    path: str
    message: str
    line: int | None = None
    limit: str | None = None  # the OPIS_MAX_... variable of the reader limit it was over
    record: str | None = None  # the record a flag is on (IngestReport.flagged)

    @classmethod
    def of(cls, error: ReadError) -> Failure:
        return cls(error.path, error.message, error.line, getattr(error, "limit", None))

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line else self.path
        return f"{where}: {self.message}"


def reader_limits() -> Limits:
    """The reader limits the environment sets (ValueError names a bad OPIS_MAX_...)."""
    return Limits.from_env()


BATCH_SIZE = 1000
# An SQLite archive "a.db" is also "a.db-wal" and the rest: never attached, never read.
SQLITE_FILES = ("", "-wal", "-shm", "-journal", ".tantivy", ".files")
ANALYZED = ("records", "annotations", "mentions", "entities", "entity_variants",
            "collection_items", "search_documents")
T = TypeVar("T")


@dataclass
class _Batch:
    """A batch on its way in: read, checked and hashed, its entities being extracted."""

    items: list[Item]
    digests: dict[str, str]  # record id -> hash of the record as read
    changed: list[str]  # ids whose content differs from what is stored
    found: Pending | None  # the extractor's work on the changed records
    warnings: list[Failure] = field(default_factory=list)


@dataclass(frozen=True)
class Intake:
    """Where a batch of records came from: the files the curator's command allows
    them to attach, the folder their relative paths start from, and the file named
    in warnings. Records from an intake also have their ``source_url`` checked with
    the edit form's rule."""

    allowed: AllowedFiles
    base: Path | None = None
    source: str = ""


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
    # Stored, but without something the source asked for (an attachment outside the
    # allowed folders, a javascript: source URL): each names the file, record and field.
    warnings: list[Failure] = field(default_factory=list)
    # Stored with a value the reader derived (a title from the dateline, an id from the
    # document's position): one entry per flag, naming the file, line and record.
    flagged: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    limits: Limits = field(default_factory=Limits)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def stored(self) -> int:
        """Records in the archive after this ingest from its files (new, changed, same)."""
        return len(self.added) + len(self.updated) + len(self.unchanged)

    @property
    def flagged_records(self) -> int:
        return len({f.record for f in self.flagged})

    def to_json(self) -> dict:
        """The report as ``opis ingest --report FILE`` writes it."""
        return {"dry_run": self.dry_run, "seconds": round(self.seconds, 3),
                "added": len(self.added), "updated": len(self.updated),
                "unchanged": len(self.unchanged), "stored": self.stored,
                "flagged": self.flagged_records, "failed": len(self.failed),
                "failures": [{"file": f.path, "line": f.line, "reason": f.message,
                              "limit": f.limit} for f in self.failed],
                "warnings": [{"file": f.path, "line": f.line, "reason": f.message}
                             for f in self.warnings],
                "flags": [{"file": f.path, "line": f.line, "record": f.record,
                           "reason": f.message} for f in self.flagged],
                "limits": self.limits.to_json(),
                "records": {"added": self.added, "updated": self.updated,
                            "unchanged": self.unchanged}}


@dataclass
class TimedResult:
    result: SearchResult
    records: dict[str, Record]
    milliseconds: float
    labels: dict[str, str] = field(default_factory=dict)  # entity/collection id -> name


def _writes(method: Callable[..., T]) -> Callable[..., T]:
    """Run a write under the archive's write lock. The search index has one writer per
    process, and whatever a thread stages goes out with the next commit of any thread:
    two threads writing at once (a web collection change during a curator's edit) would
    commit each other's half-done work."""

    @functools.wraps(method)
    def locked(self: Archive, *args: object, **kwargs: object) -> T:
        with self.write_lock:
            return method(self, *args, **kwargs)

    return locked


class Archive:
    """One archive: a database and its search engine."""

    write_lock: threading.RLock

    def __init__(self, url: str, read_urls: Iterable[str] = ()):
        self.write_lock = threading.RLock()
        self.db = Database(url, read_urls)
        self.db.migrate()
        if self.db.dialect == "postgresql":
            from opis.search.postgres_engine import PostgresEngine

            self.engine = PostgresEngine()
        else:
            from opis.search.tantivy_engine import TantivyEngine

            path = self.db.sqlite_path
            self.engine = TantivyEngine(Path(str(path) + ".tantivy") if path else None)
        self._heal_index()
        self._ensure_statistics()
        self.attachments = AttachmentStore.for_database(self.db.sqlite_path)
        # Search by meaning: the model and the vector index load on first use.
        self.semantic = semantic_search(self.db)

    @_writes
    def _heal_index(self) -> None:
        """Bring the index back in step with the records, which are the truth: entries a
        crash left between the database commit and the index commit (the journal names
        them), then, if the counts still differ (a deleted folder), a full rebuild. While
        another process holds the index for writing, that process heals it instead."""
        with self.db.sessions() as session:
            lagging = audit.pending(session)
            mismatch = store.count_records(session) != self.engine.count(session)
        if not (lagging or mismatch):
            return
        try:
            if lagging:
                with self.db.transaction() as session:
                    self._restage(session, lagging)
                self.engine.commit()
                with self.db.transaction() as session:
                    audit.clear_pending(session, lagging)
            with self.db.sessions() as session:
                mismatch = store.count_records(session) != self.engine.count(session)
            if mismatch:
                self.reindex()
        except ValueError as e:
            self.engine.rollback()
            if "Lock" not in str(e):  # Tantivy's writer lock, held by an ingest elsewhere
                raise

    def close(self) -> None:
        self.engine.close()
        self.db.dispose()

    # -- writing ----------------------------------------------------------------------------

    def put(self, items: Iterable[Item], *, author: str = "ingest", reason: str = "ingest",
            context: FileContext | None = None, extractor: Extractor | None = None,
            dry_run: bool = False) -> dict[str, str]:
        """Store what a reader yielded, linked to the authority file and indexed, in one
        transaction: all or nothing. With ``dry_run`` everything is checked the same
        way and then rolled back, the index included. No attachment is copied from a
        path a record names (that takes an ingest's ``Intake``)."""
        batch = self._prepare(list(items), extractor, dry_run)
        return self._store(batch, author=author, reason=reason,
                           context=context or FileContext(), dry_run=dry_run)

    def intake(self, paths: Iterable[Path], *, roots: Iterable[Path] = (),
               base: Path | None = None, source: str = "") -> Intake:
        """What naming ``paths`` on the command line lets records attach, never the
        archive's own database, index or store (docs/security.md)."""
        own = [self.attachments.root, data_dir()]
        if self.db.sqlite_path is not None:
            own += [Path(f"{self.db.sqlite_path}{suffix}") for suffix in SQLITE_FILES]
        return Intake(AllowedFiles.named(paths, roots, own), base, source)

    def _prepare(self, items: list[Item], extractor: Extractor | None,
                 dry_run: bool, intake: Intake | None = None) -> _Batch:
        """Check a batch, recognise unchanged records (before any enrichment) and start
        extracting entities from the others; nothing is written yet. What a record
        asks for and does not get (an attachment, a source URL) becomes a warning."""
        digests: dict[str, str] = {}
        warnings: list[Failure] = []
        for record in items:
            if not isinstance(record, Record):
                continue
            problem = id_problem(record.id)
            if problem:  # the id is in every URL of the record: refused before it is kept
                raise ValueError(f"record {record.title[:60]!r}: {problem}")
            if record.id in digests:
                raise ValueError(f"record id {record.id} appears twice")
            problems = record.check_annotations()
            if problems:
                raise ValueError(f"record {record.id}: " + "; ".join(problems))
            fill_language(record)  # cheap when the source names it; part of what is stored
            if intake is None:
                self.attachments.keep(record, NOTHING, dry_run=dry_run)
            else:
                warnings += [Failure(intake.source, f"record {record.id}: {m}")
                             for m in self._admit(record, intake, dry_run)]
            digests[record.id] = store.content_hash(record)
        with self.db.sessions() as session:
            stored = store.current_hashes(session, list(digests))
        changed = [i for i in items if isinstance(i, Record) and stored.get(i.id) != digests[i.id]]
        found = extractor.submit(changed) if extractor and changed else None
        return _Batch(items, digests, [r.id for r in changed], found, warnings)

    def _admit(self, record: Record, intake: Intake, dry_run: bool) -> list[str]:
        """Check what a record from outside brings besides its text: its attachments
        against the allowed files, its source URL against the edit form's rule. What
        fails is dropped (the record is still stored) and described."""
        problems = self.attachments.keep(record, intake.allowed, intake.base, dry_run=dry_run)
        if record.source_url is not None and record.source_url.strip():
            problem = web_address_problem(record.source_url)
            if problem:
                problems.append(f"source_url {record.source_url[:200]!r}: {problem}; "
                                "stored without it")
                record.source_url = None
        return problems

    @_writes
    def _store(self, batch: _Batch, *, author: str, reason: str, context: FileContext,
               dry_run: bool) -> dict[str, str]:
        """Link, write and index a prepared batch in one transaction; the search index
        commits right after the database, and the journal of lagging index entries
        written with the records lets a crash between the two commits be healed."""
        statuses: dict[str, str] = {}
        found = dict(zip(batch.changed, batch.found.result(), strict=True)) \
            if batch.found else {}
        indexed: list[str] = []
        try:
            with self.db.transaction() as session:
                linker = Linker(session, context)
                run: list[Record] = []
                for item in batch.items:
                    if isinstance(item, Record):
                        run.append(item)
                        continue
                    indexed += self._store_records(session, linker, run, batch, found,
                                                   statuses, author, reason)
                    run = []
                    if isinstance(item, Entity):
                        linker.add_reader_entity(item)
                    elif isinstance(item, GlossaryEntry):
                        linker.add_glossary(item)
                        scope = item.id.split("/")[0] if item.id and "/" in item.id else "global"
                        collections.put_glossary(session, item, scope)
                    elif isinstance(item, Collection):
                        collections.put_collection(session, item)
                        session.flush()
                        indexed += self._restage(session, item.record_ids)
                indexed += self._store_records(session, linker, run, batch, found, statuses,
                                               author, reason)
                audit.mark_pending(session, indexed)
                changes = {k: sorted(r for r, v in statuses.items() if v == k)
                           for k in ("added", "updated")}
                if any(changes.values()):
                    audit.add_entry(session, actor=author, action="ingest", reason=reason,
                                    detail={k: v for k, v in changes.items() if v})
                if dry_run:
                    raise _DryRun
        except _DryRun:
            self.engine.rollback()
            return statuses
        except BaseException:
            self.engine.rollback()
            raise
        self.engine.commit()
        if indexed:
            with self.db.transaction() as session:
                audit.clear_pending(session, indexed)
        return statuses

    def _store_records(self, session: Session, linker: Linker, records: list[Record],
                       batch: _Batch, found: dict[str, list[Candidate]],
                       statuses: dict[str, str], author: str, reason: str) -> list[str]:
        """Link and write a run of records (one statement per table), stage the published
        ones in the index; return the ids whose index entries changed."""
        if not records:
            return []
        changed = []
        linker.preload(found[r.id] for r in records if r.id in found)
        for record in records:
            if record.id in statuses:
                raise ValueError(f"record id {record.id} appears twice")
            if record.id not in batch.changed:
                statuses[record.id] = "unchanged"
                continue
            linker.link(record, found.get(record.id), preloaded=record.id in found)
            changed.append(record)
        stored = store.put_records(session, changed, author=author, reason=reason,
                                   digests=batch.digests)
        written = [r for r in changed if stored[r.id].change != "unchanged"]
        member_of = collections.collections_of_many(session, [r.id for r in written])
        unknown = {m.entity_id for r in written for m in r.mentions
                   if linker.kind_of(m.entity_id) is None}
        kinds = entity_store.kinds_of(session, unknown) if unknown else {}
        for record in changed:
            statuses[record.id] = stored[record.id].change
        for record in written:
            if stored[record.id].status != "published":  # a withdrawn record stays unfindable
                self.engine.remove([record.id], session)
                continue
            ents = {m.entity_id: linker.kind_of(m.entity_id) or kinds.get(m.entity_id)
                    for m in record.mentions}
            self.engine.stage([Indexable(record, ents, member_of[record.id])], session)
        return [r.id for r in written]

    def ingest(self, paths: list[Path], progress: Callable[[IngestProgress], None] | None = None,
               *, dry_run: bool = False, workers: int | None = None,
               batch_size: int = BATCH_SIZE, limits: Limits | None = None,
               attachment_roots: Iterable[Path] = (),
               encoding: str | None = None) -> IngestReport:
        """Read and store every file in batches of complete records.

        A batch is one transaction, so an ingest stopped at any point leaves whole records
        only; running it again skips what was stored (unchanged content is recognised
        before any enrichment) and finishes the rest. A file that cannot be read is
        reported with its line; the batch in which the error lies stores nothing. A record
        over a reader limit (readers/limits.py) is reported alone and the rest of its
        file is stored; the limits, read from the environment once, go in the report.
        Records attach only files inside ``paths`` (and ``attachment_roots``); text
        files are read in ``encoding`` when given (readers/encoding.py).
        """
        report = IngestReport(dry_run=dry_run, limits=limits or Limits.from_env())
        started = time.perf_counter()
        allowed = self.intake(paths, roots=attachment_roots).allowed
        # A folder holding the archive itself: its index and store are not sources.
        files = [f for f in discover(paths) if not allowed.is_own(f)]
        state = IngestProgress(files_total=len(files),
                               bytes_total=sum(_size(f) for f in files), started=started)
        with Extractor(workers) as extractor, collection_paused(), reader_process():
            for path in files:
                state.path = path
                try:
                    if not path.exists():
                        raise ReadError(path, "no such file")
                    intake = Intake(allowed, path.parent, str(path))
                    n = self._ingest_file(path, report, extractor, dry_run, batch_size,
                                          state, progress, intake, encoding)
                    if n == 0:
                        raise ReadError(path, "no records found")
                except ReadError as e:
                    report.failed.append(Failure.of(e))
                except (OSError, ValueError) as e:
                    report.failed.append(Failure(str(path), str(e)))
                except DBAPIError as e:  # a deadlock, a lost connection: the batch rolled back
                    report.failed.append(Failure(str(path), "the database refused a batch ("
                                                 f"{type(e.orig).__name__}: "
                                                 f"{str(e.orig).splitlines()[0]}); the batches "
                                                 "before it are stored, run the ingest again "
                                                 "to finish"))
                state.files_done += 1
                state.bytes_done += _size(path)
                if progress:
                    progress(state)
        if report.added or report.updated:
            self._analyze()
        report.seconds = time.perf_counter() - started
        return report

    def _analyze(self) -> None:
        """Refresh the planner's statistics after a load. Without them both databases
        chose badly: PostgreSQL planned for empty tables (a search took 675 ms instead of
        47 ms), and SQLite read twenty hits through the index on ``status`` (one value
        for nearly every record), scanning the whole table: 100 ms a search at 100,000
        records instead of 1 ms. SQLite samples a bounded number of index rows, so this
        takes about a second even at a million records."""
        with self.db.transaction() as session:
            if self.db.dialect == "postgresql":
                for table in ANALYZED:
                    session.execute(text(f"ANALYZE {table}"))
            else:
                session.execute(text("PRAGMA analysis_limit=1000"))
                session.execute(text("ANALYZE"))

    def _ensure_statistics(self) -> None:
        """An SQLite archive filled by an older opis has no statistics: gather them once."""
        if self.db.dialect != "sqlite":
            return
        with self.db.sessions() as session:
            has = session.execute(text("SELECT 1 FROM sqlite_master WHERE name = "
                                       "'sqlite_stat1'")).first()
            empty = session.execute(text("SELECT 1 FROM records LIMIT 1")).first() is None
        if not has and not empty:
            self._analyze()

    def _ingest_file(self, path: Path, report: IngestReport, extractor: Extractor,
                     dry_run: bool, batch_size: int, state: IngestProgress,
                     progress: Callable[[IngestProgress], None] | None,
                     intake: Intake, encoding: str | None = None) -> int:
        """Batches go through two stages at once: while one is linked and written here,
        the workers extract entities from the next (both cores busy). Returns the number
        of records read, those refused over a limit included."""
        context = FileContext()
        batch: list[Item] = []
        records = refused = 0
        inflight: _Batch | None = None
        storing = False

        def store_batch(prepared: _Batch) -> None:
            nonlocal storing
            storing = True
            statuses = self._store(prepared, author="ingest", reason=f"ingest {path.name}",
                                   context=context, dry_run=dry_run)
            storing = False
            collect_garbage()
            report.warnings += prepared.warnings
            for rid, status in statuses.items():
                getattr(report, status).append(rid)
            state.records_done += len(statuses)
            if progress:
                progress(state)

        def advance() -> None:
            nonlocal inflight
            prepared = self._prepare(batch[:], extractor, dry_run, intake)
            batch.clear()
            previous, inflight = inflight, prepared
            if previous is not None:
                store_batch(previous)

        try:
            for item in read_path(path, report.limits, encoding):
                if isinstance(item, Rejected):  # over a limit: reported, the file reads on
                    report.failed.append(Failure.of(item.error))
                    refused += 1
                    continue
                batch.append(item)
                if isinstance(item, Record):
                    records += 1
                    report.flagged += [Failure(str(path), f.message, f.line, record=item.id)
                                       for f in item.flags]
                    if records % batch_size == 0:
                        advance()
            if batch:
                advance()
            if inflight is not None:
                previous, inflight = inflight, None
                store_batch(previous)
        except BaseException:
            # A complete, checked batch waiting for its turn is stored before the error is
            # reported, as it would have been without the overlap; after a batch failed
            # to store, nothing later is.
            previous, inflight = inflight, None
            if previous is not None and not storing:
                store_batch(previous)
            elif previous is not None and previous.found is not None:
                previous.found.cancel()
            raise
        return records + refused

    def _restage(self, session: Session, record_ids: Iterable[str]) -> list[str]:
        """Index again records whose entities or collections changed, or drop them from
        the index when they are not published (one at a time: bounded memory)."""
        done = []
        for rid in record_ids:
            record = store.get_record(session, rid)
            if record is None:
                self.engine.remove([rid], session)
            else:
                self.engine.stage([self._indexable(session, record)], session)
            done.append(rid)
        return done

    def _indexable(self, session: Session, record: Record,
                   kinds: dict[str, str | None] | None = None) -> Indexable:
        """A record with what the index needs beyond it: entity kinds, collections."""
        if kinds is None or None in kinds.values():
            kinds = entity_store.kinds_of(session, {m.entity_id for m in record.mentions})
        return Indexable(record, kinds, collections.collections_of(session, record.id))

    def ingest_pair(self, translation: Path, original: Path,
                    limits: Limits | None = None,
                    attachment_roots: Iterable[Path] = ()) -> IngestReport:
        """One record from two files: the translation's text, with the original (a scan,
        a PDF, a transcription) beside it; both files kept as attachments (and nothing
        else but files inside ``attachment_roots``)."""
        report = IngestReport(limits=limits or Limits.from_env())
        started = time.perf_counter()
        intake = self.intake([translation, original], roots=attachment_roots,
                             base=translation.parent, source=str(translation))
        try:
            pair = []
            for path in (translation, original):
                with reader_process():
                    items = list(read_path(path, report.limits))
                for item in items:
                    if isinstance(item, Rejected):
                        raise item.error
                records = [i for i in items if isinstance(i, Record)]
                if len(records) != 1:
                    raise ReadError(path, f"expected one record, found {len(records)}")
                pair.append(records[0])
            if not pair[0].extra.get("attachments"):
                pair[0].extra["attachments"] = [file_attachment(translation, "translation")]
            batch = self._prepare([combine(*pair)], None, False, intake)
            report.warnings += batch.warnings
            for rid, status in self._store(batch, author="ingest",
                                           reason=f"ingest {translation.name} with "
                                                  f"{original.name}",
                                           context=FileContext(), dry_run=False).items():
                getattr(report, status).append(rid)
        except ReadError as e:
            report.failed.append(Failure.of(e))
        except (OSError, ValueError) as e:
            report.failed.append(Failure(str(translation), str(e)))
        report.seconds = time.perf_counter() - started
        return report

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

    @_writes
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

    @_writes
    def merge_entities(self, keep: str, drop: str) -> int:
        with self.db.transaction() as session:
            moved = entity_store.merge(session, keep, drop)
            self._restage(session, entity_store.mention_record_ids(session, [keep]))
        self.engine.commit()
        return moved

    @_writes
    def rename_entity(self, entity_id: str, preferred: str) -> None:
        with self.db.transaction() as session:
            entity_store.rename(session, entity_id, preferred, authority.key(preferred))

    @_writes
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

    @_writes
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

    @_writes
    def save_collection(self, collection: Collection) -> None:
        with self.db.transaction() as session:
            old = collections.get_collection(session, collection.id, public=False)
            collections.put_collection(session, collection)
            self._restage(session, set(collection.record_ids) |
                          set(old.record_ids if old else []))
        self.engine.commit()

    @_writes
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
