"""Diacritics are folded in the index on both engines: a name written with marks is
found without them and the reverse, the snippet marking the text's own spelling
(issue 16). Hangul and Hanzi are untouched, and й is not и."""

from __future__ import annotations

import pytest

from curation_helpers import sample_record
from opis.search.base import SearchRequest
from opis.search.names import fold_marks
from opis.services.archive import Archive

ENGLISH = ("Kim Du-bon met Hammarskjöld, Dvořák and Kwaśniewski in Pyongyang; "
           "Satō Eisaku sent a “note”. Andrei Gromyko agreed.\n")
RUSSIAN = ("Kim Du-bon. Товарищ Ёлкин выступил на пленуме ЦК, а Андрей Громыко и "
           "Ким Ир Сен (김일성, 金日成) слушали.\n")
PLAIN = "Kim Du-bon wrote to Hammarskjold and Kwasniewski about the plenum.\n"


@pytest.fixture
def folded(db_url: str):
    archive = Archive(db_url)
    english = sample_record("en", title="Hammarskjöld and Dvořák", text=ENGLISH)
    russian = sample_record("ru", title="Запись беседы", text=RUSSIAN)
    plain = sample_record("plain", title="A letter", text=PLAIN)
    archive.put([english, russian, plain])
    yield archive
    archive.close()


def found(archive: Archive, query: str) -> dict[str, str]:
    hits = archive.search(SearchRequest(query=query)).result.hits
    return {h.id: h.snippet for h in hits}


@pytest.mark.parametrize("query, ids, marked", [
    ("Hammarskjold", {"en", "plain"}, "<mark>Hammarskjöld</mark>"),
    ("Hammarskjöld", {"en", "plain"}, "<mark>Hammarskjold</mark>"),
    ("Dvorak", {"en"}, "<mark>Dvořák</mark>"),
    ("Kwasniewski", {"en", "plain"}, "<mark>Kwaśniewski</mark>"),
    ("Kwaśniewski", {"en", "plain"}, "<mark>Kwasniewski</mark>"),
    ("Sato", {"en"}, "<mark>Satō"),
    ("Ёлкин", {"ru"}, "<mark>Ёлкин</mark>"),
])
def test_a_name_is_found_with_or_without_its_marks(folded: Archive, query: str,
                                                   ids: set[str], marked: str) -> None:
    hits = found(folded, query)
    assert set(hits) == ids
    assert any(marked in s for s in hits.values()), hits


def test_cyrillic_yo_is_found_as_ye(folded: Archive) -> None:
    assert set(found(folded, "Елкин")) == {"ru"}
    assert set(found(folded, "елкина")) == {"ru"}  # through the Russian stemmer


def test_prefixes_fold_too(folded: Archive) -> None:
    assert set(found(folded, "Dvoř*")) == {"en"}
    assert set(found(folded, "dvor*")) == {"en"}
    assert set(found(folded, "hammarskj*")) == {"en", "plain"}


def test_no_letter_is_folded_into_another(folded: Archive) -> None:
    # й and ў are letters of their own, not и and у with a mark; Hangul stays whole.
    assert fold_marks("Андрей Ўзбек 김일성 金日成 Ёлкин Satō Ŭlchi") == \
        "Андрей Ўзбек 김일성 金日成 Елкин Sato Ulchi"
    assert set(found(folded, "Андрей")) == {"ru"}
    assert set(found(folded, "김일성")) == {"ru"}
    assert set(found(folded, "金日成")) == {"ru"}
    assert set(found(folded, "“note”")) == {"en"}
