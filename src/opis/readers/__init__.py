"""Readers: one module per source format, chosen by sniffing each file.

Each module has ``sniff(path, head) -> bool`` and ``read(path) -> Iterator[Item]``;
``read`` may take ``limits`` (readers/limits.py). A module with ``ISOLATED = True``
(PDFs, scans) is read in a process of capped memory (readers/isolated.py); one with
``CHECKS_LIMITS = True`` checks each record itself, where it knows the record's line.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from opis.model import Record
from opis.model.entity import Collection
from opis.readers import frus_sources, isolated
from opis.readers.base import Item, LimitError, ReadError, Rejected
from opis.readers.limits import MB, Limits

# Order matters: the first module whose sniff() accepts a file reads it.
READERS = [
    "opis.readers.tei_frus",
    "opis.readers.wcda_json",
    "opis.readers.markdown",
    "opis.readers.wcda_text",
    "opis.readers.pdf",
    "opis.readers.image",
]
SUFFIXES = {
    ".txt", ".md", ".markdown", ".jsonl", ".ndjson", ".json", ".csv", ".xml", ".tei",
    ".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff",
}


def reader_for(path: Path) -> ModuleType:
    with path.open("rb") as f:
        head = f.read(65536)
    for name in READERS:
        module = importlib.import_module(name)
        if module.sniff(path, head):
            return module
    raise ReadError(path, "unknown format: not a file opis can read", line=None)


def read_path(path: Path, limits: Limits | None = None, encoding: str | None = None,
              frus_rules: tuple[frus_sources.Rule, ...] | None = None,
              ) -> Iterator[Item | Rejected]:
    """The items of one source file, within ``limits`` (the defaults when not given);
    text sources in ``encoding`` when the curator names one; FRUS source notes read with
    ``frus_rules`` (the built-in repositories when not given). A record
    that cannot be stored (over a limit, unreadable) is yielded as ``Rejected`` in its
    place; a file over one (its size, its pages, the memory reading it takes) raises LimitError."""
    limits = limits or Limits()
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise limits.error(path, "file_mb", f"file is {size / MB:.1f} MB")
    module = reader_for(path)
    if getattr(module, "ISOLATED", False):  # PDFs and scans: in a process of capped memory
        items: Iterable[Item | Rejected] = isolated.read(module.__name__, path, limits)
    else:
        kwargs: dict[str, object] = {}
        if "limits" in _parameters(module):
            kwargs["limits"] = limits
        if encoding and "encoding" in _parameters(module):
            kwargs["encoding"] = encoding
        if frus_rules is not None and "frus_rules" in _parameters(module):
            kwargs["frus_rules"] = frus_rules
        items = module.read(path, **kwargs)
    checked = getattr(module, "CHECKS_LIMITS", False)  # it checks each record with its line
    refused: set[str] = set()
    for item in items:
        if isinstance(item, Record) and not checked:
            rejected = limits.rejected(item, path)
            if rejected is not None:
                item = rejected
        if isinstance(item, Rejected) and item.record_id is not None:
            refused.add(item.record_id)
        elif isinstance(item, Collection) and refused:  # a volume lists only what is stored
            item.record_ids = [r for r in item.record_ids if r not in refused]
        yield item


@lru_cache
def _parameters(module: ModuleType) -> frozenset[str]:
    return frozenset(inspect.signature(module.read).parameters)


def is_sidecar(path: Path) -> bool:
    """``scan.pdf.json`` or ``scan.pdf.yml`` describes ``scan.pdf``: not a source itself."""
    return (path.suffix.lower() in {".json", ".yml", ".yaml"}
            and Path(path.stem).suffix != "" and path.with_name(path.stem).exists())


def discover(paths: list[Path]) -> Iterator[Path]:
    """Files under the given paths, in a stable order; folders are walked."""
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if (f.is_file() and f.suffix.lower() in SUFFIXES and not f.name.startswith(".")
                        and not is_sidecar(f)):
                    yield f
        else:
            yield p


@contextlib.contextmanager
def reader_process() -> Iterator[None]:
    """The process that reads PDFs and scans (readers/isolated.py) ends with this block,
    an ingest: a web process does not keep a reader's memory between ingests."""
    try:
        yield
    finally:
        isolated.shutdown()


__all__ = ["Item", "LimitError", "Limits", "ReadError", "Rejected", "discover", "read_path",
           "reader_for", "reader_process"]
