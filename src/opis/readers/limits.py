"""How much one source file, one record and one page may hold.

A hostile or broken file (a PDF whose stream inflates to gigabytes, a JSON field
nested 900 levels deep, a PNG that claims 100,000 × 100,000 pixels) must fail alone,
with a message naming the file, the place and the limit, while the ingest goes on.
Every limit is here, read once per ingest from its ``OPIS_MAX_...`` variable (the services hand the
values ``opis.config`` read); the
defaults are the largest real record of the test corpus times a wide margin (the
table and the reasons are in docs/ingest.md). Pure: no file is read here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from opis.model import Record
from opis.readers.base import LimitError, Rejected

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """The reader limits of one ingest (docs/ingest.md#limits)."""

    file_mb: float = 500  # a source file on disk
    record_mb: float = 64  # one record's source: a JSON line or element, a CSV row
    text_chars: int = 10_000_000  # a record's text
    field_chars: int = 1_000_000  # any other text value of a record
    annotations: int = 100_000  # annotations, mentions, or entries of any one list
    depth: int = 64  # nesting of JSON, YAML and a record's extra fields
    pages: int = 2_000  # pages of a PDF, frames of a TIFF
    image_megapixels: float = 100  # one scanned page, or one image embedded in a PDF
    reader_memory_mb: int = 2_048  # address space of the process reading a PDF or scan
    page_seconds: float = 300  # a PDF or scan page (OCR included) read without progress

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        """The defaults, each replaced by its ``OPIS_MAX_...`` variable when ``env`` (the
        values ``opis.config`` read) sets it; ValueError names a bad one."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV[f.name], "").strip()
            if not raw:
                continue
            kind = int if f.type in ("int", int) else float
            try:
                value = kind(raw.replace("_", ""))
            except ValueError:
                value = 0
            if not 0 < value < math.inf:
                noun = "a whole number" if kind is int else "a number"
                raise ValueError(f"{ENV[f.name]} must be {noun} above 0, got {raw!r}")
            values[f.name] = value
        return cls(**values)

    @property
    def file_bytes(self) -> int:
        return int(self.file_mb * MB)

    @property
    def record_bytes(self) -> int:
        return int(self.record_mb * MB)

    @property
    def image_pixels(self) -> int:
        return int(self.image_megapixels * 1_000_000)

    @property
    def reader_memory_bytes(self) -> int:
        return int(self.reader_memory_mb * MB)

    def to_json(self) -> dict[str, float | int]:
        """The limits by variable name, as the ingest report lists them."""
        return {ENV[f.name]: getattr(self, f.name) for f in fields(self)}

    def describe(self) -> str:
        """One line for the ingest summary."""
        return ", ".join(f"{ENV[f.name]}={getattr(self, f.name)}" for f in fields(self))

    def error(self, path: Path | str, name: str, what: str, line: int | None = None,
              why: str = "") -> LimitError:
        """``what`` ("text is 12,000,000 characters") over the limit ``name``."""
        return LimitError(path, f"{what}, over the limit of {number(getattr(self, name))}"
                                f"{UNITS[name]} ({why + '; ' if why else ''}set {ENV[name]} "
                                "to change it)", line, limit=ENV[name])

    def too_deep(self, path: Path | str, line: int | None = None,
                 subject: str = "the record") -> LimitError:
        return LimitError(path, f"{subject} is nested deeper than the limit of {self.depth} "
                                f"levels (set {ENV['depth']} to change it)", line,
                          limit=ENV["depth"])

    # -- checks ------------------------------------------------------------------------

    def check_depth(self, value: Any, path: Path | str, line: int | None = None,
                    where: str = "") -> None:
        """Raise when containers nest deeper than the limit (``value`` itself is level 1,
        as a JSON record is); walked with a stack of its own, so any depth is safe to
        check. The message names the top-level key the deep value is under."""
        stack: list[tuple[Any, int, str | None]] = [(value, 1, None)]
        while stack:
            item, level, key = stack.pop()
            if isinstance(item, dict):
                children: Any = item.items()
            elif isinstance(item, list | tuple):
                children = enumerate(item)
            else:
                continue
            if level > self.depth:
                raise self.too_deep(path, line, f"{where}field {key!r}" if key else
                                    f"{where}the record")
            stack.extend((child, level + 1, key if key is not None else str(name)[:100])
                         for name, child in children)

    def check_record(self, record: Record, path: Path | str, line: int | None = None) -> None:
        """Raise LimitError when a record holds more than one record may."""
        where = f"record {record.id[:200]!r}: "
        if len(record.text) > self.text_chars:
            raise self.error(path, "text_chars",
                             f"{where}text is {len(record.text):,} characters", line)
        for name, items in (("annotations", record.annotations),
                            ("mentions", record.mentions)):
            if len(items) > self.annotations:
                raise self.error(path, "annotations", f"{where}{len(items):,} {name}", line)
        self.check_depth(record.extra, path, line, where)
        stack: list[tuple[str, Any]] = [
            (f.name, getattr(record, f.name)) for f in fields(record)
            if f.name not in ("text", "annotations", "mentions")
        ]
        while stack:
            name, value = stack.pop()
            if isinstance(value, str):
                if len(value) > self.field_chars:
                    raise self.error(path, "field_chars", f"{where}field {name!r} is "
                                                          f"{len(value):,} characters", line)
            elif isinstance(value, dict):
                stack.extend((name, k) for k in value)
                stack.extend((f"{name}.{k}" if name != "extra" else str(k), v)
                             for k, v in value.items())
            elif isinstance(value, list | tuple):
                if len(value) > self.annotations:
                    raise self.error(path, "annotations",
                                     f"{where}field {name!r} has {len(value):,} entries", line)
                stack.extend((name, v) for v in value)
            elif hasattr(value, "__dict__"):  # Contents, Author, Stamp...
                stack.extend((name, v) for v in vars(value).values())

    def rejected(self, record: Record, path: Path | str,
                 line: int | None = None) -> Rejected | None:
        """The record refused in its place when it is over a limit, else None."""
        try:
            self.check_record(record, path, line)
        except LimitError as e:
            return Rejected(e, record.id)
        return None


def number(value: float) -> str:
    """10000000 -> "10,000,000"; 1.5 -> "1.5"."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


ENV = {
    "file_mb": "OPIS_MAX_FILE_MB",
    "record_mb": "OPIS_MAX_RECORD_MB",
    "text_chars": "OPIS_MAX_TEXT_CHARS",
    "field_chars": "OPIS_MAX_FIELD_CHARS",
    "annotations": "OPIS_MAX_ANNOTATIONS",
    "depth": "OPIS_MAX_DEPTH",
    "pages": "OPIS_MAX_PAGES",
    "image_megapixels": "OPIS_MAX_IMAGE_MEGAPIXELS",
    "reader_memory_mb": "OPIS_MAX_READER_MEMORY_MB",
    "page_seconds": "OPIS_MAX_PAGE_SECONDS",
}
UNITS = {
    "file_mb": " MB", "record_mb": " MB", "text_chars": " characters",
    "field_chars": " characters", "annotations": "", "depth": " levels", "pages": " pages",
    "image_megapixels": " megapixels", "reader_memory_mb": " MB",
    "page_seconds": " seconds",
}
