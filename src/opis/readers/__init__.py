"""Readers: one module per source format, chosen by sniffing each file.

Each module has ``sniff(path, head) -> bool`` and ``read(path) -> Iterator[Item]``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from opis.readers.base import Item, ReadError

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


def max_file_bytes() -> int:
    """Largest source file opis reads: $OPIS_MAX_FILE_MB megabytes (default 500)."""
    try:
        return int(float(os.environ.get("OPIS_MAX_FILE_MB", "500")) * 1024 * 1024)
    except ValueError:
        return 500 * 1024 * 1024


def read_path(path: Path) -> Iterator[Item]:
    size = path.stat().st_size
    limit = max_file_bytes()
    if size > limit:
        raise ReadError(path, f"file is {size / 1048576:.1f} MB, over the limit of "
                              f"{limit / 1048576:.0f} MB (set OPIS_MAX_FILE_MB to change it)")
    yield from reader_for(path).read(path)


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


__all__ = ["Item", "ReadError", "discover", "read_path", "reader_for"]
