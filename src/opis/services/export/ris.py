"""RIS, the format every reference manager imports (Zotero, EndNote, Mendeley).

Tags follow Zotero's RIS translator (zotero/translators, RIS.js), so a Zotero import
lands each value in the right field: TY MANSCPT → Manuscript, DB → Archive,
AN → Loc. in Archive, DP → Library Catalog, A4 → Translator, N1 → a note, and CR → Rights
(CR is read on import only; other managers keep it as an unknown tag).
"""

from __future__ import annotations

from typing import Any

import rispy

from opis.model.record import Record
from opis.services.export.csl_json import (
    archive_location,
    digital_archive,
    flat,
    inverted_name,
    notes,
    people,
    repository,
    start_date_parts,
    text_language,
)

# rispy's own tag names plus CR, which rispy does not know but Zotero reads as Rights.
RIS_MAPPING: dict[str, str] = {**rispy.TAG_KEY_MAPPING, "CR": "rights"}
RIS_LIST_TAGS: list[str] = list(rispy.LIST_TYPE_TAGS)


def ris_date(edtf: str | None) -> str | None:
    """RIS DA form YYYY/MM/DD/ with empty parts for what is not known (interval: start)."""
    parts = start_date_parts(edtf)
    if not parts:
        return None
    y, m, d = (parts + [None, None])[:3]
    return f"{y:04d}/{'' if m is None else f'{m:02d}'}/{'' if d is None else f'{d:02d}'}/"


def ris_entry(record: Record) -> dict[str, Any]:
    """The rispy dict for a record; every value is one line, as RIS requires."""
    entry: dict[str, Any] = {"type_of_reference": "MANSCPT", "id": flat(record.id)}
    parts = start_date_parts(record.date)
    single = {
        "title": flat(record.title),
        "date": ris_date(record.date),
        "year": str(parts[0]) if parts else None,
        "abstract": flat(record.summary),
        "name_of_database": repository(record),
        "accession_number": archive_location(record),
        "database_provider": digital_archive(record),
        "language": text_language(record),
        "rights": flat(record.rights),
    }
    entry.update({k: flat(v) for k, v in single.items() if flat(v)})
    lists = {
        "authors": [inverted_name(a.name) for a in record.authors if a.name],
        "subsidiary_authors": [inverted_name(n) for n in people(record, "translator")],
        "keywords": [flat(s) for s in record.subjects if flat(s)],
        "urls": [record.source_url.strip()] if record.source_url else [],
        "notes": [flat(n) for n in notes(record)]
        + ([f"Citation: {flat(record.citation)}"] if record.citation else []),
    }
    entry.update({k: v for k, v in lists.items() if v})
    return entry


class _Writer(rispy.RisWriter):
    """rispy's writer without its "1." counter line, which is not RIS and some importers
    read as junk before the first TY."""

    def set_header(self, count: int) -> str:
        return ""


def to_ris(record: Record) -> str:
    """One RIS reference for the record, written by rispy."""
    return rispy.dumps(
        [ris_entry(record)], implementation=_Writer, mapping=RIS_MAPPING,
        list_tags=RIS_LIST_TAGS,
    )
