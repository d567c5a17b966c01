"""Load: concurrent readers and editors against `opis serve`, and no edit lost.

Builds a fresh archive from the packaged sample corpus (SQLite file, or a fresh schema
in a PostgreSQL database), creates an editor with an API token, starts `opis serve` as
a subprocess on a free loopback port, and drives it with N concurrent asyncio + httpx
clients for a bounded time. Each client loops over a weighted mix of searches
(/search.json), document pages (/document/{id}) and edits
(PATCH /api/v1/records/{id} with a unique reason). Afterwards it checks, in the
database, that every acknowledged edit is a revision with that reason.

Prints throughput, p50/p95/p99 latency per request kind, errors and lost edits.

    python bench/load.py                                   # both backends, 50 clients, 60 s
    python bench/load.py --backend sqlite --seconds 10 --clients 20
    python bench/load.py --backend postgres --postgres postgresql+psycopg://postgres@127.0.0.1/test
    python bench/load.py --json results.json
    python bench/load.py --mix search=0.6,document=0.4       # readers only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

DEFAULT_PG = os.environ.get("OPIS_TEST_POSTGRES",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MIX = {"search": 0.6, "document": 0.3, "edit": 0.1}
QUERIES = ["Korea", "Kim Tu-bong", "plenum", '"cult of personality"', "Mikoyan OR Peng",
           "party NOT China", "embass*", "Nehru", "treaty", "Soviet Union", "Pyongyang",
           "agricultural cooperatives", "Stalin", "delegation", "Choe Chang-ik"]
MAX_SECONDS = 600
MAX_CLIENTS = 500


@dataclass
class Result:
    backend: str
    clients: int
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    acked_edits: list[tuple[str, int, str]] = field(default_factory=list)
    lost_edits: int = -1

    def summary(self) -> dict:
        kinds = {}
        total = 0
        for kind, values in sorted(self.latencies.items()):
            total += len(values)
            kinds[kind] = {
                "requests": len(values), "per_second": round(len(values) / self.seconds, 1),
                "p50_ms": round(_pct(values, 50), 1), "p95_ms": round(_pct(values, 95), 1),
                "p99_ms": round(_pct(values, 99), 1), "errors": self.errors.get(kind, 0)}
        return {"backend": self.backend, "clients": self.clients,
                "seconds": round(self.seconds, 1), "requests": total,
                "per_second": round(total / self.seconds, 1), "kinds": kinds,
                "errors": sum(self.errors.values()), "error_samples": self.error_samples[:5],
                "edits_acknowledged": len(self.acked_edits), "edits_lost": self.lost_edits}


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the archive under test ------------------------------------------------------------------

def prepare(backend: str, folder: Path, pg_base: str) -> tuple[str, str | None]:
    """A fresh archive with the sample corpus; returns (url, PostgreSQL schema or None)."""
    schema = None
    if backend == "sqlite":
        url = str(folder / "load.db")
    else:
        schema = "load_" + uuid.uuid4().hex[:10]
        engine = create_engine(pg_base)
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine.dispose()
        url = f"{pg_base}?options=-csearch_path%3D{schema}"
    from opis.cli import sample_corpus
    from opis.services.archive import Archive

    archive = Archive(url)
    report = archive.ingest([sample_corpus()])
    archive.close()
    if not report.ok:
        raise SystemExit(f"ingest failed: {report.failed}")
    return url, schema


def editor_token(url: str) -> str:
    from opis.services.accounts import Accounts
    from opis.store.db import Database

    db = Database(url)
    accounts = Accounts(db)
    accounts.add_user("loadbot", "editor", "load test password " + uuid.uuid4().hex)
    _id, token = accounts.create_token("loadbot", ["edit"], "bench/load.py")
    db.dispose()
    return token


def record_ids(url: str) -> list[str]:
    engine = create_engine(url if "://" in url else f"sqlite:///{url}")
    with engine.connect() as conn:
        ids = [r for (r,) in conn.execute(text(
            "SELECT id FROM records WHERE status = 'published' ORDER BY id"))]
    engine.dispose()
    return ids


def lost_edits(url: str, acked: list[tuple[str, int, str]]) -> int:
    """Acknowledged edits with no revision of that number and reason in the database."""
    engine = create_engine(url if "://" in url else f"sqlite:///{url}")
    with engine.connect() as conn:
        found = {(rid, n, reason) for rid, n, reason in conn.execute(text(
            "SELECT record_id, number, reason FROM revisions WHERE author = 'loadbot'"))}
    engine.dispose()
    return sum((rid, n, reason) not in found for rid, n, reason in acked)


def start_server(url: str, port: int, log: Path) -> subprocess.Popen:
    """`opis serve` in a subprocess, ready when /healthz answers."""
    cmd = [sys.executable, "-c", "from opis.cli import main; main()", "serve", "--db", url,
           "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"opis serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("opis serve did not start")


# -- the clients -----------------------------------------------------------------------------

async def client_loop(n: int, http: httpx.AsyncClient, ids: list[str], token: str,
                      until: float, result: Result, rng: random.Random) -> None:
    kinds, weights = zip(*MIX.items(), strict=True)
    count = 0
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        count += 1
        started = time.perf_counter()
        try:
            if kind == "search":
                r = await http.get("/search.json", params={"q": rng.choice(QUERIES)})
            elif kind == "document":
                r = await http.get(f"/document/{rng.choice(ids)}")
            else:
                rid = rng.choice(ids)
                reason = f"load {n}-{count} {uuid.uuid4().hex[:8]}"
                r = await http.patch(f"/api/v1/records/{rid}",
                                     headers={"Authorization": f"Bearer {token}"},
                                     json={"changes": {"summary": f"Load test summary {reason}"},
                                           "reason": reason})
                if r.status_code == 200:
                    result.acked_edits.append((rid, r.json()["version"], reason))
            ok = r.status_code == 200
            detail = f"{kind} {r.status_code} {r.text[:120]}"
        except httpx.HTTPError as e:
            ok, detail = False, f"{kind} {e.__class__.__name__}: {e}"
        elapsed = (time.perf_counter() - started) * 1000
        result.latencies.setdefault(kind, []).append(elapsed)
        if not ok:
            result.errors[kind] = result.errors.get(kind, 0) + 1
            result.error_samples.append(detail)


async def drive(base: str, ids: list[str], token: str, clients: int, seconds: float,
                backend: str, seed: int) -> Result:
    result = Result(backend, clients, seconds)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(*(client_loop(n, http, ids, token, until, result,
                                           random.Random(seed + n)) for n in range(clients)))
        result.seconds = time.monotonic() - started
    return result


def run(backend: str, clients: int = 50, seconds: float = 60, pg_base: str = DEFAULT_PG,
        seed: int = 1) -> dict:
    """One bounded load run against a fresh archive; returns the summary."""
    clients = max(1, min(clients, MAX_CLIENTS))
    seconds = max(1.0, min(seconds, MAX_SECONDS))
    with tempfile.TemporaryDirectory(prefix="opis-load-") as tmp:
        folder = Path(tmp)
        url, schema = prepare(backend, folder, pg_base)
        try:
            token = editor_token(url)
            ids = record_ids(url)
            port = free_port()
            server = start_server(url, port, folder / "server.log")
            try:
                # A thread of its own: the caller may already run an event loop (pytest
                # with Playwright's sync API does).
                with ThreadPoolExecutor(1) as pool:
                    result = pool.submit(asyncio.run, drive(
                        f"http://127.0.0.1:{port}", ids, token, clients, seconds, backend,
                        seed)).result()
            finally:
                server.terminate()
                try:
                    server.wait(20)
                except subprocess.TimeoutExpired:
                    server.kill()
            result.lost_edits = lost_edits(url, result.acked_edits)
            return result.summary()
        finally:
            if schema:
                engine = create_engine(pg_base)
                with engine.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                engine.dispose()


def report(summary: dict) -> str:
    lines = [f"{summary['backend']}: {summary['clients']} clients, {summary['seconds']} s, "
             f"{summary['requests']} requests ({summary['per_second']}/s), "
             f"{summary['errors']} errors, {summary['edits_acknowledged']} edits acknowledged, "
             f"{summary['edits_lost']} lost",
             f"  {'kind':<10}{'requests':>10}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}"
             f"{'p99 ms':>9}{'errors':>8}"]
    for kind, k in summary["kinds"].items():
        lines.append(f"  {kind:<10}{k['requests']:>10}{k['per_second']:>8}{k['p50_ms']:>9}"
                     f"{k['p95_ms']:>9}{k['p99_ms']:>9}{k['errors']:>8}")
    for sample in summary["error_samples"]:
        lines.append(f"  error: {sample}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--postgres", default=DEFAULT_PG, help="PostgreSQL database URL; "
                        "a fresh schema is made in it and dropped afterwards")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mix", default="search=0.6,document=0.3,edit=0.1",
                        help="weights of the request kinds (edit=0 for readers only)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    MIX.clear()
    for part in args.mix.split(","):
        kind, _, weight = part.partition("=")
        if kind.strip() not in ("search", "document", "edit"):
            parser.error(f"unknown request kind {kind!r} in --mix")
        if float(weight) > 0:
            MIX[kind.strip()] = float(weight)
    summaries = []
    for backend in backends:
        summary = run(backend, args.clients, args.seconds, args.postgres, args.seed)
        summaries.append(summary)
        print(report(summary), flush=True)
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=2))
    if any(s["errors"] or s["edits_lost"] for s in summaries):
        sys.exit(1)


if __name__ == "__main__":
    main()
