"""PDFs and scans read in a child process whose address space is capped.

PDFium and Pillow decompress whatever a file asks for: a 3.6 MB PDF whose content
stream inflates to 1 GB took an ingest past 11.7 GB, and PDFium aborts its whole
process when an allocation fails, so no exception could save the ingest. These readers
therefore run in one long-lived worker process with ``RLIMIT_AS`` set to
``OPIS_MAX_READER_MEMORY_MB`` (Tesseract, which it starts, inherits the cap). A bomb
ends only the worker: the file is reported as over the memory limit, with the page it
was on, and the next file gets a new worker. A file that stops making progress (no page
read within ``OPIS_MAX_PAGE_SECONDS``: a PDF that loops its renderer, an OCR run that
hangs) ends the worker the same way and is reported with its page. The worker is
spawned, never forked (see services/pipeline.py), and dies with the process that
started it.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import multiprocessing
import resource
import signal
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from opis.readers.base import Item, ReadError
from opis.readers.limits import Limits, number


def die_with_parent() -> None:
    """Ask Linux to end this process when the one that started it dies (even by
    SIGKILL), so an interrupted ingest leaves no orphan processes behind."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class _Worker:
    def __init__(self, memory: int):
        context = multiprocessing.get_context("spawn")
        self.memory = memory
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, memory), daemon=True,
                                       name="opis-reader")
        self.process.start()
        child.close()  # so that the worker's death reaches us as EOF

    def kill(self) -> None:
        """End a worker stuck in a file at once (it would not read EOF)."""
        self.process.kill()
        self.process.join()
        self.conn.close()

    def close(self) -> None:
        self.conn.close()  # the worker reads EOF and ends
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


_lock = threading.Lock()
_worker: _Worker | None = None


def read(module: str, path: Path, limits: Limits) -> list[Item]:
    """What ``module.read`` yields for ``path``, read in the worker. Raises the reader's
    ReadError, or LimitError when the worker ran out of memory."""
    global _worker
    with _lock:
        if _worker is not None and (_worker.memory != limits.reader_memory_bytes
                                    or not _worker.process.is_alive()):
            _worker.close()
            _worker = None
        if _worker is None:
            _worker = _Worker(limits.reader_memory_bytes)
        worker = _worker
        page: int | None = None
        try:
            worker.conn.send((module, str(path), limits))
            while True:
                if not worker.conn.poll(limits.page_seconds):
                    worker.kill()
                    _worker = None
                    raise _stalled(path, limits, page)
                kind, payload = worker.conn.recv()
                if kind != "page":
                    break
                page = payload
        except (EOFError, OSError):  # the worker died: PDFium aborts when memory runs out
            worker.process.join(timeout=5)
            _worker = None
            raise _died(path, limits, page, worker.process.exitcode) from None
        except BaseException:  # interrupted mid-file: what the worker holds is unknown
            worker.close()
            _worker = None
            raise
        if kind == "memory":
            worker.close()
            _worker = None
            raise _died(path, limits, page, None)
        if kind == "error":
            raise payload
        return payload


def shutdown() -> None:
    """End the worker, if one runs (after an ingest: a web process should not keep a
    reader's memory between ingests). The next ``read`` starts a new one."""
    global _worker
    with _lock:
        if _worker is not None:
            _worker.close()
            _worker = None


def _stalled(path: Path, limits: Limits, page: int | None) -> ReadError:
    where = f"page {page}" if page else "the first page"
    return limits.error(path, "page_seconds", f"{where} was still being read after "
                                              f"{number(limits.page_seconds)} seconds",
                        why="a damaged file, or a scan too slow to recognise")


def _died(path: Path, limits: Limits, page: int | None, exitcode: int | None) -> ReadError:
    where = f"page {page}: " if page else ""
    if exitcode in (None, -signal.SIGABRT, -signal.SIGKILL, 1):
        return limits.error(path, "reader_memory_mb", f"{where}ran out of memory",
                            why="a decompression bomb, or a file too large to read")
    name = signal.Signals(-exitcode).name if exitcode < 0 else f"exit status {exitcode}"
    return ReadError(path, f"{where}the reader crashed ({name}): the file is damaged, or "
                           f"reading it takes more than {number(limits.reader_memory_mb)} MB "
                           "(OPIS_MAX_READER_MEMORY_MB)")


def _serve(conn: Connection, memory: int) -> None:
    """The worker: read files one at a time, within ``memory`` bytes of address space."""
    die_with_parent()
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    while True:
        try:
            module, path, limits = conn.recv()
        except EOFError:
            return
        try:
            reader: Any = importlib.import_module(module)
            items = list(reader.read(Path(path), limits=limits,
                                     on_page=lambda n: conn.send(("page", n))))
            conn.send(("done", items))
        except ReadError as e:
            conn.send(("error", e))
        except MemoryError:
            conn.send(("memory", None))
            return  # a fresh worker starts for the next file
        except Exception as e:  # noqa: BLE001 - a reader's bug fails its file, not the ingest
            conn.send(("error", ReadError(path, f"cannot read: {type(e).__name__}: {e}")))
