"""Ingest rate and peak memory, per source shape.

    python bench/ingest.py [--json out.json] [--tei-mb 40]

Each case runs `opis ingest` in a fresh process into a fresh SQLite archive and reports
records per second (wall clock) and the process's peak resident memory, so memory is
measured the way an operator sees it. Cases: the two FRUS TEI excerpts, the 11 archive
records (JSONL), and a synthetic FRUS-like TEI volume of --tei-mb megabytes, which
shows the TEI reader streams (peak memory does not grow with the volume).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opis_bench.generate import synthetic_tei_volume  # noqa: E402

DATA = ROOT / "tests" / "data"


# Runs the CLI and, on exit, prints the peak memory of that process (and, separately,
# of its extraction workers), so each case is measured on its own.
LAUNCH = """
import atexit, resource, sys
def peak():
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"PEAK {own} {kids}", file=sys.stderr)
atexit.register(peak)
sys.argv = ["opis", *sys.argv[1:]]
from opis.cli import main
main()
"""


def run(label: str, source: Path, work: Path) -> dict:
    db = work / f"{label}.db"
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", LAUNCH, "ingest", str(source), "--db", str(db)],
                         capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    seconds = time.perf_counter() - started
    m = re.search(r"PEAK (\d+) (\d+)", out.stderr)
    peak, workers = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    m = re.search(r"added (\d+)", out.stdout)
    records = int(m.group(1)) if m else 0
    return {"case": label, "bytes": source.stat().st_size, "records": records,
            "seconds": round(seconds, 2), "records_per_s": round(records / seconds, 1),
            "peak_rss_mb": round(peak / 1024, 1), "worker_peak_rss_mb": round(workers / 1024, 1),
            "exit": out.returncode}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--tei-mb", type=float, default=40)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows.append(run("frus-v23p2", DATA / "frus1955-57v23p2-excerpt.xml", work))
        rows.append(run("frus-v03", DATA / "frus1955-57v03-excerpt.xml", work))
        rows.append(run("wcda-jsonl", DATA / "wcda-records.jsonl", work))
        for mb in (args.tei_mb / 4, args.tei_mb):
            volume = work / f"volume-{mb:g}.xml"
            synthetic_tei_volume(volume, int(mb * 1024 * 1024))
            rows.append(run(f"tei-{mb:g}MB", volume, work))
    print(f"{'case':14} {'MB':>7} {'records':>8} {'s':>8} {'rec/s':>8} {'peak MB':>8} "
          f"{'workers':>8}")
    for r in rows:
        print(f"{r['case']:14} {r['bytes'] / 1048576:7.1f} {r['records']:8d} {r['seconds']:8.1f} "
              f"{r['records_per_s']:8.1f} {r['peak_rss_mb']:8.1f} {r['worker_peak_rss_mb']:8.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
