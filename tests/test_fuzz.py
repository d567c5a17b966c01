"""Property-based tests: arbitrary input never crashes the query parser, the search
pages, the text-export reader, the API's cursors, OAI-PMH's arguments and resumption
tokens or the paging parameters, and never gives a server error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from crafted import CRAFTED, JSON
from opis.readers import wcda_text
from opis.readers.base import ReadError
from opis.search.query import parse_query
from opis.services.archive import Archive
from opis.services.oai import OaiError, decode_token, token_signer
from opis.services.signing import SignedJSON
from opis.web.app import create_app
from opis.web.deps import CURSOR_MAX_LENGTH

REFERENCE = Path(__file__).parent / "data" / "wcda_114165.txt"
SYNTAX = st.sampled_from(['"', "(", ")", "*", "-", "AND", "OR", "NOT", " ", ":", "\\", "~",
                          "^", "[", "]", "{", "}", "/", "'", "\x00", "\u200b", "ё", "김"])
QUERIES = st.one_of(st.text(max_size=200),
                    st.lists(st.one_of(SYNTAX, st.text(max_size=8)), max_size=40).map("".join))
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(QUERIES)
def test_parse_query_never_raises(query):
    parse_query(query)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    archive = Archive(str(tmp_path_factory.mktemp("fuzz") / "f.db"))
    archive.ingest([REFERENCE])
    with TestClient(create_app(archive), raise_server_exceptions=False) as c:
        yield c
    archive.close()


PARAM = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(
    ["1956", "1956-12", "1956-12-28", "1957-01-X9", "0", "-1", "99999999", "1956?", "x"]))


@FUZZ
@given(q=QUERIES, date_from=PARAM, date_to=PARAM, language=PARAM, sort=PARAM, page=PARAM)
def test_search_pages_never_fail(client, q, date_from, date_to, language, sort, page):
    params = {"q": q, "from": date_from, "to": date_to, "language": language, "sort": sort,
              "page": page}
    params = {k: v for k, v in params.items() if v is not None}
    for path in ("/search", "/search.json"):
        r = client.get(path, params=params)
        assert r.status_code < 500, (path, params, r.status_code)
        assert r.status_code in (200, 400, 422), (path, params, r.status_code)
        if path.endswith(".json") and r.status_code == 200:
            assert isinstance(r.json()["hits"], list)


TEXT_EXPORT = REFERENCE.read_bytes()
LINES = TEXT_EXPORT.split(b"\n")


@st.composite
def mangled_exports(draw) -> bytes:
    """The reference export with lines dropped, duplicated, cut or replaced."""
    lines = list(LINES)
    for _ in range(draw(st.integers(0, 8))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "dup", "cut", "replace", "insert"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "cut":
            lines[i] = lines[i][: draw(st.integers(0, max(0, len(lines[i]))))]
        elif action == "replace":
            lines[i] = draw(st.binary(max_size=60))
        else:
            lines.insert(i, draw(st.text(max_size=60)).encode("utf-8", "surrogatepass"))
    return b"\n".join(lines)


@FUZZ
@given(st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(
    lambda s: s.encode("utf-8", "surrogatepass")), mangled_exports()))
def test_text_export_reader_only_raises_read_error(data):
    try:
        record = wcda_text.parse(Path("fuzz.txt"), data)
    except ReadError as e:
        assert e.path and e.message
        return
    assert record.title
    assert record.check_annotations() == []


# -- boundaries: cursors, resumption tokens, OAI-PMH arguments, paging ------------------------

@pytest.fixture(scope="module")
def keyed(client):
    """The server's own signers: payloads only it could have made."""
    secret = client.app.state.accounts.secret_key()
    return {purpose: SignedJSON(secret, f"cursor:{purpose}", max_length=CURSOR_MAX_LENGTH)
            for purpose in ("search", "records", "entities")} | {
        "oai": token_signer(secret)}


@FUZZ
@given(path=st.sampled_from(["/api/v1/search", "/api/v1/records", "/api/v1/entities"]),
       cursor=CRAFTED, payload=JSON, sign=st.booleans(), limit=st.integers(-5, 600))
def test_cursors_are_taken_or_refused_never_a_server_error(client, keyed, path, cursor,
                                                           payload, sign, limit):
    """Any cursor, crafted or even signed with the server's own key over any JSON, is a
    page (200) or a 400 naming the parameter."""
    if sign:
        cursor = keyed[path.rsplit("/", 1)[1]].dumps(payload)
    r = client.get(path, params={"cursor": cursor, "limit": limit})
    assert r.status_code in (200, 400), (path, cursor[:100], r.status_code, r.text[:200])
    if r.status_code == 400:
        assert r.json()["error"].split(":")[0] in ("cursor", "invalid request"), r.text


@FUZZ
@given(token=CRAFTED, payload=JSON, sign=st.booleans(),
       verb=st.sampled_from(["ListRecords", "ListIdentifiers"]))
def test_resumption_tokens_decode_or_are_bad(keyed, token, payload, sign, verb):
    """decode_token returns a harvest or raises OaiError(badResumptionToken), for any
    text and for any JSON the server's own key signed."""
    if sign:
        token = keyed["oai"].dumps(payload)
    try:
        harvest = decode_token(token, verb, datetime.now(UTC), keyed["oai"])
    except OaiError as e:
        assert e.code == "badResumptionToken"
        return
    assert harvest.verb == verb


OAI_NAMES = st.sampled_from(["verb", "metadataPrefix", "identifier", "set", "from", "until",
                             "resumptionToken", "x"])
OAI_VALUES = st.one_of(
    st.sampled_from(["Identify", "ListRecords", "ListIdentifiers", "GetRecord", "ListSets",
                     "ListMetadataFormats", "oai_dc", "tei", "1956-12-28", "9999-12-31",
                     "0000-01-01", "2020-01-01T00:00:00Z", "collection", "collection:~00",
                     "repository:x", "oai:testserver:114165", "oai:testserver:%00"]),
    st.text(max_size=40), CRAFTED)


@FUZZ
@given(params=st.lists(st.tuples(OAI_NAMES, OAI_VALUES), max_size=5),
       post=st.booleans())
def test_oai_always_answers_oai_pmh(client, params, post):
    """Whatever the arguments (control characters, repeats, crafted tokens), the answer
    is an OAI-PMH document with status 200."""
    if post:  # a form, even an empty one (a POST of another type is a 415)
        r = client.post("/oai", content=urlencode(params),
                        headers={"content-type": "application/x-www-form-urlencoded"})
    else:
        r = client.get("/oai", params=params)
    assert r.status_code == 200, (params, r.status_code, r.text[:300])
    root = etree.fromstring(r.content)
    assert root.tag == "{http://www.openarchives.org/OAI/2.0/}OAI-PMH"


@FUZZ
@given(page=st.integers(-10, 2**70), limit=st.integers(-10, 2**70),
       path=st.sampled_from(["/search", "/search.json", "/api/v1/search"]))
def test_paging_parameters_are_bounded(client, page, limit, path):
    r = client.get(path, params={"q": "Kim", "page": page, "limit": limit})
    assert r.status_code in (200, 400), (path, page, limit, r.status_code)
