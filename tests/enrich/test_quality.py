"""The quality figures the names issue promises, recomputed from the bench scripts."""

from __future__ import annotations

import importlib.util

import pytest

from paths import ROOT

BENCH = ROOT / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_person_extraction_precision_and_recall():
    rows = _load("entities").measure()
    assert {r["record"] for r in rows} >= {"114165", "frus1955-57v23p2-d3"}
    for r in rows:
        if r["method"] == "pipeline":
            assert r["precision"] >= 0.9 and r["recall"] >= 0.9, r


def test_variant_spelling_retrieval(db_url):
    from opis.cli import sample_corpus
    from opis.services.archive import Archive

    names = _load("names")
    assert len(names.QUERIES) >= 40
    archive = Archive(db_url)
    archive.ingest([sample_corpus()])
    _rows, recall, mrr = names.evaluate(archive)
    archive.close()
    assert recall >= 0.95 and mrr >= 0.9, (recall, mrr)


@pytest.mark.parametrize("query", ["Kim Tu-bong", "Ch'oe Ch'ang-ik", "P'eng Te-huai",
                                   "Mikoian", "Pak Chong-ae"])
def test_done_criteria_queries(db_url, query):
    from opis.cli import sample_corpus
    from opis.search.base import SearchRequest
    from opis.services.archive import Archive

    archive = Archive(db_url)
    archive.ingest([sample_corpus()])
    hits = archive.search(SearchRequest(query=query)).result.hits
    archive.close()
    assert hits[0].id == "114165"
