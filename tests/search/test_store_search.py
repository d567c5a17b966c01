"""Record -> store -> JSON round trip and search, on SQLite+Tantivy and on PostgreSQL."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from opis.readers.wcda_text import parse
from opis.search.base import SearchRequest
from opis.services.records import record_json
from paths import DATA

REFERENCE = DATA / "wcda_114165.txt"

OTHER = """**April 1, 1949**
**Letter, Jawaharlal Nehru to All Provincial Premiers**

**Citation:**

"Letter", April 1, 1949, Wilson Center Digital Archive, Nehru Memorial Museum and Library. Contributed by Jane Doe.
<https://example.org/document/300653>

**Original Language:**

English

**Contents:**

Transcription - English

The situation in China is in a state of flux. The communists could soon take power in Peking.
Pakistan and the Commonwealth remain our concern.
"""


def _ingest(archive, tmp_path: Path):
    other = tmp_path / "nehru.txt"
    other.write_text(OTHER, encoding="utf-8")
    report = archive.ingest([REFERENCE, other])
    assert report.ok, report.failed
    return report


def ids(archive, query: str, **kw) -> list[str]:
    timed = archive.search(SearchRequest(query=query, **kw))
    return [h.id for h in timed.result.hits]


def test_round_trip_json(archive):
    original = parse(REFERENCE, REFERENCE.read_bytes())
    archive.put([original])
    stored = archive.get("114165")
    assert stored == original
    data = json.loads(json.dumps(record_json(stored)))
    assert data == {k: v for k, v in original.to_dict().items() if k != "source_path"}
    for a in data["annotations"]:
        assert data["text"][a["start"]:a["end"]] == a["text"]


def test_ingest_is_idempotent_and_keeps_revisions(archive, tmp_path):
    report = _ingest(archive, tmp_path)
    assert sorted(report.added) == ["114165", "300653"]
    again = archive.ingest([REFERENCE])
    assert again.unchanged == ["114165"] and not again.added
    changed = tmp_path / "changed.txt"
    changed.write_text(REFERENCE.read_text().replace("Gary Goldberg", "G. Goldberg"))
    third = archive.ingest([changed])
    assert third.updated == ["114165"]
    assert archive.count() == 2
    revs = archive.revisions("114165")
    assert [r.number for r in revs] == [1, 2]
    assert revs[0].data["contributors"][1]["name"] == "Gary Goldberg"
    assert archive.get("114165").contributors[1].name == "G. Goldberg"


def test_sqlite_revisions_are_compressed_and_old_json_rows_still_read(tmp_path):
    """Revisions take a fifth of the space they took as JSON text, and an archive an
    older opis wrote (revision data as JSON text) reads as before, with no migration."""
    import sqlite3

    from opis.services.archive import Archive

    db = tmp_path / "opis.db"
    archive = Archive(str(db))
    try:
        archive.put([parse(REFERENCE, REFERENCE.read_bytes())])
        con = sqlite3.connect(db)
        blob, = con.execute("SELECT data FROM revisions WHERE record_id='114165'").fetchone()
        plain = json.dumps(archive.revisions("114165")[0].data, ensure_ascii=False)
        assert isinstance(blob, bytes) and len(blob) < len(plain.encode()) / 2
        old = {"id": "114165", "title": "As an older opis stored it", "text": "x"}
        con.execute("INSERT INTO revisions (record_id, number, created_at, author, reason, "
                    "data, content_hash) VALUES ('114165', 2, '2024-01-01 00:00:00', 'old', "
                    "'old', ?, 'h')", (json.dumps(old),))
        con.commit()
        con.close()
        revs = archive.revisions("114165")
        assert [r.number for r in revs] == [1, 2]
        assert revs[0].data["title"] == archive.get("114165").title
        assert revs[1].data == old
    finally:
        archive.close()


def test_failed_file_stores_nothing(archive, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("**Octember 99, 1956**\n**T**\n\n**Contents:**\n\nwords\n")
    report = archive.ingest([bad])
    assert report.failed and report.failed[0].line == 1
    assert archive.count() == 0
    assert archive.search(SearchRequest(query="words")).result.total == 0


def test_search_phrase_prefix_boolean(archive, tmp_path):
    _ingest(archive, tmp_path)
    assert ids(archive, '"cult of personality"') == ["114165"]
    assert ids(archive, '"personality of cult"') == []
    assert ids(archive, "plen*") == ["114165"]
    assert ids(archive, "Pakis*") == ["300653"]
    assert sorted(ids(archive, "Mikoyan OR Commonwealth")) == ["114165", "300653"]
    assert ids(archive, "China AND Commonwealth") == ["300653"]
    assert ids(archive, "China NOT Commonwealth") == ["114165"]
    assert ids(archive, "China -Mikoyan") == ["300653"]
    assert ids(archive, "China -(Mikoyan OR Khrushchev)") == ["300653"]
    assert ids(archive, "Goldberg") == ["114165"]  # metadata is searchable
    assert ids(archive, "RGANI") == ["114165"]


def test_title_ranks_first(archive, tmp_path):
    _ingest(archive, tmp_path)
    # "Nehru" is in one title; "premier" in that title only as well
    assert ids(archive, "Nehru")[0] == "300653"


def test_date_and_language_filters(archive, tmp_path):
    _ingest(archive, tmp_path)
    assert ids(archive, "China", date_from=date(1950, 1, 1)) == ["114165"]
    assert ids(archive, "China", date_to=date(1950, 1, 1)) == ["300653"]
    assert ids(archive, "China", date_from=date(1956, 12, 28), date_to=date(1956, 12, 28)) == [
        "114165"]
    assert ids(archive, "China", languages=["en"]) == ["300653"]
    assert sorted(ids(archive, "", languages=["ru", "en"])) == ["114165", "300653"]
    assert ids(archive, "", sort="date") == ["300653", "114165"]
    assert ids(archive, "", sort="-date") == ["114165", "300653"]


@pytest.mark.parametrize("query", ['"unclosed', "((", "AND", "OR OR", "NOT", ")", "*", "-",
                                   'title:"x', "a AND (b OR", "\\", "'", "[[", "Kim ((Il",
                                   "\x00", "ö*"])
def test_malformed_queries_never_raise(archive, tmp_path, query):
    _ingest(archive, tmp_path)
    archive.search(SearchRequest(query=query))


def test_malformed_query_falls_back_to_words(archive, tmp_path):
    _ingest(archive, tmp_path)
    assert ids(archive, '"cult of personality') == ["114165"]
    assert ids(archive, "(Commonwealth") == ["300653"]


def test_snippets_are_highlighted_and_escaped(archive, tmp_path):
    _ingest(archive, tmp_path)
    hit = archive.search(SearchRequest(query="Mikoyan")).result.hits[0]
    assert "<mark>Mikoyan</mark>" in hit.snippet
    hit = archive.search(SearchRequest(query="Korean Workers")).result.hits[0]
    assert "<mark>" in hit.snippet and "'" not in hit.snippet.replace("&#x27;", "")


def test_facets_count_languages(archive, tmp_path):
    _ingest(archive, tmp_path)
    facets = archive.search(SearchRequest(query="China")).result.facets
    assert dict(facets["language"]) == {"ru": 1, "en": 1}


def test_reindex_rebuilds(archive, tmp_path):
    _ingest(archive, tmp_path)
    assert archive.reindex() == 2
    assert ids(archive, "Mikoyan") == ["114165"]


def test_facet_counts_of_a_large_result_are_estimated_from_a_sample(db_url, monkeypatch):
    """Above a number of hits the counts come from a fixed sample of documents, scaled up,
    and say so (the page marks them ≈, the API gives the share); browse pages and any
    request asking for exact counts get exact ones. Both engines, every kind of facet."""
    from fastapi.testclient import TestClient

    from opis.model import Record
    from opis.model.entity import Collection
    from opis.search import postgres_engine, tantivy_engine
    from opis.search.base import about
    from opis.services.archive import Archive
    from opis.web.app import create_app

    for engine in (tantivy_engine, postgres_engine):
        monkeypatch.setattr(engine, "FACET_EXACT_UP_TO", 100)
        monkeypatch.setattr(engine, "FACET_SAMPLE", 150)
    archive = Archive(db_url)
    try:
        archive.put([Record(f"r{i}", f"Report {i}",
                            "The harvest was counted again, Kim Il Sung said in Pyongyang.",
                            date=f"{1950 + i % 3}", original_language="ru" if i % 3 else "en")
                     for i in range(300)])
        archive.save_collection(Collection("harvests", "Harvest reports",
                                           record_ids=[f"r{i}" for i in range(0, 300, 2)]))
        estimated = archive.search(SearchRequest(query="harvest")).result
        assert estimated.total == 300 and estimated.facets_sampled == 0.5
        counts = dict(estimated.facets["language"])
        assert abs(counts["ru"] - 200) <= 40 and abs(counts["en"] - 100) <= 40
        # (a sample of about 150 of 300: within a quarter)
        assert abs(sum(n for _, n in estimated.facets["year"]) - 300) <= 75
        assert abs(dict(estimated.facets["collection"])["harvests"] - 150) <= 40
        (person, n), = estimated.facets["person"]
        assert person.endswith("kim-il-sung") and abs(n - 300) <= 75
        # Shown to three significant figures, never as a falsely exact multiple.
        assert [about(x) for x in (79280, 43296.4, 0.2)] == [79300, 43300, 1]
        exact = archive.search(SearchRequest(query="harvest", exact_facets=True)).result
        assert exact.facets_sampled is None and dict(exact.facets["language"]) == \
            {"ru": 200, "en": 100}
        assert dict(exact.facets["collection"]) == {"harvests": 150}
        assert exact.facets["decade"] == [(1950, 300)]
        assert exact.facets["year"] == [(1950, 100), (1951, 100), (1952, 100)]
        few = archive.search(SearchRequest(query="harvest", years=[1950])).result
        assert few.total == 100 and few.facets_sampled is None  # at the limit: exact
        assert dict(few.facets["language"]) == {"en": 100}
        client = TestClient(create_app(archive))
        page = client.get("/search", params={"q": "harvest"}).text
        assert 'id="facets-estimated"' in page and "≈" in page
        assert client.get("/api/v1/search", params={"q": "harvest"}).json()[
            "facets_sampled"] == 0.5
        assert client.get("/api/v1/search", params={"q": "harvest", "year": "1950"}).json()[
            "facets_sampled"] is None
    finally:
        archive.close()


def test_an_index_of_another_schema_is_rebuilt_from_the_records(tmp_path):
    """Upgrading opis changes the index's fields: an index of an older version, or one
    whose fields differ under the same version, is rebuilt when the archive opens."""
    import tantivy

    from opis.services.archive import Archive

    db = tmp_path / "opis.db"
    archive = Archive(str(db))
    archive.put([parse(REFERENCE, REFERENCE.read_bytes())])
    archive.close()
    folder = Path(str(db) + ".tantivy")
    (folder / "opis-schema.json").write_text('{"version": 3}')
    archive = Archive(str(db))
    assert ids(archive, "Mikoyan") == ["114165"]
    archive.close()
    marker = (folder / "opis-schema.json").read_text()
    shutil.rmtree(folder)
    folder.mkdir()
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True)
    tantivy.Index(sb.build(), path=str(folder))
    (folder / "opis-schema.json").write_text(marker)
    archive = Archive(str(db))
    try:
        assert ids(archive, "Mikoyan") == ["114165"]
    finally:
        archive.close()
