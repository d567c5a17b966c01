"""The snippet finder PostgreSQL's results use (search/snippets.py): the window with the
most query words, in any script, with Latin diacritics folded both ways, CJK found
inside longer runs, and character offsets that point at the words themselves."""

from __future__ import annotations

from opis.search.base import SearchRequest, unit_spans
from opis.search.query import parse_query
from opis.search.snippets import SIZE, Finder, fold
from opis.search.tantivy_query import snippet_key


def _marked(query: str, text: str) -> tuple[str, list[str]]:
    node = parse_query(query)
    found = Finder(node, snippet_key).fragment(text)
    assert found is not None, (query, text[:80])
    fragment, spans = found
    return fragment, [fragment[a:b] for a, b in unit_spans(fragment, spans, node, snippet_key)]


def test_fold_keeps_every_offset():
    text = "Kwaśniewski, Dvořák, Łódź, Hammarskjöld — «Пхеньян» 평양 平壤 “quoted”"
    assert len(fold(text)) == len(text)
    assert fold(text).startswith("Kwasniewski, Dvorak, Lodz, Hammarskjold")
    assert "Пхеньян" in fold(text) and "평양" in fold(text)


def test_words_are_found_in_every_script_after_text_in_every_script():
    text = ("Ким Ир Сен встретился в Пхеньяне с делегацией. 김두봉은 평양에서 연설했다. "
            "在平壤的会议上, “Kwaśniewski” and Dvořák spoke of the harvests.")
    assert _marked("Пхеньяне", text)[1] == ["Пхеньяне"]
    assert _marked("김두봉", text)[1] == ["김두봉"]  # inside the run 김두봉은
    assert _marked("平壤", text)[1] == ["平壤"]
    assert _marked("Kwasniewski", text)[1] == ["Kwaśniewski"]  # folded in the text
    assert _marked("Dvořák", text)[1] == ["Dvořák"]
    assert _marked("harvest", text)[1] == ["harvests"]  # stemmed as the engine stems


def test_a_word_typed_with_diacritics_finds_it_written_without():
    assert _marked("Hammarskjöld", "Dag Hammarskjold flew to Peking.")[1] == ["Hammarskjold"]


def test_the_window_is_where_most_query_words_stand():
    filler = "The delegation discussed grain deliveries at length. " * 60
    text = (filler + "Only the plenum is named here. " + filler
            + "The plenum of the Korean Workers’ Party met in Pyongyang. " + filler)
    fragment, marked = _marked("plenum Pyongyang", text)
    assert "Pyongyang" in marked and "plenum" in marked
    assert len(fragment) <= SIZE
    assert not fragment.startswith(" ") and not fragment.endswith(" ")
    assert text.index(fragment) > 3000  # found far past the text's opening


def test_a_phrase_is_marked_whole_and_a_prefix_by_its_stem():
    text = "They spoke of the five-year plan and of five plans for the year."
    assert _marked('"five-year plan"', text)[1] == ["five-year plan"]
    assert _marked("harv*", "The harvest and harvesting went well.")[1] == [
        "harvest", "harvesting"]


def test_no_query_word_no_fragment():
    assert Finder(parse_query("tractor"), snippet_key).fragment("The harvest was poor.") \
        is None
    assert Finder(None, snippet_key).fragment("Anything at all.") is None


def test_postgres_marks_a_word_deep_in_a_long_text(pg_url):
    """On the server: the snippet is cut from where the words are, not from the
    opening, and marked there."""
    from opis.model import Record
    from opis.services.archive import Archive

    archive = Archive(pg_url)
    try:
        long_text = ("Нет ничего. 아무것도 없다. Nothing of note happened. " * 400
                     + "At last the “tractor” brigades of Kaesŏng arrived.")
        archive.put([Record("deep", "A long report", long_text, date="1957")])
        hit = archive.search(SearchRequest(query="tractor brigades")).result.hits[0]
        assert hit.id == "deep"
        assert "<mark>tractor</mark>" in hit.snippet and "<mark>brigades</mark>" in hit.snippet
        assert hit.snippet.index("<mark>") < 120  # the words near its start, in view
    finally:
        archive.close()
