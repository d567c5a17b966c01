"""The JSON API, version 1, under /api/v1 (documented at /openapi.json and docs/api.md).

Lists page with opaque cursors: base64 of the last row's sort key. Records and
entities are listed in id order, so a cursor stays valid while the archive grows and
never skips or repeats a row. Search pages by position (its order is by relevance
or date, which a new record can change). Reads allow any origin (CORS); writes need
an editor and send no CORS headers, so no other site's page can make them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opis.model.entity import Collection
from opis.search.base import MAX_RESULT_WINDOW
from opis.services import reading
from opis.services.records import record_json
from opis.web.deps import CURSOR_MAX_LENGTH, archive_of, decode_cursor, encode_cursor
from opis.web.entities import KIND_LABELS, entity_view
from opis.web.render import ENTITY_KINDS, document_url, entity_url
from opis.web.search import SearchParams, results_json, search_params

PREFIX = "/api/v1"
EDITOR_ROLES = {"editor", "admin"}
COLLECTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
MAX_ID = 200  # record and entity ids are at most 200 characters (the column's width)


# -- access ------------------------------------------------------------------------------------

def _roles(user: Any) -> set[str]:
    if user is None:
        return set()
    if isinstance(user, dict):
        role, roles = user.get("role"), user.get("roles")
    else:
        role, roles = getattr(user, "role", None), getattr(user, "roles", None)
    out = set(roles or [])
    if role:
        out.add(role)
    return {str(r) for r in out}


def require_editor(request: Request) -> Any:
    """Writes need a signed-in editor or admin; the curation layer sets request.state.user."""
    user = getattr(request.state, "user", None)
    if user is None:
        raise HTTPException(401, "sign in as an editor to change collections")
    if not _roles(user) & EDITOR_ROLES:
        raise HTTPException(403, "changing collections needs the editor or admin role")
    return user


class ReadCORS:
    """Access-Control-Allow-Origin: * on GET/HEAD/OPTIONS under /api/, nothing on writes."""

    def __init__(self, app: ASGIApp, prefix: str = "/api/"):
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            headers = dict(scope.get("headers") or [])
            asked = headers.get(b"access-control-request-method", b"GET").decode().upper()
            if asked in ("GET", "HEAD"):
                await send({"type": "http.response.start", "status": 204, "headers": [
                    (b"access-control-allow-origin", b"*"),
                    (b"access-control-allow-methods", b"GET, HEAD, OPTIONS"),
                    (b"access-control-allow-headers", b"Accept, Content-Type"),
                    (b"access-control-max-age", b"86400")]})
                await send({"type": "http.response.body", "body": b""})
                return
            await self.app(scope, receive, send)
            return
        if method not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (b"access-control-allow-origin", b"*")]
            await send(message)

        await self.app(scope, receive, send_with_cors)


# -- shapes (for the OpenAPI description) ----------------------------------------------------------

class Error(BaseModel):
    error: str
    status: int


class HitOut(BaseModel):
    id: str
    title: str
    date: str | None
    score: float
    snippet: str = Field(description="escaped HTML; matched words inside <mark>, or for "
                         "a hit matched by meaning the passage that matched")
    url: str
    original_language: str | None = None
    archival_reference: str | None = None
    matched: str = Field("words", description="words, meaning, or both")
    passage_kind: str | None = Field(None, description="for matched=meaning: title, text "
                                     "or note, the kind of passage in the snippet")


class FacetOut(BaseModel):
    value: str | int
    count: int
    label: str


class Spelling(BaseModel):
    typed: str
    variants: list[str]


class SearchOut(BaseModel):
    query: str
    mode: str = Field("lexical", description="the mode the search ran in (auto resolved): "
                      "lexical, semantic or hybrid")
    mode_asked: str = Field("auto", description="the mode the request named")
    total: int
    milliseconds: float
    hits: list[HitOut]
    facets: dict[str, list[FacetOut]]
    facets_sampled: float | None = Field(
        None, description="null when the facet counts are exact; else the share of the hits "
        "they were counted over and scaled up from (a search matching many documents)")
    spellings: list[Spelling]
    next_cursor: str | None


class RecordPage(BaseModel):
    items: list[dict[str, Any]] = Field(description="records as in docs/json.md")
    next_cursor: str | None


class EntityOut(BaseModel):
    id: str
    kind: str
    preferred: str
    variants: list[str]
    description: str | None
    identifiers: dict[str, str]
    records: int
    mentions: int
    url: str


class EntityPage(BaseModel):
    items: list[EntityOut]
    next_cursor: str | None


class CollectionOut(BaseModel):
    id: str
    title: str
    description: str | None
    records: int
    url: str


class CollectionList(BaseModel):
    items: list[CollectionOut]


class CollectionDetail(BaseModel):
    id: str
    title: str
    description: str | None
    record_ids: list[str]
    records: list[dict[str, Any]]
    url: str


class CollectionIn(BaseModel):
    id: str | None = Field(None, description="letters, digits, . _ -; required for POST")
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(None, max_length=20000)
    record_ids: list[str] = Field(default_factory=list, max_length=100000)


ERRORS: dict[int | str, dict[str, Any]] = {400: {"model": Error}, 404: {"model": Error}}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error}, 401: {"model": Error}, 403: {"model": Error},
    404: {"model": Error}, 409: {"model": Error}}

router = APIRouter(prefix=PREFIX, tags=["api v1"])


# -- reading -------------------------------------------------------------------------------------

@router.get("/search", response_model=SearchOut, responses=ERRORS,
            summary="Search with facets")
def api_search(request: Request, params: SearchParams = Depends(search_params),
               limit: int = Query(20, ge=1, le=100),
               cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH,
                                          description="next_cursor of the previous page")
               ) -> dict:
    start = decode_cursor(request, "search", cursor, _search_position)
    offset = start[0] if start else (params.page - 1) * limit
    if offset + limit > MAX_RESULT_WINDOW:
        raise HTTPException(400, f"page: a search can be paged through its first "
                                 f"{MAX_RESULT_WINDOW:,} hits; narrow it, or list every "
                                 "record with /api/v1/records")
    timed = archive_of(request).search(params.request(limit=limit, offset=offset))
    r = timed.result
    end = offset + len(r.hits)
    more = end < min(r.total, MAX_RESULT_WINDOW) and r.hits
    return {**results_json(timed, params),
            "next_cursor": encode_cursor(request, "search", [end]) if more else None}


def _search_position(key: list[Any]) -> bool:
    """A search cursor is [offset] of a hit inside the pageable window."""
    return (len(key) == 1 and type(key[0]) is int
            and 0 <= key[0] < MAX_RESULT_WINDOW)


def _last_id(key: list[Any]) -> bool:
    """A records or entities cursor is [last id sent]."""
    return len(key) == 1 and isinstance(key[0], str) and 0 < len(key[0]) <= MAX_ID


@router.get("/records", response_model=RecordPage, responses=ERRORS,
            summary="Every published record, in id order")
def api_records(request: Request, limit: int = Query(20, ge=1, le=100),
                cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH)) -> dict:
    after = decode_cursor(request, "records", cursor, _last_id)
    records = reading.list_records(archive_of(request), after[0] if after else None, limit + 1)
    more = len(records) > limit
    records = records[:limit]
    return {"items": [record_json(r) for r in records],
            "next_cursor": encode_cursor(request, "records", [records[-1].id]) if more
            else None}


@router.get("/records/{record_id:path}", responses=ERRORS, summary="One record (docs/json.md)")
def api_record(request: Request, record_id: str) -> dict:
    record = archive_of(request).get(record_id)
    if record is None:
        raise HTTPException(404, f"No document with id {record_id}")
    return record_json(record)


@router.get("/entities", response_model=EntityPage, responses=ERRORS,
            summary="People, places, organizations and events named in records, in id order")
def api_entities(request: Request, kind: str | None = Query(
                     None, description="person, place, organization or event"),
                 limit: int = Query(50, ge=1, le=500),
                 cursor: str | None = Query(None, max_length=CURSOR_MAX_LENGTH)) -> dict:
    if kind is not None and kind not in ENTITY_KINDS:
        raise HTTPException(400, f"unknown kind {kind!r}; use one of: " + ", ".join(ENTITY_KINDS))
    after = decode_cursor(request, "entities", cursor, _last_id)
    rows = reading.list_entities(archive_of(request), kind, after[0] if after else None,
                                 limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [{"id": r.entity.id, "kind": r.entity.kind, "preferred": r.entity.preferred,
                       "variants": r.entity.variants, "description": r.entity.description,
                       "identifiers": {k: str(v) for k, v in r.entity.identifiers.items()},
                       "records": r.records, "mentions": r.mentions,
                       "url": entity_url(r.entity.id)} for r in rows],
            "next_cursor": encode_cursor(request, "entities", [rows[-1].entity.id]) if more
            else None}


@router.get("/entities/{kind}/{slug:path}", responses=ERRORS,
            summary="One entity: spellings, identifiers, documents, co-mentions, network")
def api_entity(request: Request, kind: str, slug: str,
               page_no: int = Query(1, alias="page", ge=1, le=10000)) -> dict:
    if kind not in ENTITY_KINDS:
        raise HTTPException(404, f"unknown kind {kind!r}; use one of: " + ", ".join(ENTITY_KINDS))
    archive = archive_of(request)
    entity = archive.entity(f"{kind}/{slug}")
    if entity is None or entity.kind != kind:
        raise HTTPException(404, f"No {KIND_LABELS[kind].lower()} with id {kind}/{slug}")
    return entity_view(archive, entity, page_no)


def collection_url(cid: str) -> str:
    return f"{PREFIX}/collections/{quote(cid, safe='')}"


def _collection_out(c: Collection, n: int) -> dict:
    return {"id": c.id, "title": c.title, "description": c.description, "records": n,
            "url": collection_url(c.id)}


def _collection_detail(request: Request, c: Collection) -> dict:
    items = reading.summaries(archive_of(request), c.record_ids)
    return {"id": c.id, "title": c.title, "description": c.description,
            "record_ids": c.record_ids, "url": collection_url(c.id),
            "records": [{"id": s.id, "title": s.title, "date": s.date,
                         "url": document_url(s.id)} for s in items]}


@router.get("/collections", response_model=CollectionList, summary="Curated collections")
def api_collections(request: Request) -> dict:
    return {"items": [_collection_out(c, n) for c, n in archive_of(request).list_collections()]}


@router.get("/collections/{collection_id}", response_model=CollectionDetail, responses=ERRORS,
            summary="One collection with its records in order")
def api_collection(request: Request, collection_id: str) -> dict:
    c = archive_of(request).collection(collection_id)
    if c is None:
        raise HTTPException(404, f"No collection with id {collection_id}")
    return _collection_detail(request, c)


# -- writing (editors) ----------------------------------------------------------------------------

def _checked(request: Request, cid: str, body: CollectionIn) -> Collection:
    if not COLLECTION_ID.match(cid):
        raise HTTPException(400, "a collection id is 1-200 letters, digits, '.', '_' or '-', "
                                 "starting with a letter or digit")
    ids = list(dict.fromkeys(r.strip() for r in body.record_ids if r.strip()))
    known = {s.id for s in reading.summaries(archive_of(request), ids)}
    missing = [r for r in ids if r not in known]
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise HTTPException(400, f"no published record with id: {shown}")
    return Collection(cid, body.title.strip(), (body.description or "").strip() or None, ids)


@router.post("/collections", status_code=201, response_model=CollectionDetail,
             responses=WRITE_ERRORS, summary="Create a collection (editors)")
def api_create_collection(request: Request, body: CollectionIn, response: Response,
                          _user: Any = Depends(require_editor)) -> dict:
    if not body.id:
        raise HTTPException(400, "id: a new collection needs an id")
    archive = archive_of(request)
    if archive.collection(body.id) is not None:
        raise HTTPException(409, f"a collection with id {body.id} exists; PUT to replace it")
    c = _checked(request, body.id, body)
    archive.save_collection(c)
    response.headers["Location"] = collection_url(c.id)
    return _collection_detail(request, c)


@router.put("/collections/{collection_id}", response_model=CollectionDetail,
            responses=WRITE_ERRORS, summary="Create or replace a collection (editors)")
def api_put_collection(request: Request, collection_id: str, body: CollectionIn,
                       _user: Any = Depends(require_editor)) -> dict:
    if body.id and body.id != collection_id:
        raise HTTPException(400, f"id: the body says {body.id}, the URL {collection_id}")
    c = _checked(request, collection_id, body)
    archive_of(request).save_collection(c)
    return _collection_detail(request, c)


@router.delete("/collections/{collection_id}", status_code=204, responses=WRITE_ERRORS,
               summary="Delete a collection (editors); its records stay")
def api_delete_collection(request: Request, collection_id: str,
                          _user: Any = Depends(require_editor)) -> Response:
    if not archive_of(request).delete_collection(collection_id):
        raise HTTPException(404, f"No collection with id {collection_id}")
    return Response(status_code=204)
