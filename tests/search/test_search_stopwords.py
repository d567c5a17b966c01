"""Stop words in a query, on both engines: PostgreSQL's English configuration drops
"the", "of", "on" while Tantivy keeps them, and a reader typing a title as printed, with
or without quotes, must still find the document; a query of nothing but stop words
finds nothing on PostgreSQL, quietly; Tantivy indexes stop words, so there they match
like any other word."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from opis.model import Record
from opis.search.base import SearchRequest
from opis.web.app import create_app

RECORDS = [
    Record(id="sw1", title="Report on the Situation in the Korean Workers' Party",
           text="Report on the Situation in the Korean Workers' Party after the August "
                "plenum, as seen from Pyongyang.\n", date="1956-09-01", original_language="ru"),
    Record(id="sw2", title="Note on a Conversation with the Chinese Ambassador",
           text="The counsellor of the embassy of the USSR in Pyongyang called on the "
                "Chinese ambassador to discuss the harvest.\n", date="1957-03-12",
           original_language="ru"),
    Record(id="sw3", title="Telegram on Grain Deliveries",
           text="Grain deliveries to the northern provinces fell short in the spring.\n",
           date="1958-05-02", original_language="zh"),
]


@pytest.fixture
def filled(archive):
    archive.put(RECORDS)
    return archive


def found(archive, query: str) -> list[str]:
    return [h.id for h in archive.search(SearchRequest(query=query)).result.hits]


@pytest.mark.parametrize(("query", "expected"), [
    ("Report on the Situation", "sw1"),
    ('"Report on the Situation"', "sw1"),
    ("report ON THE situation", "sw1"),
    ("the embassy of the USSR", "sw2"),
    ('"the embassy of the USSR"', "sw2"),
    ('"embassy of the USSR" Pyongyang', "sw2"),
    ("(the OR of) embassy", "sw2"),
])
def test_stop_words_do_not_hide_the_record(filled, query, expected):
    assert found(filled, query) == [expected]


def on_postgres(db_url: str) -> bool:
    return db_url.startswith("postgresql")


@pytest.mark.parametrize("query", ["the of", '"the of"', "the OR of", "a the and"])
def test_only_stop_words(filled, db_url, query):
    timed = filled.search(SearchRequest(query=query))
    ids = [h.id for h in timed.result.hits]
    if on_postgres(db_url):  # nothing left once English drops them: no hit, no error
        assert (timed.result.total, ids) == (0, [])
    else:  # indexed as words: only records that contain them
        assert timed.result.total == len(ids)
        assert set(ids) <= {"sw1", "sw2", "sw3"}


def test_only_stop_words_on_the_search_page(filled, db_url):
    client = TestClient(create_app(filled))
    response = client.get("/search.json", params={"q": "the of"})
    assert response.status_code == 200
    data = response.json()
    if on_postgres(db_url):
        assert (data["total"], data["hits"]) == (0, [])
    assert data["total"] == len(data["hits"])
    page = client.get("/search", params={"q": "the of"})
    assert page.status_code == 200
    if on_postgres(db_url):
        assert "Nothing found." in page.text
