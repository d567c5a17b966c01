"""Browsing without a query: by year, person, place, organization, event, subject,
repository and collection. Every page is built from one plain dict, which is also
its JSON twin (``<path>.json``)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException

from opis.search.base import SearchRequest
from opis.services import reading
from opis.services.reading import RecordSummary, SubjectNode
from opis.web.deps import archive_of, page
from opis.web.entities import PLURALS
from opis.web.render import document_url, entity_url

ENTITY_LISTS = {"people": "person", "places": "place", "organizations": "organization",
                "events": "event"}
PER_PAGE = 100
COLLECTION_PAGE = 50

router = APIRouter()


def twin(path: str, template: str, summary: str) -> Callable:
    """Register ``path`` (HTML from ``template``) and ``path.json`` (the same dict).

    A browse page depends only on the published records, so its dict is kept until
    they change (per path and query)."""
    def deco(fn: Callable[..., dict]) -> Callable[..., dict]:
        def data_of(*args: Any, **kwargs: Any) -> dict:
            request: Request = kwargs["request"]
            key = f"browse:{request.url.path.removesuffix('.json')}?{request.url.query}"
            return reading.Snapshot(archive_of(request)).get(key, lambda: fn(*args, **kwargs))

        @functools.wraps(fn)
        def as_json(*args: Any, **kwargs: Any) -> JSONResponse:
            return JSONResponse(data_of(*args, **kwargs))

        @functools.wraps(fn)
        def as_html(*args: Any, **kwargs: Any) -> HTMLResponse:
            return page(kwargs["request"], template, data=data_of(*args, **kwargs))

        # The twin first: a {name:path} parameter would swallow the ".json".
        router.add_api_route(path + ".json", as_json, methods=["GET"], tags=["pages"],
                             summary=summary + " (JSON twin)", name=fn.__name__ + "_json")
        router.add_api_route(path, as_html, methods=["GET"], response_class=HTMLResponse,
                             include_in_schema=False, name=fn.__name__)
        return fn
    return deco


def summary_json(s: RecordSummary) -> dict:
    return {"id": s.id, "title": s.title, "date": s.date, "url": document_url(s.id),
            "original_language": s.original_language, "repository": s.repository,
            "summary": s.summary}


def search_url(**params: Any) -> str:
    return "/search?" + urlencode(params)


@twin("/browse", "browse.html", "What there is to browse")
def browse_index(request: Request) -> dict:
    archive = archive_of(request)
    timed = archive.search(SearchRequest(limit=1, facet_size=500, exact_facets=True))
    years = [y for y, _ in timed.result.facets.get("year", [])]
    return {
        "total": timed.result.total,
        "years": {"first": min(years) if years else None, "last": max(years) if years else None,
                  "url": "/browse/years"},
        "entities": [{"kind": kind, "label": PLURALS[kind], "url": f"/browse/{name}",
                      "count": reading.count_entities(archive, kind)}
                     for name, kind in ENTITY_LISTS.items()],
        "subjects": {"count": len(reading.subject_index(archive)), "url": "/browse/subjects"},
        "repositories": {"count": len(timed.result.facets.get("repository", [])),
                         "url": "/browse/repositories"},
        "collections": {"count": len(archive.list_collections()), "url": "/collections"},
    }


@twin("/browse/years", "browse_years.html", "Documents per year")
def browse_years(request: Request) -> dict:
    timed = archive_of(request).search(SearchRequest(limit=1, exact_facets=True))
    facets = timed.result.facets
    # The engines return years and decades as ints, whatever SearchResult.facets says.
    years = sorted((int(y), n) for y, n in facets.get("year", []))
    dated = sum(n for _, n in years)
    decades = []
    for decade, count in sorted((int(d), n) for d, n in facets.get("decade", [])):
        decades.append({"decade": decade, "label": f"{decade}s", "count": count,
                        "url": search_url(decade=decade, sort="date"),
                        "years": [{"year": y, "count": n, "url": search_url(year=y, sort="date")}
                                  for y, n in years if decade <= y < decade + 10]})
    return {"total": timed.result.total, "undated": max(0, timed.result.total - dated),
            "years": [{"year": y, "count": n, "url": search_url(year=y, sort="date")}
                      for y, n in years],
            "decades": decades}


def _entity_list(request: Request, name: str, page_no: int) -> dict:
    archive = archive_of(request)
    kind = ENTITY_LISTS[name]
    total = reading.count_entities(archive, kind)
    rows = reading.list_entities(archive, kind, limit=PER_PAGE, by="records",
                                 offset=(page_no - 1) * PER_PAGE)
    return {"kind": kind, "label": PLURALS[kind], "total": total, "page": page_no,
            "pages": max(1, math.ceil(total / PER_PAGE)), "path": f"/browse/{name}",
            "items": [{"id": s.entity.id, "label": s.entity.preferred,
                       "variants": s.entity.variants[:6], "description": s.entity.description,
                       "records": s.records, "mentions": s.mentions,
                       "url": entity_url(s.entity.id)} for s in rows]}


def _list_route(name: str) -> None:
    def view(request: Request, page_no: int = Query(1, alias="page", ge=1, le=10000)) -> dict:
        return _entity_list(request, name, page_no)

    view.__name__ = f"browse_{name}"
    twin(f"/browse/{name}", "browse_entities.html", f"{PLURALS[ENTITY_LISTS[name]]} "
         "by number of documents")(view)


for _name in ENTITY_LISTS:
    _list_route(_name)


def _node_json(node: SubjectNode) -> dict:
    return {"name": node.name, "path": node.path, "records": node.records,
            "url": "/browse/subjects/" + quote(node.path, safe=""),
            "children": [_node_json(c) for c in node.children]}


@twin("/browse/subjects", "browse_subjects.html", "Subjects as an LCSH hierarchy")
def browse_subjects(request: Request) -> dict:
    tree = reading.subject_tree(archive_of(request))
    return {"count": len(tree), "subjects": [_node_json(n) for n in tree]}


@twin("/browse/subjects/{heading:path}", "browse_subject.html",
      "Documents under one subject heading")
def browse_subject(request: Request, heading: str) -> dict:
    parts = reading.split_subject(heading)
    if not parts:
        raise HTTPException(404, "No subject given")
    records = reading.subject_records(archive_of(request), heading)
    if not records:
        raise HTTPException(404, f"No documents under the subject {heading}")
    trail = [{"name": p, "url": "/browse/subjects/" + quote("--".join(parts[:i + 1]), safe="")}
             for i, p in enumerate(parts)]
    return {"heading": "--".join(parts), "trail": trail, "total": len(records),
            "records": [summary_json(s) | {"subjects": s.subjects} for s in records]}


@twin("/browse/repositories", "browse_repositories.html", "Holding archives")
def browse_repositories(request: Request) -> dict:
    timed = archive_of(request).search(SearchRequest(limit=1, facet_size=1000,
                                                      exact_facets=True))
    repos = timed.result.facets.get("repository", [])
    return {"total": len(repos), "repositories": [
        {"name": r, "records": n, "url": search_url(repository=r)} for r, n in repos]}


@twin("/collections", "collections.html", "Curated collections")
def collections_index(request: Request) -> dict:
    return {"collections": [
        {"id": c.id, "title": c.title, "description": c.description, "records": n,
         "url": f"/collections/{quote(c.id, safe='')}"}
        for c, n in archive_of(request).list_collections()]}


@twin("/collections/{cid:path}", "collection.html", "One collection, its records in order")
def collection_page(request: Request, cid: str,
                    page_no: int = Query(1, alias="page", ge=1, le=10000)) -> dict:
    archive = archive_of(request)
    c = archive.collection(cid)
    if c is None:
        raise HTTPException(404, f"No collection with id {cid}")
    start = (page_no - 1) * COLLECTION_PAGE
    items = reading.summaries(archive, c.record_ids[start:start + COLLECTION_PAGE])
    return {"id": c.id, "title": c.title, "description": c.description,
            "total": len(c.record_ids), "page": page_no, "start": start + 1,
            "pages": max(1, math.ceil(len(c.record_ids) / COLLECTION_PAGE)),
            "url": f"/collections/{quote(c.id, safe='')}",
            "search": search_url(collection=c.id),
            "records": [summary_json(s) for s in items]}
