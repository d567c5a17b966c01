"""Zotero in one click: the page resolved the way Zotero's generic translators do."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import rispy
from fastapi.testclient import TestClient
from lxml import etree, html

from export_fixtures import corporate_record, frus_telegram_record
from opis.services.archive import Archive
from opis.services.export import ExportContext
from opis.services.export.ris import RIS_LIST_TAGS, RIS_MAPPING, to_ris
from opis.web.app import create_app
from opis.web.zotero import attachment, meta_tags
from paths import DATA


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
        items += rispy.loads(body.text, mapping=RIS_MAPPING, list_tags=RIS_LIST_TAGS)
    return items


def test_document_page_saves_a_complete_manuscript(client):
    (item,) = unapi_items(client, "/document/114165")
    assert item["type_of_reference"] == "MANSCPT"
    assert item["title"].startswith("Communist Party of the Soviet Union Central Committee")
    assert item["authors"] == ["Ivanov, V."] or item["authors"] == ["V. Ivanov"]
    assert item["abstract"].startswith("The Soviet embassy in Pyongyang")
    assert item["date"].startswith("1956/12/28")
    blob = json.dumps(item, ensure_ascii=False)
    for words in ("RGANI", "486", "1-17", "James F. Person"):
        assert words in blob, words
    assert item["subsidiary_authors"] == ["Goldberg, Gary"]  # A4: Zotero's translator
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


def page_meta(client, path: str) -> dict[str, list[str]]:
    doc = html.fromstring(client.get(path).text)
    meta: dict[str, list[str]] = {}
    for m in doc.xpath("//meta[@name]"):
        meta.setdefault(m.get("name"), []).append(m.get("content"))
    return meta


def test_meta_tags_for_embedded_metadata(client):
    """What "Embedded Metadata.js" reads when unAPI is absent: its RDF translator takes
    the first DC.type as the Manuscript Type and the first DC.coverage as Loc. in Archive."""
    meta = page_meta(client, "/document/114165")
    assert "DC.type" not in meta  # the source gives no document type: no "manuscript" junk
    assert meta["z.itemType"] == ["manuscript"]
    assert meta["z.archive"] == ["RGANI"]
    assert meta["z.archiveLocation"] == meta["DC.coverage"]
    assert meta["citation_title"][0].startswith("Communist Party")
    assert meta["citation_date"] == ["1956-12-28"]
    assert meta["citation_author"] == ["Ivanov, V."]
    assert meta["z.translator"] == ["Goldberg, Gary"]
    assert meta["citation_public_url"] == meta["DC.identifier"]
    assert meta["citation_public_url"][0].endswith("/document/114165")
    doc = html.fromstring(client.get("/document/114165").text)
    assert not doc.xpath('//span[contains(@class, "Z3988")]')  # no COinS: it would win
    (ld,) = doc.xpath('//script[@type="application/ld+json"]/text()')
    data = json.loads(ld)
    assert data["@type"] == "ArchiveComponent" and data["holdingArchive"]["name"] == "RGANI"
    assert data["url"] == meta["citation_public_url"][0]
    assert data["sameAs"].startswith("https://")  # the source page, beside the opis page
    assert data["translationOfWork"]["inLanguage"] == "ru"


def test_unapi_and_meta_tags_agree(client):
    """The two routes Zotero may take give the same values (issue 18, problem 5)."""
    for rid in ("114165", "300639"):
        (item,) = unapi_items(client, f"/document/{rid}")
        meta = page_meta(client, f"/document/{rid}")
        assert [item["language"]] == meta["citation_language"] == meta["DC.language"], rid
        assert [item["accession_number"]] == meta["z.archiveLocation"] == meta["DC.coverage"]
        assert [item.get("name_of_database")] == meta.get("z.archive", [None]), rid
        assert item["urls"] == meta["citation_public_url"] == meta["DC.identifier"], rid
        y, m, d = item["date"].rstrip("/").split("/")
        assert meta["citation_date"] == [f"{y}-{m}-{d}"] == meta["DC.date"], rid
        assert item["type_of_reference"] == "MANSCPT" and meta["z.itemType"] == ["manuscript"]
        assert item.get("subsidiary_authors", []) == meta.get("z.translator", []), rid
        assert item["authors"] == meta["citation_author"] == meta["DC.creator"], rid
        assert item.get("keywords", []) == meta.get("citation_keywords", []), rid
        assert item["access_date"] == datetime.now(UTC).strftime("%Y/%m/%d/"), rid


def test_unapi_offers_nothing_zotero_prefers_to_ris(client):
    """unAPI.js walks its own preference list and takes the first format offered."""
    preference = ["rdf_zotero", "rdf_bibliontology", "mods", "marc", "unimarc", "ris",
                  "refer", "bibtex", "rdf_dc"]
    offered = etree.fromstring(client.get("/unapi").content).xpath("//format/@name")
    chosen = next(f for f in preference if f in offered)
    assert chosen == "ris"


def test_frus_telegram_through_unapi(tmp_path):
    archive = Archive(str(tmp_path / "f.db"))
    archive.put([frus_telegram_record(), corporate_record()])
    with TestClient(create_app(archive)) as c:
        (item,) = unapi_items(c, "/document/frus1955-57v23p2-d3")
        meta = page_meta(c, "/document/frus1955-57v23p2-d3")
        (corp,) = unapi_items(c, "/document/300638")
        corp_page = c.get("/document/300638").text
    archive.close()
    assert item["type_of_reference"] == "CHAP"
    assert item["authors"] == ["Embassy in Korea"]
    assert item["secondary_title"] == "Foreign Relations of the United States, 1955–1957, Korea"
    assert item["volume"] == "XXIII, pt. 2"
    assert item["accession_number"] == "Central Files, 611.95B/1–855"
    assert "Recipient: Department of State" in item["extra"]
    assert meta["z.itemType"] == ["bookSection"]
    assert meta["citation_inbook_title"] == [item["secondary_title"]]
    assert meta["citation_author"] == ["Embassy in Korea"]
    assert (meta["citation_firstpage"], meta["citation_lastpage"]) == (["4"], ["5"])
    assert meta["citation_date"] == ["1993"]
    assert meta["DC.type"] == ["Telegram"]
    assert "Korea, Embassy in" not in json.dumps(corp, ensure_ascii=False)
    head = corp_page.split("</head>")[0]  # the meta tags and JSON-LD
    assert "Korea, Embassy in" not in head and "Embassy in Korea" in head


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


def test_the_file_to_attach_is_the_pdf_else_the_translation_text():
    """RIS L1 (Zotero: a "Full Text (PDF)" attachment) and citation_pdf_url name the
    stored PDF; a text file goes in L2, since RIS.js marks every L1 as a PDF."""
    pdf, text = "ab" * 32, "cd" * 32
    record = corporate_record()
    record.extra = {"attachments": [
        {"sha256": text, "role": "translation", "media_type": "text/plain", "name": "t.txt"},
        {"sha256": pdf, "role": "original", "media_type": "application/pdf", "name": "o.pdf"},
        {"sha256": "not-a-hash", "role": "translation", "media_type": "application/pdf"},
    ]}
    assert attachment(record) == (f"/attachments/{pdf}", "application/pdf")
    url, kind = attachment(record)
    entry = rispy.loads(to_ris(record, ExportContext(attachment_url=url, attachment_type=kind)),
                        mapping=RIS_MAPPING, list_tags=RIS_LIST_TAGS)[0]
    assert entry["file_attachments1"] == url
    meta = dict(meta_tags(record, "https://x/document/300638",
                          ExportContext(url="https://x/document/300638", attachment_url=url,
                                        attachment_type=kind)))
    assert meta["citation_pdf_url"] == url
    record.extra["attachments"] = record.extra["attachments"][:1]
    url, kind = attachment(record)
    assert (url, kind) == (f"/attachments/{text}", "text/plain")
    entry = rispy.loads(to_ris(record, ExportContext(attachment_url=url, attachment_type=kind)),
                        mapping=RIS_MAPPING, list_tags=RIS_LIST_TAGS)[0]
    assert entry["file_attachments2"] == url and "file_attachments1" not in entry
    record.extra = {}
    assert attachment(record) is None


def test_document_exports_cite_the_opis_page(client):
    """/document/{id}.ris and .csl.json say where the record was read, like unAPI."""
    entry = rispy.loads(client.get("/document/114165.ris").text, mapping=RIS_MAPPING,
                        list_tags=RIS_LIST_TAGS)[0]
    assert entry["urls"] == ["http://testserver/document/114165"]
    assert entry["access_date"] == datetime.now(UTC).strftime("%Y/%m/%d/")
    assert "Source URL: https://" in entry["extra"]
    (item,) = json.loads(client.get("/document/114165.csl.json").text)
    assert item["URL"] == "http://testserver/document/114165"
    doc = html.fromstring(client.get("/document/114165").text)
    (chicago,) = doc.xpath('//*[@id="citation-chicago"]')
    assert chicago.text_content().strip().endswith("http://testserver/document/114165.")
    assert "Korea,” trans. Gary Goldberg" in chicago.text_content()
