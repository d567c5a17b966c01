"""Pages and their JSON twins, through the ASGI app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from opis.services.archive import Archive
from opis.web.app import create_app
from paths import DATA

REFERENCE = DATA / "wcda_114165.txt"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    archive = Archive(str(tmp_path_factory.mktemp("web") / "w.db"))
    archive.ingest([REFERENCE])
    with TestClient(create_app(archive), raise_server_exceptions=False) as c:
        yield c
    archive.close()


def test_home(client):
    r = client.get("/")
    assert r.status_code == 200 and "1 documents" in r.text
    assert 'href="/document/114165"' in r.text


def test_document_page_shows_fields_and_marks(client):
    html = client.get("/document/114165").text
    for text in ("RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17", "James F. Person",
                 "Gary Goldberg", "Leon Levy Foundation", "SECRET", "№ 1578/d?v?",
                 "V. Ivanov, USSR Ambassador to the DPRK", "Khrushchev", "Russian",
                 "Distributed at the instruction of Cde. D. T. SHEPILOV", "?9 January 1957"):
        assert text in html, text
    for kind in ("stamp", "handwritten", "illegible", "typed_over", "sic", "supplied",
                 "original_term", "gloss", "romanization"):
        assert f'class="ann ann-{kind}"' in html, kind
    assert 'title="Variant spelling of Kim Du-bong"' in html
    assert html.count("<span") == html.count("</span>")


def test_document_json_field_names(client):
    data = client.get("/document/114165.json").json()
    for name in ("id", "title", "date", "citation", "source_url", "summary", "donors",
                 "original_language", "contents", "archival_reference", "contributors",
                 "classification", "document_number", "authors", "distribution", "stamps",
                 "handwritten_notes", "authentication", "endorsements", "text", "annotations",
                 "subjects", "people", "places", "organizations"):
        assert name in data, name
    assert data["date"] == "1956-12-28" and len(data["distribution"]) == 19


def test_search_page_and_json(client):
    r = client.get("/search", params={"q": "Mikoyan"})
    assert r.status_code == 200 and "<mark>Mikoyan</mark>" in r.text
    assert 'href="/document/114165?find=Mikoyan"' in r.text  # opens at the hit
    data = client.get("/search.json", params={"q": "Mikoyan"}).json()
    assert data["total"] == 1 and data["hits"][0]["id"] == "114165"
    empty = client.get("/search", params={"q": "zzzzqqq"})
    assert "Nothing found" in empty.text


def test_errors_are_pages_not_tracebacks(client):
    r = client.get("/document/nope")
    assert r.status_code == 404 and "No document with id nope" in r.text
    assert client.get("/document/nope.json").json() == {
        "error": "No document with id nope", "status": 404}
    r = client.get("/search", params={"page": "x"})
    assert r.status_code == 400 and "Traceback" not in r.text
    r = client.get("/search", params={"q": '"((', "from": "not a date"})
    assert r.status_code == 200 and "could not be read" in r.text


def test_script_in_fields_is_escaped(tmp_path):
    payload = "<script>alert(1)</script>"
    doc = tmp_path / "x.txt"
    doc.write_text(f"**May 1, 1950**\n**{payload}**\n\n**Summary:**\n\n{payload}\n\n"
                   f"**Contents:**\n\nText {payload} [<img src=x onerror=alert(1)>]\n")
    archive = Archive(str(tmp_path / "x.db"))
    assert archive.ingest([doc]).ok
    with TestClient(create_app(archive)) as c:
        html = c.get("/document/x").text
        assert payload not in html and "<img" not in html
        assert "&lt;script&gt;" in html
        search = c.get("/search", params={"q": "alert"}).text
        assert payload not in search
    archive.close()


def test_exports_per_record(client):
    import json as _json

    import rispy
    from lxml import etree

    ris = client.get("/document/114165.ris")
    assert ris.headers["content-type"].startswith("application/x-research-info-systems")
    (entry,) = rispy.loads(ris.text)
    assert entry["type_of_reference"] == "MANSCPT"
    assert client.get("/document/114165.bib").text.lstrip().startswith("@")
    csl = _json.loads(client.get("/document/114165.csl.json").text)
    assert csl[0]["type"] == "manuscript"
    etree.fromstring(client.get("/document/114165.dc.xml").content)
    tei = etree.fromstring(client.get("/document/114165.tei.xml").content)
    assert tei.tag.endswith("TEI")
    assert client.get("/document/114165.docx").status_code == 404


def test_document_page_offers_citations(client):
    html = client.get("/document/114165").text
    assert 'id="citation-chicago"' in html and 'id="citation-apa"' in html
    assert "trans. Gary Goldberg" in html
    assert 'href="/document/114165.ris"' in html
