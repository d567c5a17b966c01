"""Finding entities on both cores while the main process writes to the database.

Extraction is the CPU-heavy step of an ingest and a pure function of a record, so it
runs in worker processes over batches of records; linking and writing stay in the
main process, which owns the transaction.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType

from opis.enrich.entities import Candidate, extract
from opis.model import Record


def _die_with_parent() -> None:
    """Ask Linux to end this worker when the ingest that started it dies (even by
    SIGKILL), so an interrupted ingest leaves no orphan processes behind."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _extract_many(records: list[Record]) -> list[list[Candidate]]:
    return [extract(r) for r in records]


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
        if self.workers <= 1 or len(records) < 8:
            return _extract_many(records)
        if self._pool is None:
            # Workers are spawned, never forked: forking a process that runs threads (a web
            # server, a test's live server) can copy a held lock into the child and hang
            # it. Spawned workers are our own children, so they die with us.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context,
                                             initializer=_die_with_parent)
        size = -(-len(records) // self.workers)
        chunks = [records[i:i + size] for i in range(0, len(records), size)]
        out: list[list[Candidate]] = []
        for part in self._pool.map(_extract_many, chunks):
            out.extend(part)
        return out
