"""Cross-lingual retrieval: questions in one language, documents in another.

    python bench/crosslingual.py [--db PATH_OR_URL] [--json out.json]

Builds the packaged sample corpus into an archive (a fresh SQLite one in a temporary
folder, or the --db given, reused when it already holds records), embeds it (``opis
embed``'s stage, timed: passages per second), then asks each query of
bench/data/crosslingual.json in the three modes and prints, overall and per language:

- recall@1, @3 and @10: the share of queries with an expected record among the first
  1, 3 or 10 hits;
- MRR: mean of 1 / rank of the first expected record (0 when not in the first ten);
- query latency p50 / p95 in each mode (the whole ``Archive.search``, query embedding
  included).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opis.cli import sample_corpus  # noqa: E402
from opis.search.base import SearchRequest  # noqa: E402
from opis.services.archive import Archive  # noqa: E402
from opis.services.embedding import embed_archive  # noqa: E402

DATA = ROOT / "bench" / "data" / "crosslingual.json"
MODES = ("lexical", "semantic", "hybrid", "auto")


def load_queries(path: Path = DATA) -> list[dict]:
    return json.loads(path.read_text())["queries"]


def rank_of(ids: list[str], expected: set[str]) -> int | None:
    return next((i for i, rid in enumerate(ids, start=1) if rid in expected), None)


def scores(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {"recall@1": sum(1 for r in ranks if r == 1) / n,
            "recall@3": sum(1 for r in ranks if r and r <= 3) / n,
            "recall@10": sum(1 for r in ranks if r and r <= 10) / n,
            "mrr": sum(1 / r for r in ranks if r) / n, "queries": len(ranks)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def run(archive: Archive, queries: list[dict]) -> dict:
    ranks: dict[str, dict[str, list[int | None]]] = {m: defaultdict(list) for m in MODES}
    latency: dict[str, list[float]] = {m: [] for m in MODES}
    misses: dict[str, list[str]] = {m: [] for m in MODES}
    archive.search(SearchRequest(query="warm up the model", mode="semantic"))
    for q in queries:
        for mode in MODES:
            started = time.perf_counter()
            result = archive.search(SearchRequest(query=q["query"], mode=mode, limit=10,
                                                  facets=False)).result
            latency[mode].append((time.perf_counter() - started) * 1000)
            r = rank_of([h.id for h in result.hits], set(q["expected"]))
            ranks[mode][q["language"]].append(r)
            ranks[mode]["all"].append(r)
            if q.get("set"):
                ranks[mode][q["set"]].append(r)
            if r != 1:
                misses[mode].append(f"{q['language']} {q['query']} -> "
                                    f"{[h.id for h in result.hits[:3]]}")
    return {mode: {"scores": {k: scores(v) for k, v in sorted(ranks[mode].items())},
                   "latency_ms": {"p50": round(percentile(latency[mode], 0.5), 1),
                                  "p95": round(percentile(latency[mode], 0.95), 1)},
                   "misses": misses[mode]}
            for mode in MODES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="an archive to use (built from the sample if empty)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--misses", action="store_true", help="list the queries missed")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    archive = Archive(args.db or str(Path(tmp.name) / "bench.db"))
    if not archive.count():
        archive.ingest([sample_corpus()], workers=1)
    report = embed_archive(archive.db, search=archive.semantic)
    queries = load_queries()
    figures = {"records": archive.count(), "queries": len(queries),
               "embed": report.to_json(), "modes": run(archive, queries)}
    archive.close()
    e = figures["embed"]
    print(f"{figures['records']} records, {len(queries)} queries; embedded "
          f"{e['embedded']} passages in {e['seconds']} s ({e['passages_per_second']} "
          f"passages/s; {e['passages_per_cpu_second']} per CPU second), {e['indexed']} in "
          "the index")
    for mode, data in figures["modes"].items():
        lat = data["latency_ms"]
        print(f"\n{mode}: p50 {lat['p50']} ms, p95 {lat['p95']} ms")
        print(f"  {'':10} {'n':>3} {'r@1':>5} {'r@3':>5} {'r@10':>5} {'MRR':>5}")
        for group, s in data["scores"].items():
            print(f"  {group:10} {s['queries']:>3} {s['recall@1']:5.2f} {s['recall@3']:5.2f} "
                  f"{s['recall@10']:5.2f} {s['mrr']:5.2f}")
        if args.misses:
            for miss in data["misses"]:
                print("   miss:", miss)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
