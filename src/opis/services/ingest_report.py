"""What an ingest says it did: per file and line, what was stored, refused, flagged,
held or warned about, and its progress while it runs (``opis ingest`` prints it, and
``--report FILE`` writes it as JSON). The reader settings an ingest runs with are here
too: the limits and the FRUS repository rules, from ``opis.config``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from opis.config import settings
from opis.readers import Limits, ReadError, frus_sources


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
    """The reader limits the settings give (ValueError names a bad OPIS_MAX_... or a bad
    OPIS_FRUS_REPOSITORIES file, so a command can say so before it starts)."""
    frus_rules()
    return Limits.from_env(settings().reader_limits)


def frus_rules() -> tuple[frus_sources.Rule, ...]:
    """Where FRUS source notes place their archives: OPIS_FRUS_REPOSITORIES's rules
    first, then the built-in ones."""
    return frus_sources.rules_from(settings().frus_repositories)


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
    # Updates not applied because they look damaged (reingest_guard): the stored record
    # stays as it was; ``--force`` applies them.
    held: list[Failure] = field(default_factory=list)
    # A dry run's updates: which fields each would change (text lengths before/after).
    changes: list[Failure] = field(default_factory=list)
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
                "held": [{"file": f.path, "record": f.record, "reason": f.message}
                         for f in self.held],
                "limits": self.limits.to_json(),
                "records": {"added": self.added, "updated": self.updated,
                            "unchanged": self.unchanged}}
