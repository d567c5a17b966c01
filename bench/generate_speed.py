"""How fast the synthetic corpus generator writes, and whether its memory stays flat.

    python bench/generate_speed.py --docs 20000

1. Writes ``--docs`` JSON Lines records into a temporary folder and prints records/s,
   MB/s and the peak RSS of the run.
2. Runs the generator again in two fresh processes, for ``--memory-docs`` records each
   (10,000 and 40,000 by default), and prints both peak RSS figures: a streaming
   generator has the same peak whatever the number of records.
3. Times the text export and TEI formats on a smaller run (``--other-docs``).

Everything is written under a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from opis_bench.generate import generate, vocabulary


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(docs: int, seed: int, fmt: str, folder: Path) -> dict[str, float]:
    vocabulary()
    report = generate(folder, docs, seed=seed, fmt=fmt)
    return {"format": fmt, "records": report.records, "files": report.files,
            "bytes": report.bytes, "seconds": round(report.seconds, 3),
            "records_per_second": round(report.records_per_second, 1),
            "cpu_seconds": round(report.cpu_seconds, 3),
            "records_per_cpu_second": round(report.records_per_cpu_second, 1),
            "mb_per_second": round(report.megabytes_per_second, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1)}


def child(docs: int, seed: int) -> dict[str, float]:
    """A run in a fresh interpreter, so its peak RSS is its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(docs), "--seed", str(seed)],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(label: str, r: dict[str, float]) -> None:
    print(f"{label:<22} {r['records']:>7,} records {r['seconds']:>7.2f} s "
          f"{r['records_per_second']:>7,.0f} rec/s {r['mb_per_second']:>6.1f} MB/s | "
          f"CPU {r['cpu_seconds']:>6.2f} s {r['records_per_cpu_second']:>7,.0f} rec/CPU-s | "
          f"peak RSS {r['peak_rss_mb']:>5.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20_000, help="records in the main run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-docs", type=int, nargs=2, default=[10_000, 40_000],
                        metavar=("SMALL", "LARGE"), help="records in the two memory runs")
    parser.add_argument("--other-docs", type=int, default=2_000,
                        help="records for the text and TEI timings (0 to skip)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:  # one memory run: print a JSON line and stop
        with tempfile.TemporaryDirectory(prefix="opis-gen-") as tmp:
            print(json.dumps(run(args.child, args.seed, "jsonl", Path(tmp))))
        return

    print(f"opis synthetic corpus generator on {platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} cores, one used, load average "
          f"{os.getloadavg()[0]:.1f} (rec/CPU-s is the rate a busy machine does not hide)")
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="opis-gen-") as tmp:
        main_run = run(args.docs, args.seed, "jsonl", Path(tmp) / "jsonl")
    show("jsonl (this process)", main_run)
    results["jsonl"] = main_run

    small, large = (child(n, args.seed) for n in args.memory_docs)
    show("jsonl (fresh process)", small)
    show("jsonl (fresh process)", large)
    growth = large["peak_rss_mb"] - small["peak_rss_mb"]
    print(f"peak RSS {small['peak_rss_mb']:.1f} MB at {small['records']:,} records, "
          f"{large['peak_rss_mb']:.1f} MB at {large['records']:,}: "
          f"{growth:+.1f} MB for {large['records'] / max(1, small['records']):.0f}x the records")
    results["memory"] = {"small": small, "large": large, "growth_mb": round(growth, 1)}

    if args.other_docs:
        for fmt in ("text", "tei"):
            with tempfile.TemporaryDirectory(prefix="opis-gen-") as tmp:
                r = run(args.other_docs, args.seed, fmt, Path(tmp) / fmt)
            show(fmt, r)
            results[fmt] = r
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
