"""Linked names on a real FRUS volume: the persons list, search by any spelling of a
linked person, and no junk people (issue 16). Both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from opis.search.base import SearchRequest
from opis.services.archive import Archive
from paths import DATA

KOREA = DATA / "frus1955-57v23p2-excerpt.xml"


LITERAL = """---
id: literal-rhee
title: A note on Korean politics
date: 1955-03-01
---
Syngman Rhee spoke in Seoul about the armistice; curly “quotes” and Пхеньян stay.
Kwasniewski, Dvorak and Хрущев are written here without their diacritics.
"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def korea(request, tmp_path_factory):
    """The Korea excerpt (and one record naming Syngman Rhee in its text, not linked by
    TEI markup) ingested once per backend."""
    folder = tmp_path_factory.mktemp("korea")
    note = folder / "literal.md"
    note.write_text(LITERAL, encoding="utf-8")
    if request.param == "sqlite":
        a = Archive(str(folder / "opis.db"))
        a.ingest([KOREA, note])
        yield a
        a.close()
        return
    from tests.conftest import pg_schema

    with pg_schema(request.getfixturevalue("pg_ok")) as url:
        a = Archive(url)
        a.ingest([KOREA, note])
        yield a
        a.close()


def linking(person_id: str) -> set[str]:
    """The documents of the excerpt whose TEI links the person (persName/@corresp)."""
    tree = etree.parse(str(KOREA))
    ns = {"t": "http://www.tei-c.org/ns/1.0"}
    volume = "frus1955-57v23p2"
    return {f"{volume}-{div.get('{http://www.w3.org/XML/1998/namespace}id')}"
            for div in tree.iterfind(".//t:div[@type='document']", ns)
            if div.find(f".//t:persName[@corresp='#{person_id}']", ns) is not None}


def found(archive: Archive, query: str) -> list[str]:
    return [h.id for h in archive.search(SearchRequest(query=query, limit=100)).result.hits]


def _people(archive: Archive) -> dict[str, object]:
    return {s.entity.preferred: s.entity for s in archive.list_entities("person", 500)}


def test_a_see_entry_joins_the_person_it_points_to(korea):
    people = _people(korea)
    assert "Dr. Yang" not in people  # "Yang, Dr.: see You Chan Yang" is no second person
    yang = next(e for e in people.values() if "You Chan Yang" in e.variants)
    record = korea.get("frus1955-57v23p2-d2")
    assert yang.id in {m.entity_id for m in record.mentions}


def test_titles_are_roles_not_names(korea):
    people = _people(korea)
    assert "Arthur W. Radford" in people
    assert "Admiral Arthur W. Radford" not in people
    rhee = people["Rhee Syngman"]
    assert "Syngman Rhee" in rhee.variants


@pytest.mark.parametrize("query", ["Syngman Rhee", "Rhee Syngman", "Yi Sung-man",
                                   "Yi Seung-man", "Lee Seung-man"])
def test_every_spelling_finds_every_document_that_links_him(korea, query):
    expected = linking("p_RS1")
    assert len(expected) >= 7
    hits = found(korea, query)
    assert expected <= set(hits), sorted(expected - set(hits))


def test_a_literal_match_ranks_above_a_link(korea):
    hits = found(korea, "Syngman Rhee")
    assert hits[0] == "literal-rhee"
    result = korea.search(SearchRequest(query="Syngman Rhee", limit=100)).result
    linked = next(h for h in result.hits if h.id == "frus1955-57v23p2-d2")
    # The text's own form is what the snippet shows. It is not marked: a name is marked
    # whole (issue 17), and "President Rhee" is a mention of him, not his name; marking
    # the mention spans of the linked entity is still to do (issue 16).
    assert "President Rhee" in linked.snippet


@pytest.mark.parametrize("query", ["Pyun Yung Tai", "Yung Tai Pyun"])
def test_other_linked_people(korea, query):
    assert linking("p_PYT1") <= set(found(korea, query))


def test_a_surname_alone_is_not_expanded_to_the_person(korea):
    """"Rhee" finds the documents whose text says Rhee, not every one linking him."""
    hits = set(found(korea, "Rhee"))
    for rid in hits - {"literal-rhee"}:
        record = korea.get(rid)
        assert "Rhee" in record.text or "Rhee" in str(record.extra), rid


def test_unrelated_names_find_nothing_through_links(korea):
    assert found(korea, "Francesca Rhee") == []
    assert found(korea, "Ким Ир Сен") == []


# -- linking a historian can trust ---------------------------------------------------------

def test_no_office_fragment_body_or_place_is_a_person(korea):
    people = _people(korea)
    for junk in ("of State", "Secretary of State", "General", "President", "Embassy in Korea",
                 "Department of State", "Joint Chiefs of Staff", "Hong Kong", "Kim"):
        assert junk not in people, junk
    orgs = {s.entity.preferred for s in korea.list_entities("organization", 500)}
    assert "Embassy in Korea" in orgs


def test_his_wife_is_not_the_president(korea):
    """FRUS marks "Madame Rhee" with the President's id; a title that fits no entry in
    the persons list is not his mention."""
    record = korea.get("frus1955-57v23p2-d8")
    rhee = _people(korea)["Rhee Syngman"].id
    for m in record.mentions:
        if m.entity_id == rhee and m.field == "text":
            assert not record.text[:m.start].rstrip().endswith(("Madame", "Mrs.")), m


def _volume_with(tmp_path: Path, entries: str, document: str) -> Path:
    """The Korea excerpt with more persons-list entries and one more document."""
    tree = etree.parse(str(KOREA))
    ns = {"t": "http://www.tei-c.org/ns/1.0"}
    names = tree.find(".//t:list[@type='names']", ns)
    for item in etree.fromstring(f'<x xmlns="{ns["t"]}">{entries}</x>'):
        names.append(item)
    last = tree.findall(".//t:div[@type='document']", ns)[-1]
    last.addnext(etree.fromstring(document.replace("<div ", f'<div xmlns="{ns["t"]}" ', 1)))
    path = tmp_path / "frus1955-57v23p2.xml"
    tree.write(str(path), xml_declaration=True, encoding="utf-8")
    return path


def test_a_surname_goes_to_the_person_its_title_fits(tmp_path):
    """frus1958-60v18 d319: the President's mentions went to Francesca Rhee, who is
    named in the same document; "Mrs. Rhee" is she, "President Rhee" is he."""
    path = _volume_with(tmp_path, """
        <item><persName xml:id="p_RF1">Rhee, Francesca</persName>, wife of President
            Rhee</item>""", """
        <div type="document" xml:id="d99" subtype="historical-document">
          <head>99. Memorandum of a Conversation, Seoul</head>
          <p>Mrs. Francesca Rhee received the Ambassador at Kyŏngmudae. President Rhee then
          joined them. Mrs. Rhee said the “armistice” was unjust; President Rhee agreed.
          Rhee left. Governor Kim was not present.</p>
        </div>""")
    archive = Archive(str(tmp_path / "opis.db"))
    try:
        assert archive.ingest([path]).ok
        people = _people(archive)
        he, she = people["Rhee Syngman"].id, people["Francesca Rhee"].id
        record = archive.get("frus1955-57v23p2-d99")
        said = [(record.text[max(0, m.start - 10):m.end].split()[-2:], m.entity_id)
                for m in record.mentions if m.field == "text" and m.text == "Rhee"]
        assert said == [(["President", "Rhee"], he), (["Mrs.", "Rhee"], she),
                        (["President", "Rhee"], he)]  # the bare "Rhee" is left unlinked
        assert "Rhee" not in people["Francesca Rhee"].variants
        assert "Kim" not in people  # a common surname alone names no one
    finally:
        archive.close()


@pytest.mark.parametrize("query", ["Kwaśniewski", "Dvořák", "Хрущёв", "“Kwaśniewski”"])
def test_diacritics_typed_are_optional(korea, query):
    assert found(korea, query)[:1] == ["literal-rhee"]


def test_hangul_and_hanzi_are_not_folded(korea):
    assert found(korea, "김일성") == [] and found(korea, "金日成") == []
