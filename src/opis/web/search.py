"""The search page and its JSON twin: the whole state lives in the URL.

URL parameters: ``q``, ``from``, ``to``, ``person``/``place``/``organization``/``event``
(entity ids, repeatable), ``language``, ``repository``, ``classification``, ``year``,
``decade``, ``collection`` (repeatable), ``sort`` (relevance, date, -date), ``page``,
``mode`` (auto, lexical, semantic, hybrid: docs/semantic.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from feedgen.feed import FeedGenerator
from pydantic import Field

from opis.model.dates import human_date
from opis.model.dates import typed_day as parse_day
from opis.search.base import ENTITY_FACETS, MAX_RESULT_WINDOW, SearchRequest
from opis.services.archive import TimedResult
from opis.services.export.tei_header import xml_safe
from opis.services.search_export import EXPORT_LIMIT, LABELS, UnknownListFormat, export_results
from opis.services.search_feed import newest_found
from opis.services.search_results import facet_label, results_data
from opis.services.spelling import did_you_mean
from opis.web.deps import absolute_url, archive_of, page
from opis.web.render import document_url, entity_url
from opis.web.zotero import export_context

PAGE_SIZE = 20
MAX_PAGE = MAX_RESULT_WINDOW // PAGE_SIZE  # page 500: the first 10,000 hits
MODES = {"auto": "Automatic", "hybrid": "Words and meaning", "lexical": "Words only",
         "semantic": "Meaning only"}
SORTS = {"relevance": "Relevance", "date": "Date, oldest first", "-date": "Date, newest first"}
# (URL parameter = facet name, heading), in the order the sidebar shows them.
FACET_GROUPS = (
    ("person", "People"), ("place", "Places"), ("organization", "Organizations"),
    ("event", "Events"), ("decade", "Decade"), ("year", "Year"),
    ("language", "Original language"), ("repository", "Repository"),
    ("classification", "Classification"), ("collection", "Collection"),
)
FILTERS = tuple(name for name, _ in FACET_GROUPS)
MAX_VALUES = 20  # per filter parameter: a URL is no place for hundreds
# Years as EDTF writes them without an exponent: four digits either side of year 0. A
# wider value can match nothing, and past 64 (Tantivy) or 32 bits (PostgreSQL) the
# engines raise, so it is refused like any other bad parameter (400 naming it).
MIN_YEAR, MAX_YEAR = -9999, 9999
YearInt = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]


def entity_id(kind: str, value: str) -> str:
    """Accept "kim-il-sung" as well as "person/kim-il-sung" in a ``person`` parameter."""
    value = value.strip()
    return value if "/" in value else f"{kind}/{value}"


@dataclass
class SearchParams:
    """A search as the URL states it; ``url()`` gives the URL of a changed search."""

    q: str = ""
    date_from: str = ""
    date_to: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    mode: str = "auto"

    def items(self) -> list[tuple[str, str]]:
        out = [("q", self.q)] if self.q else []
        out += [(k, v) for k, v in (("from", self.date_from), ("to", self.date_to)) if v]
        for name in FILTERS:
            out += [(name, v) for v in self.filters.get(name, [])]
        if self.sort != "relevance":
            out.append(("sort", self.sort))
        if self.mode != "auto":
            out.append(("mode", self.mode))
        if self.page > 1:
            out.append(("page", str(self.page)))
        return out

    def url(self, *, add: tuple[str, str] | None = None, remove: tuple[str, str] | None = None,
            only: tuple[str, str] | None = None, base: str = "/search", page: int = 1,
            **change: str) -> str:
        """This search changed: a filter added or removed, or fields replaced; the page
        goes back to 1 unless given."""
        filters = {k: list(v) for k, v in self.filters.items()}
        if add:
            values = filters.setdefault(add[0], [])
            if add[1] not in values:
                values.append(add[1])
        if remove:
            filters[remove[0]] = [v for v in filters.get(remove[0], []) if v != remove[1]]
        if only:
            filters[only[0]] = [only[1]]
        changed = SearchParams(change.get("q", self.q), change.get("date_from", self.date_from),
                               change.get("date_to", self.date_to), filters,
                               change.get("sort", self.sort), page,
                               change.get("mode", self.mode))
        query = urlencode(changed.items())
        return base + ("?" + query if query else "")

    def cleared(self) -> str:
        """The same words with every filter and date removed."""
        return SearchParams(self.q, sort=self.sort, mode=self.mode).url()

    @property
    def has_filters(self) -> bool:
        return bool(self.date_from or self.date_to or any(self.filters.values()))

    def selected(self, name: str, value: object) -> bool:
        return str(value) in self.filters.get(name, [])

    def request(self, limit: int = PAGE_SIZE, offset: int | None = None) -> SearchRequest:
        f = self.filters
        return SearchRequest(
            query=self.q, date_from=parse_day(self.date_from, start=True),
            date_to=parse_day(self.date_to, start=False), languages=f.get("language", []),
            entities=[v for k in ENTITY_FACETS for v in f.get(k, [])],
            repositories=f.get("repository", []), classifications=f.get("classification", []),
            years=[int(v) for v in f.get("year", [])],
            decades=[int(v) for v in f.get("decade", [])],
            collections=f.get("collection", []), sort=self.sort, limit=limit, mode=self.mode,
            offset=(self.page - 1) * limit if offset is None else offset)

    @property
    def bad_dates(self) -> bool:
        return bool((self.date_from and not parse_day(self.date_from, start=True)) or
                    (self.date_to and not parse_day(self.date_to, start=False)))


def search_params(
    q: str = Query("", max_length=1000, description='Words, "a phrase", prefix*, AND, OR, '
                   "NOT, -word, parentheses. Names match in every known spelling."),
    date_from: str | None = Query(None, alias="from", max_length=40,
                                  description="YYYY, YYYY-MM or YYYY-MM-DD"),
    date_to: str | None = Query(None, alias="to", max_length=40,
                                description="YYYY, YYYY-MM or YYYY-MM-DD"),
    person: list[str] = Query([], description="entity id, e.g. person/kim-il-sung"),
    place: list[str] = Query([], description="entity id, e.g. place/pyongyang"),
    organization: list[str] = Query([], description="entity id"),
    event: list[str] = Query([], description="entity id"),
    language: list[str] = Query([], description="ISO 639 code of the original language"),
    repository: list[str] = Query([]),
    classification: list[str] = Query([]),
    year: list[YearInt] = Query([], description="e.g. 1956"),
    decade: list[YearInt] = Query([], description="first year of the decade: 1950"),
    collection: list[str] = Query([], description="collection id"),
    sort: str = Query("relevance", description="relevance, date (oldest first), -date"),
    page_no: int = Query(1, alias="page", ge=1, le=MAX_PAGE,
                         description=f"1 to {MAX_PAGE}: the first {MAX_RESULT_WINDOW:,} hits"),
    mode: Literal["auto", "lexical", "semantic", "hybrid"] = Query(
        "auto", description="lexical: the words; semantic: the meaning, in any language; "
        "hybrid: both fused; auto: hybrid for questions and descriptions in natural "
        "language or another script, lexical for names, terms and query syntax"),
) -> SearchParams:
    given = {"person": person, "place": place, "organization": organization, "event": event,
             "language": language, "repository": repository,
             "classification": classification, "year": [str(y) for y in year],
             "decade": [str(d) for d in decade], "collection": collection}
    filters: dict[str, list[str]] = {}
    for name, values in given.items():
        clean = [entity_id(name, v) if name in ENTITY_FACETS else v.strip() for v in values]
        clean = list(dict.fromkeys(v for v in clean if v))[:MAX_VALUES]
        if clean:
            filters[name] = clean
    return SearchParams(q.strip(), (date_from or "").strip(), (date_to or "").strip(),
                        filters, sort if sort in SORTS else "relevance", page_no, mode)


# -- what the page shows -----------------------------------------------------------------------

@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    url: str


@dataclass
class FacetGroup:
    name: str
    label: str
    values: list[FacetValue]


def facet_groups(params: SearchParams, timed: TimedResult) -> list[FacetGroup]:
    facets = timed.result.facets
    groups = []
    for name, label in FACET_GROUPS:
        values = []
        for value, count in facets.get(name, []):
            v = str(value)
            on = params.selected(name, v)
            values.append(FacetValue(v, facet_label(name, v, timed.labels), count, on,
                                     params.url(remove=(name, v)) if on else
                                     params.url(add=(name, v))))
        if name == "year":
            values.sort(key=lambda fv: (-fv.count, fv.value))
        if values:
            groups.append(FacetGroup(name, label, values))
    return groups


def active_filters(params: SearchParams, labels: dict[str, str]) -> list[tuple[str, str, str]]:
    """(kind label, value label, URL without it) for each filter in force."""
    names = dict(FACET_GROUPS)
    out = []
    for name in FILTERS:
        for v in params.filters.get(name, []):
            out.append((names[name], facet_label(name, v, labels), params.url(remove=(name, v))))
    if params.date_from:
        out.append(("From", params.date_from, params.url(date_from="")))
    if params.date_to:
        out.append(("To", params.date_to, params.url(date_to="")))
    return out


def suggestions(params: SearchParams, timed: TimedResult, request: Request) -> list[dict]:
    """What to try when nothing (or little) was found, each with a link."""
    out: list[dict] = []
    fixed = did_you_mean(archive_of(request), params.q) if params.q else None
    if fixed:
        out.append({"text": f"Did you mean {fixed}?", "url": params.url(q=fixed),
                    "query": fixed})
    if params.has_filters:
        unfiltered = archive_of(request).search(SearchRequest(query=params.q, limit=1,
                                                              facets=False))
        n = unfiltered.result.total
        if n:
            out.append({"text": f"Remove the filters: {n} document{'s' if n != 1 else ''} "
                                "match the words alone.", "url": params.cleared()})
    word = timed.result.lone_word()
    if params.q and len(params.q.split()) > 1 and " OR " not in params.q and \
            not params.q.startswith('"'):
        out.append({"text": "Match any of the words instead of all of them.",
                    "url": params.url(q=" OR ".join(params.q.split()))})
    if word and len(word) > 4:
        stem = word[: max(4, len(word) - 3)]
        out.append({"text": f"Words beginning with {stem}…", "url": params.url(q=f"{stem}*")})
    return out


def results_json(timed: TimedResult, params: SearchParams) -> dict:
    """The results' one shape (services/search_results.py), each hit with its page."""
    data = results_data(timed, params.q, params.mode)
    for hit in data["hits"]:
        hit["url"] = document_url(hit["id"])
    return data


def page_count(total: int) -> int:
    """Pages a search has, up to the last one that may be asked for (MAX_PAGE)."""
    return min(MAX_PAGE, max(1, math.ceil(total / PAGE_SIZE)))


router = APIRouter()


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page(request: Request, params: SearchParams = Depends(search_params)
                ) -> HTMLResponse:
    timed = archive_of(request).search(params.request())
    result = timed.result
    pages = page_count(result.total)
    years = sorted(timed.result.facets.get("year", []))
    return page(request, "search.html", q=params.q, params=params, timed=timed, result=result,
                list_formats=LABELS, export_limit=EXPORT_LIMIT,
                records=timed.records, pages=pages, page_size=PAGE_SIZE, sorts=SORTS,
                modes=MODES,
                groups=facet_groups(params, timed),
                active=active_filters(params, timed.labels), years=years,
                spellings=result.spellings(),
                suggestions=suggestions(params, timed, request) if result.total == 0 else [],
                entity_url=entity_url)


@router.get("/search.json", tags=["pages"], summary="The search page as JSON")
def search_json(request: Request, params: SearchParams = Depends(search_params)) -> dict:
    timed = archive_of(request).search(params.request())
    total = timed.result.total
    return {**results_json(timed, params), "page": params.page, "pages": page_count(total),
            "filters": params.filters, "from": params.date_from or None,
            "to": params.date_to or None, "sort": params.sort,
            "suggestions": suggestions(params, timed, request) if total == 0 else []}


@router.get("/search/export.{ext}", tags=["pages"],
            summary="Every record a search finds, as RIS, BibTeX, CSL-JSON or CSV")
def search_export(request: Request, ext: str,
                  params: SearchParams = Depends(search_params)) -> Response:
    """One file of the search's records, in its order and with its filters, streamed;
    ``X-Opis-Total`` says how many the search finds, ``X-Opis-Exported`` how many the
    file holds (all of them, up to the 10,000 a search can be paged through)."""
    archive = archive_of(request)
    try:
        found = export_results(archive, params.request(), ext,
                               lambda record: export_context(request, record, archive))
    except UnknownListFormat as e:
        raise HTTPException(404, str(e)) from None
    return StreamingResponse(found.chunks, media_type=f"{found.media_type}; charset=utf-8",
                             headers={
        "Content-Disposition": f'attachment; filename="opis-search.{ext}"',
        "X-Opis-Exported": str(found.count), "X-Opis-Total": str(found.total)})


@router.get("/search.atom", tags=["pages"],
            summary="A search as an Atom feed: the documents it finds, newest first")
def search_feed(request: Request, params: SearchParams = Depends(search_params)) -> Response:
    """What a feed reader follows: the 50 documents the search finds that were added
    or corrected last, each linking to its page."""
    entries = newest_found(archive_of(request), params.request())
    page_url = absolute_url(request, params.url())
    feed = FeedGenerator()
    feed.id(xml_safe(page_url))
    name = request.app.state.templates.env.globals.get("site_name", "opis")
    feed.title(xml_safe(f"{name}: {params.q}" if params.q else f"{name}: new documents"))
    feed.subtitle("Documents this search finds, newest first")
    feed.link(href=xml_safe(page_url), rel="alternate", type="text/html")
    feed.link(href=xml_safe(absolute_url(request, params.url(base="/search.atom"))),
              rel="self")
    feed.generator("opis")
    feed.updated(_aware(entries[0].updated) if entries else datetime.now(UTC))
    for e in reversed(entries):  # feedgen puts each entry it adds first
        url = absolute_url(request, document_url(e.record.id))
        item = feed.add_entry()
        item.id(url)
        item.title(xml_safe(e.record.title))
        item.link(href=url, rel="alternate", type="text/html")
        item.published(_aware(e.published))
        item.updated(_aware(e.updated))
        if e.record.summary or e.record.date:
            item.summary(xml_safe(" — ".join(
                x for x in (human_date(e.record.date) if e.record.date else "",
                            e.record.summary or "") if x)))
    return Response(feed.atom_str(pretty=True), media_type="application/atom+xml")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
