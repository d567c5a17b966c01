"""Entities at ingest, the authority file, and search that knows names (both backends)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from opis.cli import app
from opis.enrich.entities import extract
from opis.readers.wcda_text import parse
from opis.search.base import SearchRequest
from opis.services import reading
from paths import DATA

REFERENCE = DATA / "wcda_114165.txt"


@pytest.fixture(scope="module")
def ref():
    return parse(REFERENCE, REFERENCE.read_bytes())


def people(record) -> list[str]:
    return [c.text for c in extract(record) if c.kind == "person" and c.field == "text"]


def test_offsets_slice_mentions(ref):
    for c in extract(ref):
        if c.field == "text":
            assert ref.text[c.start:c.end] == c.text


def test_kim_il_sung_is_one_person_and_kim_il_another(ref):
    found = people(ref)
    assert "Kim Il Sung" in found
    assert "Kim Il" in found
    assert "Sung" not in found and "Kim Il Sung's" not in found


def test_honorifics_and_ranks_are_not_part_of_names(ref):
    found = people(ref)
    assert "Kim Un" in found  # "General-Lieutenant Kim Un"
    assert "Mikoyan" in found and "Peng Dehuai" in found  # "Cdes. Mikoyan and Peng Dehuai"
    assert not any(n.startswith(("Cde", "General", "Minister", "Ambassador")) for n in found)
    assert "D. T. SHEPILOV" in found  # "of Cde. D. T. SHEPILOV"


def test_distribution_list_is_read_name_by_name(ref):
    found = people(ref)
    for name in ("Bulganin", "Zhukov", "Voroshilov", "Khrushchev", "Belyayev"):
        assert name in found
    assert not any(" " in n and n.split()[0] == "Bulganin" for n in found)


def test_facility_named_after_a_person_is_not_a_person(ref):
    # "the Kim Chang metallurgical plant"
    assert "Kim Chang" not in people(ref)


def test_abbreviations_resolve_through_the_glossary(ref):
    orgs = {c.text: c.known.preferred for c in extract(ref)
            if c.kind == "organization" and c.known}
    assert orgs["KWP"] == "Korean Workers' Party"
    assert orgs["CPSU CC"] == "Central Committee of the Communist Party of the Soviet Union"
    assert orgs["KPA"] == "Korean People's Army"
    places = {c.text: c.known.preferred for c in extract(ref) if c.kind == "place" and c.known}
    assert places["DPRK"] == "Democratic People's Republic of Korea"
    assert places["PRC"] == "China"


def test_metadata_people_are_mentions(ref):
    fields = {(c.field, c.text) for c in extract(ref) if c.field != "text"}
    assert ("authors", "V. Ivanov") in fields
    assert ("distribution", "Suslov") in fields
    # The translator is a contributor to the record, not a person it mentions.
    assert not any(text == "Gary Goldberg" for _, text in fields)
    assert "Gary Goldberg" in [c.name for c in ref.contributors]


# -- stored authority, on SQLite and PostgreSQL ---------------------------------------------

def _load(archive):
    report = archive.ingest([REFERENCE, DATA / "wcda-records.jsonl",
                             DATA / "frus1955-57v23p2-excerpt.xml"])
    assert report.ok, report.failed


def _person(archive, name: str):
    rows = [r for r in archive.list_entities("person", 500) if r.entity.preferred == name]
    assert rows, name
    return rows[0].entity


def test_variants_merge_into_one_authority_record(archive):
    _load(archive)
    kim = _person(archive, "Kim Tu-bong")
    assert {"Kim Du-bong", "Kim Tu Bong"} <= set(kim.variants)
    choe = _person(archive, "Choe Chang-ik")
    assert "Choe Chang Ik" in choe.variants
    kim_il = [r.entity for r in archive.list_entities("person", 500)
              if r.entity.preferred == "Kim Il"]
    assert kim_il and kim_il[0].id != _person(archive, "Kim Il Sung").id
    record = archive.get("114165")
    mentioned = {m.entity_id for m in record.mentions}
    assert kim.id in mentioned and choe.id in mentioned
    for m in record.mentions:
        if m.field == "text":
            assert record.text[m.start:m.end] == m.text


def test_frus_persons_list_becomes_authority_records(archive):
    _load(archive)
    record = archive.get("frus1955-57v23p2-d2")
    ents = archive.entities(m.entity_id for m in record.mentions)
    frus = [e for e in ents.values() if e.identifiers.get("source_id", "").startswith(
        "frus1955-57v23p2/")]
    assert frus, "FRUS persName links resolve to the volume's persons list"
    assert any("Yang" in e.preferred for e in frus)


@pytest.mark.parametrize("query", ["Kim Tu-bong", "Ch'oe Ch'ang-ik", "P'eng Te-huai",
                                   "Mikoian", "Pak Chong-ae", "Kim Il-sŏng", "Khrushchov",
                                   "Pak Kŭm-ch'ŏl"])
def test_any_spelling_finds_the_reference_document_first(archive, query):
    _load(archive)
    hits = archive.search(SearchRequest(query=query)).result.hits
    assert hits and hits[0].id == "114165", (query, [h.id for h in hits])


def test_exact_spelling_ranks_first(archive):
    _load(archive)
    hits = [h.id for h in archive.search(SearchRequest(query="Jiang Jingguo")).result.hits]
    assert len(hits) == 4  # the four records naming Chiang Ching-kuo, in any spelling
    assert set(hits) == {"300641", "300640", "300639", "300638"}


def test_names_are_expanded_not_the_whole_query(archive):
    _load(archive)
    # "Mikoian" expands; "Nehru" does not pull in unrelated spellings.
    assert [h.id for h in archive.search(SearchRequest(query="Mikoian plenum")).result.hits] \
        == ["114165"]
    assert archive.search(SearchRequest(query="Mikoian Nehru")).result.total == 0


def test_facets_for_entities_and_metadata(archive):
    _load(archive)
    timed = archive.search(SearchRequest(query=""))
    facets = timed.result.facets
    persons = {timed.labels.get(e, e): n for e, n in facets["person"]}
    # named in the text of three records (the fourth names him only in its summary)
    assert persons.get("Chiang Ching-kuo") == 3
    assert dict(facets["language"])["de"] == 6
    assert dict(facets["decade"])[1950] >= 13
    assert "RGANI" in dict(facets["repository"])
    assert dict(facets["classification"])["SECRET"] >= 1
    assert facets["collection"] == [("frus1955-57v23p2", 12)]
    kim = _person(archive, "Kim Il Sung").id
    filtered = archive.search(SearchRequest(query="", entities=[kim]))
    assert [h.id for h in filtered.result.hits] == ["114165"]
    by_year = archive.search(SearchRequest(query="", years=[1967]))
    assert by_year.result.total == 4


def test_co_mentions_and_network(archive):
    _load(archive)
    kim = _person(archive, "Kim Il Sung")
    companions = {name: n for _, name, n in reading.co_mentioned(archive, kim.id, "person")}
    assert companions.get("Anastas Mikoyan") == 1
    net = reading.network(archive, kim.id)
    assert any(n["center"] for n in net["nodes"])
    assert all(e["weight"] >= 1 for e in net["edges"])


def test_curators_merge_split_rename(archive):
    _load(archive)
    kim = _person(archive, "Kim Tu-bong")
    seo = _person(archive, "Seo Hwi")
    moved = archive.merge_entities(kim.id, seo.id)
    assert moved >= 2 and archive.entity(seo.id) is None
    assert "So Hwi" in archive.entity(kim.id).variants
    new = archive.split_entity(kim.id, ["Seo Hwi", "So Hwi"], "So Hwi")
    assert archive.entity(new.id).preferred == "So Hwi"
    assert "So Hwi" not in archive.entity(kim.id).variants
    record = archive.get("114165")
    assert any(m.entity_id == new.id and m.text == "Seo Hwi" for m in record.mentions)
    archive.rename_entity(kim.id, "Kim Tubong")
    assert archive.entity(kim.id).preferred == "Kim Tubong"
    hits = archive.search(SearchRequest(query="", entities=[new.id])).result.hits
    assert [h.id for h in hits] == ["114165"]


def test_cli_entities_and_authority_import(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "e.db")
    assert runner.invoke(app, ["ingest", str(REFERENCE), "--db", db]).exit_code == 0
    out = runner.invoke(app, ["entities", "list", "--kind", "person", "--json", "--db", db])
    rows = json.loads(out.output)
    assert rows[0]["preferred"] == "Kim Il Sung"
    auth = tmp_path / "people.csv"
    auth.write_text("kind,preferred,variants,wikidata\n"
                    "person,Pak Hon-yong,Pak Heon-yeong|Pak Hŏn-yŏng,Q487372\n", "utf-8")
    res = runner.invoke(app, ["entities", "import", str(auth), "--db", db])
    assert res.exit_code == 0 and "imported 1" in res.output
    show = json.loads(runner.invoke(app, ["entities", "show", "person/pak-hon-yong",
                                          "--db", db]).output)
    assert show["identifiers"] == {"wikidata": "Q487372"}
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,preferred\nperson,\n", "utf-8")
    res = runner.invoke(app, ["entities", "import", str(bad), "--db", db])
    assert res.exit_code == 1 and "line 2" in res.output and "preferred" in res.output
    res = runner.invoke(app, ["entities", "merge", "person/nope", "person/kim-il-sung",
                              "--db", db])
    assert res.exit_code == 1 and "Traceback" not in res.output


def test_cli_collections(tmp_path):
    runner = CliRunner()
    db = str(tmp_path / "c.db")
    runner.invoke(app, ["ingest", str(REFERENCE), str(DATA / "wcda-records.jsonl"), "--db", db])
    res = runner.invoke(app, ["collections", "create", "nk", "North Korea in the Cold War",
                              "--record", "114165", "--db", db])
    assert res.exit_code == 0
    assert runner.invoke(app, ["collections", "add", "nk", "300653", "--db", db]).exit_code == 0
    listing = runner.invoke(app, ["collections", "list", "--db", db]).output
    assert "nk\t2 records\tNorth Korea in the Cold War" in listing
    res = runner.invoke(app, ["collections", "add", "nk", "nope", "--db", db])
    assert res.exit_code == 1
    out = runner.invoke(app, ["search", "", "--json", "--db", db]).output
    assert {"value": "nk", "count": 2, "label": "North Korea in the Cold War"} in \
        json.loads(out)["facets"]["collection"]
