"""Export a record to the formats scholars and other systems import.

``FORMATS`` maps a file extension to (media type, writer) so the web layer and the CLI
dispatch on one table; adding a format is one module here plus one line in the table.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from opis.model.record import Record
from opis.services.export.bibtex import to_bibtex
from opis.services.export.citation import cite
from opis.services.export.csl_json import to_csl_json
from opis.services.export.dublin_core import to_dublin_core
from opis.services.export.mapping import Citation, ExportContext, citation_data
from opis.services.export.ris import to_ris
from opis.services.export.tei import to_tei


def to_csl_json_text(record: Record, context: ExportContext | None = None) -> str:
    """A CSL-JSON file: an array of items, which is what Zotero and pandoc import."""
    return json.dumps([to_csl_json(record, context)], ensure_ascii=False, indent=2)


def _tei(record: Record, context: ExportContext | None = None) -> str:
    return to_tei(record, context=context)


Writer = Callable[[Record, ExportContext | None], str]
FORMATS: dict[str, tuple[str, Writer]] = {
    "ris": ("application/x-research-info-systems", to_ris),
    "bib": ("application/x-bibtex", to_bibtex),
    "csl.json": ("application/vnd.citationstyles.csl+json", to_csl_json_text),
    "dc.xml": ("application/xml", to_dublin_core),
    "tei.xml": ("application/tei+xml", _tei),
}


class UnknownFormatError(ValueError):
    """An export was asked for in a format opis does not write."""


def export(record: Record, ext: str, context: ExportContext | None = None) -> tuple[str, str]:
    """(media type, body) of a record in the format named by its file extension;
    ``context`` gives the opis URL, access date and attachment link when the web asks."""
    key = ext.lower().lstrip(".")
    if key not in FORMATS:
        raise UnknownFormatError(
            f"unknown export format {ext!r}; use one of {', '.join(FORMATS)}"
        )
    media_type, write = FORMATS[key]
    return media_type, write(record, context)


__all__ = [
    "FORMATS",
    "Citation",
    "ExportContext",
    "citation_data",
    "UnknownFormatError",
    "cite",
    "export",
    "to_bibtex",
    "to_csl_json",
    "to_csl_json_text",
    "to_dublin_core",
    "to_ris",
    "to_tei",
]
