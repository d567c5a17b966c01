"""bench/suite.py end to end at a tiny size (300 records, 5 queries of each kind, SQLite
only), as one command: every query kind, engine and ratio must be in the JSON. No timing
is asserted; the figures are the benchmark's business, not the test's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SUITE = Path(__file__).resolve().parent.parent / "bench" / "suite.py"
KINDS = {"term", "phrase", "boolean", "variant", "facet"}
ENGINES = {"tantivy", "datasette", "datasette-ranked", "opis-sqlite", "opis-sqlite-nofacets"}
RATIOS = {f"{mine}/{other}" for mine in ("opis", "opis-nofacets")
          for other in ("datasette", "datasette-ranked", "tantivy")}


def run_suite(work: Path, out: Path, *extra: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(SUITE), "--sizes", "300", "--backends", "sqlite", "--work",
         str(work), "--json", str(out), "--queries", "5", *extra],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text())


def test_suite_smoke(tmp_path: Path) -> None:
    pytest.importorskip("psutil")
    pytest.importorskip("datasette")
    work = tmp_path / "work"
    md = tmp_path / "results.md"
    data = run_suite(work, tmp_path / "results.json", "--doc-pages", "20", "--markdown",
                     str(md))
    assert set(data["kinds"]) == KINDS
    size = data["sizes"]["300"]
    assert size["status"] == "complete", size["errors"]
    assert size["corpus"]["docs"] == 300 and (work / "corpus-300.done").exists()

    assert set(size["latency_ms"]) == ENGINES
    for engine, kinds in size["latency_ms"].items():
        assert set(kinds) == KINDS, engine
        for kind, r in kinds.items():
            assert r["queries"] == 5, (engine, kind)
            assert 0 <= r["p50"] <= r["p95"] <= r["p99"], (engine, kind)
            assert r["mean_hits"] >= 0
    assert set(size["ratios"]) == {"sqlite"}
    assert set(size["ratios"]["sqlite"]) == RATIOS
    for name, kinds in size["ratios"]["sqlite"].items():
        assert set(kinds) == KINDS, name
        assert all(r["p50"] > 0 and r["p95"] > 0 for r in kinds.values()), name

    ingest = size["ingest"]["sqlite"]
    assert (ingest["records"], ingest["failed"], ingest["exit"]) == (300, 0, 0)
    assert ingest["peak_rss_mb"] >= ingest["peak_main_rss_mb"] > 0
    assert ingest["worker_processes"] >= 1  # the extraction workers were sampled too
    storage = size["storage"]["sqlite"]
    assert storage["db_bytes"] > 0 and storage["index_bytes"] > 0
    assert storage["total_bytes_per_record"] == round(storage["total_bytes"] / 300)
    for name in ("tantivy", "datasette"):
        assert size["engines"][name]["bytes_per_record"] > 0
    pages = size["document_page_ms"]["sqlite"]
    assert (pages["requests"], pages["errors"]) == (20, 0)

    text = md.read_text()
    assert "opis / Datasette (table search, unranked)" in text
    assert "opis / bare Tantivy" in text
    assert "| 300 | sqlite |" in text

    # Again with --reuse: the finished archive is measured, not ingested again.
    again = run_suite(work, tmp_path / "again.json", "--reuse", "--engines", "opis",
                      "--doc-pages", "0")
    size = again["sizes"]["300"]
    assert size["ingest"]["sqlite"]["reused"] is True
    assert set(size["latency_ms"]) == {"opis-sqlite", "opis-sqlite-nofacets"}
    assert size["corpus"]["reused"] is True

    # Into the same --json with opis only: Tantivy's and Datasette's figures of the first
    # run are kept (a small disk can delete their indexes before opis is ingested), and
    # the ratios compare them with the new opis figures.
    merged = run_suite(work, tmp_path / "results.json", "--reuse", "--engines", "opis",
                       "--doc-pages", "0", "--markdown", str(md))
    size = merged["sizes"]["300"]
    assert set(size["latency_ms"]) == ENGINES
    assert set(size["carried"]["names"]) == {"tantivy", "datasette", "datasette-ranked"}
    assert set(size["ratios"]["sqlite"]) == RATIOS
    assert "Measured in an earlier run on the same corpus" in md.read_text()
