"""The web interface: pages rendered on the server, each with a JSON twin."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException

from opis.model import CONTRIBUTOR_ROLES
from opis.model.dates import bounds, to_edtf
from opis.model.languages import language_name
from opis.search.base import SearchRequest
from opis.services.archive import Archive
from opis.services.export import FORMATS, cite, export
from opis.services.records import record_json
from opis.web import render

HERE = Path(__file__).parent
ROLE_LABELS = {
    "obtained_by": "Obtained by", "translator": "Translated by", "contributor": "Contributed by",
    "transcriber": "Transcribed by", "editor": "Edited by", "annotator": "Annotated by",
}
assert set(ROLE_LABELS) == set(CONTRIBUTOR_ROLES)
PAGE_SIZE = 20


def _day(value: str | None, *, start: bool) -> date | None:
    if not value:
        return None
    span = bounds(to_edtf(value) or value.strip())
    if span is None:
        return None
    return span[0] if start else span[1]


def create_app(archive: Archive) -> FastAPI:
    app = FastAPI(title="opis", version="0.1.0",
                  description="Translated historical documents: search, read, cite.")
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["language_name"] = language_name
    templates.env.globals["role_labels"] = ROLE_LABELS
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.archive = archive

    def page(request: Request, name: str, code: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=code)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "Error"
        if _wants_json(request):
            return JSONResponse({"error": message, "status": exc.status_code}, exc.status_code)
        return page(request, "error.html", exc.status_code, status=exc.status_code,
                    message=message)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        fields = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}"
                           for e in exc.errors())
        if _wants_json(request):
            return JSONResponse({"error": f"invalid request: {fields}", "status": 400}, 400)
        return page(request, "error.html", 400, status=400, message=f"Invalid request: {fields}")

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": "internal error", "status": 500}, 500)
        return page(request, "error.html", 500, status=500,
                    message="Something went wrong on our side. Please try again.")

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        result = archive.search(SearchRequest(limit=1))
        return page(request, "home.html", total=archive.count(), recent=archive.recent(8),
                    languages=result.result.facets.get("language", []))

    @app.get("/search", response_class=HTMLResponse)
    def search_page(request: Request, q: str = "",
                    date_from: str | None = Query(None, alias="from"),
                    date_to: str | None = Query(None, alias="to"),
                    language: list[str] = Query(default_factory=list),
                    sort: str = "relevance", page_no: int = Query(1, alias="page", ge=1, le=10000)
                    ) -> HTMLResponse:
        req = _request(q, date_from, date_to, language, sort, page_no)
        timed = archive.search(req)
        pages = max(1, math.ceil(timed.result.total / PAGE_SIZE))
        state = {"q": q, "from": date_from or "", "to": date_to or "", "sort": sort}

        def url(**change: object) -> str:
            params = {**state, **change}
            items = [(k, v) for k, v in params.items() if v not in ("", None) and k != "language"]
            langs = change.get("language", language)
            items += [("language", v) for v in (langs or [])]
            return "/search?" + urlencode(items)

        return page(request, "search.html", q=q, date_from=date_from or "",
                    date_to=date_to or "", languages=language, sort=sort, page=page_no,
                    pages=pages, timed=timed, result=timed.result, records=timed.records,
                    url=url, bad_dates=(date_from and not req.date_from) or
                    (date_to and not req.date_to))

    @app.get("/search.json")
    def search_json(q: str = "", date_from: str | None = Query(None, alias="from"),
                    date_to: str | None = Query(None, alias="to"),
                    language: list[str] = Query(default_factory=list), sort: str = "relevance",
                    page_no: int = Query(1, alias="page", ge=1, le=10000)) -> dict:
        timed = archive.search(_request(q, date_from, date_to, language, sort, page_no))
        r = timed.result
        return {"query": q, "total": r.total, "page": page_no,
                "milliseconds": round(timed.milliseconds, 2),
                "hits": [{"id": h.id, "title": h.title, "date": h.date, "score": h.score,
                          "snippet": h.snippet, "url": f"/document/{h.id}"} for h in r.hits],
                "facets": {k: [{"value": v, "count": n} for v, n in vs]
                           for k, vs in r.facets.items()}}

    @app.get("/document/{name}", response_class=HTMLResponse,
             responses={200: {"content": {"application/json": {}}}})
    def document(request: Request, name: str) -> Response:
        """The document page; ``{id}.json`` is its JSON twin and ``{id}.<ext>`` an export.
        Record ids never contain a dot, so the first dot starts the format."""
        record_id, _, ext = name.partition(".")
        if ext and ext != "json" and ext not in FORMATS:
            raise StarletteHTTPException(
                404, f"Unknown format .{ext}; use one of: .json, ." + ", .".join(FORMATS))
        record = archive.get(record_id)
        if record is None:
            raise StarletteHTTPException(404, f"No document with id {record_id}")
        if ext == "json":
            return JSONResponse(record_json(record))
        if ext:
            media_type, body = export(record, ext)
            return Response(body, media_type=media_type + "; charset=utf-8", headers={
                "Content-Disposition": f'inline; filename="{record_id}.{ext}"'})
        citations = {style: cite(record, style, "html") for style in ("chicago", "apa", "mla")}
        return page(request, "document.html", record=record, citations=citations,
                    formats=FORMATS, text_html=render.annotated_html(record),
                    legend=render.legend(record), headings=render.headings(record),
                    describe=render.describe)

    @app.get("/healthz")
    def health() -> dict:
        return {"status": "ok", "records": archive.count()}

    app.state.templates = templates
    return app


def _request(q: str, date_from: str | None, date_to: str | None, language: list[str],
             sort: str, page_no: int) -> SearchRequest:
    return SearchRequest(query=q[:1000], date_from=_day(date_from, start=True),
                         date_to=_day(date_to, start=False), languages=language[:20],
                         sort=sort if sort in ("relevance", "date", "-date") else "relevance",
                         limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.endswith(".json") or path.startswith("/api/")


__all__ = ["Markup", "create_app"]
