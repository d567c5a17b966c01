"""CSL-JSON: the item format citation processors (citeproc-js in Zotero, citeproc-py) read.

The item is the pivot every format is made from (``mapping.citation_data``); this module
only writes it. The helpers are re-exported for the modules that import them from here.
"""

from __future__ import annotations

from typing import Any

from opis.model.record import Record
from opis.services.export.mapping import (
    DIGITAL_ARCHIVES,
    LANGUAGE_NAMES,
    ROLE_VERBS,
    ExportContext,
    archive_location,
    citation_data,
    credit_line,
    csl_date,
    date_parts,
    digital_archive,
    flat,
    language_name,
    name_parts,
    people,
    repository,
    start_date_parts,
    text_language,
)


def to_csl_json(record: Record, context: ExportContext | None = None) -> dict[str, Any]:
    """One CSL-JSON item (manuscript, or chapter for a document in an edition)."""
    return dict(citation_data(record, context).item)


__all__ = [
    "DIGITAL_ARCHIVES", "LANGUAGE_NAMES", "ROLE_VERBS", "archive_location", "credit_line",
    "csl_date", "date_parts", "digital_archive", "flat", "language_name", "name_parts",
    "people", "repository", "start_date_parts", "text_language", "to_csl_json",
]
