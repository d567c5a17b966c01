"""Workers: throughput of `opis serve --workers N` against one PostgreSQL database.

Loads a synthetic corpus once (`python bench/generate.py`, then `opis ingest`) into a
PostgreSQL database or schema that is kept between runs, then for each N in --workers
starts `opis serve --workers N` on a free loopback port, warms it up, and drives it for a
bounded time with concurrent asyncio + httpx clients (as bench/load.py does) mixing
searches (/search.json) and document pages (/document/{id}). While the clients run it
reads, from /proc, the CPU time of the PostgreSQL server's processes, of the opis
processes (the server and its workers), of this client process and of the whole machine,
so the table says where the cores went: more workers help until the CPU that serves a
request (opis rendering, PostgreSQL searching) is used up, and then only add queueing.
Two mixes by default: document pages only (most of their cost is opis rendering, in
Python, one core per worker at most) and half searches (most of their cost is
PostgreSQL's full-text ranking, snippets and facets).

    python bench/workers.py                                  # 3,000 records; N = 1, 2, 4
    python bench/workers.py --mix search=1 --mix document=1 --seconds 30
    python bench/workers.py --workers 1,2,3,4 --clients 16 --seconds 20 --json w.json
    python bench/workers.py --db 'postgresql+psycopg://postgres@127.0.0.1/test?options=-csearch_path%3Dbench_w'
    python bench/workers.py --read-replica postgresql+psycopg://postgres@127.0.0.1:5433/test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from load import QUERIES, _pct, free_port  # noqa: E402 - bench/ is not a package

PG = os.environ.get("OPIS_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DEFAULT_DB = PG + "?options=-csearch_path%3Dbench_workers"
TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
APP_NAME = "opis-bench-workers"
# Words the synthetic corpus uses (its prose and its 242 people), beside load.py's.
EXTRA_QUERIES = ["cooperatives", "armistice", "Kim Il Sung", '"Central Committee"',
                 "Zhou Enlai", "embassy NOT China", "Khrushchev", "Panmunjom", "rice"]


def opis(*args: str, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from opis.cli import main; main()", *args],
                          check=True, **kw)  # type: ignore[call-overload]


# -- the database under test -----------------------------------------------------------------

def ensure_schema(url: str) -> None:
    """Create the schema named in the URL's search_path, if there is one and it is missing."""
    options = make_url(url).query.get("options", "")
    options = options if isinstance(options, str) else " ".join(options)
    if "search_path=" not in options:
        return
    schema = options.split("search_path=", 1)[1].split()[0].split(",")[0]
    base = make_url(url).difference_update_query(["options"])
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()


def published_ids(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [r for (r,) in conn.execute(text(
                "SELECT id FROM records WHERE status = 'published' ORDER BY id"))]
    except Exception:  # no tables yet
        return []
    finally:
        engine.dispose()


def analyze(url: str) -> None:
    """Planner statistics for the tables just loaded. Until autovacuum gets to them, a
    freshly loaded archive has none, and a search took 10-14 s instead of 0.2-0.7 s here."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def prepare(url: str, docs: int, work: Path) -> list[str]:
    """The corpus in the database: generated and ingested once, reused afterwards."""
    ensure_schema(url)
    ids = published_ids(url)
    if len(ids) >= docs:
        print(f"reusing the {len(ids):,} records in {make_url(url).render_as_string()}",
              flush=True)
        analyze(url)
        return ids
    corpus = work / f"corpus-{docs}"
    if not any(corpus.glob("*.jsonl")):
        print(f"generating {docs:,} records into {corpus}", flush=True)
        opis("bench", "generate", "--docs", str(docs), "--out", str(corpus),
             stdout=subprocess.DEVNULL)
    print(f"ingesting {corpus} (resumable: stored records are skipped)", flush=True)
    started = time.perf_counter()
    opis("ingest", str(corpus), "--db", url)
    print(f"ingested in {time.perf_counter() - started:.0f} s", flush=True)
    analyze(url)
    return published_ids(url)


# -- CPU accounting from /proc -----------------------------------------------------------------

def _proc_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def _comm(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the opis workers under test (they connect with
    application_name APP_NAME), not those of anyone else using the server."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [p for (p,) in conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                {"n": APP_NAME})]
    finally:
        engine.dispose()


def postgres_pids() -> list[int]:
    """The local PostgreSQL server's processes (postmaster, backends, background workers)."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _comm(p) == "postgres"]


def tree(pid: int) -> list[int]:
    """A process and all its descendants (the opis server and its workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in task.read_text().split()]
    return out


def worker_pids(pid: int) -> list[int]:
    """uvicorn's worker processes under the server (spawned by multiprocessing)."""
    out = []
    for p in tree(pid)[1:]:
        try:
            if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes():
                out.append(p)
        except OSError:
            pass
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)  # idle + iowait
    total = sum(parts[:8])
    return (total - idle) / TICKS, total / TICKS


@dataclass
class CpuSample:
    postgres: dict[int, float]
    backends: dict[int, float]
    opis: dict[int, float]
    client: float
    busy: float
    total: float

    @classmethod
    def take(cls, server: int, url: str) -> CpuSample:
        busy, total = machine_cpu()
        t = os.times()
        return cls({p: _proc_cpu(p) for p in postgres_pids()},
                   {p: _proc_cpu(p) for p in backend_pids(url)},
                   {p: _proc_cpu(p) for p in tree(server)}, t.user + t.system, busy, total)


def cpu_share(before: CpuSample, after: CpuSample, seconds: float) -> dict[str, float]:
    """Cores used on average over the run, by whom (processes that appeared during the run
    count from zero; those that ended are missed, which opis's pooled connections avoid)."""
    def delta(a: dict[int, float], b: dict[int, float]) -> float:
        return sum(v - a.get(p, 0.0) for p, v in b.items() if v >= a.get(p, 0.0))

    pg = delta(before.postgres, after.postgres) / seconds
    ours = delta(before.backends, after.backends) / seconds
    op = delta(before.opis, after.opis) / seconds
    client = (after.client - before.client) / seconds
    busy = (after.busy - before.busy) / seconds
    return {"postgres_ours": round(ours, 2), "postgres": round(pg, 2), "opis": round(op, 2),
            "client": round(client, 2), "machine_busy": round(busy, 2),
            "other": round(max(0.0, busy - pg - op - client), 2)}


# -- the clients ---------------------------------------------------------------------------------

@dataclass
class Run:
    workers: int
    clients: int
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)


async def client(http: httpx.AsyncClient, ids: list[str], mix: dict[str, float],
                 until: float, run: Run | None, rng: random.Random) -> None:
    kinds, weights = zip(*mix.items(), strict=True)
    queries = QUERIES + EXTRA_QUERIES
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        started = time.perf_counter()
        try:
            if kind == "search":
                r = await http.get("/search.json", params={"q": rng.choice(queries)})
            else:
                r = await http.get(f"/document/{rng.choice(ids)}")
            ok, detail = r.status_code == 200, f"{kind} {r.status_code} {r.text[:120]}"
        except httpx.HTTPError as e:
            ok, detail = False, f"{kind} {e.__class__.__name__}: {e}"
        if run is None:  # warming up
            continue
        run.latencies.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        if not ok:
            run.errors[kind] = run.errors.get(kind, 0) + 1
            run.error_samples.append(detail)


async def drive(base: str, ids: list[str], mix: dict[str, float], clients: int,
                seconds: float, warmup: float, run: Run, server: int, url: str, seed: int
                ) -> dict[str, float]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as http:
        if warmup > 0:
            until = time.monotonic() + warmup
            await asyncio.gather(*(client(http, ids, mix, until, None, random.Random(-n))
                                   for n in range(clients)))
        before = CpuSample.take(server, url)
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(*(client(http, ids, mix, until, run, random.Random(seed + n))
                               for n in range(clients)))
        run.seconds = time.monotonic() - started
        return cpu_share(before, CpuSample.take(server, url), run.seconds)


def start_server(url: str, workers: int, replicas: list[str], log: Path
                 ) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-c", "from opis.cli import main; main()", "serve", "--db", url,
           "--port", str(port), "--workers", str(workers)]
    for r in replicas:
        cmd += ["--read-replica", r]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"opis serve exited: {log.read_text()[-2000:]}")
        try:
            # Up, with all its worker processes started (the warm-up then lets each
            # finish opening its archive before anything is measured).
            if (httpx.get(base + "/healthz", timeout=2).status_code == 200
                    and (workers == 1 or len(worker_pids(proc.pid)) == workers)):
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise SystemExit("opis serve did not start")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


def measure(url: str, ids: list[str], workers: int, args: argparse.Namespace,
            mix: dict[str, float], folder: Path) -> dict:
    load_before = os.getloadavg()
    # Tagged, so that the CPU of the backends serving these workers can be told apart.
    tagged = make_url(url).update_query_dict({"application_name": APP_NAME})
    serve_url = tagged.render_as_string(hide_password=False)
    proc, base = start_server(serve_url, workers, args.read_replica,
                              folder / f"serve-{workers}.log")
    try:
        time.sleep(1.0)  # let the workers finish warming their imports before timing
        run = Run(workers, args.clients)
        cpu = asyncio.run(drive(base, ids, mix, args.clients, args.seconds, args.warmup, run,
                                proc.pid, url, args.seed))
    finally:
        stop_server(proc)
    total = sum(len(v) for v in run.latencies.values())
    kinds = {k: {"requests": len(v), "per_second": round(len(v) / run.seconds, 1),
                 "p50_ms": round(_pct(v, 50), 1), "p95_ms": round(_pct(v, 95), 1),
                 "errors": run.errors.get(k, 0)} for k, v in sorted(run.latencies.items())}
    all_ms = [x for v in run.latencies.values() for x in v]
    return {"mix": mix_label(mix), "workers": workers, "clients": args.clients,
            "seconds": round(run.seconds, 1),
            "requests": total, "per_second": round(total / run.seconds, 1),
            "p50_ms": round(_pct(all_ms, 50), 1), "p95_ms": round(_pct(all_ms, 95), 1),
            "kinds": kinds, "errors": sum(run.errors.values()),
            "error_samples": run.error_samples[:5], "cpu_cores": cpu,
            # CPU per request, which contention from other programs does not hide
            "cpu_ms_per_request": {
                "postgres": round(1000 * cpu["postgres_ours"] * run.seconds / max(total, 1), 1),
                "opis": round(1000 * cpu["opis"] * run.seconds / max(total, 1), 1)},
            "load_avg": [round(load_before[0], 2), round(os.getloadavg()[0], 2)]}


def mix_label(mix: dict[str, float]) -> str:
    total = sum(mix.values())
    return "+".join(f"{k}" if len(mix) == 1 else f"{k} {v / total:.0%}" for k, v in mix.items())


def table(rows: list[dict]) -> str:
    head = (f"{'mix':<22} {'workers':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
            f"{'search p95':>10} {'doc p95':>8} {'errors':>6} | {'cores: pg':>9} "
            f"{'pg all':>6} {'opis':>5} {'client':>6} {'other':>5} {'busy':>5} | "
            f"{'ms/req: pg':>10} {'opis':>5} | {'load':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        c, k = r["cpu_cores"], r["kinds"]
        lines.append(
            f"{r['mix']:<22} {r['workers']:>7} {r['per_second']:>7} {r['p50_ms']:>8} "
            f"{r['p95_ms']:>8} {k.get('search', {}).get('p95_ms', '-'):>10} "
            f"{k.get('document', {}).get('p95_ms', '-'):>8} {r['errors']:>6} | "
            f"{c['postgres_ours']:>9} {c['postgres']:>6} {c['opis']:>5} {c['client']:>6} "
            f"{c['other']:>5} {c['machine_busy']:>5} | "
            f"{r['cpu_ms_per_request']['postgres']:>10} {r['cpu_ms_per_request']['opis']:>5} | "
            f"{r['load_avg'][0]:>5}-{r['load_avg'][1]:<5}")
    lines.append(f"cores: CPU seconds per second of the run used by the PostgreSQL backends "
                 f"serving opis (pg), by all PostgreSQL processes (pg all), by the opis server "
                 f"and its workers, by this client, and by everything else; busy = the whole "
                 f"machine, {CORES} cores. ms/req: CPU milliseconds per request, PostgreSQL "
                 f"backends and opis. load: load average before and after.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB,
                        help="PostgreSQL URL; kept between runs, loaded once (default: schema "
                             "bench_workers of the test database)")
    parser.add_argument("--work", type=Path,
                        help="folder for the generated corpus and server logs (default: a "
                             "temporary folder)")
    parser.add_argument("--docs", type=int, default=3000, help="records to load (default 3000)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per count")
    parser.add_argument("--warmup", type=float, default=5, help="unmeasured seconds first")
    parser.add_argument("--mix", action="append",
                        help="weights of the request kinds, e.g. search=0.5,document=0.5; "
                             "repeatable, each mix measured at every worker count (default: "
                             "document=1, then search=0.5,document=0.5)")
    parser.add_argument("--read-replica", action="append", default=[],
                        help="passed to opis serve (repeatable)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not args.db.startswith("postgresql"):
        parser.error("--db must be a PostgreSQL URL: several workers share one server")
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    mixes = []
    for text_ in args.mix or ["document=1", "search=0.5,document=0.5"]:
        mix = {}
        for part in text_.split(","):
            kind, _, weight = part.partition("=")
            if kind.strip() not in ("search", "document"):
                parser.error(f"unknown request kind {kind!r} in --mix")
            if float(weight) > 0:
                mix[kind.strip()] = float(weight)
        mixes.append(mix)
    args.clients = max(1, min(args.clients, 500))
    args.seconds = max(1.0, min(args.seconds, 600))
    with tempfile.TemporaryDirectory(prefix="opis-workers-") as tmp:
        folder = args.work or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        ids = prepare(args.db, args.docs, folder)
        if not ids:
            raise SystemExit("no published records to read")
        rows = []
        for mix in mixes:
            for n in counts:
                print(f"{mix_label(mix)}, {n} worker(s): {args.clients} clients, "
                      f"{args.warmup:.0f} s warm-up, {args.seconds:.0f} s measured", flush=True)
                rows.append(measure(args.db, ids, n, args, mix, folder))
                print(table(rows[-1:]).splitlines()[2], flush=True)
    print()
    print(table(rows))
    for r in rows:
        for sample in r["error_samples"]:
            print(f"  error ({r['workers']} workers): {sample}")
    if args.json:
        args.json.write_text(json.dumps({
            "machine": {"cores": CORES, "python": platform.python_version(),
                        "platform": platform.platform()},
            "settings": {"db": make_url(args.db).render_as_string(), "records": len(ids),
                         "clients": args.clients, "seconds": args.seconds,
                         "warmup": args.warmup, "mixes": mixes,
                         "read_replicas": args.read_replica},
            "runs": rows}, indent=2))
    if any(r["errors"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
