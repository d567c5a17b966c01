"""Dates and labels as readers read them: one formatter for every page ("28 December
1956", "?9 January 1957", "January 1955 – December 1957"), the EDTF kept in the JSON; no
"№" on a FRUS document, no "Transcription into English" on an English original, no
"1. 1." in a collection list, no timings on the search page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from opis.model.dates import human_date
from opis.services.archive import Archive
from opis.web.app import create_app
from reading_room_fixtures import sample_db


@pytest.mark.parametrize(("edtf", "words"), [
    ("1956-12-28", "28 December 1956"),
    ("1957-01-X9", "?9 January 1957"),  # as the stamp prints it: "?9 Jan 1957"
    ("1967-11", "November 1967"),
    ("1956", "1956"),
    ("1956?", "1956?"),
    ("1956-12-28~", "c. 28 December 1956"),
    ("195X", "1950s"),
    ("1955-01/1957-12", "January 1955 – December 1957"),
    ("1955-01-13/1957-12-31", "13 January 1955 – 31 December 1957"),
    ("1956-12-01/1956-12-28", "1–28 December 1956"),
    ("1956-01/1956-03", "January – March 1956"),
    ("1955/1957", "1955–1957"),
    ("1955/..", "from 1955"),
    ("not a date", "not a date"),  # never hidden
    (None, ""),
])
def test_human_date(edtf, words):
    assert human_date(edtf) == words


@pytest.fixture(scope="module")
def client():
    archive = Archive(str(sample_db()))
    with TestClient(create_app(archive)) as c:
        yield c
    archive.close()


def visible(html: str) -> str:
    """The page's prose as a reader sees it, roughly: tags out, spaces collapsed; the RIS
    and BibTeX records (<pre>, machine formats by design) left out."""
    html = re.sub(r"<(script|style|pre)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_document_page_dates_in_words_and_edtf_in_json(client):
    page = visible(client.get("/document/114165").text)
    assert "28 December 1956" in page and "1956-12-28" not in page
    assert "(dated ?9 January 1957)" in page and "X9" not in page
    assert "Translation into English from Russian" in page
    assert "№ 1578/d?v?" in page  # a Soviet document's own number sign stays
    data = client.get("/document/114165.json").json()
    assert data["date"] == "1956-12-28"


def test_frus_document_has_no_number_sign_or_wrong_transcription(client):
    page = visible(client.get("/document/frus1955-57v03-d1").text)
    assert "№" not in page and "In the volume Document 1" in page
    assert "Transcription into English" not in page
    assert "Transcription of the English original" in page
    assert "1 August 1955" in page


def test_collection_list_and_search_page(client):
    html = client.get("/collections/frus1955-57v03").text
    assert re.search(r'<li><a href="[^"]+">Telegram From Ambassador', html)
    page = visible(html)
    assert "13 January 1955 – 31 December 1957" in page and "/1957-12-31" not in page
    page = visible(client.get("/search", params={"q": "Korea"}).text)
    assert not re.search(r"\d ms\)", page)
    assert "milliseconds" in client.get("/search.json", params={"q": "Korea"}).json()
