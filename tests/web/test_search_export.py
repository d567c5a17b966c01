"""A search's records as one file for a reference manager or a spreadsheet: RIS,
BibTeX, CSL-JSON and CSV, the whole result set, in the search's order and with its
filters, from the search page's "Export" control."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from curation_helpers import sample_record
from opis.services.archive import Archive
from opis.web.app import create_app

TITLES = {"ru": "Беседа с Ким Ир Сеном о «пленуме»", "ko": "김일성 동지와의 “담화”",
          "zh": "与金日成同志的谈话", "en": "Dvořák’s report on Kim Du-bon"}


@pytest.fixture
def client(tmp_path: Path):
    archive = Archive(str(tmp_path / "a.db"))
    records = []
    for i, (lang, title) in enumerate(TITLES.items()):
        r = sample_record(f"r-{lang}", title=title,
                          text="Kim Du-bon " + "plenum " * (4 - i) + title + "\n")
        r.original_language = lang
        records.append(r)
    archive.put(records)
    with TestClient(create_app(archive), base_url="https://archive.example.org") as c:
        yield c
    archive.close()


def test_ris_holds_every_record_in_the_search_order(client: TestClient) -> None:
    page = client.get("/search.json", params={"q": "plenum"}).json()
    order = [h["id"] for h in page["hits"]]
    r = client.get("/search/export.ris", params={"q": "plenum"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-research-info-systems")
    assert 'filename="opis-search.ris"' in r.headers["content-disposition"]
    assert r.headers["x-opis-exported"] == r.headers["x-opis-total"] == "4"
    entries = [e for e in r.text.split("ER  - ") if e.strip()]
    assert len(entries) == 4
    urls = re.findall(r"^UR  - (.+)$", r.text, re.M)
    assert [u for u in urls if "/document/" in u] == [
        f"https://archive.example.org/document/{i}" for i in order]
    for title in TITLES.values():
        assert f"TI  - {title}" in r.text  # every script, quotes and marks intact


def test_filters_and_formats(client: TestClient) -> None:
    r = client.get("/search/export.csl.json", params={"q": "Kim Du-bon", "language": "ko"})
    items = json.loads(r.text)
    assert [i["title"] for i in items] == [TITLES["ko"]]
    assert r.headers["x-opis-total"] == "1"
    bib = client.get("/search/export.bib", params={"q": "Kim Du-bon"}).text
    assert bib.count("\n@") + bib.startswith("@") == 4
    assert TITLES["zh"] in bib
    table = client.get("/search/export.csv", params={"q": "plenum"})
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(table.text)))
    assert rows[0][:3] == ["id", "title", "date"] and len(rows) == 5
    assert {r[1] for r in rows[1:]} == set(TITLES.values())
    assert all(r[-1].startswith("https://archive.example.org/document/") for r in rows[1:])
    assert client.get("/search/export.exe", params={"q": "x"}).status_code == 404
    empty = client.get("/search/export.ris", params={"q": "nothingmatchesthis"})
    assert empty.status_code == 200 and empty.text == "" and \
        empty.headers["x-opis-total"] == "0"


def test_the_search_page_offers_the_export_only_when_something_is_found(
        client: TestClient) -> None:
    html = client.get("/search", params={"q": "plenum", "language": "ru"}).text
    assert "Export this document" in html
    assert 'href="/search/export.ris?q=plenum&amp;language=ru"' in html
    assert "Export" not in client.get("/search", params={"q": "nothingmatchesthis"}).text \
        .split('id="results"')[1]
