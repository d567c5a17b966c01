"""BibTeX export: written and re-read with bibtexparser 2, LaTeX specials escaped."""

from __future__ import annotations

import bibtexparser
from bibtexparser.middlewares import LatexDecodingMiddleware

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
from opis.services.export.bibtex import citation_key, to_bibtex


def read(text: str, decode: bool = True) -> dict[str, str]:
    middleware = [LatexDecodingMiddleware()] if decode else []
    library = bibtexparser.parse_string(text, append_middleware=middleware)
    assert not library.failed_blocks
    assert len(library.entries) == 1
    entry = library.entries[0]
    fields = {f.key: f.value for f in entry.fields}
    fields["ENTRYTYPE"] = entry.entry_type
    fields["ID"] = entry.key
    return fields


def test_reference_record_round_trips() -> None:
    record = reference_record()
    entry = read(to_bibtex(record, context_for(record)))
    assert entry["ENTRYTYPE"] == "unpublished"  # Zotero: Manuscript
    assert entry["ID"] == "opis114165"
    assert entry["title"] == record.title
    assert entry["author"] == "Ivanov, V."
    assert entry["translator"] == "Goldberg, Gary"
    assert (entry["date"], entry["year"], entry["month"]) == ("1956-12-28", "1956", "12")
    assert entry["howpublished"] == "RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17"
    assert entry["url"] == f"{OPIS}/document/114165"
    assert entry["urldate"] == "2026-12-02"
    assert entry["language"] == "en"
    assert entry["abstract"] == record.summary
    assert entry["copyright"] == record.rights
    assert entry["keywords"].startswith("Korea (North)--Politics and government, ")
    assert "Kim Il Sung" in entry["keywords"]
    note = entry["note"]
    for words in ("Original language: Russian", "Credit: Obtained by James F. Person",
                  f"Source URL: {record.source_url}", "Classification: SECRET"):
        assert words in note, words


def test_frus_telegram_is_incollection() -> None:
    record = frus_telegram_record()
    raw = read(to_bibtex(record, context_for(record)), decode=False)
    assert raw["author"] == "{Embassy in Korea}"  # braces: never split into two names
    entry = read(to_bibtex(record, context_for(record)))
    assert entry["ENTRYTYPE"] == "incollection"  # Zotero: Book Section
    assert entry["title"] == "Telegram From the Embassy in Korea to the Department of State"
    assert entry["editor"] == "Smith, Louis J. and LaFantasie, Glenn W."
    assert entry["booktitle"] == "Foreign Relations of the United States, 1955–1957, Korea"
    assert entry["volume"] == "XXIII, pt. 2"
    assert (raw["pages"], entry["pages"]) == ("4--5", "4–5")  # LaTeX's en dash
    assert entry["publisher"] == "Government Printing Office"
    assert entry["address"] == "Washington"
    assert (entry["date"], entry["year"], entry["origdate"]) == ("1993", "1993", "1955-01-08")
    assert entry["howpublished"] == ("National Archives, RG 59, General Records of the "
                                     "Department of State, Central Files, 611.95B/1–855")
    for words in ("Type: Telegram", "Place written: Seoul", "Document: 3",
                  "Recipient: Department of State"):
        assert words in entry["note"], words


def test_corporate_and_personal_names() -> None:
    text = to_bibtex(corporate_record())
    raw = read(text, decode=False)
    assert raw["author"] == ("Nakajima, Kenzō and {Japan-China Cultural Exchange Association}"
                             " and {Embassy in Korea}")
    assert "Korea, Embassy in" not in text
    entry = read(text)
    assert (entry["type"], entry["location"]) == ("Statement", "Tokyo")


def test_scripts_survive() -> None:
    record = multiscript_record()
    entry = read(to_bibtex(record), decode=False)
    assert entry["title"] == "{" + record.title + "}"
    assert entry["author"] == "Иванов, Василий Иванович and {Министерство иностранных дел СССР}"
    assert entry["location"] == "Пхеньян"


def test_title_is_brace_protected() -> None:
    raw = read(to_bibtex(reference_record()), decode=False)
    assert raw["title"].startswith("{Communist") and raw["title"].endswith("Korea}")


def test_latex_specials_are_escaped_and_decode_back() -> None:
    record = reference_record()
    record.title = r"50% of {all} C&C costs $5 #1 a_b ~ back\slash"
    record.summary = "<script>alert(1)</script>"
    text = to_bibtex(record)
    assert r"50\% of \{all\} C\&C costs \$5 \#1 a\_b" in text
    entry = read(text)
    assert entry["title"] == record.title
    assert entry["abstract"] == record.summary


def test_other_records_and_missing_fields() -> None:
    nehru = read(to_bibtex(nehru_record()))
    assert nehru["author"] == "Nehru, Jawaharlal"
    assert "translator" not in nehru
    assert nehru["howpublished"] == "Nehru Memorial Museum and Library, File No. JNSG, vol. 21-1"
    bare = read(to_bibtex(bare_record()))
    assert bare == {"title": "Untitled note", "ENTRYTYPE": "unpublished", "ID": "opisbare-1"}


def test_citation_key_is_safe() -> None:
    record = bare_record()
    record.id = "frus1955-57v03/d12 {x}"
    assert citation_key(record) == "opisfrus1955-57v03-d12-x"


def test_dates() -> None:
    record = bare_record()
    record.date = "1955/1957-03"
    entry = read(to_bibtex(record))
    assert (entry["date"], entry["year"]) == ("1955/1957-03", "1955")
    record.date = "1957-01-X9"
    entry = read(to_bibtex(record))
    assert (entry["date"], entry["year"], entry["month"]) == ("1957-01", "1957", "1")
