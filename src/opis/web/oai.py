"""The OAI-PMH endpoint, ``/oai``: HTTP in, ``OaiProvider.respond`` out.

Protocol errors are OAI-PMH documents with status 200, as the protocol asks; only a
POST that is not a form gets an HTTP error.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware

from opis.services.archive import Archive
from opis.services.oai import OaiConfig, OaiProvider

MEDIA_TYPE = "text/xml; charset=utf-8"
FORM = "application/x-www-form-urlencoded"


def install_oai(app: FastAPI, archive: Archive, *, config: OaiConfig | None = None) -> None:
    """Serve OAI-PMH at /oai. Called again (a test wanting small pages), it only replaces
    the provider, so the routes are never registered twice."""
    config = config or OaiConfig.from_env()
    if not config.compression and any(m.cls is GZipMiddleware for m in app.user_middleware):
        config.compression = ["gzip"]
    installed = getattr(app.state, "oai", None)
    app.state.oai = OaiProvider(archive, config)
    if installed is not None:
        return

    async def answer(request: Request, params: list[tuple[str, str]]) -> Response:
        provider: OaiProvider = request.app.state.oai
        base = str(request.base_url).rstrip("/")
        body = await run_in_threadpool(provider.respond, params, f"{base}/oai",
                                       request.url.hostname or "", base)
        return Response(body, media_type=MEDIA_TYPE,
                        headers={"Cache-Control": "no-store"})

    @app.get("/oai", include_in_schema=False)
    async def oai_get(request: Request) -> Response:
        return await answer(request, request.query_params.multi_items())

    @app.post("/oai", include_in_schema=False)
    async def oai_post(request: Request) -> Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != FORM:
            raise HTTPException(415, f"OAI-PMH requests sent by POST must be {FORM}")
        raw = (await request.body()).decode("utf-8", errors="replace")
        return await answer(request, parse_qsl(raw, keep_blank_values=True))


__all__ = ["install_oai"]
