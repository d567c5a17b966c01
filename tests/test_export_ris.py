"""RIS export: written with rispy, read back with rispy, tags as Zotero's RIS.js maps them."""

from __future__ import annotations

import rispy

from export_fixtures import bare_record, nehru_record, reference_record
from opis.services.export.ris import RIS_LIST_TAGS, RIS_MAPPING, ris_date, to_ris


def read(text: str) -> dict:
    entries = rispy.loads(text, mapping=RIS_MAPPING, list_tags=RIS_LIST_TAGS)
    assert len(entries) == 1
    return entries[0]


def test_reference_record_round_trips_through_rispy() -> None:
    record = reference_record()
    entry = read(to_ris(record))
    assert entry["type_of_reference"] == "MANSCPT"
    assert entry["title"] == record.title
    assert entry["date"] == "1956/12/28/"
    assert entry["year"] == "1956"
    assert entry["authors"] == ["Ivanov, V."]
    assert entry["subsidiary_authors"] == ["Goldberg, Gary"]  # A4: Zotero's translator
    assert entry["abstract"] == record.summary
    assert entry["name_of_database"] == "RGANI"  # DB: Zotero's Archive
    assert entry["accession_number"] == "Fond 5, Opis 28, Delo 486, Listi 1-17"  # AN
    assert entry["database_provider"] == "Wilson Center Digital Archive"  # DP
    assert entry["language"] == "en"
    assert entry["urls"] == [record.source_url]
    assert entry["keywords"] == record.subjects
    assert entry["rights"] == record.rights
    notes = entry["notes"]
    assert "Obtained by James F. Person and translated by Gary Goldberg." in notes
    assert "Classification: SECRET." in notes
    assert "Translated from Russian." in notes
    assert f"Citation: {record.citation}" in notes


def test_zotero_tags_are_the_ones_written() -> None:
    lines = to_ris(reference_record()).splitlines()
    assert "TY  - MANSCPT" in lines
    assert "DB  - RGANI" in lines
    assert "AN  - Fond 5, Opis 28, Delo 486, Listi 1-17" in lines
    assert "A4  - Goldberg, Gary" in lines
    assert "ER  - " in lines


def test_reference_without_hierarchy_keeps_verbatim_text() -> None:
    entry = read(to_ris(nehru_record()))
    assert entry["accession_number"] == (
        "Nehru Memorial Museum and Library, File No. JNSG, vol. 21-1")
    assert "name_of_database" not in entry
    assert entry["authors"] == ["Nehru, Jawaharlal"]
    assert "subsidiary_authors" not in entry


def test_missing_fields_do_not_crash() -> None:
    entry = read(to_ris(bare_record()))
    assert entry == {"type_of_reference": "MANSCPT", "id": "bare-1", "title": "Untitled note"}


def test_multiline_values_stay_on_one_line() -> None:
    record = reference_record()
    record.summary = "First line\nsecond line\n\nthird"
    record.title = "A title\nwith a break"
    entry = read(to_ris(record))
    assert entry["abstract"] == "First line second line third"
    assert entry["title"] == "A title with a break"


def test_partial_dates() -> None:
    assert ris_date("1957-01") == "1957/01//"
    assert ris_date("1956?") == "1956///"
    assert ris_date("1957-01-X9") == "1957/01//"
    assert ris_date(None) is None
    record = bare_record()
    record.date = "1955/1957"
    assert read(to_ris(record))["date"] == "1955///"


def test_starts_with_the_type_tag() -> None:
    assert to_ris(reference_record()).startswith("TY  - MANSCPT\n")
