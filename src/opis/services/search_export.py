"""The records a search finds, as one file a reference manager imports: RIS (Zotero,
EndNote), BibTeX or CSL-JSON, in the search's order, with the search's filters. Capped
at ``EXPORT_LIMIT`` records, the first ones by the search's own ranking; the caller says
so when the search found more."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from opis.model import Record
from opis.search.base import MAX_RESULT_WINDOW, SearchRequest
from opis.services.archive import Archive
from opis.services.export import ExportContext, to_bibtex, to_csl_json, to_ris

EXPORT_LIMIT = min(1000, MAX_RESULT_WINDOW)
_PAGE = 200
MEDIA_TYPES = {"ris": "application/x-research-info-systems",
               "bib": "application/x-bibtex",
               "csl.json": "application/vnd.citationstyles.csl+json"}
LABELS = {"ris": "RIS (Zotero, EndNote, Mendeley)", "bib": "BibTeX",
          "csl.json": "CSL-JSON (Zotero, pandoc)"}


class UnknownListFormat(ValueError):
    """A result list was asked for in a format opis does not write lists in."""


@dataclass(frozen=True)
class ResultList:
    media_type: str
    body: str
    count: int  # records in the file
    total: int  # records the search found


def found_records(archive: Archive, request: SearchRequest,
                  limit: int = EXPORT_LIMIT) -> tuple[list[Record], int]:
    """The first ``limit`` records the search finds, in its order, and how many it finds."""
    records: list[Record] = []
    total = 0
    offset = 0
    while len(records) < limit:
        page = replace(request, limit=min(_PAGE, limit - len(records)), offset=offset,
                       facets=False)
        timed = archive.search(page)
        total = timed.result.total
        for hit in timed.result.hits:
            record = timed.records.get(hit.id) or archive.get(hit.id)
            if record is not None:
                records.append(record)
        offset += len(timed.result.hits)
        if not timed.result.hits or offset >= total:
            break
    return records, total


def export_results(archive: Archive, request: SearchRequest, ext: str,
                   context: Callable[[Record], ExportContext | None] = lambda r: None,
                   ) -> ResultList:
    """The search's records in the format named by ``ext`` (``ris``, ``bib``,
    ``csl.json``); ``context`` gives each record's opis address and access date."""
    if ext not in MEDIA_TYPES:
        raise UnknownListFormat(f"unknown format {ext!r} for a result list; use one of "
                                f"{', '.join(MEDIA_TYPES)}")
    records, total = found_records(archive, request)
    if ext == "ris":
        body = "\n".join(to_ris(r, context(r)).rstrip("\n") + "\n" for r in records)
    elif ext == "bib":
        body = "\n".join(to_bibtex(r, context(r)).rstrip("\n") + "\n" for r in records)
    else:
        body = json.dumps([to_csl_json(r, context(r)) for r in records], ensure_ascii=False,
                          indent=2)
    return ResultList(MEDIA_TYPES[ext], body, len(records), total)
