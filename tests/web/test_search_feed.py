"""Any search can be followed: /search.atom lists the documents it finds that were
added or corrected last, newest first, as a valid Atom feed."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from lxml import etree

from curation_helpers import sample_record
from opis.services.archive import Archive
from opis.services.curation import Curator
from opis.web.app import create_app

ATOM = "{http://www.w3.org/2005/Atom}"


def test_a_search_feed_lists_its_newest_documents(tmp_path: Path) -> None:
    archive = Archive(str(tmp_path / "a.db"))
    archive.put([sample_record("old", title="Беседа о «пленуме» (김일성, 金日成)")])
    time.sleep(0.01)
    archive.put([sample_record("new", title="Dvořák’s “note” on the plenum")])
    other = sample_record("other", title="Unrelated", text="Kim Du-bon wrote about rain.\n")
    other.summary = "About the weather."
    archive.put([other])
    time.sleep(0.01)
    Curator(archive).edit("old", {"summary": "Corrected."}, author="eddie", reason="fix")
    with TestClient(create_app(archive), base_url="https://archive.example.org") as client:
        html = client.get("/search", params={"q": "plenum"}).text
        assert 'type="application/atom+xml"' in html and "Follow this search" in html
        r = client.get("/search.atom", params={"q": "plenum"})
    archive.close()
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(r.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "opis: plenum"
    entries = feed.findall(f"{ATOM}entry")
    # The corrected one first, then the newest; the unrelated one is not in the search.
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        "Беседа о «пленуме» (김일성, 金日成)", "Dvořák’s “note” on the plenum"]
    assert entries[0].findtext(f"{ATOM}id") == "https://archive.example.org/document/old"
    assert entries[0].findtext(f"{ATOM}updated") > entries[1].findtext(f"{ATOM}updated")
    assert "Corrected." in entries[0].findtext(f"{ATOM}summary")
    self_link = [link.get("href") for link in feed.findall(f"{ATOM}link")
                 if link.get("rel") == "self"]
    assert self_link == ["https://archive.example.org/search.atom?q=plenum"]


def test_a_query_with_control_characters_still_gives_a_feed(tmp_path: Path) -> None:
    archive = Archive(str(tmp_path / "a.db"))
    archive.put([sample_record()])
    with TestClient(create_app(archive)) as client:
        r = client.get("/search.atom", params={"q": "çj\x9cv\U000793df\x1eI\x89", "from": "<"})
    archive.close()
    assert r.status_code == 200
    assert etree.fromstring(r.content).findtext(f"{ATOM}title").startswith("opis: çj")
