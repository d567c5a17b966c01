"""Finding entities on both cores while the main process writes to the database.

Extraction is the CPU-heavy step of an ingest and a pure function of a record, so it
runs in worker processes over batches of records; linking and writing stay in the
main process, which owns the transaction.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType

from opis.enrich.entities import Candidate, extract
from opis.model import Record
from opis.readers.isolated import die_with_parent


def _extract_many(records: list[Record]) -> list[list[Candidate]]:
    with collection_paused():
        return [extract(r) for r in records]


_pauses = 0
_pauses_lock = threading.Lock()
_enabled_before = True


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Run without Python's cycle collector; ``collect_garbage`` runs it between batches.

    An ingest allocates millions of small objects (a record's ~90 mentions, candidates,
    rows) and keeps large memos alive, so the collector, which runs after every 700
    allocations and now and then walks every live object, took 30% of the main process
    (2.8 ms a record, 1.9 without it) and 10% of the workers. Almost nothing an ingest
    allocates forms a cycle: reference counting frees it, and the cycles that remain
    are collected after each batch. Nested and concurrent pauses (two ingests in one
    web process) re-enable the collector only when the last one ends."""
    global _pauses, _enabled_before
    with _pauses_lock:
        _pauses += 1
        if _pauses == 1:
            _enabled_before = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _enabled_before:
                gc.enable()


_collections = itertools.count(1)


def collect_garbage() -> None:
    """The cycle collection a paused ingest owes, called after each batch: the young
    objects every fifth batch (walking a batch's survivors takes about 100 ms), every
    live object every fiftieth. The cycles a batch leaves are a few kilobytes."""
    n = next(_collections)
    if n % 5 == 0:
        gc.collect(2 if n % 50 == 0 else 1)


class Extractor:
    """Runs ``extract`` over records, in a process pool when more than one worker."""

    def __init__(self, workers: int | None = None):
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def run(self, records: list[Record]) -> list[list[Candidate]]:
        return self.submit(records).result()

    def submit(self, records: list[Record]) -> Pending:
        """Start extracting ``records`` and return at once: the ingest writes one batch
        while the workers extract the next, so both cores stay busy."""
        if self.workers <= 1 or len(records) < 8:
            return Pending(lambda: _extract_many(records))
        if self._pool is None:
            # Workers are spawned, never forked: forking a process that runs threads (a web
            # server, a test's live server) can copy a held lock into the child and hang
            # it. Spawned workers are our own children, so they die with us.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context,
                                             initializer=die_with_parent)
        # Chunks smaller than a batch per worker: results stream back while others run.
        size = max(8, -(-len(records) // (self.workers * 4)))
        futures = [self._pool.submit(_extract_many, records[i:i + size])
                   for i in range(0, len(records), size)]
        return Pending(lambda: [c for f in futures for c in f.result()],
                       lambda: [f.cancel() for f in futures])


class Pending:
    """Candidates being found elsewhere; ``result()`` waits for them (once)."""

    def __init__(self, compute: Callable[[], list[list[Candidate]]],
                 cancel: Callable[[], object] | None = None):
        self._compute = compute
        self._cancel = cancel
        self._value: list[list[Candidate]] | None = None

    def result(self) -> list[list[Candidate]]:
        if self._value is None:
            self._value = self._compute()
        return self._value

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel()
