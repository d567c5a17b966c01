"""RIS export: written with rispy, read back with rispy, tags as Zotero's RIS.js maps them."""

from __future__ import annotations

import rispy

from export_fixtures import (
    ATTACHMENT,
    OPIS,
    bare_record,
    context_for,
    corporate_record,
    frus_telegram_record,
    multiscript_record,
    nehru_record,
    reference_record,
)
from opis.services.export.ris import RIS_LIST_TAGS, RIS_MAPPING, ris_date, to_ris


def read(text: str) -> dict:
    entries = rispy.loads(text, mapping=RIS_MAPPING, list_tags=RIS_LIST_TAGS)
    assert len(entries) == 1
    return entries[0]


def test_reference_record_round_trips_through_rispy() -> None:
    record = reference_record()
    entry = read(to_ris(record, context_for(record)))
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
    # Where it was read (opis, with the access date) and where it came from (Extra).
    assert entry["urls"] == [f"{OPIS}/document/114165"]
    assert entry["access_date"] == "2026/12/02/"
    assert f"Source URL: {record.source_url}" in entry["extra"]
    assert entry["keywords"] == record.subjects + [
        "Korea (North)", "China", "Kim Du-bong", "Kim Il Sung", "KWP"]
    assert entry["rights"] == record.rights
    assert entry["file_attachments1"] == ATTACHMENT  # L1: Zotero attaches the PDF
    extra = entry["extra"].split("; ")
    assert "Original language: Russian" in extra
    assert "Credit: Obtained by James F. Person" in extra
    assert "Classification: SECRET" in extra
    assert "Document number: 1578/d?v?" in extra
    assert "Support: Leon Levy Foundation" in extra
    assert "notes" not in entry  # no N1: Zotero makes no child notes
    assert "type_of_work" not in entry  # no M3 junk when the type is not known


def test_frus_telegram_is_a_document_in_a_volume() -> None:
    record = frus_telegram_record()
    entry = read(to_ris(record, context_for(record, attachment=False)))
    assert entry["type_of_reference"] == "CHAP"  # Zotero: Book Section
    assert entry["title"] == "Telegram From the Embassy in Korea to the Department of State"
    assert entry["authors"] == ["Embassy in Korea"]  # no comma: one single-field name
    assert entry["secondary_authors"] == ["Smith, Louis J.", "LaFantasie, Glenn W."]  # A2
    assert entry["secondary_title"] == ("Foreign Relations of the United States, "
                                        "1955–1957, Korea")  # T2: Book Title
    assert entry["volume"] == "XXIII, pt. 2"
    assert (entry["start_page"], entry["end_page"]) == ("4", "5")
    assert entry["publisher"] == "Government Printing Office"
    assert entry["place_published"] == "Washington"
    assert (entry["date"], entry["year"]) == ("1993///", "1993")
    assert entry["name_of_database"] == (
        "National Archives, RG 59, General Records of the Department of State")
    assert entry["accession_number"] == "Central Files, 611.95B/1–855"
    assert entry["urls"] == [f"{OPIS}/document/frus1955-57v23p2-d3"]
    extra = entry["extra"].split("; ")
    for line in ("Original Date: 1955-01-08", "Type: Telegram", "Place written: Seoul",
                 "Document: 3", "Recipient: Department of State", "Classification: Secret",
                 f"Source URL: {record.source_url}"):
        assert line in extra, line
    assert entry["keywords"] == ["Seoul", "Rhee", "Hull"]
    # The reader's dateline, when it keeps one, carries the hour the telegram was sent.
    record.extra = {"dateline": "Seoul, January 8, 1955—2 p.m."}
    extra = read(to_ris(record))["extra"].split("; ")
    assert "Dateline: Seoul, January 8, 1955—2 p.m." in extra
    assert not any(e.startswith("Place written") for e in extra)
    assert "file_attachments1" not in entry
    assert "type_of_work" not in entry  # Book Section has no type field


def test_corporate_authors_are_single_names() -> None:
    text = to_ris(corporate_record())
    entry = read(text)
    assert entry["authors"] == ["Nakajima, Kenzō", "Japan-China Cultural Exchange Association",
                                "Embassy in Korea"]
    assert "Korea, Embassy in" not in text
    assert "Association, Japan" not in text
    assert entry["type_of_work"] == "Statement"  # M3: Zotero's Manuscript Type
    assert entry["place_published"] == "Tokyo"  # CY: Zotero's Place


def test_scripts_survive() -> None:
    record = multiscript_record()
    entry = read(to_ris(record))
    assert entry["title"] == record.title
    assert entry["authors"] == ["Иванов, Василий Иванович", "Министерство иностранных дел СССР"]
    assert entry["place_published"] == "Пхеньян"
    assert "Kim Il Sung (김일성, 金日成)" in entry["keywords"]
    assert entry["date"] == "1956/08//"


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


def test_a_record_with_no_author_cites_its_opis_page() -> None:
    record = bare_record()
    entry = read(to_ris(record, context_for(record, attachment=False)))
    assert "authors" not in entry
    assert entry["urls"] == [f"{OPIS}/document/bare-1"]
    assert entry["access_date"] == "2026/12/02/"
    assert "extra" not in entry  # no source URL to add: the opis page is the source
