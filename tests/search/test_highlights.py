"""Search highlights on both engines: the marked text is the word searched for, however
much non-ASCII text (Cyrillic, Hangul, Hanzi, diacritics, curly quotes) stands before
it; a phrase or a name is marked whole, never word by word; a stop word never alone."""

from __future__ import annotations

import re

import pytest

from opis.search.base import SearchRequest, char_spans, unit_spans
from opis.search.query import Name, Phrase, Term, parse_query
from script_samples import RECORDS


@pytest.fixture
def filled(archive):
    archive.put(RECORDS)
    return archive


def marks(archive, query: str, record_id: str) -> list[str]:
    hits = {h.id: h.snippet for h in archive.search(SearchRequest(query=query)).result.hits}
    assert record_id in hits, (query, list(hits))
    return re.findall(r"<mark>(.*?)</mark>", hits[record_id])


def engine_marks(archive, node, record_id: str) -> list[str]:
    """Marks for a query tree given as is (a name expanded as the authority file would)."""
    with archive.db.sessions() as session:
        result = archive.engine.search(SearchRequest(), node, session)
    snippet = next(h.snippet for h in result.hits if h.id == record_id)
    return re.findall(r"<mark>(.*?)</mark>", snippet)


@pytest.mark.parametrize(("query", "record_id", "expected"), [
    ("встретился", "h-ru", ["встретился"]),
    ("Пхеньяне", "h-ru", ["Пхеньяне"]),
    ("김두봉", "h-ko", ["김두봉"]),
    ("spoke", "h-ko", ["spoke"]),
    ("Korea", "h-quotes", ["Korea"]),
    ("arrived", "h-quotes", ["arrived"]),
])
def test_the_marked_text_is_the_word_searched_for(filled, query, record_id, expected):
    assert marks(filled, query, record_id) == expected


def test_a_phrase_is_marked_whole_and_only_where_it_stands(filled):
    assert marks(filled, '"cult of personality"', "h-kim") == ["cult of personality"]
    assert marks(filled, '"Kim Il Sung"', "h-kim") == ["Kim Il Sung", "Kim Il Sung"]


def test_stop_words_are_never_marked_alone(filled):
    assert marks(filled, "the cult", "h-kim") == ["cult", "cult"]
    assert "the" not in [m.lower() for m in marks(filled, "the Korea", "h-quotes")]


def test_a_name_is_marked_as_a_name_not_word_by_word(filled):
    name = Name(Phrase(("Kim", "Il", "Sung")), (Phrase(("Kim", "Il-sung")),
                                                 Phrase(("Ким", "Ир", "Сен"))))
    assert engine_marks(filled, name, "h-kim") == ["Kim Il Sung", "Kim Il Sung"]
    other = Name(Term("Kim"), ())
    assert engine_marks(filled, other, "h-kim").count("Kim") == 4  # a lone word: every one


def test_spans_are_characters_not_bytes():
    text = "“Quoted” встретился 김두봉 — Korea"
    start = len(text.encode()) - len(b"Korea")
    assert char_spans(text, [(start, start + 5)]) == [(len(text) - 5, len(text))]
    node = parse_query("Korea")
    spans = unit_spans(text, [(len(text) - 5, len(text))], node, str.lower)
    assert [text[a:b] for a, b in spans] == ["Korea"]


def test_cjk_is_marked_inside_a_longer_run():
    text = "김두봉은 연설했다"
    spans = unit_spans(text, [], parse_query("김두봉"), str.lower)
    assert [text[a:b] for a, b in spans] == ["김두봉"]


def test_a_name_typed_without_quotes_is_marked_whole():
    """End to end over the sample corpus, whose authority file knows Kim Il Sung: the
    query's words become the name, and the snippet marks the name, never "Kim" alone."""
    from opis.services.archive import Archive
    from reading_room_fixtures import sample_db

    archive = Archive(str(sample_db()))
    try:
        hits = archive.search(SearchRequest(query="Kim Il Sung")).result.hits
        found = {h.id: re.findall(r"<mark>(.*?)</mark>", h.snippet) for h in hits}
        assert found["114165"] and set(found["114165"]) <= {"Kim Il Sung", "Kim Il-sung"}
    finally:
        archive.close()
