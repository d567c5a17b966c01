"""The reading room through the ASGI app: every page, its JSON twin, and the renderer."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from lxml import html

from opis.model import Record
from opis.model.entity import Mention
from opis.model.record import Annotation
from opis.services import reading
from opis.services.archive import Archive
from opis.web import render
from opis.web.app import create_app
from reading_room_fixtures import BILINGUAL, sample_db


@pytest.fixture(scope="module")
def archive():
    a = Archive(str(sample_db()))
    yield a
    a.close()


@pytest.fixture(scope="module")
def client(archive):
    with TestClient(create_app(archive), raise_server_exceptions=False) as c:
        yield c


class Nesting(HTMLParser):
    """Checks that elements close in order and that no link sits inside a link."""

    VOID = {"br", "img", "input", "link", "meta", "hr", "source", "wbr", "col"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        for k, v in attrs:
            if k == "id":
                self.ids.append(v)
        if tag in self.VOID:
            return
        if tag == "a" and "a" in self.stack:
            self.errors.append("a inside a")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def well_formed(html: str) -> Nesting:
    p = Nesting()
    p.feed(html)
    assert not p.errors, p.errors[:5]
    assert len(p.ids) == len(set(p.ids)), "duplicate ids"
    return p


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# -- renderer ---------------------------------------------------------------------------------

def test_links_and_marks_that_cross_are_split_and_nest():
    text = "Cde. Kim Tu Bong and Pak said so."
    #            5    10   15
    r = Record(id="x", title="x", text=text,
               annotations=[Annotation("romanization", 9, 20, text[9:20], "Kim Du-bong"),
                            Annotation("supplied", 0, 8, text[0:8])],
               mentions=[Mention("person/kim-du-bong", 5, 16, "Kim Tu Bong"),
                         Mention("person/kim", 5, 8, "Kim"),  # inside the first: dropped
                         Mention("person/pak", 21, 24, "Pak"),
                         Mention("organization/x", 0, 3, "Cde", field="authors")])
    html = str(render.annotated_html(r, {"person/kim-du-bong": "Kim Du-bong"}))
    well_formed(html)
    # where a link and a mark cross, one of them is split: here the link at the end of
    # "supplied" and the mark at the end of the link
    assert html.count('href="/person/kim-du-bong"') == 2
    assert html.count('data-kind="romanization"') == 2
    assert 'href="/person/kim"' not in html and "/organization/x" not in html
    assert 'title="Person: Kim Du-bong"' in html
    plain = re.sub(r'<span class="visually-hidden">.*?</span>|<span class="ann-tag"[^>]*>.*?</span>',
                   "", html)
    assert re.sub(r"<[^>]+>", "", plain) == text
    # the screen-reader brackets open once and close once per mark
    assert html.count("[Variant spelling of Kim Du-bong: ") == 1
    assert html.count('<span class="visually-hidden">]</span>') == 2


def test_points_never_land_inside_a_link():
    text = "Eisenhower wrote to Rhee."
    r = Record(id="x", title="x", text=text,
               mentions=[Mention("person/eisenhower", 0, 10, "Eisenhower")],
               extra={"notes": [{"n": "1", "id": "fn1", "offset": 5, "text": "A note."}],
                      "page_breaks": [{"n": "12", "offset": 11}]})
    html = str(render.annotated_html(r))
    well_formed(html)
    assert html.count('href="/person/eisenhower"') == 2
    assert '<a id="fnref-fn1" href="#fn-fn1"' in html and 'id="page-12"' in html


def test_every_sample_record_renders_well_formed(archive):
    for record in reading.list_records(archive, None, 100):
        html = str(render.annotated_html(record))
        well_formed(html)


def test_paragraphs_and_contents():
    text = "One.\n\nTwo words here.\n \nThree."
    assert [text[a:b] for a, b in render.paragraphs(text)] == ["One.", "Two words here.",
                                                               "Three."]
    toc = render.contents(Record(id="x", title="x", text="para.\n\n" * 2000))
    assert len(toc["paragraphs"]) == 2000


# -- home, search ---------------------------------------------------------------------------------

def test_home_and_twin(client):
    html = client.get("/").text
    assert "36 documents" in html and 'href="/browse/years"' in html
    assert 'href="/collections/frus1955-57v03"' in html
    data = client.get("/index.json").json()
    assert data["total"] == 36 and len(data["recent"]) == 8 and data["collections"]


def test_search_facets_cover_every_group(client):
    html = client.get("/search").text
    well_formed(html)
    for name in ("person", "place", "organization", "event", "decade", "year", "language",
                 "repository", "classification", "collection"):
        assert f'id="facet-{name}"' in html, name
    assert "Foreign Relations of the United States, 1955–1957, China, Volume III" in html
    assert 'data-chart="timeline"' in html and '<tr data-x="1955" data-y="24">' in html
    # The chart is SVG drawn on the server: the 1955 bar links to that year's documents.
    svg = html.split('data-chart="timeline">')[1].split("</svg>")[0]
    assert "<title>1955: 24 documents</title>" in svg and "year=1955" in svg
    assert "<script" not in html.split("</main>")[0].split("<main")[1]


def test_facet_links_add_and_remove_filters(client):
    html = client.get("/search", params={"q": "Korea"}).text
    links = re.findall(r'<a href="([^"]+)" class="facet-link">', html)
    person = next(u for u in links if "person=" in u)
    q = query(person.replace("&amp;", "&"))
    assert q["q"] == ["Korea"] and q["person"][0].startswith("person/")
    filtered = client.get(person.replace("&amp;", "&")).text
    assert 'class="facet-link on"' in filtered and "remove this filter" in filtered
    on = re.search(r'<a href="([^"]+)" class="facet-link on">', filtered).group(1)
    assert "person=" not in on.replace("&amp;", "&")


def test_a_frus_page_names_the_holding_archive_type_and_recipient(client):
    doc = html.fromstring(client.get("/document/frus1955-57v23p2-d3").text)
    about = {dt.text_content().strip(): dt.getnext().text_content().strip()
             for dt in doc.xpath("//dl/dt")}
    assert about["Archive"] == "National Archives, RG 59, General Records of the Department of State"
    assert about["Archival reference"] == "Department of State, Central Files, 611.95B/1–855"
    assert about["Type"] == "Telegram"
    assert about["To"] == "Department of State"


def test_search_state_lives_in_the_url(client):
    params = {"q": "Korea", "from": "1955", "to": "1955-12-31", "sort": "-date",
              "repository": "National Archives, RG 59, General Records of the Department of State",
              "collection": "frus1955-57v23p2", "page": "1"}
    data = client.get("/search.json", params=params).json()
    assert data["total"] >= 1 and data["sort"] == "-date"
    assert data["filters"]["collection"] == ["frus1955-57v23p2"]
    dates = [h["date"] for h in data["hits"]]
    assert dates == sorted(dates, reverse=True)
    html = client.get("/search", params=params).text
    # the date form keeps every filter as hidden inputs; the chips can remove each
    assert '<input type="hidden" name="collection" value="frus1955-57v23p2">' in html
    assert "Clear all filters" in html and html.count("chip-remove") == 4
    assert '<option value="-date" selected>' in html


def test_entity_filters_accept_bare_slugs_and_years(client):
    a = client.get("/search.json", params={"person": "syngman-rhee"}).json()
    b = client.get("/search.json", params={"person": "person/syngman-rhee"}).json()
    assert a["total"] == b["total"] == 9
    y = client.get("/search.json", params={"year": 1967, "language": "ja"}).json()
    assert y["total"] == 4 and all(h["date"].startswith("1967") for h in y["hits"])
    assert client.get("/search", params={"year": "abc"}).status_code == 400


def test_pagination(client):
    first = client.get("/search.json").json()
    assert first["total"] == 36 and first["pages"] == 2 and len(first["hits"]) == 20
    second = client.get("/search.json", params={"page": 2}).json()
    assert len(second["hits"]) == 16
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    html = client.get("/search", params={"page": 2}).text
    assert 'rel="prev"' in html and "Page 2 of 2" in html and '<ol class="hits" start="21">' in html


def test_spellings_are_shown(client):
    data = client.get("/search.json", params={"q": "Kim Tu-bong"}).json()
    assert data["hits"][0]["id"] == "114165"
    typed, variants = data["spellings"][0]["typed"], data["spellings"][0]["variants"]
    assert typed == "Kim Tu bong" or "Tu" in typed
    assert any("Du" in v for v in variants)
    html = client.get("/search", params={"q": "Kim Tu-bong"}).text
    assert "Names searched in every known spelling" in html


def test_empty_search_says_what_to_try(client):
    html = client.get("/search", params={"q": "plenum", "language": "ja"}).text
    assert "Nothing found" in html and "Remove the filters: 1 document match" in html
    assert 'href="/search?q=plenum"' in html
    data = client.get("/search.json", params={"q": "zzzqqq xxxyyy"}).json()
    assert data["total"] == 0
    assert any("Match any of the words" in s["text"] for s in data["suggestions"])


# -- document -----------------------------------------------------------------------------------

def test_document_page(client):
    r = client.get("/document/114165")
    assert r.status_code == 200
    html = r.text
    well_formed(html)
    for key in ("chicago", "apa", "mla", "ris", "bib"):
        assert f'id="citation-{key}"' in html, key
        assert f'name="cite-format" value="{key}"' in html
    assert "TY  - MANSCPT" in html and "@" in html.split('id="citation-bib"')[1][:200]
    assert 'data-toggle="marks-off"' in html and 'data-toggle="links-off"' in html
    # names in the text link to their pages, with the preferred name as a title
    assert re.search(r'<a class="ent ent-person" href="/person/[^"]+" title="Person: ', html)
    assert 'href="/organization/korean-workers-party"' in html
    # table of contents: the heading and the paragraphs of a long text
    assert '<a href="#section-' in html and 'id="p-50"' in html and 'href="#p-50"' in html
    # the people named, and the summary
    assert 'id="named-person"' in html and "Summary" in html


def test_document_related_with_reasons(client):
    html = client.get("/document/300638").text
    section = html.split('id="related-h"')[1]
    assert section.count('<a href="/document/') >= 3
    assert "Also mentions" in section or "Shares the subject" in section
    assert "China--Foreign relations--Japan" in section or "Japan--Foreign relations--Taiwan" \
        in section


def test_related_service_explains(archive):
    record = archive.get("300638")
    found = reading.related(archive, record, 5)
    assert found and all(r.record.id != "300638" for r in found)
    assert any(r.subjects for r in found) and any(r.entities for r in found)
    assert [r.score for r in found] == sorted((r.score for r in found), reverse=True)


def test_frus_document_notes_pages_and_collection_nav(client):
    html = client.get("/document/frus1955-57v23p2-d8").text
    well_formed(html)
    assert '<a id="fnref-d8fn1" href="#fn-d8fn1"' in html and 'id="fn-d8fn1"' in html
    assert 'href="#fnref-d8fn3"' in html and "Source note." in html
    assert 'id="page-12"' in html and 'href="#page-12"' in html
    assert "Document 8 of 12 in" in html
    assert 'href="/document/frus1955-57v23p2-d7" rel="prev"' in html
    assert 'href="/document/frus1955-57v23p2-d9" rel="next"' in html


def test_document_twin_and_errors(client):
    assert client.get("/document/114165.json").json()["id"] == "114165"
    assert client.get("/document/nope").status_code == 404
    assert client.get("/document/114165.docx").status_code == 404


def test_versions_become_tabs(tmp_path):
    doc = tmp_path / "bilingual.md"
    doc.write_text(BILINGUAL, encoding="utf-8")
    a = Archive(str(tmp_path / "b.db"))
    assert a.ingest([doc]).ok
    with TestClient(create_app(a)) as c:
        html = c.get("/document/bilingual-1").text
        well_formed(html)
        assert 'class="versions multi"' in html
        assert 'id="version-translation"' in html and 'id="version-original"' in html
        assert '<div class="doc-text" lang="ru">Запись беседы' in html
        assert 'id="version-scan"' in html and '<img src="/static/favicon.svg"' in html
        single = c.get("/document/bilingual-1").text.count('class="version ')
        assert single == 3
    a.close()


def test_single_version_has_no_tabs(client):
    html = client.get("/document/300240").text
    assert 'class="versions"' in html and 'class="versions multi"' not in html


# -- entities -------------------------------------------------------------------------------------

def test_person_page_and_twin(client):
    html = client.get("/person/syngman-rhee").text
    well_formed(html)
    assert "<h1 id=\"ent-title\">Syngman Rhee</h1>" in html
    assert 'href="https://www.wikidata.org/wiki/Q42497"' in html
    assert "Lee Seung-man" in html  # a variant
    assert "<mark>" in html and html.count('class="hit"') == 9
    assert "shared documents" in html.lower()
    # The network is SVG drawn on the server: a person per node, each linking to the
    # documents they share with Syngman Rhee, with a tooltip.
    svg = html.split('class="chart chart-network">')[1].split("</svg>")[0]
    assert svg.count('class="net-node"') >= 3 and "<line " in svg
    assert "person=person%2Fsyngman-rhee" in svg or "person=person/syngman-rhee" in svg
    assert "<title>Syngman Rhee: 9 documents</title>" in svg
    data = client.get("/person/syngman-rhee.json").json()
    assert data["documents"]["total"] == 9 and data["network"]["nodes"][0]["center"]
    first = data["co_mentioned"]["person"][0]
    q = query(first["documents"])
    assert sorted(q["person"]) == sorted(["person/syngman-rhee", first["id"]])
    edge = data["network"]["edges"][0]
    assert query(edge["documents"])["person"] == [edge["source"], edge["target"]]


def test_entity_snippets_mark_the_first_mention(client):
    data = client.get("/person/anastas-mikoyan.json").json()
    (doc,) = data["documents"]["items"]
    assert doc["id"] == "114165" and doc["where"] == "text"
    assert re.search(r"<mark>[^<]*Miko[^<]*</mark>", doc["snippet"])


def test_other_kinds_and_404(client):
    for url in ("/place/china", "/organization/united-nations",
                "/event/august-plenum-of-the-kwp-cc-1956"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert client.get(url + ".json").json()["id"] == url[1:]
        assert "data-network" not in r.text  # the network is for people
    r = client.get("/person/nobody-at-all")
    assert r.status_code == 404 and "No person with id person/nobody-at-all" in r.text
    assert client.get("/person/nobody-at-all.json").json()["status"] == 404
    assert client.get("/place/syngman-rhee").status_code == 404


# -- browse ---------------------------------------------------------------------------------------

def test_browse_index(client):
    html = client.get("/browse").text
    for url in ("/browse/years", "/browse/people", "/browse/places", "/browse/organizations",
                "/browse/subjects", "/browse/repositories", "/collections"):
        assert f'href="{url}"' in html, url
    data = client.get("/browse.json").json()
    assert data["total"] == 36 and data["years"]["first"] == 1949


def test_browse_years(client):
    html = client.get("/browse/years").text
    assert 'data-chart="timeline"' in html and "1950s" in html
    data = client.get("/browse/years.json").json()
    assert sum(y["count"] for y in data["years"]) + data["undated"] == data["total"] == 36
    assert {"year": 1955, "count": 24, "url": "/search?year=1955&sort=date"} in data["years"]


@pytest.mark.parametrize("name,kind", [("people", "person"), ("places", "place"),
                                       ("organizations", "organization"), ("events", "event")])
def test_browse_entities(client, name, kind):
    r = client.get(f"/browse/{name}")
    assert r.status_code == 200
    data = client.get(f"/browse/{name}.json").json()
    assert data["kind"] == kind and data["items"]
    counts = [e["records"] for e in data["items"]]
    assert counts == sorted(counts, reverse=True)
    assert all(e["url"].startswith(f"/{kind}/") for e in data["items"])


def test_browse_subjects_hierarchy(client):
    data = client.get("/browse/subjects.json").json()
    japan = next(n for n in data["subjects"] if n["name"] == "Japan")
    relations = next(c for c in japan["children"] if c["name"] == "Foreign relations")
    assert {c["name"] for c in relations["children"]} >= {"Taiwan"}
    assert relations["records"] >= next(c for c in relations["children"]
                                        if c["name"] == "Taiwan")["records"]
    html = client.get("/browse/subjects").text
    assert "<details" in html and 'href="/browse/subjects/Japan--Foreign%20relations"' in html
    assert not re.search(r"<summary>[^/]*<a ", html)  # no link inside a summary
    page = client.get("/browse/subjects/Japan--Foreign%20relations")
    assert page.status_code == 200 and "Japan — Foreign relations" in page.text
    sub = client.get("/browse/subjects/Japan--Foreign%20relations.json").json()
    assert sub["total"] >= 3 and [t["name"] for t in sub["trail"]] == ["Japan",
                                                                       "Foreign relations"]
    assert client.get("/browse/subjects/Nowhere--At%20all").status_code == 404


def test_browse_repositories(client):
    data = client.get("/browse/repositories.json").json()
    assert {"name": "RGANI", "records": 1, "url": "/search?repository=RGANI"} in \
        data["repositories"]
    assert "German Federal Archives (BArch)" in client.get("/browse/repositories").text


def test_collections(client):
    data = client.get("/collections.json").json()
    ids = [c["id"] for c in data["collections"]]
    assert ids == ["frus1955-57v03", "frus1955-57v23p2"]
    html = client.get("/collections/frus1955-57v23p2").text
    assert "Korea, Volume XXIII, Part 2" in html
    one = client.get("/collections/frus1955-57v23p2.json").json()
    assert one["total"] == 12 and one["records"][0]["id"] == "frus1955-57v23p2-d1"
    assert [r["id"] for r in one["records"]][:3] == ["frus1955-57v23p2-d1",
                                                     "frus1955-57v23p2-d2",
                                                     "frus1955-57v23p2-d3"]
    assert client.get("/collections/nope").status_code == 404
    assert client.get("/collections/nope.json").json()["status"] == 404


def test_no_inline_script_or_style_in_any_page(client):
    """The site runs under a CSP without 'unsafe-inline'."""
    for url in ("/", "/search?q=Kim", "/document/114165", "/person/syngman-rhee",
                "/browse", "/browse/years", "/browse/subjects", "/collections/frus1955-57v03"):
        html = client.get(url).text
        # JSON-LD is a data block browsers never run; every other script has a src.
        assert not re.search(r'<script(?![^>]*\b(?:src=|type="application/ld\+json"))[^>]*>',
                             html), url
        assert " style=" not in html and not re.search(r"\son[a-z]+=", html), url


def test_related_by_a_shared_subject_heading_only(tmp_path):
    """With no rare name in common, records filed under the same heading are related;
    a heading that merely contains the same words is not the same heading."""
    from opis.model import Record
    from opis.services.archive import Archive

    archive = Archive(str(tmp_path / "subjects.db"))
    try:
        heading = "Korea (North)--Foreign relations--Soviet Union"
        archive.put([
            Record("s1", "Grain deliveries", "The harvest was poor this year.", date="1956",
                   subjects=[heading]),
            Record("s2", "Railway repairs", "Bridges were rebuilt in spring.", date="1957",
                   subjects=["Korea (North)--Foreign  relations--Soviet Union"]),
            Record("s3", "Fishing fleet", "Trawlers returned to port.", date="1958",
                   subjects=["Korea (North)--Foreign relations--Soviet Union--Economic"
                             " aspects"]),
            Record("s4", "Weather", "It rained.", date="1959", subjects=["Climate"]),
        ])
        found = reading.related(archive, archive.get("s1"), 5)
        assert [r.record.id for r in found] == ["s2"]
        assert found[0].subjects == [heading]
    finally:
        archive.close()


def test_what_a_reader_derived_is_said_on_the_page(tmp_path):
    """A FRUS document with an empty <head/> is stored with a title taken from its
    dateline, and a date read from the printed dateline: the page says both."""
    from fastapi.testclient import TestClient

    from opis.services.archive import Archive
    from opis.web.app import create_app

    volume = tmp_path / "vol1.xml"
    volume.write_text(
        '<?xml version="1.0"?>\n<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:id="vol1">\n'
        '<teiHeader><fileDesc><titleStmt><title type="complete">Vol</title></titleStmt>'
        "</fileDesc></teiHeader>\n<text><body>\n"
        '<div type="document" xml:id="d2" n="2">\n<head/><dateline>Executive Mansion,<lb/>'
        "Washington, December 18, 1897.</dateline><p>Dvořák’s “note” on Ким Ир Сен "
        "(김일성, 金日成).</p></div>\n</body></text></TEI>\n", encoding="utf-8")
    archive = Archive(str(tmp_path / "a.db"))
    assert archive.ingest([volume]).added == ["vol1-d2"]
    with TestClient(create_app(archive)) as client:
        html = client.get("/document/vol1-d2").text
    archive.close()
    notes = html.split('class="import-flags"', 1)[1].split("</ul>", 1)[0]
    assert "Derived at import" in html
    assert "Title:</span> document &#39;d2&#39; has an empty &lt;head/&gt;; title derived " \
           "from the dateline" in notes
    assert "Date:</span>" in notes and "1897-12-18 read from the printed dateline" in notes
