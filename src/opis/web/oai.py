"""The OAI-PMH endpoint, ``/oai``: HTTP in, ``OaiProvider.respond`` out.

Protocol errors are OAI-PMH documents with status 200, as the protocol asks; only a
POST that is not a form gets an HTTP error.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware

from opis.services.archive import Archive
from opis.services.oai import OaiConfig, OaiProvider
from opis.web.deps import site_url

MEDIA_TYPE = "text/xml; charset=utf-8"
FORM = "application/x-www-form-urlencoded"
# The arguments, described (not validated: the protocol's own errors answer bad ones,
# and repeated arguments must reach the provider to be reported).
OPENAPI = {"parameters": [
    {"name": name, "in": "query", "required": name == "verb", "schema": {"type": "string"},
     "description": description} for name, description in (
        ("verb", "Identify, ListMetadataFormats, ListSets, GetRecord, ListIdentifiers, "
                 "ListRecords"),
        ("identifier", "oai:<repository>:<record id>"), ("metadataPrefix", "oai_dc or tei"),
        ("from", "YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ"), ("until", "the same"),
        ("set", "a setSpec from ListSets"),
        ("resumptionToken", "from the previous page of a list"))]}


def install_oai(app: FastAPI, archive: Archive, *, config: OaiConfig | None = None) -> None:
    """Serve OAI-PMH at /oai. Called again (a test wanting small pages), it only replaces
    the provider, so the routes are never registered twice."""
    config = config or OaiConfig.from_env()
    # starlette types Middleware.cls as a factory protocol; it holds the class given.
    gzip = any(m.cls is GZipMiddleware  # type: ignore[comparison-overlap]
               for m in app.user_middleware)
    if not config.compression and gzip:
        config.compression = ["gzip"]
    installed = getattr(app.state, "oai", None)
    app.state.oai = OaiProvider(archive, config)
    if installed is not None:
        return

    async def answer(request: Request, params: list[tuple[str, str]]) -> Response:
        provider: OaiProvider = request.app.state.oai
        base = site_url(request)  # never the Host header as sent (docs/security.md)
        body = await run_in_threadpool(provider.respond, params, f"{base}/oai",
                                       urlsplit(base).hostname or "", base)
        return Response(body, media_type=MEDIA_TYPE,
                        headers={"Cache-Control": "no-store"})

    @app.get("/oai", tags=["harvesting"], summary="OAI-PMH 2.0 (docs/oai-pmh.md)",
             response_class=Response, openapi_extra=OPENAPI,
             responses={200: {"content": {"text/xml": {}}}})
    async def oai_get(request: Request) -> Response:
        """Every answer is an OAI-PMH document with status 200, errors included."""
        return await answer(request, request.query_params.multi_items())

    @app.post("/oai", include_in_schema=False)
    async def oai_post(request: Request) -> Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != FORM:
            raise HTTPException(415, f"OAI-PMH requests sent by POST must be {FORM}")
        raw = (await request.body()).decode("utf-8", errors="replace")
        return await answer(request, parse_qsl(raw, keep_blank_values=True))


__all__ = ["install_oai"]
