"""Property-based tests: arbitrary input never crashes the query parser, the search
pages or the text-export reader, and never gives a server error."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opis.readers import wcda_text
from opis.readers.base import ReadError
from opis.search.query import parse_query
from opis.services.archive import Archive
from opis.web.app import create_app

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
