"""Ingest the six complete FRUS volumes of tests/data/frus-real and say how fast.

    PYTHONPATH=src python bench/frus_volumes.py [--workers N] [--db URL]

Prints documents stored, flagged and failed, documents per second (reading, linking,
storing and indexing, the way `opis ingest` does it) and the peak memory of this
process and of its workers (ru_maxrss). The volumes are decompressed to a temporary
folder first; that time is not counted.
"""

from __future__ import annotations

import argparse
import lzma
import resource
import sys
import tempfile
import time
from pathlib import Path

from opis.services.archive import Archive

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "frus-real"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--db", default=None, help="database URL (default: a new SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        volumes = []
        for source in sorted(DATA.glob("*.xml.xz")):
            path = folder / source.name.removesuffix(".xz")
            path.write_bytes(lzma.decompress(source.read_bytes()))
            volumes.append(path)
        archive = Archive(args.db or str(folder / "frus.db"))
        started = time.perf_counter()
        report = archive.ingest(volumes, workers=args.workers)
        seconds = time.perf_counter() - started
        archive.close()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"volumes {len(volumes)}: stored {report.stored}, flagged "
          f"{report.flagged_records}, failed {len(report.failed)}")
    print(f"{seconds:.1f} s, {report.stored / seconds:.1f} documents/s")
    print(f"peak memory: {own:.0f} MB (main process), {workers:.0f} MB (largest worker)")
    for failure in report.failed:
        print(f"failed {failure}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
