"""A three-second run of bench/load.py (the 60-second, 50-client run is a benchmark, not a
test): readers and editors at once against `opis serve`, no error, no edit lost."""

from __future__ import annotations

import importlib.util
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

LOAD = Path(__file__).parent.parent / "bench" / "load.py"


def load_module():
    spec = importlib.util.spec_from_file_location("opis_bench_load", LOAD)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_load_smoke(backend, request):
    if backend == "postgres" and not request.getfixturevalue("pg_ok"):
        pytest.skip("PostgreSQL not reachable")
    load = load_module()
    # In a thread of its own: the session's Playwright browser keeps an event loop
    # running in this one, where asyncio.run() is refused.
    with ThreadPoolExecutor(1) as pool:
        summary = pool.submit(load.run, backend, clients=8, seconds=3).result()
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["edits_acknowledged"] > 0
    assert summary["edits_lost"] == 0
    assert set(summary["kinds"]) == {"search", "document", "edit"}
