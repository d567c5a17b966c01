"""The held-updates page: updates a re-ingest held back because they looked damaged,
each with why, what it would change and the file it came from, and a curator's
Accept (a new revision) or Reject (the record stays). Editors only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from opis.services.accounts import Principal
from opis.services.curation import IndexBusy, NotFound
from opis.services.held_updates import HeldUpdates
from opis.web.security import check_csrf, require

DONE = {"accepted": "The update is stored as the record's new version.",
        "rejected": "The update is rejected; the record stays as it was."}


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def build_router(held: HeldUpdates, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter()
    editor_page = Depends(require("edit", page=True))
    editor = Depends(require("edit"))

    def render(request: Request, who: Principal, code: int = 200, **context: Any
               ) -> HTMLResponse:
        response = templates.TemplateResponse(
            request, "held.html", {"who": who, "views": held.list(), **context},
            status_code=code)
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.get("/curate/held", response_class=HTMLResponse)
    def held_page(request: Request, who: Principal = editor_page,
                  done: str = Query("", max_length=20),
                  record: str = Query("", max_length=200)) -> HTMLResponse:
        return render(request, who, done=DONE.get(done), done_record=record)

    async def decide(request: Request, held_id: int, who: Principal, verb: str) -> Response:
        await check_csrf(request)
        form = await _form(request)
        action = held.accept if verb == "accepted" else held.reject
        try:
            record_id = await run_in_threadpool(
                lambda: action(held_id, author=who.name, reason=form.get("reason", "")))
        except NotFound as e:
            return await run_in_threadpool(render, request, who, 404, error=str(e))
        except IndexBusy as e:
            return await run_in_threadpool(render, request, who, 503, error=str(e))
        return RedirectResponse(f"/curate/held?done={verb}&record={record_id}", 303)

    @router.post("/curate/held/{held_id}/accept", response_class=HTMLResponse)
    async def accept(request: Request, held_id: int, who: Principal = editor) -> Response:
        return await decide(request, held_id, who, "accepted")

    @router.post("/curate/held/{held_id}/reject", response_class=HTMLResponse)
    async def reject(request: Request, held_id: int, who: Principal = editor) -> Response:
        return await decide(request, held_id, who, "rejected")

    return router


def install_held(app: FastAPI) -> None:
    """The held-updates page, on an app whose security is installed."""
    app.include_router(build_router(HeldUpdates(app.state.archive), app.state.templates))
