"""CSL-JSON export: a manuscript item with archive fields and the translator as a name."""

from __future__ import annotations

import json

from citeproc.source.json import CiteProcJSON

from export_fixtures import (
    OPIS,
    bare_record,
    context_for,
    corporate_record,
    frus_telegram_record,
    multiscript_record,
    nehru_record,
    reference_record,
)
from opis.model.record import Contributor
from opis.services.export import export
from opis.services.export.csl_json import credit_line, csl_date, name_parts, to_csl_json


def read(record, context=None) -> dict:
    """The item as citeproc-py's CSL-JSON reader takes it (its own parser)."""
    _media, body = export(record, "csl.json", context)
    [item] = json.loads(body)
    source = CiteProcJSON([item])
    assert record.id in source  # citeproc-py accepted the item
    return item


def test_reference_record_item() -> None:
    record = reference_record()
    media_type, _body = export(record, "csl.json")
    assert media_type == "application/vnd.citationstyles.csl+json"
    item = read(record, context_for(record))
    assert item == to_csl_json(record, context_for(record))
    assert item["type"] == "manuscript"
    assert item["title"] == record.title
    assert item["issued"] == {"date-parts": [[1956, 12, 28]]}
    assert item["author"] == [{"family": "Ivanov", "given": "V."}]
    assert item["translator"] == [{"family": "Goldberg", "given": "Gary"}]
    assert item["archive"] == "RGANI"
    assert item["archive_location"] == "Fond 5, Opis 28, Delo 486, Listi 1-17"
    assert item["source"] == "Wilson Center Digital Archive"
    assert item["URL"] == f"{OPIS}/document/114165"
    assert item["accessed"] == {"date-parts": [[2026, 12, 2]]}
    assert item["abstract"] == record.summary
    assert item["language"] == "en"
    assert item["license"] == record.rights
    assert item["keyword"].split("; ")[-3:] == ["Kim Du-bong", "Kim Il Sung", "KWP"]
    # Zotero's Extra: one "Key: value" line each, the same lines RIS and BibTeX carry.
    assert item["note"].splitlines() == [
        "Original language: Russian", "Credit: Obtained by James F. Person",
        "Classification: SECRET", "Document number: 1578/d?v?",
        "Support: Leon Levy Foundation", f"Source URL: {record.source_url}"]


def test_frus_telegram_is_a_chapter() -> None:
    record = frus_telegram_record()
    item = read(record, context_for(record))
    assert item["type"] == "chapter"
    assert item["title"] == "Telegram From the Embassy in Korea to the Department of State"
    assert item["author"] == [{"literal": "Embassy in Korea"}]
    assert item["editor"] == [{"family": "Smith", "given": "Louis J."},
                              {"family": "LaFantasie", "given": "Glenn W."}]
    assert item["recipient"] == [{"literal": "Department of State"}]
    assert item["container-title"] == "Foreign Relations of the United States, 1955–1957, Korea"
    assert (item["volume"], item["number"], item["page"]) == ("XXIII, pt. 2", "3", "4–5")
    assert (item["publisher"], item["publisher-place"]) == ("Government Printing Office",
                                                            "Washington")
    assert item["issued"] == {"date-parts": [[1993]]}
    assert item["original-date"] == {"date-parts": [[1955, 1, 8]]}
    assert item["archive"] == ("National Archives, RG 59, General Records of the "
                               "Department of State")
    assert item["archive_location"] == "Central Files, 611.95B/1–855"
    assert "genre" not in item  # the type goes to Extra: Book Section has no type field
    assert "Type: Telegram" in item["note"].splitlines()


def test_corporate_authors_are_literal() -> None:
    item = read(corporate_record())
    assert item["author"] == [{"family": "Nakajima", "given": "Kenzō"},
                              {"literal": "Japan-China Cultural Exchange Association"},
                              {"literal": "Embassy in Korea"}]
    assert (item["genre"], item["publisher-place"]) == ("Statement", "Tokyo")
    item = read(multiscript_record())
    assert item["author"] == [{"family": "Иванов", "given": "Василий Иванович"},
                              {"literal": "Министерство иностранных дел СССР"}]
    assert item["title"].endswith("“Satō’s note”")


def test_inverted_names_go_through_nameparser() -> None:
    assert name_parts("Hoover, Herbert, Jr.") == {"family": "Hoover", "given": "Herbert",
                                                  "suffix": "Jr."}
    assert name_parts("Dulles, John Foster") == {"family": "Dulles", "given": "John Foster"}
    assert name_parts("Japan. Foreign Ministry") == {"literal": "Japan. Foreign Ministry"}
    assert name_parts("Dr. Smith") == {"family": "Smith", "given": "Dr."}
    assert name_parts("김일성") == {"literal": "김일성"}
    # East Asian names in their own order keep the family name first ...
    assert name_parts("Kim Il Sung") == {"family": "Kim", "given": "Il Sung"}
    assert name_parts("Mao Zedong") == {"family": "Mao", "given": "Zedong"}
    # ... and in Western order, as nameparser reads them.
    assert name_parts("Syngman Rhee") == {"family": "Rhee", "given": "Syngman"}
    assert name_parts("毛泽东") == {"literal": "毛泽东"}


def test_nehru_and_bare_records() -> None:
    nehru = to_csl_json(nehru_record())
    assert nehru["author"] == [{"family": "Nehru", "given": "Jawaharlal"}]
    assert "archive" not in nehru
    assert nehru["archive_location"] == (
        "Nehru Memorial Museum and Library, File No. JNSG, vol. 21-1")
    assert to_csl_json(bare_record()) == {"id": "bare-1", "type": "manuscript",
                                          "title": "Untitled note"}


def test_dates_names_and_credits() -> None:
    assert csl_date("1957-01-X9") == {"date-parts": [[1957, 1]]}
    assert csl_date("1956?") == {"date-parts": [[1956]], "circa": True}
    assert csl_date("1955/1957") == {"date-parts": [[1955], [1957]]}
    assert csl_date("195X") == {"literal": "195X"}
    assert name_parts("Ivanov, V.") == {"family": "Ivanov", "given": "V."}
    assert name_parts("Nehru") == {"literal": "Nehru"}
    record = bare_record()
    record.contributors = [Contributor("A", "obtained_by"), Contributor("A", "translator"),
                           Contributor("B", "editor"), Contributor("C", "transcriber")]
    assert credit_line(record) == "Obtained and translated by A, transcribed by C and edited by B"
