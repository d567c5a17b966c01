"""The embedding stage: records' passages turned into vectors after ingest, apart from
it, so ingest speed does not depend on the model.

Resumable by construction: each batch of records is one transaction that writes their
passages, the change log and the record's "embedded at this version" mark together,
so a run killed at any point (SIGKILL included) leaves whole batches behind, and the
next run starts with the records still pending. Only passages whose text (or the
model) changed are embedded again; the rest keep their stored vectors.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from opis.config import data_dir, settings
from opis.enrich.embeddings import (  # EmbedderError, load_embedder: for the interfaces
    Embedder,
    EmbedderError,  # noqa: F401 - for the interfaces
    load_embedder,  # noqa: F401 - for the interfaces
    record_passages,
    stage_key,
)
from opis.search.hybrid import mode_problem  # noqa: F401 - for the interfaces
from opis.search.vectors import SemanticSearch, index_path, to_bytes
from opis.store import passages as store
from opis.store import records as record_store
from opis.store.db import Database

BATCH_RECORDS = 16
# Change-log entries kept after a run: a process that fell further behind than this
# (down for a long embedding run) rebuilds its index from the table instead of
# replaying; the rest of the log, one row per passage ever added or removed, goes.
LOG_KEEP = 50_000
log = logging.getLogger("opis.embed")


@dataclass
class EmbedProgress:
    total: int  # records pending when the run started
    started: float = field(default_factory=time.perf_counter)
    records: int = 0
    passages: int = 0  # passages embedded (not those kept)

    @property
    def rate(self) -> float:
        """Passages embedded per second so far."""
        elapsed = time.perf_counter() - self.started
        return self.passages / elapsed if elapsed > 0 else 0.0


@dataclass
class EmbedReport:
    model: str
    records: int = 0  # records whose passages were (re)written
    embedded: int = 0  # passages embedded anew
    kept: int = 0  # passages whose stored vector still held
    removed: int = 0  # passages gone (changed text, deleted or withdrawn records)
    forgotten: int = 0  # records deleted or withdrawn since they were embedded
    indexed: int = 0  # passages in the vector index after the run
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU time: the rate on a CPU shared or not

    @property
    def rate(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        return {**self.__dict__, "seconds": round(self.seconds, 3),
                "cpu_seconds": round(self.cpu_seconds, 3),
                "passages_per_second": round(self.rate, 1),
                "passages_per_cpu_second": round(self.embedded / self.cpu_seconds, 1)
                if self.cpu_seconds > 0 else 0.0}


def configured_embedder() -> Embedder:
    """The model the settings name (``OPIS_EMBEDDER``), else the bundled one."""
    return load_embedder(settings().embedder)


def semantic_search(db: Database, embedder: Embedder | None = None) -> SemanticSearch:
    """The vector search of ``db``, its snapshot where ``index_path`` puts it; the model
    loads when first asked for."""
    return SemanticSearch(index_path(db.sqlite_path, db.url, data_dir()),
                          embedder or configured_embedder)


def embed_archive(db: Database, embedder: Embedder | None = None, *,
                  search: SemanticSearch | None = None,
                  progress: Callable[[EmbedProgress], None] | None = None,
                  batch: int = BATCH_RECORDS, limit: int | None = None,
                  index_file: Path | None = None) -> EmbedReport:
    """Embed every published record not embedded in its current version, forget the
    records gone since, and bring the vector index snapshot up to date. ``limit`` stops
    after that many records (what a background thread does a slice at a time)."""
    model = embedder or configured_embedder()
    started, cpu = time.perf_counter(), time.process_time()
    report = EmbedReport(model.name)
    with db.transaction() as session:
        for record_id in store.orphaned_records(session):
            report.removed += store.forget_record(session, record_id)
            report.forgotten += 1
    with db.primary_sessions() as session:
        state = EmbedProgress(store.count_pending(session, stage_key(model)))
    if limit is not None:
        state.total = min(state.total, limit)
    after = ""
    while limit is None or report.records < limit:
        size = batch if limit is None else min(batch, limit - report.records)
        # Read, embed with no transaction open (an SQLite writer would hold the database
        # for seconds), then write in a short one that skips records edited meanwhile.
        with db.primary_sessions() as session:
            ids = store.pending_records(session, stage_key(model), size, after)
            if not ids:
                break
            plans = _plan(session, model, ids)
        _embed(model, plans)
        with db.transaction() as session:
            _write(session, model, plans, report)
        after = ids[-1]
        state.records = report.records
        state.passages = report.embedded
        if progress:
            progress(state)
    search = search or SemanticSearch(index_file or index_path(db.sqlite_path, db.url,
                                                              data_dir()), model)
    with db.primary_sessions() as session:
        index = search.index(session, fresh=True)
    index.save()
    with db.transaction() as session:  # the snapshot just saved holds what it drops
        store.compact_log(session, LOG_KEEP)
    report.indexed = len(index)
    report.seconds = time.perf_counter() - started
    report.cpu_seconds = time.process_time() - cpu
    return report


@dataclass
class _Plan:
    record_id: str
    content_hash: str
    passages: list[store.NewPassage]
    stored: list[store.StoredPassage]


def _plan(session, model: Embedder, ids: list[str]) -> list[_Plan]:  # noqa: ANN001
    """Each record's passages, reusing the stored vector of every unchanged one."""
    records = record_store.get_records(session, ids)
    hashes = record_store.current_hashes(session, ids)
    stored = store.stored_passages(session, ids)
    plans = []
    for record_id in ids:
        record = records.get(record_id)
        if record is None:  # withdrawn between the query and now
            continue
        reuse: dict[str, list[store.StoredPassage]] = {}
        for s in stored[record_id]:
            reuse.setdefault(s.digest, []).append(s)
        planned = []
        for p in record_passages(record, model.passage_words):
            digest = p.digest(model.name)
            old = reuse.get(digest)
            planned.append(store.NewPassage(p.kind, p.text, p.start, p.end, digest,
                                            id=old.pop(0).id if old else None))
        plans.append(_Plan(record_id, hashes[record_id], planned, stored[record_id]))
    return plans


def _embed(model: Embedder, plans: list[_Plan]) -> None:
    todo = [p for plan in plans for p in plan.passages if p.id is None]
    if todo:
        for p, vector in zip(todo, model.embed([p.text for p in todo]), strict=True):
            p.vector = to_bytes(vector)


def _write(session, model: Embedder, plans: list[_Plan],  # noqa: ANN001 - a Session
           report: EmbedReport) -> None:
    store.take_write_turn(session)  # another run may be writing these records right now
    now = record_store.current_hashes(session, [p.record_id for p in plans])
    fresh = store.stored_passages(session, [p.record_id for p in plans])
    for plan in plans:
        stored_ids = sorted(s.id for s in plan.stored)
        if now.get(plan.record_id) != plan.content_hash or \
                sorted(s.id for s in fresh[plan.record_id]) != stored_ids:
            continue  # edited (or embedded elsewhere) meanwhile: still pending, next run
        added, removed = store.replace_passages(session, plan.record_id, plan.content_hash,
                                                stage_key(model), plan.passages, plan.stored)
        report.records += 1
        report.embedded += added
        report.kept += len(plan.passages) - added
        report.removed += removed


def embed_in_background(db: Database, search: SemanticSearch, *, interval: float = 60.0,
                        stop: threading.Event | None = None) -> threading.Thread:
    """``opis serve --embed``: a daemon thread that runs the stage, then again every
    ``interval`` seconds, so records ingested or edited while serving become findable
    by meaning within about a minute. A failure is logged and tried again later."""
    stop = stop or threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                report = embed_archive(db, search.embedder, search=search)
                if report.records or report.forgotten:
                    log.warning("embedded %d passages of %d records (%.1f passages/s)",
                                report.embedded, report.records, report.rate)
            except Exception:  # noqa: BLE001 - a server keeps serving; the next run retries
                log.exception("the embedding stage failed; trying again in %.0f s", interval)
            stop.wait(interval)

    thread = threading.Thread(target=loop, name="opis-embed", daemon=True)
    thread.start()
    return thread
