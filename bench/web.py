"""Latency and throughput of the reading room's pages under concurrent clients.

Loads the packaged sample corpus into a fresh archive (or uses --db), serves it with
uvicorn in a subprocess, and drives it over loopback with httpx (async, keep-alive)
from several concurrent clients for a bounded time per page. Prints p50/p95/p99
latency and requests per second for each page, and the ratio of the document page's
p95 to the 50 ms target.

    python bench/web.py                       # 8 clients, 5 s per page
    python bench/web.py --clients 4 --seconds 10 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PAGES = {
    "home": "/",
    "search": "/search?q=Korea",
    "search (name)": "/search?q=Kim+Tu-bong",
    "search (facets)": "/search?q=Korea&person=person%2Fsyngman-rhee&decade=1950",
    "document (114165, 40k chars)": "/document/114165",
    "document (FRUS)": "/document/frus1955-57v23p2-d8",
    "person": "/person/syngman-rhee",
    "api search": "/api/v1/search?q=Korea",
}
TARGET_MS = 50.0
SERVER = """
import sys, uvicorn
from opis.services.archive import Archive
from opis.web.app import create_app
uvicorn.run(create_app(Archive(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning", access_log=False)
"""


def build(folder: Path) -> Path:
    from opis.cli import sample_corpus
    from opis.services.archive import Archive

    path = folder / "bench.db"
    archive = Archive(str(path))
    report = archive.ingest([sample_corpus()])
    archive.close()
    if not report.ok:
        raise SystemExit(f"ingest failed: {report.failed}")
    return path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def drive(base: str, path: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        for _ in range(3):  # warm caches and connections
            await client.get(path)
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                r = await client.get(path)
                await r.aread()
                latencies.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "errors": errors,
            "rps": len(latencies) / elapsed if elapsed else 0.0,
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99), "mean": statistics.fmean(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an existing archive (default: build the sample corpus)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="per page (max 60)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--only", help="run the pages whose name contains this")
    args = parser.parse_args()
    seconds = min(max(args.seconds, 0.5), 60.0)
    with tempfile.TemporaryDirectory(prefix="opis-bench-") as tmp:
        db = args.db or str(build(Path(tmp)))
        port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        server = subprocess.Popen([sys.executable, "-c", SERVER, db, str(port)], env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                raise SystemExit("the server did not start")
            results = {}
            for name, path in PAGES.items():
                if args.only and args.only not in name:
                    continue
                results[name] = asyncio.run(drive(base, path, args.clients, seconds))
        finally:
            server.terminate()
            server.wait(10)
    if args.json:
        print(json.dumps({"clients": args.clients, "seconds": seconds, "pages": results},
                         indent=2))
        return
    print(f"{args.clients} concurrent clients, {seconds:.0f} s per page, "
          f"one uvicorn worker, {os.cpu_count()} cores")
    print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>7}")
    for name, r in results.items():
        print(f"{name:32} {r['p50']:8.1f} {r['p95']:8.1f} {r['p99']:8.1f} {r['rps']:8.1f} "
              f"{r['errors']:7d}")
    doc = results.get("document (114165, 40k chars)")
    if doc:
        print(f"document p95 / {TARGET_MS:.0f} ms target: {doc['p95'] / TARGET_MS:.2f}")


if __name__ == "__main__":
    main()
