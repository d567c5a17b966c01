"""Facet counts exact and estimated, back to back on one archive: what the sample saves
and what it costs in accuracy.

    python bench/facets.py --db /work/bench/opis-1000000.db [--queries 100] [--json out.json]

For the suite's term, boolean and name-variant queries (the kinds that match many
documents), each query runs twice in a row through the search page's own request: with
exact counts (``exact_facets``, what every search did before) and with the default,
which estimates the counts from a sample of the hits when there are more than
``FACET_EXACT_UP_TO``. It prints p50/p95 of both and, over the estimated searches, how
far the estimates are from the exact counts: the median relative error of the counts
shown, and how many of the exact top five of each entity facet the estimate also shows
in its top five.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search_compare as sc  # noqa: E402
from opis.search import tantivy_engine  # noqa: E402
from opis.search.base import ENTITY_FACETS  # noqa: E402
from opis.services.archive import Archive  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="an archive the suite ingested")
    p.add_argument("--queries", type=int, default=100, help="queries of each kind")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sample", type=int, help="hits to estimate from (default: opis's "
                   "FACET_SAMPLE)")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    if args.sample:
        tantivy_engine.FACET_SAMPLE = args.sample
    archive = Archive(args.db)
    queries = sc.build_queries(args.queries, args.seed)
    out: dict = {"db": args.db, "records": archive.count(), "kinds": {},
                 "sample": tantivy_engine.FACET_SAMPLE}
    for kind in ("term", "boolean", "variant"):
        exact_ms, estimated_ms, errors, top5 = [], [], [], []
        sampled = 0
        for q in queries[kind]:
            request = sc.opis_request(q)
            started = time.perf_counter()
            exact = archive.search(dataclasses.replace(request, exact_facets=True)).result
            exact_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            guess = archive.search(request).result
            estimated_ms.append((time.perf_counter() - started) * 1000)
            if guess.facets_sampled is None:
                continue
            sampled += 1
            for name, values in guess.facets.items():
                truth = dict(exact.facets.get(name, []))
                errors += [abs(n - truth[v]) / truth[v] for v, n in values if truth.get(v)]
            for name in ENTITY_FACETS:
                want = [v for v, _ in exact.facets.get(name, [])[:5]]
                got = {v for v, _ in guess.facets.get(name, [])[:5]}
                if want:
                    top5.append(sum(v in got for v in want) / len(want))
        row = {"queries": len(queries[kind]), "estimated": sampled,
               "exact_p50": percentile(exact_ms, 50), "exact_p95": percentile(exact_ms, 95),
               "default_p50": percentile(estimated_ms, 50),
               "default_p95": percentile(estimated_ms, 95),
               "median_relative_error": statistics.median(errors) if errors else None,
               "top5_kept": statistics.mean(top5) if top5 else None}
        out["kinds"][kind] = row
        err = row["median_relative_error"]
        kept = row["top5_kept"]
        print(f"{kind:8} exact counts p50 {row['exact_p50']:7.1f} p95 {row['exact_p95']:7.1f} ms"
              f" | default p50 {row['default_p50']:7.1f} p95 {row['default_p95']:7.1f} ms"
              f" | estimated in {sampled}/{row['queries']}"
              + (f", median error {err:.1%}, top five kept {kept:.0%}" if err is not None
                 else ""), flush=True)
    archive.close()
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
