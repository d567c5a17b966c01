"""The web interface: pages rendered on the server, each with a JSON twin, and the
JSON API under /api/v1. Route modules: search, documents, entities, browse, api."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import Scope

from opis import config
from opis.model import CONTRIBUTOR_ROLES
from opis.model.dates import human_date
from opis.model.languages import language_name
from opis.search.base import SearchRequest
from opis.services import reading
from opis.services.archive import Archive
from opis.web import advanced, api, browse, documents, entities, search, zotero
from opis.web.account import install_account
from opis.web.charts import network_svg, timeline_svg
from opis.web.curation import install_curation
from opis.web.deps import absolute_url, page
from opis.web.held import install_held
from opis.web.oai import install_oai
from opis.web.render import (
    contents_label,
    diff_rows,
    document_url,
    entity_url,
    html_datetime,
    list_title,
)
from opis.web.replicas import ReadYourWrites
from opis.web.site import install_site

HERE = Path(__file__).parent
# What a reader derived at import (Record.flags), by the field it concerns.
FLAG_LABELS = {"title": "Title", "date": "Date", "id": "Identifier", "text": "Text"}
ROLE_LABELS = {
    "obtained_by": "Obtained by", "translator": "Translated by", "contributor": "Contributed by",
    "transcriber": "Transcribed by", "editor": "Edited by", "annotator": "Annotated by",
}
assert set(ROLE_LABELS) == set(CONTRIBUTOR_ROLES)
PAGE_SIZE = search.PAGE_SIZE
# Attachments came from outside: whatever bytes a file holds, a browser must neither
# render it as a page of this site nor run it as a script (a sandbox without scripts,
# no type sniffing, no other site embedding it); "private" keeps a withdrawn record's
# scan out of shared caches.
ATTACHMENT_CSP = "sandbox; default-src 'none'"
ATTACHMENT_HEADERS = {
    "Content-Security-Policy": ATTACHMENT_CSP,
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "private, max-age=86400",
}


class Static(StaticFiles):
    """Static files (stylesheets, the small scripts) with a cache lifetime of ten minutes."""

    def file_response(self, full_path: os.PathLike | str, stat_result: os.stat_result,
                      scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "public, max-age=600"
        return response


def create_app(archive: Archive) -> FastAPI:
    app = FastAPI(title="opis", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Translated historical documents: search, read, cite. "
                  "The JSON API is under /api/v1 (see docs/api.md); every HTML page also "
                  "has a JSON twin at the same path plus .json.")
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["language_name"] = language_name
    templates.env.globals["timeline_svg"] = timeline_svg
    templates.env.globals["network_svg"] = network_svg
    templates.env.globals["role_labels"] = ROLE_LABELS
    templates.env.globals["flag_labels"] = FLAG_LABELS
    templates.env.globals["entity_url"] = entity_url
    templates.env.globals["document_url"] = document_url
    templates.env.globals["diff_rows"] = diff_rows
    templates.env.globals["contents_label"] = contents_label
    templates.env.globals["list_title"] = list_title
    templates.env.filters["human_date"] = human_date
    templates.env.filters["html_datetime"] = html_datetime
    templates.env.globals["split_document_name"] = documents.split_name
    templates.env.globals["meta_tags"] = zotero.meta_tags
    templates.env.globals["json_ld"] = zotero.json_ld
    templates.env.globals["page_metadata"] = zotero.page_metadata
    app.mount("/static", Static(directory=str(HERE / "static")), name="static")
    app.state.archive = archive
    app.state.templates = templates
    app.state.base_url = config.base_url()
    app.state.allowed_hosts = config.allowed_hosts()
    templates.env.globals["absolute_url"] = absolute_url
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=1)  # 6x faster than 5
    app.add_middleware(api.ReadCORS)
    if archive.db.replicas:  # a reader's next pages after a write: from the primary
        app.add_middleware(ReadYourWrites, archive=archive, window=archive.db.replica_window)
    if app.state.allowed_hosts:  # a request to any other name gets 400
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=app.state.allowed_hosts,
                           www_redirect=False)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "Error"
        if _wants_json(request):
            return JSONResponse({"error": message, "status": exc.status_code}, exc.status_code,
                                headers=getattr(exc, "headers", None))
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

    def home_data() -> dict:
        timed = archive.search(SearchRequest(limit=1, exact_facets=True))
        return {
            "total": archive.count(),
            "recent": [{"id": r.id, "title": r.title, "date": r.date,
                        "original_language": r.original_language, "url": document_url(r.id)}
                       for r in archive.recent(8)],
            "languages": [{"code": c, "name": language_name(c), "count": n,
                           "url": f"/search?language={c}"}
                          for c, n in timed.result.facets.get("language", [])],
            "collections": [{"id": c.id, "title": c.title, "records": n,
                             "url": f"/collections/{c.id}"}
                            for c, n in archive.list_collections()],
        }

    def cached_home() -> dict:
        """The home page changes only when records do."""
        return reading.Snapshot(archive).get("home", home_data)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        return page(request, "home.html", data=cached_home())

    @app.get("/index.json", tags=["pages"], summary="The home page as JSON")
    def home_json() -> dict:
        return cached_home()

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict:
        return {"status": "ok", "records": archive.count()}

    app.include_router(api.router)
    app.include_router(advanced.router)  # before search: /search/advanced is its own
    app.include_router(search.router)
    app.include_router(documents.router)
    app.include_router(browse.router)
    app.include_router(entities.router)
    install_curation(app, archive)
    install_account(app)
    install_held(app)
    install_site(app)
    install_oai(app, archive)
    zotero.install_unapi(app, archive)

    @app.get("/attachments/{sha256}", response_class=FileResponse, tags=["documents"])
    def attachment(sha256: str) -> FileResponse:
        """An original file (scan, PDF) of a published record, by its SHA-256: a
        download, with a type read from its bytes, unless it is an image the bytes
        confirm; never a page that can run a script (docs/security.md)."""
        found = archive.attachment(sha256)
        if found is None:
            raise StarletteHTTPException(404, "No such file")
        return FileResponse(found.path, media_type=found.media_type, filename=found.filename,
                            content_disposition_type="inline" if found.inline else "attachment",
                            headers=ATTACHMENT_HEADERS)

    app.include_router(documents.legacy)  # last: /document/<anything>, for legacy ids
    return app


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.endswith(".json") or path.startswith("/api/")


APP_FACTORY = "opis.web.app:create_app_from_env"
READ_ONLY_MESSAGE = "This archive is served read-only here: nothing was changed."
READ_ONLY_SQLITE = ("This archive is served read-only (several worker processes over one "
                    "SQLite file, whose search index only one process may write): nothing "
                    "was changed.")


def create_app_from_env(archive: Archive | None = None) -> FastAPI:
    """The app of one worker process (``opis serve --workers N``, or gunicorn with
    uvicorn workers): an archive cannot cross a process boundary, so each worker opens
    its own from ``OPIS_DATABASE`` and ``OPIS_READ_REPLICAS`` (unless given one). With
    ``OPIS_READ_ONLY=1`` every request that could write is refused with 503, except
    OAI-PMH's POST (a read)."""
    if archive is None:
        from opis.config import replica_urls, resolve_database

        archive = Archive(resolve_database(None), replica_urls())
    app = create_app(archive)
    # The model and the vector index load in the background, not on the first question.
    threading.Thread(target=archive.semantic.warm, args=(archive.db.sessions,),
                     name="opis-warm", daemon=True).start()
    if config.settings().read_only:
        message = READ_ONLY_SQLITE if archive.db.dialect == "sqlite" else READ_ONLY_MESSAGE

        async def read_only(request: Request, call_next: Any) -> Response:
            if request.method in ("GET", "HEAD", "OPTIONS") or request.url.path == "/oai":
                return await call_next(request)
            if _wants_json(request) or request.headers.get("authorization"):
                return JSONResponse({"error": message, "status": 503}, 503)
            return page(request, "error.html", 503, status=503, message=message)

        # Innermost (appended, where add_middleware prepends): the refusal still gets the
        # security headers, the body limit and the signed-in user of every other response.
        app.user_middleware.append(Middleware(BaseHTTPMiddleware, dispatch=read_only))
    return app


__all__ = ["APP_FACTORY", "create_app", "create_app_from_env"]
