"""BibTeX export: written and re-read with bibtexparser 2, LaTeX specials escaped."""

from __future__ import annotations

import bibtexparser
from bibtexparser.middlewares import LatexDecodingMiddleware

from export_fixtures import bare_record, nehru_record, reference_record
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
    entry = read(to_bibtex(record))
    assert entry["ENTRYTYPE"] == "unpublished"
    assert entry["ID"] == "opis114165"
    assert entry["title"] == record.title
    assert entry["author"] == "Ivanov, V."
    assert entry["translator"] == "Goldberg, Gary"
    assert entry["date"] == "1956-12-28"
    assert entry["year"] == "1956"
    assert entry["month"] == "12"
    assert entry["howpublished"] == "RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17"
    assert "translated by Gary Goldberg" in entry["note"]
    assert "Wilson Center Digital Archive" in entry["note"]
    assert entry["url"] == record.source_url
    assert entry["abstract"] == record.summary
    assert entry["copyright"] == record.rights


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
