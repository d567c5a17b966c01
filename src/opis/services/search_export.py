"""The records a search finds, as one file for a reference manager or a spreadsheet:
RIS (Zotero, EndNote), BibTeX, CSL-JSON or CSV, in the search's order and with its
filters, the whole result set (up to the ``MAX_RESULT_WINDOW`` a search can be paged
through), written as it is read, a page of records at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from opis.model import Record
from opis.search.base import MAX_RESULT_WINDOW, SearchRequest
from opis.services.archive import Archive
from opis.services.bulk import CSV_COLUMNS, csv_row
from opis.services.export import ExportContext, to_bibtex, to_csl_json, to_ris

EXPORT_LIMIT = MAX_RESULT_WINDOW
_PAGE = 200
MEDIA_TYPES = {"ris": "application/x-research-info-systems",
               "bib": "application/x-bibtex",
               "csl.json": "application/vnd.citationstyles.csl+json",
               "csv": "text/csv"}
LABELS = {"ris": "RIS (Zotero, EndNote, Mendeley)", "bib": "BibTeX",
          "csl.json": "CSL-JSON (Zotero, pandoc)", "csv": "CSV (a spreadsheet)"}
Context = Callable[[Record], ExportContext | None]


class UnknownListFormat(ValueError):
    """A result list was asked for in a format opis does not write lists in."""


@dataclass(frozen=True)
class ResultList:
    media_type: str
    total: int  # records the search finds
    count: int  # records the file holds (the total, up to EXPORT_LIMIT)
    chunks: Iterator[str]  # the file, written as the records are read


def _pages(archive: Archive, request: SearchRequest, count: int) -> Iterator[list[Record]]:
    offset = 0
    while offset < count:
        page = replace(request, limit=min(_PAGE, count - offset), offset=offset,
                       facets=False)
        timed = archive.search(page)
        if not timed.result.hits:
            return
        yield [r for h in timed.result.hits
               if (r := timed.records.get(h.id) or archive.get(h.id)) is not None]
        offset += len(timed.result.hits)


def export_results(archive: Archive, request: SearchRequest, ext: str,
                   context: Context = lambda r: None) -> ResultList:
    """The search's records in the format named by ``ext`` (``ris``, ``bib``,
    ``csl.json``, ``csv``); ``context`` gives each record's opis address and access
    date. The search runs once to count; the file is made page by page as it is read."""
    if ext not in MEDIA_TYPES:
        raise UnknownListFormat(f"unknown format {ext!r} for a result list; use one of "
                                f"{', '.join(MEDIA_TYPES)}")
    total = archive.search(replace(request, limit=0, offset=0, facets=False)).result.total
    count = min(total, EXPORT_LIMIT)
    pages = _pages(archive, request, count)
    return ResultList(MEDIA_TYPES[ext], total, count, _WRITERS[ext](pages, context))


def _ris(pages: Iterator[list[Record]], context: Context) -> Iterator[str]:
    for records in pages:
        yield "".join(to_ris(r, context(r)).rstrip("\n") + "\n\n" for r in records)


def _bib(pages: Iterator[list[Record]], context: Context) -> Iterator[str]:
    for records in pages:
        yield "".join(to_bibtex(r, context(r)).rstrip("\n") + "\n\n" for r in records)


def _csl(pages: Iterator[list[Record]], context: Context) -> Iterator[str]:
    yield "["
    first = True
    for records in pages:
        for r in records:
            yield ("\n" if first else ",\n") + json.dumps(to_csl_json(r, context(r)),
                                                          ensure_ascii=False)
            first = False
    yield "\n]\n"


def _csv(pages: Iterator[list[Record]], context: Context) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for records in pages:
        for r in records:
            ctx = context(r)
            writer.writerow(csv_row(r, ctx.url if ctx is not None else None))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


_WRITERS: dict[str, Callable[[Iterator[list[Record]], Context], Iterator[str]]] = {
    "ris": _ris, "bib": _bib, "csl.json": _csl, "csv": _csv}
