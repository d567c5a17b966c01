"""Zotero in one click: the page resolved the way Zotero's generic translators do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rispy
from fastapi.testclient import TestClient
from lxml import etree, html

from opis.services.archive import Archive
from opis.web.app import create_app

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    archive = Archive(str(tmp_path_factory.mktemp("z") / "z.db"))
    archive.ingest([DATA / "wcda_114165.txt", DATA / "wcda-records.jsonl"])
    with TestClient(create_app(archive)) as c:
        yield c
    archive.close()


def unapi_items(client, page_url: str) -> list[dict]:
    """What unAPI.js does: find the server and the ids, list formats, take RIS."""
    doc = html.fromstring(client.get(page_url).text)
    (server,) = doc.xpath('//link[@rel="unapi-server"]/@href')
    ids = doc.xpath('//abbr[contains(concat(" ", @class, " "), " unapi-id ")]/@title')
    items = []
    for rid in ids:
        listing = client.get(server, params={"id": rid})
        assert listing.status_code == 300
        names = etree.fromstring(listing.content).xpath("//format/@name")
        assert names[0] == "ris"
        body = client.get(server, params={"id": rid, "format": "ris"})
        assert body.status_code == 200
        items += rispy.loads(body.text)
    return items


def test_document_page_saves_a_complete_manuscript(client):
    (item,) = unapi_items(client, "/document/114165")
    assert item["type_of_reference"] == "MANSCPT"
    assert item["title"].startswith("Communist Party of the Soviet Union Central Committee")
    assert item["authors"] == ["Ivanov, V."] or item["authors"] == ["V. Ivanov"]
    assert item["abstract"].startswith("The Soviet embassy in Pyongyang")
    assert item["date"].startswith("1956/12/28")
    blob = json.dumps(item, ensure_ascii=False)
    for words in ("RGANI", "486", "1-17", "Gary Goldberg", "James F. Person"):
        assert words in blob, words
    assert item["urls"][0].endswith("/document/114165")


def test_search_page_saves_several_records(client):
    items = unapi_items(client, "/search?q=Chiang")
    assert len(items) >= 3
    assert all(i["type_of_reference"] == "MANSCPT" for i in items)


def test_unapi_errors(client):
    assert client.get("/unapi", params={"id": "nope", "format": "ris"}).status_code == 404
    assert client.get("/unapi", params={"id": "114165", "format": "marc"}).status_code == 406
    formats = etree.fromstring(client.get("/unapi").content)
    assert "tei" in formats.xpath("//format/@name")


def test_meta_tags_for_embedded_metadata(client):
    """What "Embedded Metadata.js" reads when unAPI is absent."""
    doc = html.fromstring(client.get("/document/114165").text)
    meta = {}
    for m in doc.xpath("//meta[@name]"):
        meta.setdefault(m.get("name"), []).append(m.get("content"))
    assert meta["DC.type"] == ["manuscript"]
    assert meta["z.archive"] == ["RGANI"]
    assert meta["z.archiveLocation"] == ["f. 5, op. 28, d. 486, ll. 1-17"]
    assert meta["citation_title"][0].startswith("Communist Party")
    assert meta["citation_date"] == ["1956/12/28"]
    assert meta["citation_author"] == ["V. Ivanov"]
    assert not doc.xpath('//span[contains(@class, "Z3988")]')  # no COinS: it would win
    (ld,) = doc.xpath('//script[@type="application/ld+json"]/text()')
    data = json.loads(ld)
    assert data["@type"] == "ArchiveComponent" and data["holdingArchive"]["name"] == "RGANI"


def test_json_ld_cannot_close_its_script(tmp_path):
    archive = Archive(str(tmp_path / "x.db"))
    doc = tmp_path / "x.txt"
    doc.write_text("**May 1, 1950**\n**Title </script><script>alert(1)</script>**\n\n"
                   "**Contents:**\n\nText\n", encoding="utf-8")
    assert archive.ingest([doc]).ok
    with TestClient(create_app(archive)) as c:
        page = c.get("/document/x").text
    ld = page.split('<script type="application/ld+json">')[1].split("</script>")[0]
    assert "<" not in ld and json.loads(ld)["name"].startswith("Title </script>")
    archive.close()
