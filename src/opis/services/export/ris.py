"""RIS, the format every reference manager imports (Zotero, EndNote, Mendeley).

Written from the pivot (``mapping.citation_data``). Tags follow Zotero's RIS translator
(zotero/translators, RIS.js), so a Zotero import lands each value in its field:
TY MANSCPT → Manuscript and CHAP → Book Section; AU → Author (a name without a comma
becomes one single-field name, so organisations stay whole), A2 → Editor (book
section), A4 → Translator; T2 → Book Title; VL, SP/EP, PB, CY → Volume, Pages,
Publisher, Place; M3 → Manuscript Type; DB → Archive, AN → Loc. in Archive,
DP → Library Catalog; UR → URL, Y2 → Accessed; KW → one tag each; L1 → a PDF
attachment link, L2 → an HTML/text one; M2 → Extra; CR → Rights. No N1: every fact
has a field or an Extra line, so Zotero makes no child notes.
"""

from __future__ import annotations

import re
from typing import Any

import rispy

from opis.model.record import Record
from opis.services.export.mapping import (
    Citation,
    ExportContext,
    citation_data,
    flat,
    sort_name,
    start_date_parts,
)

# rispy's own tag names plus CR (Zotero: Rights) and M2 (Zotero: Extra), which rispy
# does not know.
RIS_MAPPING: dict[str, str] = {**rispy.TAG_KEY_MAPPING, "CR": "rights", "M2": "extra"}
RIS_LIST_TAGS: list[str] = list(rispy.LIST_TYPE_TAGS)
_TYPES = {"manuscript": "MANSCPT", "chapter": "CHAP"}


def ris_date(edtf: str | None) -> str | None:
    """RIS DA form YYYY/MM/DD/ with empty parts for what is not known (interval: start)."""
    return _ris_parts(start_date_parts(edtf))


def _ris_parts(parts: list[int] | None) -> str | None:
    if not parts:
        return None
    y, m, d = (parts + [None, None])[:3]
    return f"{y:04d}/{'' if m is None else f'{m:02d}'}/{'' if d is None else f'{d:02d}'}/"


def _issued(data: Citation) -> list[int] | None:
    issued = data.get("issued") or {}
    parts = issued.get("date-parts")
    return list(parts[0]) if parts else None


def ris_entry(record: Record, context: ExportContext | None = None) -> dict[str, Any]:
    """The rispy dict for a record; every value is one line, as RIS requires."""
    data = citation_data(record, context)
    entry: dict[str, Any] = {"type_of_reference": _TYPES[data.kind], "id": flat(record.id)}
    issued = _issued(data)
    pages = re.split(r"\s*[–—-]\s*", data.get("page") or "", maxsplit=1)
    accessed = (data.get("accessed") or {}).get("date-parts")
    attachment_tag = None
    if data.attachment:
        attachment_tag = ("file_attachments1" if data.attachment[1] == "application/pdf"
                          else "file_attachments2")
    single = {
        "title": data.get("title"),
        "date": _ris_parts(issued),
        "year": f"{issued[0]:04d}" if issued else None,
        "abstract": data.get("abstract"),
        "secondary_title": data.get("container-title"),
        "volume": data.get("volume"),
        "start_page": pages[0] if pages[0] else None,
        "end_page": pages[1] if len(pages) > 1 else None,
        "publisher": data.get("publisher"),
        "place_published": data.get("publisher-place"),
        "type_of_work": data.get("genre"),
        "name_of_database": data.get("archive"),
        "accession_number": data.get("archive_location"),
        "database_provider": data.get("source"),
        "language": data.get("language"),
        "access_date": _ris_parts(list(accessed[0])) if accessed else None,
        "rights": data.get("license"),
        "extra": "; ".join(f"{k}: {v}" for k, v in data.extra) or None,
    }
    if attachment_tag and data.attachment:
        single[attachment_tag] = data.attachment[0]
    entry.update({k: flat(v) for k, v in single.items() if flat(v)})
    lists = {
        "authors": [sort_name(p) for p in data.names("author")],
        "secondary_authors": [sort_name(p) for p in data.names("editor")],
        "subsidiary_authors": [sort_name(p) for p in data.names("translator")],
        "keywords": data.tags,
        "urls": [data.get("URL")] if data.get("URL") else [],
    }
    entry.update({k: v for k, v in lists.items() if v})
    return entry


class _Writer(rispy.RisWriter):
    """rispy's writer without its "1." counter line, which is not RIS and some importers
    read as junk before the first TY."""

    def set_header(self, count: int) -> str:
        return ""


def to_ris(record: Record, context: ExportContext | None = None) -> str:
    """One RIS reference for the record, written by rispy."""
    return rispy.dumps(
        [ris_entry(record, context)], implementation=_Writer, mapping=RIS_MAPPING,
        list_tags=RIS_LIST_TAGS,
    )
