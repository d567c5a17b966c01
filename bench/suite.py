"""The benchmark suite in one command: opis on SQLite and on PostgreSQL, side by side with
Datasette and a bare Tantivy index, on one synthetic corpus per size.

    python bench/suite.py --sizes 10000,100000,1000000 --backends sqlite,postgres \\
        --work DIR --json results.json [--markdown results.md] [--queries 200] [--reuse]

For each size, smallest first:

1. the JSON Lines corpus is generated once into DIR/corpus-<n> (opis_bench.generate;
   DIR/corpus-<n>.done marks a finished one, which later runs reuse);
2. bare Tantivy and Datasette (SQLite FTS5, table search and BM25-ranked SQL) are built
   once and queried with search_compare.py's queries;
3. for each backend, ``opis ingest DIR/corpus-<n> --db URL`` runs as a subprocess whose
   process tree (the main process and its extraction workers) is sampled with psutil
   every 0.2 s for peak RSS; then database and index sizes are read; then
   ``Archive(url).search`` is timed in-process with the request the search page makes
   (facets on); then ``opis serve`` is started and ``/document/<id>`` fetched for random
   ids over one keep-alive connection.

SQLite archives are DIR/opis-<n>.db (index: DIR/opis-<n>.db.tantivy); PostgreSQL ones are
databases ``opis_bench_<n>`` on --pg-url, dropped and created here. ``--reuse`` keeps an
archive that a previous run finished (DIR/opis-<n>-<backend>.done), and the Tantivy
index and FTS database, so a 1M run that took hours is not redone; ``--skip-ingest`` never
ingests and measures whatever complete archive is there.

Prints, per size, the ingest and storage table, the latency table and the ratio table
(opis / Datasette and opis / Tantivy at p50 and p95 per query kind), and at the end the
headline ratio tables across sizes. The JSON is rewritten after every stage, so a crash
at 1M keeps the smaller sizes; sizes not run this time are kept from an earlier --json
file. ``--markdown`` writes the tables ready for docs/performance.md. Only 127.0.0.1 is
used.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search_compare as sc  # noqa: E402
from opis_bench.generate import generate  # noqa: E402

try:
    import psutil
except ImportError:  # main() says so when the run needs it
    psutil = None

KINDS = sc.KINDS
BACKENDS = ("sqlite", "postgres")
ENGINES = ("opis", "tantivy", "datasette")
OTHERS = ("datasette", "datasette-ranked", "tantivy")  # what opis is divided by
PG_BASE = os.environ.get("OPIS_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
SAMPLE_SECONDS = 0.2
NOTE_SECONDS = 30.0  # progress line during an ingest
SERVER_START_SECONDS = 900  # opening a 1M archive may take a while
STARTED = time.monotonic()


def say(message: str) -> None:
    """Progress to stdout, flushed: a long run is watched with tail -f."""
    elapsed = time.monotonic() - STARTED
    print(f"[{elapsed / 60:7.1f} min] {message}", flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def mb(n: float | None) -> float | None:
    return None if n is None else round(n / 1e6, 1)


class StageError(RuntimeError):
    """A stage could not run; the suite notes it and goes on with the next."""


# -- the corpus -------------------------------------------------------------------------------


def ensure_corpus(work: Path, docs: int, seed: int) -> dict[str, Any]:
    """DIR/corpus-<n>, generated once: the marker is written only after the last shard,
    so an interrupted generation is redone, a finished one reused."""
    folder, marker = work / f"corpus-{docs}", work / f"corpus-{docs}.done"
    try:
        done = json.loads(marker.read_text())
        if done.get("docs") == docs and done.get("seed") == seed and folder.is_dir():
            return {**done, "reused": True}
    except (OSError, ValueError):
        pass
    marker.unlink(missing_ok=True)
    if folder.exists():
        shutil.rmtree(folder)
    report = generate(folder, docs, seed=seed)
    done = {"docs": docs, "seed": seed, "files": report.files, "bytes": report.bytes,
            "seconds": round(report.seconds, 2)}
    marker.write_text(json.dumps(done) + "\n")
    return {**done, "reused": False}


# -- opis archives ------------------------------------------------------------------------------


@dataclass
class Target:
    """One opis archive under test: a backend at one size."""

    backend: str
    docs: int
    url: str
    marker: Path  # written after a clean ingest, with its figures
    sqlite_path: Path | None = None
    pg_base: str | None = None
    pg_name: str | None = None

    @property
    def engine_name(self) -> str:
        return f"opis-{self.backend}"


def make_target(backend: str, docs: int, work: Path, pg_base: str) -> Target:
    marker = work / f"opis-{docs}-{backend}.done"
    if backend == "sqlite":
        path = work / f"opis-{docs}.db"
        return Target(backend, docs, str(path), marker, sqlite_path=path)
    name = f"opis_bench_{docs}"
    return Target(backend, docs, f"{pg_base}/{name}", marker, pg_base=pg_base, pg_name=name)


@contextmanager
def pg_connection(url: str, autocommit: bool = False) -> Iterator[Any]:
    from sqlalchemy import create_engine

    engine = create_engine(url, isolation_level="AUTOCOMMIT" if autocommit else None)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def wipe(t: Target) -> None:
    """An empty place for a fresh ingest: files removed, or the database recreated."""
    from sqlalchemy import text

    t.marker.unlink(missing_ok=True)
    if t.sqlite_path is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(t.sqlite_path) + suffix).unlink(missing_ok=True)
        for suffix in (".tantivy", ".files"):
            folder = Path(str(t.sqlite_path) + suffix)
            if folder.exists():
                shutil.rmtree(folder)
        return
    with pg_connection(f"{t.pg_base}/postgres", autocommit=True) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{t.pg_name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{t.pg_name}"'))


def count_records(t: Target) -> int | None:
    """Records stored so far, read beside a running ingest without disturbing it (SQLite
    read-only, never creating the file); None when there is no archive yet."""
    from sqlalchemy import text

    try:
        if t.sqlite_path is not None:
            if not t.sqlite_path.exists():
                return None
            conn = sqlite3.connect(f"file:{t.sqlite_path}?mode=ro", uri=True, timeout=5)
            try:
                return conn.execute("SELECT count(*) FROM records").fetchone()[0]
            finally:
                conn.close()
        with pg_connection(t.url) as conn:
            return conn.execute(text("SELECT count(*) FROM records")).scalar_one()
    except Exception:  # no file, no database, no table yet
        return None


def sample_ids(t: Target, n: int, seed: int) -> list[str]:
    """``n`` random published record ids, drawn by the database (random() in both)."""
    from sqlalchemy import text

    query = "SELECT id FROM records WHERE status = 'published' ORDER BY random() LIMIT ?"
    if t.sqlite_path is not None:
        conn = sqlite3.connect(f"file:{t.sqlite_path}?mode=ro", uri=True, timeout=30)
        try:
            return [r[0] for r in conn.execute(query, (n,))]
        finally:
            conn.close()
    with pg_connection(t.url) as conn:
        conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        return [r[0] for r in conn.execute(text(query.replace("?", ":n")), {"n": n})]


def storage(t: Target) -> dict[str, Any]:
    """Bytes on disk: the store without its search index, the index, and per record.
    SQLite: the file and its WAL, the Tantivy folder beside it. PostgreSQL:
    pg_database_size, of which the search_documents table (tsvector + GIN) is the index."""
    from sqlalchemy import text

    if t.sqlite_path is not None:
        main = t.sqlite_path.stat().st_size
        wal_path = Path(str(t.sqlite_path) + "-wal")
        wal = wal_path.stat().st_size if wal_path.exists() else 0
        db, index = main + wal, sc.folder_bytes(Path(str(t.sqlite_path) + ".tantivy"))
        extra = {"sqlite_file_bytes": main, "wal_bytes": wal}
    else:
        with pg_connection(t.url) as conn:
            total = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
            index = conn.execute(text(
                "SELECT pg_total_relation_size('search_documents')")).scalar_one()
        db, extra = total - index, {"pg_database_size": total}
    n = max(1, t.docs)
    return {"db_bytes": db, "index_bytes": index, "total_bytes": db + index,
            "db_bytes_per_record": round(db / n), "index_bytes_per_record": round(index / n),
            "total_bytes_per_record": round((db + index) / n), **extra}


def analyze(t: Target) -> dict[str, Any] | None:
    """PostgreSQL: VACUUM (ANALYZE), as autovacuum would soon after a bulk load (and as
    ``opis ingest`` does at its end). Without table statistics the planner takes the
    fresh tables for empty and joins them by nested loops (15x slower searches at 300
    records), without the visibility map an index-only scan reads the table too, and
    autovacuum may be off, as it is on the project's server: the steady state is what
    is measured."""
    from sqlalchemy import text

    if t.sqlite_path is not None:
        return None
    started = time.perf_counter()
    with pg_connection(t.url, autocommit=True) as conn:
        autovacuum = conn.execute(text("SHOW autovacuum")).scalar_one()
        conn.execute(text("VACUUM (ANALYZE)"))
    return {"seconds": round(time.perf_counter() - started, 2), "autovacuum": autovacuum}


def tree_rss(proc: Any) -> tuple[int, int, int]:
    """(main RSS, sum of the descendants' RSS, how many descendants) right now."""
    try:
        main = proc.memory_info().rss
        kids = proc.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0, 0, 0
    total = 0
    for k in kids:
        with suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += k.memory_info().rss
    return main, total, len(kids)


def ingest(t: Target, corpus: Path, work: Path, workers: int | None) -> dict[str, Any]:
    """``opis ingest`` in a subprocess, timed on the wall clock, its process tree sampled
    every 0.2 s: peak RSS is the largest sum over the tree seen at one instant."""
    report_path = work / f"ingest-{t.docs}-{t.backend}.json"
    log_path = work / f"ingest-{t.docs}-{t.backend}.log"
    report_path.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "opis", "ingest", str(corpus), "--db", t.url,
           "--report", str(report_path)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    peak_tree = peak_main = peak_kids = most_kids = 0
    with log_path.open("w") as log:
        started = time.perf_counter()
        proc = psutil.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        next_note = started + NOTE_SECONDS
        try:
            while proc.poll() is None:
                main, kids, n = tree_rss(proc)
                peak_tree, peak_main = max(peak_tree, main + kids), max(peak_main, main)
                peak_kids, most_kids = max(peak_kids, kids), max(most_kids, n)
                if time.perf_counter() >= next_note:
                    next_note += NOTE_SECONDS
                    done = count_records(t)
                    elapsed = time.perf_counter() - started
                    rate = f", {done / elapsed:.0f} records/s" if done else ""
                    say(f"  ingest {t.backend}: {elapsed:.0f} s, {done or 0:,} of {t.docs:,} "
                        f"records{rate}, tree RSS {(main + kids) / 1e6:.0f} MB, "
                        f"load {load_average()[0]}")
                time.sleep(SAMPLE_SECONDS)
        finally:
            if proc.poll() is None:  # interrupted: leave no ingest behind
                proc.terminate()
                proc.wait(30)
        seconds = time.perf_counter() - started
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        report = {}
    added = int(report.get("added") or 0)
    failed = int(report.get("failed") or 0)
    result = {
        "records": added, "failed": failed, "unchanged": int(report.get("unchanged") or 0),
        "seconds": round(seconds, 2), "records_per_s": round(added / seconds, 1),
        "opis_seconds": report.get("seconds"),
        "peak_rss_mb": mb(peak_tree), "peak_main_rss_mb": mb(peak_main),
        "peak_workers_rss_mb": mb(peak_kids), "worker_processes": most_kids,
        "exit": proc.returncode, "load_avg": load_average(), "log": str(log_path),
        "reused": False,
    }
    if proc.returncode != 0 or failed or count_records(t) != t.docs:
        tail = log_path.read_text(errors="replace")[-800:]
        raise StageError(f"opis ingest exited {proc.returncode} with {added} added, {failed} "
                         f"failed of {t.docs}; see {log_path}: {tail}")
    t.marker.write_text(json.dumps(result) + "\n")
    return result


def prepared(t: Target, corpus: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The ingest figures of an archive ready to measure: reused (--reuse, a finished
    one), taken as found (--skip-ingest) or ingested now."""
    count = count_records(t)
    if args.skip_ingest or args.reuse:
        try:
            done = json.loads(t.marker.read_text())
        except (OSError, ValueError):
            done = None
        if count == t.docs and (done or args.skip_ingest):
            say(f"  {t.backend}: reusing the archive at {t.url} ({count:,} records)")
            return {**(done or {}), "reused": True}
        if args.skip_ingest:
            raise StageError(f"--skip-ingest: no complete archive at {t.url} ("
                             f"{'no' if count is None else count} records, {t.docs} wanted)")
    wipe(t)
    say(f"  {t.backend}: opis ingest of {t.docs:,} records into {t.url}")
    return ingest(t, corpus, work, args.ingest_workers)


# -- search and pages -----------------------------------------------------------------------------


def opis_latency(t: Target, queries: dict[str, list[sc.Query]]
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``Archive.search`` in-process, with the search page's request (sc.opis_request),
    then the same requests without facet counts (the JSON API's ``facets=false``), so
    the cost of counting facets over every hit shows on its own."""
    from opis.services.archive import Archive

    started = time.perf_counter()
    archive = Archive(t.url)
    engine = sc.archive_engine(archive, t.engine_name, f"in-process, {t.backend}",
                               time.perf_counter() - started)

    def bare(q: sc.Query) -> int:
        request = sc.opis_request(q)
        request.facets = False
        return archive.search(request).result.total

    try:
        with_facets = sc.measure(engine, queries)
        without = sc.measure(sc.Engine(f"{t.engine_name}-nofacets", bare, 0.0,
                                       "facet counts off"), queries)
        return with_facets, without
    finally:
        engine.close()


class Server:
    """``opis serve --db URL`` on a free loopback port, and one keep-alive client."""

    def __init__(self, url: str, log_path: Path):
        self.port = sc.free_port()
        self.log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opis", "serve", "--db", url, "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                if self.get("/healthz")[0] == 200:
                    break
            except (OSError, http.client.HTTPException):
                self.conn.close()
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise StageError(f"opis serve did not start; see {log_path}")
            time.sleep(0.2)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            self.conn.request("GET", path)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.conn.close()  # an idle keep-alive connection was dropped: once more
            self.conn.request("GET", path)
            response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def document_pages(t: Target, work: Path, pages: int, seed: int) -> dict[str, Any]:
    """p50/p95/p99 of ``GET /document/<id>`` for ``pages`` random ids, one client,
    sequential, over one keep-alive connection (HTML read in full)."""
    ids = sample_ids(t, pages, seed)
    if not ids:
        raise StageError(f"no published records in {t.url}")
    server = Server(t.url, work / f"serve-{t.docs}-{t.backend}.log")
    try:
        for rid in ids[:5]:  # warm the server's caches and the connection
            server.get(f"/document/{urllib.parse.quote(rid)}")
        times: list[float] = []
        errors: list[str] = []
        size = 0
        for rid in ids:
            started = time.perf_counter()
            status, body = server.get(f"/document/{urllib.parse.quote(rid)}")
            times.append((time.perf_counter() - started) * 1000)
            size += len(body)
            if status != 200:
                errors.append(f"{rid}: {status}")
    finally:
        server.close()
    times.sort()
    return {"requests": len(times), "errors": len(errors), "error_samples": errors[:5],
            "p50": sc.percentile(times, 50), "p95": sc.percentile(times, 95),
            "p99": sc.percentile(times, 99), "mean": sum(times) / len(times),
            "mean_kb": round(size / len(times) / 1000, 1), "load_avg": load_average()}


def comparators(corpus: Path, work: Path, docs: int, wanted: set[str], reuse: bool,
                queries: dict[str, list[sc.Query]], size: dict[str, Any],
                save: Callable[[], None]) -> None:
    """Bare Tantivy and Datasette, built once per size and measured one at a time."""
    folder = work / f"compare-{docs}"
    folder.mkdir(exist_ok=True)
    builders: list[tuple[str, Callable[[], list[sc.Engine]]]] = [
        ("tantivy", lambda: [sc.tantivy_engine(corpus, folder, reuse, docs)]),
        ("datasette", lambda: sc.datasette_engines(corpus, folder, reuse, docs)),
    ]
    for name, build in builders:
        if name not in wanted:
            continue
        with stage(size, name, save):
            say(f"  {name}: {'opening' if reuse else 'building'} over {docs:,} records")
            built = build()
            try:
                for e in built:
                    size["engines"][e.name] = {
                        "build_seconds": round(e.build_seconds, 2), "bytes": e.bytes,
                        "bytes_per_record": round(e.bytes / docs) if e.bytes else None,
                        "note": e.note, "reused": e.reused}
                    say(f"  {e.name}: built in {e.build_seconds:.1f} s ({e.note}); "
                        f"{sum(len(q) for q in queries.values())} queries")
                    size["latency_ms"][e.name] = sc.measure(e, queries)
                    save()
            finally:
                for e in built:
                    e.close()


# -- bookkeeping -----------------------------------------------------------------------------------


@contextmanager
def stage(size: dict[str, Any], name: str, save: Callable[[], None]) -> Iterator[None]:
    """Run one stage; a failure is recorded in the results and the suite goes on."""
    started = time.perf_counter()
    try:
        yield
    except Exception as e:  # a long run must survive a failed stage
        detail = str(e) if isinstance(e, StageError) else traceback.format_exc(limit=6)
        size["errors"].append({"stage": name, "error": detail})
        say(f"  FAILED {name}: {str(e)[:300]}")
    finally:
        size["stage_seconds"][name] = round(time.perf_counter() - started, 1)
        save()


def ratios(latency: dict[str, Any], backend: str) -> dict[str, Any]:
    """opis-<backend> / each other engine, per kind, at p50 and p95 (above 1: opis is
    slower), with facet counts (the page) and without (the API's facets=false); None
    where a figure is missing."""
    out: dict[str, Any] = {}
    for label, name in (("opis", f"opis-{backend}"),
                        ("opis-nofacets", f"opis-{backend}-nofacets")):
        mine = latency.get(name)
        if not mine:
            continue
        for other in OTHERS:
            theirs = latency.get(other)
            if not theirs:
                continue
            out[f"{label}/{other}"] = {
                kind: {p: (round(mine[kind][p] / theirs[kind][p], 3)
                           if theirs[kind][p] else None) for p in ("p50", "p95")}
                for kind in KINDS if kind in mine and kind in theirs}
    return out


def new_size(docs: int) -> dict[str, Any]:
    return {"docs": docs, "status": "running", "started": now(), "finished": None,
            "load_avg": {"start": load_average(), "end": None}, "corpus": None,
            "engines": {}, "ingest": {}, "storage": {}, "latency_ms": {},
            "document_page_ms": {}, "ratios": {}, "errors": [], "stage_seconds": {}}


def carry_over(size: dict[str, Any], old: dict[str, Any] | None, engines: set[str],
               backends: list[str]) -> None:
    """Keep, for a size run again with fewer engines or backends, the figures an earlier
    run measured for the others (on a small disk: measure Datasette and Tantivy at a
    million records, delete their 35 GB, then ingest opis). The ratio tables then
    compare figures of two runs on the same corpus; ``carried`` says which."""
    if not old or old.get("corpus", {}) is None:
        return
    carried = []
    for engine, names in (("tantivy", ["tantivy"]),
                          ("datasette", ["datasette", "datasette-ranked"])):
        if engine in engines:
            continue
        for name in names:
            if name in old.get("latency_ms", {}):
                size["latency_ms"][name] = old["latency_ms"][name]
                size["engines"][name] = old.get("engines", {}).get(name)
                carried.append(name)
    for backend, figures in old.get("ingest", {}).items():
        if "opis" in engines and backend in backends:
            continue
        size["ingest"][backend] = figures
        for key in ("storage", "document_page_ms", "ratios"):
            if backend in old.get(key, {}):
                size[key][backend] = old[key][backend]
        for suffix in ("", "-nofacets"):
            name = f"opis-{backend}{suffix}"
            if name in old.get("latency_ms", {}):
                size["latency_ms"][name] = old["latency_ms"][name]
        carried.append(f"opis-{backend}")
    if carried:
        size["carried"] = {"names": carried, "from_run_started": old.get("started")}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a crash while writing never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)


def earlier_sizes(path: Path | None, keep_out: set[int]) -> dict[str, Any]:
    """Sizes an earlier run wrote to the same --json, other than those run now."""
    if path is None or not path.exists():
        return {}
    try:
        old = json.loads(path.read_text()).get("sizes", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {k: v for k, v in old.items() if k.isdigit() and int(k) not in keep_out}


# -- tables ------------------------------------------------------------------------------------


def fmt_num(x: float | None) -> str:
    """Three significant figures or so: 0.05, 13.3, 354, 6,700."""
    if x is None:
        return "–"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:,.0f}"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "–"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


Table = tuple[str, list[str], list[list[str]]]  # title, header, rows


def ingest_table(size: dict[str, Any]) -> Table:
    docs = size["docs"]
    rows = []
    for backend, r in size["ingest"].items():
        s = size["storage"].get(backend, {})
        rows.append([
            f"opis {backend}", f"{r.get('seconds', 0):,.0f} s"
            + (" (reused)" if r.get("reused") else ""),
            f"{r.get('records_per_s', 0):,.0f}", f"{r.get('peak_rss_mb') or 0:,.0f} MB",
            f"{r.get('peak_main_rss_mb') or 0:,.0f} / {r.get('peak_workers_rss_mb') or 0:,.0f} MB",
            fmt_bytes(s.get("db_bytes_per_record")), fmt_bytes(s.get("index_bytes_per_record")),
            fmt_bytes(s.get("total_bytes")), str((r.get("load_avg") or ["–"])[0])])
    for name in ("tantivy", "datasette"):
        e = size["engines"].get(name)
        if e:
            what = "bare Tantivy index" if name == "tantivy" else "Datasette: FTS5 database"
            rows.append([what, f"{e['build_seconds']:,.0f} s"
                         + (" (reused)" if e.get("reused") else ""),
                         f"{docs / e['build_seconds']:,.0f}" if e["build_seconds"] else "–",
                         "–", "–", "–" if name == "tantivy" else fmt_bytes(e["bytes_per_record"]),
                         fmt_bytes(e["bytes_per_record"]) if name == "tantivy" else "(in db)",
                         fmt_bytes(e["bytes"]), "–"])
    return (f"Ingest and storage, {docs:,} records",
            ["", "wall", "records/s", "peak RSS (tree)", "main / workers", "db per record",
             "index per record", "total on disk", "load"], rows)


def latency_table(size: dict[str, Any]) -> Table:
    engines = [e for e in size["latency_ms"]]
    rows = []
    for kind in KINDS:
        row = [kind]
        for e in engines:
            r = size["latency_ms"][e].get(kind)
            row.append("–" if not r else f"{fmt_num(r['p50'])} / {fmt_num(r['p95'])} / "
                       f"{fmt_num(r['p99'])} ({r['mean_hits']:,.0f})")
        rows.append(row)
    for backend, r in size["document_page_ms"].items():
        row = [f"document page ({backend})"]
        for e in engines:
            row.append(f"{fmt_num(r['p50'])} / {fmt_num(r['p95'])} / {fmt_num(r['p99'])}"
                       if e == f"opis-{backend}" else "")
        rows.append(row)
    return (f"Latency in ms, p50 / p95 / p99 (mean hits), {size['docs']:,} records",
            ["kind", *engines], rows)


def ratio_table(size: dict[str, Any]) -> Table:
    cols = [(b, o) for b, rs in size["ratios"].items() for o in rs]
    rows = []
    for kind in KINDS:
        row = [kind]
        for b, o in cols:
            r = size["ratios"][b][o].get(kind, {})
            row.append(f"{fmt_num(r.get('p95'))} ({fmt_num(r.get('p50'))})")
        rows.append(row)
    return (f"Ratios, {size['docs']:,} records: opis / other at p95 (p50); above 1, "
            "opis is slower", ["kind", *[f"{b}: {o}" for b, o in cols]], rows)


def headline_tables(sizes: dict[str, Any]) -> list[Table]:
    """The headline: one table per engine opis is compared with, a row per size and
    backend, a column per query kind, p95 with p50 in brackets."""
    out = []
    titles = {"opis/datasette": "opis / Datasette (table search, unranked)",
              "opis/datasette-ranked": "opis / Datasette ranked (SQL ORDER BY rank)",
              "opis/tantivy": "opis / bare Tantivy",
              "opis-nofacets/datasette": "opis without facet counts / Datasette (table search)",
              "opis-nofacets/tantivy": "opis without facet counts / bare Tantivy"}
    for key, title in titles.items():
        rows = []
        for label in sorted(sizes, key=int):
            for backend, rs in sizes[label].get("ratios", {}).items():
                if key in rs:
                    rows.append([f"{int(label):,}", backend, *[
                        f"{fmt_num(rs[key].get(k, {}).get('p95'))} "
                        f"({fmt_num(rs[key].get(k, {}).get('p50'))})" for k in KINDS]])
        if rows:
            out.append((f"{title}, p95 (p50)", ["records", "backend", *KINDS], rows))
    return out


def filled(tables: list[Table]) -> list[Table]:
    """The tables with something in them (a size whose stages all failed has none)."""
    return [t for t in tables if t[2] and len(t[1]) > 1 and any(any(c) for c in t[2])]


def render_text(table: Table) -> str:
    title, header, rows = table
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    for row in rows:
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(lines)


def render_markdown(table: Table) -> str:
    title, header, rows = table
    lines = [f"**{title}**", "", "| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    s = doc["settings"]
    parts = [f"## Benchmark suite ({doc['started'][:10]})", "",
             f"`python bench/suite.py {' '.join(doc['argv'])}` on {m['cpus']} cores, "
             f"{m['memory_gb']} GB, Python {m['python']}; {s['queries_per_kind']} queries of "
             f"each kind, {sc.LIMIT} results a page, facets on; document pages: "
             f"{s['doc_pages']} random ids, one keep-alive client.", "",
             "### Headline: opis / other, per query kind", ""]
    for t in headline_tables(doc["sizes"]):
        parts += [render_markdown(t), ""]
    for label in sorted(doc["sizes"], key=int):
        size = doc["sizes"][label]
        la = size["load_avg"]
        parts += [f"### {int(label):,} records", "",
                  f"Load average {la['start'][0]} at the start, "
                  f"{(la['end'] or ['?'])[0]} at the end.", ""]
        if size.get("carried"):
            parts += [f"Measured in an earlier run on the same corpus (started "
                      f"{size['carried']['from_run_started']}): "
                      f"{', '.join(size['carried']['names'])}.", ""]
        for t in filled([ingest_table(size), latency_table(size), ratio_table(size)]):
            parts += [render_markdown(t), ""]
        for err in size["errors"]:
            parts += [f"- failed: {err['stage']}: {err['error'].splitlines()[-1][:200]}"]
    return "\n".join(parts) + "\n"


# -- the run ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000",
                   help="comma-separated record counts, run smallest first")
    p.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres")
    p.add_argument("--engines", default=",".join(ENGINES),
                   help="comma-separated: opis (ingest, search, pages), tantivy, datasette")
    p.add_argument("--work", type=Path, required=True,
                   help="folder for corpora, archives, indexes and logs (kept)")
    p.add_argument("--json", type=Path, required=True, help="write the results here")
    p.add_argument("--markdown", type=Path, help="also write the tables here")
    p.add_argument("--queries", type=int, default=200, help="queries of each kind")
    p.add_argument("--doc-pages", type=int, default=300,
                   help="random document pages fetched per backend (0: none)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reuse", action="store_true",
                   help="keep archives, Tantivy indexes and FTS databases an earlier run "
                        "finished")
    p.add_argument("--skip-ingest", action="store_true",
                   help="never ingest: measure the complete archives already in --work")
    p.add_argument("--ingest-workers", type=int, help="opis ingest --workers")
    p.add_argument("--pg-url", default=PG_BASE,
                   help="PostgreSQL server URL without a database name")
    args = p.parse_args(argv)
    try:
        args.size_list = sorted({int(x.replace("_", "")) for x in args.sizes.split(",")
                                 if x.strip()})
    except ValueError:
        p.error("--sizes: comma-separated whole numbers")
    if not args.size_list or args.size_list[0] < 1:
        p.error("--sizes: at least one size, each at least 1")
    args.backend_list = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.engine_set = {e.strip() for e in args.engines.split(",") if e.strip()}
    for given, known, what in ((args.backend_list, BACKENDS, "--backends"),
                               (args.engine_set, ENGINES, "--engines")):
        unknown = set(given) - set(known)
        if unknown:
            p.error(f"{what}: unknown {', '.join(sorted(unknown))}; use {', '.join(known)}")
    if args.queries < 1 or args.doc_pages < 0:
        p.error("--queries must be at least 1 and --doc-pages at least 0")
    args.pg_url = args.pg_url.rstrip("/")
    return args


def run_size(docs: int, args: argparse.Namespace, size: dict[str, Any],
             queries: dict[str, list[sc.Query]], save: Callable[[], None]) -> None:
    work: Path = args.work
    say(f"== {docs:,} records ==")
    with stage(size, "corpus", save):
        say(f"  corpus: {work / f'corpus-{docs}'}")
        size["corpus"] = c = ensure_corpus(work, docs, args.seed)
        say(f"  corpus: {c['bytes'] / 1e6:,.1f} MB in {c['files']} files"
            + (" (reused)" if c["reused"] else f", generated in {c['seconds']:.1f} s"))
        if not c["reused"]:  # a new corpus: nothing built from an older one is reused
            for marker in [*work.glob(f"opis-{docs}-*.done"),
                           *(work / f"compare-{docs}").glob("*.done")]:
                marker.unlink()
    if size["corpus"] is None:
        return
    corpus = work / f"corpus-{docs}"
    comparators(corpus, work, docs, args.engine_set, args.reuse, queries, size, save)
    if "opis" not in args.engine_set:
        return
    for backend in args.backend_list:
        t = make_target(backend, docs, work, args.pg_url)
        ok = False
        with stage(size, f"ingest {backend}", save):
            r = size["ingest"][backend] = prepared(t, corpus, work, args)
            if not r.get("reused"):
                say(f"  {backend}: ingested {r['records']:,} records in {r['seconds']:,.1f} s "
                    f"({r['records_per_s']:,.0f}/s), peak RSS {r['peak_rss_mb']:,.0f} MB "
                    f"over {r['worker_processes'] + 1} processes")
            analyzed = analyze(t)
            if analyzed:
                r["analyze"] = analyzed
                say(f"  {backend}: VACUUM (ANALYZE) in {analyzed['seconds']:.1f} s (autovacuum "
                    f"{analyzed['autovacuum']})")
            size["storage"][backend] = storage(t)
            say(f"  {backend}: {fmt_bytes(size['storage'][backend]['total_bytes'])} on disk")
            ok = True
        if not ok:
            continue
        with stage(size, f"search {backend}", save):
            say(f"  {t.engine_name}: {sum(len(q) for q in queries.values())} searches "
                "in-process")
            (size["latency_ms"][t.engine_name],
             size["latency_ms"][f"{t.engine_name}-nofacets"]) = opis_latency(t, queries)
        if args.doc_pages:
            with stage(size, f"document pages {backend}", save):
                say(f"  {backend}: opis serve, {args.doc_pages} document pages")
                size["document_page_ms"][backend] = document_pages(t, work, args.doc_pages,
                                                                   args.seed)
        size["ratios"][backend] = ratios(size["latency_ms"], backend)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if psutil is None and "opis" in args.engine_set:
        print("bench/suite.py needs psutil to sample the ingest's memory: "
              "pip install -e '.[bench]'", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "suite": 1, "started": now(), "argv": sys.argv[1:] if argv is None else argv,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)
                    if psutil else None},
        "settings": {"sizes": args.size_list, "backends": args.backend_list,
                     "engines": sorted(args.engine_set), "queries_per_kind": args.queries,
                     "doc_pages": args.doc_pages, "seed": args.seed, "limit": sc.LIMIT,
                     "reuse": args.reuse, "skip_ingest": args.skip_ingest},
        "kinds": list(KINDS),
        "examples": {},
        "sizes": earlier_sizes(args.json, set(args.size_list)),
    }
    if doc["sizes"]:
        say(f"keeping the results for {', '.join(sorted(doc['sizes'], key=int))} records "
            f"from {args.json}")
    queries = sc.build_queries(args.queries, args.seed)
    doc["examples"] = {k: [q.opis() for q in qs[:3]] for k, qs in queries.items()}

    def save() -> None:
        write_json(args.json, doc)
        if args.markdown:
            args.markdown.write_text(markdown(doc))

    say(f"sizes {', '.join(f'{n:,}' for n in args.size_list)}; backends "
        f"{', '.join(args.backend_list)}; engines {', '.join(sorted(args.engine_set))}; "
        f"{args.queries} queries of each kind; load {load_average()}")
    before = earlier_sizes(args.json, set())
    for docs in args.size_list:
        size = doc["sizes"][str(docs)] = new_size(docs)
        carry_over(size, before.get(str(docs)), args.engine_set, args.backend_list)
        try:
            run_size(docs, args, size, queries, save)
            for backend in size["ingest"]:  # carried figures compared with new ones
                if f"opis-{backend}" in size["latency_ms"]:
                    size["ratios"][backend] = ratios(size["latency_ms"], backend)
            size["status"] = "complete" if not size["errors"] else "complete with errors"
        except BaseException:
            size["status"] = "interrupted"
            raise
        finally:
            size["finished"] = now()
            size["load_avg"]["end"] = load_average()
            save()
        print(flush=True)
        for t in filled([ingest_table(size), latency_table(size), ratio_table(size)]):
            print(render_text(t) + "\n", flush=True)
    print("== headline ==", flush=True)
    for t in headline_tables(doc["sizes"]):
        print(render_text(t) + "\n", flush=True)
    say(f"wrote {args.json}" + (f" and {args.markdown}" if args.markdown else ""))
    return 1 if any(s["errors"] for s in doc["sizes"].values()
                    if int(s["docs"]) in args.size_list) else 0


if __name__ == "__main__":
    sys.exit(main())
