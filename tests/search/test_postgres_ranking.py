"""PostgreSQL ranks inside its RUM index when the server has the extension, and the same
way without it (issue 19): the same hits, the same totals, literal matches before
documents found only through a linked name, on a real FRUS excerpt in every script."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from tests.conftest import pg_schema

from opis.search.base import SearchRequest
from opis.services.archive import Archive
from paths import DATA

KOREA = DATA / "frus1955-57v23p2-excerpt.xml"
SAMPLES = DATA / "wcda-records.jsonl"
NOTE = """---
id: literal-rhee
title: A note on Korean politics
date: 1955-03-01
---
Syngman Rhee spoke in Seoul about the armistice; curly “quotes”, Пхеньян, 평양 and 平壤
stay. Kwasniewski, Dvorak and Хрущев are written here without their diacritics.
"""
QUERIES = ["Korea", "armistice", '"Syngman Rhee"', "Syngman Rhee", "Rhee Syngman",
           "Korea AND armistice", "Korea -armistice", "armist*", "Пхеньян", "평양",
           "平壤", "Hammarskjöld", "“Syngman Rhee”"]


@pytest.fixture(scope="module")
def ranked(pg_ok, tmp_path_factory):
    """One archive on PostgreSQL, searched with the RUM index and then with the GIN
    index a server without the extension has."""
    folder = tmp_path_factory.mktemp("ranking")
    note = folder / "literal.md"
    note.write_text(NOTE, encoding="utf-8")
    with pg_schema(pg_ok) as url:
        archive = Archive(url)
        archive.ingest([KOREA, note, SAMPLES])
        yield url, archive
        archive.close()


def _results(archive: Archive) -> dict[str, tuple[int, list[str]]]:
    out = {}
    for q in QUERIES:
        result = archive.search(SearchRequest(query=q, limit=100)).result
        out[q] = (result.total, [h.id for h in result.hits])
    return out


def test_the_archive_ranks_in_its_rum_index(ranked):
    url, _archive = ranked
    engine = create_engine(url)
    with engine.connect() as conn:
        kinds = dict(conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'search_documents'"
            " AND schemaname = current_schema()")).all())
        conn.execute(text("SET enable_seqscan = off"))  # a few rows: a scan would win
        plan = "\n".join(conn.execute(text(
            "EXPLAIN SELECT record_id FROM search_documents WHERE tsv @@ to_tsquery("
            "'opis_english', 'korea') ORDER BY tsv OPERATOR(public.<=>)"
            " to_tsquery('opis_english', 'korea') LIMIT 20")).scalars())
    engine.dispose()
    assert "USING rum" in kinds["ix_search_documents_rank"]
    assert "ix_search_documents_tsv" not in kinds  # one full-text index, not two
    assert "ix_search_documents_rank" in plan


def test_a_server_without_rum_finds_and_orders_the_same(ranked):
    url, archive = ranked
    with_rum = _results(archive)
    assert all(total for total, _ in with_rum.values()), with_rum
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_search_documents_rank"))
        conn.execute(text("CREATE INDEX ix_search_documents_tsv ON search_documents"
                          " USING GIN (tsv)"))
    try:
        plain = Archive(url)
        try:
            without = _results(plain)
        finally:
            plain.close()
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_search_documents_tsv"))
            conn.execute(text("CREATE INDEX ix_search_documents_rank ON search_documents"
                              " USING rum (tsv public.rum_tsvector_ops)"))
        engine.dispose()
    for q in QUERIES:
        assert with_rum[q][0] == without[q][0], q  # the same number of hits
        assert set(with_rum[q][1]) == set(without[q][1]), q  # the same documents
    # The note naming him in full comes first both ways.
    for results in (with_rum, without):
        assert results["Syngman Rhee"][1][0] == "literal-rhee"


def test_a_linked_only_document_ranks_below_every_literal_match(ranked):
    _url, archive = ranked
    result = archive.search(SearchRequest(query="Syngman Rhee", limit=100)).result
    spellings = {w.casefold() for typed, others in result.spellings()
                 for w in [typed, *others]}

    def literal(record_id: str) -> bool:
        record = archive.get(record_id)
        words = " ".join(f"{record.title} {record.text}".casefold().split())
        return any(s in words for s in spellings)

    found = [literal(h.id) for h in result.hits]
    assert True in found and False in found, found  # both kinds are there
    first_linked = found.index(False)
    assert not any(found[first_linked:]), found


def test_a_rebuild_keeps_the_ranking_index(ranked):
    """A rebuild drops the full-text index, writes every row and builds it again in bulk,
    in one transaction: afterwards the index is there and finds what it found."""
    url, archive = ranked
    before = _results(archive)
    assert archive.reindex() == archive.count()
    engine = create_engine(url)
    with engine.connect() as conn:
        names = set(conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents'"
            " AND schemaname = current_schema()")).scalars())
    engine.dispose()
    assert "ix_search_documents_rank" in names
    assert _results(archive) == before


@pytest.mark.parametrize("query", ["Syngman Rhee", "Korea", "Пхеньян"])
def test_pages_of_three_add_up_to_the_whole_list(ranked, query):
    """Paging crosses from the literal matches to the linked-only documents without
    losing or repeating one."""
    _url, archive = ranked
    whole = archive.search(SearchRequest(query=query, limit=100)).result
    pages: list[str] = []
    for offset in range(0, whole.total + 3, 3):
        result = archive.search(SearchRequest(query=query, limit=3, offset=offset)).result
        assert result.total == whole.total
        pages += [h.id for h in result.hits]
    assert pages == [h.id for h in whole.hits]
    assert len(pages) == whole.total


def test_a_phrase_is_ranked_by_its_words_and_found_only_where_it_stands(pg_ok):
    """A page is ranked inside the index by the query's words (ranking by the phrase
    itself made RUM check it in every candidate first), but only documents where the
    phrase stands are hits: the one that says it three times comes first, and the one
    with the words apart is not found at all."""
    from opis.model import Record

    with pg_schema(pg_ok) as url:
        archive = Archive(url)
        try:
            archive.put([
                Record("once", "Planning", "The “five-year plan” of Kwaśniewski’s "
                       "ministry was read in Пхеньян.", date="1957"),
                Record("thrice", "Planning again", "The five-year plan, then the five-year "
                       "plan again, and a third five-year plan (平壤).", date="1958"),
                Record("apart", "Words apart", "Five delegates spoke; a year later the plan "
                       "for the harvest was five pages long.", date="1959"),
            ])
            for query in ('"five-year plan"', '"Five-Year Plan"'):
                result = archive.search(SearchRequest(query=query)).result
                assert [h.id for h in result.hits] == ["thrice", "once"], query
                assert result.total == 2
                assert result.hits[0].score > result.hits[1].score > 0
                assert "<mark>five-year plan</mark>" in result.hits[0].snippet.lower()
        finally:
            archive.close()
