"""Ingest: records from files (or from a reader's items) into the archive, checked,
linked to the authority file, written and indexed in batches through the archive's one
write protocol (services/unit_of_work.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from opis.config import data_dir
from opis.enrich.entities import Candidate
from opis.enrich.language import fill_language
from opis.model import Record
from opis.model.entity import Collection, Entity, GlossaryEntry
from opis.model.record import RecordStatus, id_problem
from opis.model.urls import web_address_problem
from opis.readers import (
    Item,
    Limits,
    ReadError,
    Rejected,
    discover,
    read_path,
    reader_process,
)
from opis.readers.combine import combine
from opis.readers.ocr import file_attachment
from opis.services.attachments import NOTHING, AllowedFiles, AttachmentStore
from opis.services.ingest_report import (
    Failure,
    IngestProgress,
    IngestReport,
    frus_rules,
    reader_limits,
)
from opis.services.linking import FileContext, Linker
from opis.services.pipeline import Extractor, Pending, collect_garbage, collection_paused
from opis.services.reingest_guard import damage, what_changes
from opis.services.unit_of_work import Change, UnitOfWork
from opis.store import audit, collections, maintenance
from opis.store import entities as entity_store
from opis.store import held as held_store
from opis.store import records as store
from opis.store.db import Database
from opis.store.errors import DriverError

BATCH_SIZE = 1000
# An SQLite archive "a.db" is also "a.db-wal" and the rest: never attached, never read.
SQLITE_FILES = ("", "-wal", "-shm", "-journal", ".tantivy", ".files")


@dataclass
class _Batch:
    """A batch on its way in: read, checked and hashed, its entities being extracted."""

    items: list[Item]
    digests: dict[str, str]  # record id -> hash of the record as read
    changed: list[str]  # ids whose content differs from what is stored
    found: Pending | None  # the extractor's work on the changed records
    warnings: list[Failure] = field(default_factory=list)
    held: list[Failure] = field(default_factory=list)  # updates that look damaged
    changes: list[Failure] = field(default_factory=list)  # a dry run's updates, described
    held_records: list[Record] = field(default_factory=list)  # kept for a curator


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


class Ingest:
    """Writes what readers yield: ``put`` for items in hand, ``ingest`` for files."""

    def __init__(self, db: Database, writes: UnitOfWork, attachments: AttachmentStore):
        self.db = db
        self.writes = writes
        self.attachments = attachments

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
                 dry_run: bool, intake: Intake | None = None, force: bool = True) -> _Batch:
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
        held: list[Failure] = []
        described: list[Failure] = []
        source = intake.source if intake else ""
        before: dict[str, Record] = {}
        if intake is not None and (dry_run or not force):
            updates = [r.id for r in changed if r.id in stored]
            with self.db.sessions() as session:
                before = store.get_records(session, updates, public=False)
        if dry_run:
            described = [Failure(source, f"record {r.id} would change: "
                                         f"{what_changes(before[r.id], r)}", record=r.id)
                         for r in changed if r.id in before]
        if not force:
            for record in changed:
                why = damage(before[record.id], record) if record.id in before else None
                if why:
                    held.append(Failure(source, f"record {record.id} not updated: {why}; "
                                                "the stored record is unchanged (--force "
                                                "applies it)", record=record.id))
            if held:
                skip = {f.record for f in held}
                held_records = [r for r in changed if r.id in skip]
                changed = [r for r in changed if r.id not in skip]
                items = [i for i in items if not (isinstance(i, Record) and i.id in skip)]
        found = extractor.submit(changed) if extractor and changed else None
        return _Batch(items, digests, [r.id for r in changed], found, warnings, held, described,
                      held_records if held else [])

    def _keep_held(self, batch: _Batch) -> None:
        """Keep the held updates for a curator (the held-updates page): the stored
        records stay as they are, and nothing of the update is lost."""
        why = {f.record: f for f in batch.held}
        with self.db.transaction() as session:
            for record in batch.held_records:
                failure = why[record.id]
                held_store.hold(session, record, failure.message, failure.path)

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

    def _store(self, batch: _Batch, *, author: str, reason: str, context: FileContext,
               dry_run: bool) -> dict[str, str]:
        """Link, write and index a prepared batch in one transaction; the search index
        commits right after the database, and the journal of lagging index entries
        written with the records lets a crash between the two commits be healed."""
        statuses: dict[str, str] = {}
        found = dict(zip(batch.changed, batch.found.result(), strict=True)) \
            if batch.found else {}
        try:
            with self.writes.write() as change:
                session = change.session
                linker = Linker(session, context)
                run: list[Record] = []
                for item in batch.items:
                    if isinstance(item, Record):
                        run.append(item)
                        continue
                    self._store_records(change, linker, run, batch, found, statuses,
                                        author, reason)
                    run = []
                    if isinstance(item, Entity):
                        linker.add_reader_entity(item)
                    elif isinstance(item, GlossaryEntry):
                        linker.add_glossary(item)
                        scope = item.id.split("/")[0] if item.id and "/" in item.id else "global"
                        collections.put_glossary(session, item, scope)
                    elif isinstance(item, Collection):
                        collections.put_collection(session, item)
                        change.reindex(item.record_ids)
                self._store_records(change, linker, run, batch, found, statuses,
                                    author, reason)
                changes = {k: sorted(r for r, v in statuses.items() if v == k)
                           for k in ("added", "updated")}
                if any(changes.values()):
                    audit.add_entry(session, actor=author, action="ingest", reason=reason,
                                    detail={k: v for k, v in changes.items() if v})
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass  # rolled back, the index included
        return statuses

    def _store_records(self, change: Change, linker: Linker, records: list[Record],
                       batch: _Batch, found: dict[str, list[Candidate]],
                       statuses: dict[str, str], author: str, reason: str) -> None:
        """Link and write a run of records (one statement per table), stage the published
        ones in the index."""
        if not records:
            return
        session = change.session
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
            if stored[record.id].status != RecordStatus.PUBLISHED:  # withdrawn: unfindable
                change.remove(record.id)
                continue
            ents = {m.entity_id: linker.kind_of(m.entity_id) or kinds.get(m.entity_id)
                    for m in record.mentions}
            change.index(record, ents, member_of[record.id])

    def ingest(self, paths: list[Path], progress: Callable[[IngestProgress], None] | None = None,
               *, dry_run: bool = False, workers: int | None = None,
               batch_size: int = BATCH_SIZE, limits: Limits | None = None,
               attachment_roots: Iterable[Path] = (),
               encoding: str | None = None, force: bool = False) -> IngestReport:
        """Read and store every file in batches of complete records.

        A batch is one transaction, so an ingest stopped at any point leaves whole records
        only; running it again skips what was stored (unchanged content is recognised
        before any enrichment) and finishes the rest. A file that cannot be read is
        reported with its line; the batch in which the error lies stores nothing. A record
        over a reader limit (readers/limits.py) is reported alone and the rest of its
        file is stored; the limits, read from the settings once, go in the report.
        Records attach only files inside ``paths`` (and ``attachment_roots``); text
        files are read in ``encoding`` when given (readers/encoding.py). An update
        that looks damaged (services/reingest_guard.py) is held, not applied, and listed
        in ``report.held``, unless ``force``.
        """
        report = IngestReport(dry_run=dry_run, limits=limits or reader_limits())
        started = time.perf_counter()
        allowed = self.intake(paths, roots=attachment_roots).allowed
        # A folder holding the archive itself: its index and store are not sources.
        files = [f for f in discover(paths) if not allowed.is_own(f)]
        state = IngestProgress(files_total=len(files),
                               bytes_total=sum(_size(f) for f in files), started=started)
        with Extractor(workers) as extractor, collection_paused(), reader_process(), \
                (nullcontext() if dry_run else self.writes.load()):
            for path in files:
                state.path = path
                try:
                    if not path.exists():
                        raise ReadError(path, "no such file")
                    intake = Intake(allowed, path.parent, str(path))
                    n = self._ingest_file(path, report, extractor, dry_run, batch_size,
                                          state, progress, intake, encoding, force)
                    if n == 0:
                        raise ReadError(path, "no records found")
                except ReadError as e:
                    report.failed.append(Failure.of(e))
                except (OSError, ValueError) as e:
                    report.failed.append(Failure(str(path), str(e)))
                except DriverError as e:  # a deadlock, a lost connection: the batch rolled back
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
            maintenance.analyze(self.db)
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_file(self, path: Path, report: IngestReport, extractor: Extractor,
                     dry_run: bool, batch_size: int, state: IngestProgress,
                     progress: Callable[[IngestProgress], None] | None,
                     intake: Intake, encoding: str | None = None,
                     force: bool = False) -> int:
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
            report.held += prepared.held
            if prepared.held_records and not dry_run:
                self._keep_held(prepared)
            report.changes += prepared.changes
            for rid, status in statuses.items():
                getattr(report, status).append(rid)
            state.records_done += len(statuses)
            if progress:
                progress(state)

        def advance() -> None:
            nonlocal inflight
            prepared = self._prepare(batch[:], extractor, dry_run, intake, force)
            batch.clear()
            previous, inflight = inflight, prepared
            if previous is not None:
                store_batch(previous)

        try:
            for item in read_path(path, report.limits, encoding, frus_rules()):
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
            waiting, inflight = inflight, None
            if waiting is not None and not storing:
                store_batch(waiting)
            elif waiting is not None and waiting.found is not None:
                waiting.found.cancel()
            raise
        return records + refused

    def ingest_pair(self, translation: Path, original: Path,
                    limits: Limits | None = None,
                    attachment_roots: Iterable[Path] = ()) -> IngestReport:
        """One record from two files: the translation's text, with the original (a scan,
        a PDF, a transcription) beside it; both files kept as attachments (and nothing
        else but files inside ``attachment_roots``)."""
        report = IngestReport(limits=limits or reader_limits())
        started = time.perf_counter()
        intake = self.intake([translation, original], roots=attachment_roots,
                             base=translation.parent, source=str(translation))
        try:
            pair = []
            for path in (translation, original):
                with reader_process():
                    items = list(read_path(path, report.limits, frus_rules=frus_rules()))
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

