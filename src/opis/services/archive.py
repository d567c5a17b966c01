"""The archive: records in the store and the search index kept in step with them.

Interfaces (CLI, web) call this service and never the store directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from opis.model import Record
from opis.readers import ReadError, discover, read_path
from opis.search.base import SearchRequest, SearchResult
from opis.search.query import parse_query
from opis.store import records as store
from opis.store.db import Database


@dataclass
class Failure:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class TimedResult:
    result: SearchResult
    records: dict[str, Record]
    milliseconds: float


class Archive:
    """One archive: a database and its search engine."""

    def __init__(self, url: str):
        self.db = Database(url)
        self.db.migrate()
        if self.db.dialect == "postgresql":
            from opis.search.postgres_engine import PostgresEngine

            self.engine = PostgresEngine()
        else:
            from opis.search.tantivy_engine import TantivyEngine

            path = self.db.sqlite_path
            self.engine = TantivyEngine(Path(str(path) + ".tantivy") if path else None)
        self._heal_index()

    def _heal_index(self) -> None:
        """An index out of step with the records (a crash between the two commits, a
        deleted folder) is rebuilt from the records, which are the truth."""
        with self.db.sessions() as session:
            if store.count_records(session) != self.engine.count(session):
                self.reindex()

    def close(self) -> None:
        self.engine.close()
        self.db.dispose()

    # -- writing ----------------------------------------------------------------------------

    def put(self, records: Iterable[Record], *, author: str = "ingest",
            reason: str = "ingest") -> dict[str, str]:
        """Store records and index them in one transaction; all or nothing."""
        statuses: dict[str, str] = {}
        try:
            with self.db.transaction() as session:
                changed = []
                for record in records:
                    problems = record.check_annotations()
                    if problems:
                        raise ValueError(f"record {record.id}: " + "; ".join(problems))
                    status = store.put_record(session, record, author=author, reason=reason)
                    statuses[record.id] = status
                    if status != "unchanged":
                        changed.append(record)
                self.engine.stage(changed, session)
        except BaseException:
            self.engine.rollback()
            raise
        self.engine.commit()
        return statuses

    def ingest(self, paths: list[Path],
               progress: Callable[[Path, int, int], None] | None = None) -> IngestReport:
        """Read and store every file; a file that fails stores nothing and is reported."""
        report = IngestReport()
        started = time.perf_counter()
        files = list(discover(paths))
        for n, path in enumerate(files, 1):
            try:
                if not path.exists():
                    raise ReadError(path, "no such file")
                records = [item for item in read_path(path) if isinstance(item, Record)]
                if not records:
                    raise ReadError(path, "no records found")
                seen: set[str] = set()
                for r in records:
                    if r.id in seen:
                        raise ReadError(path, f"record id {r.id} appears twice")
                    seen.add(r.id)
                for rid, status in self.put(records, reason=f"ingest {path.name}").items():
                    getattr(report, status).append(rid)
            except ReadError as e:
                report.failed.append(Failure(e.path, e.message, e.line))
            except (OSError, ValueError) as e:
                report.failed.append(Failure(str(path), str(e)))
            if progress:
                progress(path, n, len(files))
        report.seconds = time.perf_counter() - started
        return report

    def reindex(self) -> int:
        with self.db.transaction() as session:
            n = self.engine.rebuild(store.iter_records(session), session)
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
        node = parse_query(request.query)
        with self.db.sessions() as session:
            result = self.engine.search(request, node, session)
            found = store.get_records(session, [h.id for h in result.hits])
        # A hit whose record is gone (or withdrawn) is never shown.
        result.hits = [h for h in result.hits if h.id in found]
        return TimedResult(result, found, (time.perf_counter() - started) * 1000)
