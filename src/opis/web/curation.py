"""Curation on the web: logging in, editing with a preview, history, diffs, restoring,
withdrawing, the audit log, and the JSON API for the same writes.

``install_curation`` is the one call ``create_app`` makes: it mounts these routes,
the security middlewares and the session handling (opis.web.security).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from opis.model import Record
from opis.model.record import MAX_NESTING
from opis.services.accounts import (
    Accounts,
    Principal,
    as_utc,
)
from opis.services.archive import Archive
from opis.services.curation import (
    EDITABLE,
    LIST_FIELDS,
    OBJECT_FIELDS,
    SCALAR_FIELDS,
    Conflict,
    CurationError,
    Curator,
    EditResult,
    IndexBusy,
    NotFound,
    NotSaved,
    RecordState,
    ValidationFailed,
    apply_changes,
)
from opis.services.text_changes import LABELS, field_diffs
from opis.web import render
from opis.web.security import (
    Sessions,
    install_security,
    require,
)

AUDIT_PAGE = 50
MAIN_FIELDS = ("title", "date", "original_language", "classification", "document_number",
               "citation", "source_url", "repository_title", "rights", "authentication",
               "distribution_instruction")
LONG_FIELDS = ("summary",)
RETRY = {"Retry-After": "30"}
# What the history page confirms after a write (named by the redirect after it).
DONE = {
    "saved": "Saved as revision {rev}. The public page shows it now.",
    "restored": "Revision {source} restored as revision {rev}: the record reads as it did then.",
    "withdrawn": "Withdrawn from public view as revision {rev}. Reinstate it below to publish "
                 "it again.",
    "reinstated": "Published again as revision {rev}.",
}
JSON_FIELDS = ("archival_reference", "contents", "contributors", "authors", "stamps",
               "handwritten_notes", "extra", "annotations")


class EditRequest(BaseModel):
    """``changes`` maps field names (see docs/json.md) to new values; ``version``, when
    given, makes the edit fail with 409 if someone saved after that version."""

    changes: dict[str, Any]
    reason: str = Field(min_length=1, max_length=2000)
    version: int | None = Field(default=None, ge=1)


class ReasonRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


async def read_form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _when(value: Any) -> str:
    value = as_utc(value)
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


# -- turning the edit form into changes --------------------------------------------------------

def form_values(record: Record) -> dict[str, str]:
    """What the edit form shows for each field."""
    data = record.to_dict()
    out: dict[str, str] = {}
    for name in EDITABLE:
        value = data.get(name)
        if name in SCALAR_FIELDS or name == "text":
            out[name] = value or ""
        elif name in LIST_FIELDS:
            out[name] = "\n".join(value or [])
        else:
            out[name] = json.dumps(value, ensure_ascii=False, indent=2)
    return out


def form_changes(record: Record, form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Only the fields the editor changed, so an untouched annotations box lets the
    annotations follow a text correction; JSON that does not parse is a field error."""
    current = record.to_dict()
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    unix_newlines = "\r" not in record.text
    for name in EDITABLE:
        if name not in form:
            continue
        raw = form[name].replace("\r\n", "\n") if unix_newlines else form[name]
        old = current.get(name)
        value: Any
        if name in SCALAR_FIELDS:
            value = raw.strip() or None
            if value == (old.strip() if isinstance(old, str) else old) or (not value and not old):
                continue
        elif name == "text":
            value = raw
            if value == old:
                continue
        elif name in LIST_FIELDS:
            value = [line.strip() for line in raw.split("\n") if line.strip()]
            if value == old:
                continue
        else:
            text = raw.strip()
            if not text:
                value = None if name in OBJECT_FIELDS else ({} if name == "extra" else [])
            else:
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as e:
                    errors[name] = f"not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}"
                    continue
                except RecursionError:  # the parser's own stack: far past MAX_NESTING
                    errors[name] = f"nested deeper than {MAX_NESTING} levels"
                    continue
            if value == old:
                continue
        changes[name] = value
    return changes, errors


def done_url(record_id: str, kind: str, rev: int, source: int | None = None) -> str:
    """The history page, asked to confirm the write just made."""
    extra = f"&source={source}" if source else ""
    return f"{render.document_url(record_id)}/history?done={kind}&rev={rev}{extra}"


def _api_error(exc: CurationError) -> JSONResponse:
    if isinstance(exc, NotFound):
        return JSONResponse({"error": str(exc), "status": 404}, 404)
    if isinstance(exc, Conflict):
        return JSONResponse({"error": str(exc), "status": 409, "version": exc.version}, 409)
    if isinstance(exc, ValidationFailed):
        return JSONResponse({"error": "invalid changes", "status": 422, "fields": exc.errors},
                            422)
    if isinstance(exc, IndexBusy | NotSaved):
        return JSONResponse({"error": str(exc), "status": 503}, 503, RETRY)
    return JSONResponse({"error": str(exc), "status": 400}, 400)


def _result_json(result: EditResult) -> dict[str, Any]:
    return {"id": result.record_id, "status": result.status, "version": result.version,
            "changed": list(result.changed), "url": render.document_url(result.record_id)}


def build_router(curator: Curator, accounts: Accounts, sessions: Sessions,
                 templates: Jinja2Templates) -> APIRouter:
    router = APIRouter()
    editor = Depends(require("edit"))
    editor_page = Depends(require("edit", page=True))
    reader_page = Depends(require("read", page=True))
    reader = Depends(require("read"))
    admin_page = Depends(require("admin", page=True))
    admin = Depends(require("admin"))

    def page(request: Request, name: str, code: int = 200,
             headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
        response = templates.TemplateResponse(request, name, context, status_code=code,
                                              headers=headers)
        response.headers["Cache-Control"] = "no-store"
        return response

    def visible_state(record_id: str, who: Principal) -> RecordState:
        """Readers see the history of published records only; editors see every record."""
        state = curator.state(record_id)
        if state is None or (state.status != "published" and not who.can("edit")):
            raise StarletteHTTPException(404, f"No document with id {record_id}")
        return state

    # -- editing ---------------------------------------------------------------------------

    def edit_page(request: Request, record_id: str, who: Principal, *, values: dict[str, str],
                  errors: dict[str, str], preview: Any = None, diffs: Any = None,
                  code: int = 200, version: int | None = None, reason: str = "",
                  headers: dict[str, str] | None = None) -> HTMLResponse:
        state = curator.state(record_id)
        if state is None:
            raise StarletteHTTPException(404, f"No document with id {record_id}")
        return page(request, "edit.html", code, headers, record=state.record, status=state.status,
                    version=version or state.version, current_version=state.version,
                    values=values, errors=errors, preview=preview, diffs=diffs, labels=LABELS,
                    main_fields=MAIN_FIELDS, long_fields=LONG_FIELDS, list_fields=LIST_FIELDS,
                    json_fields=JSON_FIELDS, reason=reason, who=who)

    @router.get("/document/{record_id:path}/edit", response_class=HTMLResponse)
    def edit_form(request: Request, record_id: str, who: Principal = editor_page
                  ) -> HTMLResponse:
        state = curator.state(record_id)
        if state is None:
            raise StarletteHTTPException(404, f"No document with id {record_id}")
        return edit_page(request, record_id, who, values=form_values(state.record), errors={})

    @router.post("/document/{record_id:path}/edit", response_class=HTMLResponse)
    def edit_submit(request: Request, record_id: str, who: Principal = editor,
                    form: dict[str, str] = Depends(read_form)) -> Response:
        state = curator.state(record_id)
        if state is None:
            raise StarletteHTTPException(404, f"No document with id {record_id}")
        values = {**form_values(state.record), **{k: v for k, v in form.items() if k in EDITABLE}}
        reason = form.get("reason", "")
        try:
            version = int(form.get("version", "") or state.version)
        except ValueError:
            version = state.version
        changes, errors = form_changes(state.record, form)
        proposed = None
        try:
            if changes:
                proposed, _changed = apply_changes(state.record, changes)
        except ValidationFailed as e:
            errors = {**e.errors, **errors}
        if form.get("action") == "save" and not errors:
            if not changes and version != state.version:
                # The record already is what this form asks for, from a newer version: the
                # same form sent again after its save's answer was lost. Saved, once.
                return RedirectResponse(done_url(record_id, "saved", state.version), 303)
            if not changes:
                errors["form"] = "Nothing was changed."
            else:
                try:
                    result = curator.edit(record_id, changes, author=who.name,
                                          reason=reason, version=version)
                    return RedirectResponse(done_url(record_id, "saved", result.version), 303)
                except ValidationFailed as e:
                    errors.update(e.errors)
                except Conflict as e:
                    errors["form"] = str(e)
                    return edit_page(request, record_id, who, values=values, errors=errors,
                                     code=409, version=version, reason=reason)
                except IndexBusy as e:
                    errors["form"] = f"Nothing was saved: {e}."
                    return edit_page(request, record_id, who, values=values, errors=errors,
                                     code=503, version=version, reason=reason, headers=RETRY)
                except NotSaved as e:  # what the editor typed stays in the form
                    errors["form"] = f"{e}."
                    return edit_page(request, record_id, who, values=values, errors=errors,
                                     code=503, version=version, reason=reason, headers=RETRY)
        preview_html = diffs = None
        if not errors:
            shown = proposed or state.record
            preview_html = render.annotated_html(shown)
            diffs = field_diffs(state.record.to_dict(), shown.to_dict())
        return edit_page(request, record_id, who, values=values, errors=errors,
                         preview=preview_html, diffs=diffs, code=422 if errors else 200,
                         version=version, reason=reason)

    @router.patch("/api/v1/records/{record_id:path}",
                  responses={404: {}, 409: {}, 422: {}, 401: {}, 403: {}})
    def api_edit(record_id: str, body: EditRequest, who: Principal = editor) -> Response:
        """Correct fields of a record; every accepted edit is a new revision."""
        try:
            result = curator.edit(record_id, body.changes, author=who.name, reason=body.reason,
                                  version=body.version)
        except CurationError as e:
            return _api_error(e)
        return JSONResponse(_result_json(result))

    # -- history, diffs, restoring -----------------------------------------------------------

    def history_page(request: Request, record_id: str, who: Principal, *, code: int = 200,
                     error: str | None = None, headers: dict[str, str] | None = None,
                     done: str | None = None) -> HTMLResponse:
        state = visible_state(record_id, who)
        entries = curator.history(record_id)
        return page(request, "history.html", code, headers, record=state.record,
                    status=state.status, version=state.version, entries=entries,
                    labels=LABELS, error=error, can_edit=who.can("edit"), who=who, done=done)

    @router.get("/document/{record_id:path}/history", response_class=HTMLResponse)
    def history(request: Request, record_id: str, who: Principal = reader_page,
                done: str | None = Query(None, max_length=20),
                rev: int | None = Query(None, ge=1, le=2**31),
                source: int | None = Query(None, ge=1, le=2**31)) -> HTMLResponse:
        # The confirmation of a write just made (the redirect after it says which): only
        # our own sentences, with numbers filled in, never text from the URL.
        message = DONE.get(done or "", "").format(rev=rev, source=source) \
            if rev and (done != "restored" or source) and who.can("edit") else None
        return history_page(request, record_id, who, done=message or None)

    @router.get("/document/{record_id:path}/history.json")
    def history_json(record_id: str, who: Principal = reader) -> dict[str, Any]:
        state = visible_state(record_id, who)
        return {"id": record_id, "status": state.status, "version": state.version,
                "revisions": [{"number": e.number, "created_at": _when(e.created_at),
                               "author": e.author, "reason": e.reason, "status": e.status,
                               "changed": list(e.changed)} for e in curator.history(record_id)]}

    @router.get("/document/{record_id:path}/diff", response_class=HTMLResponse)
    def diff(request: Request, record_id: str, a: int | None = Query(None, ge=1),
             b: int | None = Query(None, ge=1), who: Principal = reader_page) -> HTMLResponse:
        state = visible_state(record_id, who)
        entries = {e.number: e for e in curator.history(record_id)}
        b = b or state.version
        a = a or max(1, b - 1)
        if a not in entries or b not in entries:
            raise StarletteHTTPException(404, f"Record {record_id} has revisions 1 to "
                                              f"{max(entries, default=0)}")
        return page(request, "diff.html", record=state.record, a=entries[a], b=entries[b],
                    diffs=curator.diff(record_id, a, b), numbers=sorted(entries), who=who)

    def web_write(request: Request, record_id: str, who: Principal,
                  action: Callable[[], EditResult], kind: str,
                  source: int | None = None) -> Response:
        try:
            result = action()
        except NotFound as e:
            raise StarletteHTTPException(404, str(e)) from None
        except ValidationFailed as e:
            return history_page(request, record_id, who, code=422,
                                error=" ".join(e.errors.values()))
        except Conflict as e:
            return history_page(request, record_id, who, code=409, error=str(e))
        except (IndexBusy, NotSaved) as e:
            return history_page(request, record_id, who, code=503, error=str(e),
                                headers=RETRY)
        return RedirectResponse(done_url(record_id, kind, result.version, source), 303)

    @router.post("/document/{record_id:path}/restore/{number}", response_class=HTMLResponse)
    def restore(request: Request, record_id: str, number: int, who: Principal = editor,
                form: dict[str, str] = Depends(read_form)) -> Response:
        return web_write(request, record_id, who, lambda: curator.restore(
            record_id, number, author=who.name, reason=form.get("reason", "")),
            "restored", number)

    @router.post("/document/{record_id:path}/withdraw", response_class=HTMLResponse)
    def withdraw(request: Request, record_id: str, who: Principal = editor,
                 form: dict[str, str] = Depends(read_form)) -> Response:
        return web_write(request, record_id, who, lambda: curator.withdraw(
            record_id, author=who.name, reason=form.get("reason", "")), "withdrawn")

    @router.post("/document/{record_id:path}/reinstate", response_class=HTMLResponse)
    def reinstate(request: Request, record_id: str, who: Principal = editor,
                  form: dict[str, str] = Depends(read_form)) -> Response:
        return web_write(request, record_id, who, lambda: curator.reinstate(
            record_id, author=who.name, reason=form.get("reason", "")), "reinstated")

    def api_write(action: Callable[[], EditResult]) -> Response:
        try:
            return JSONResponse(_result_json(action()))
        except CurationError as e:
            return _api_error(e)

    @router.post("/api/v1/records/{record_id:path}/restore/{number}",
                 responses={404: {}, 409: {}, 422: {}, 401: {}, 403: {}})
    def api_restore(record_id: str, number: int, body: ReasonRequest,
                    who: Principal = editor) -> Response:
        """Make an earlier revision current again, as a new revision."""
        return api_write(lambda: curator.restore(record_id, number, author=who.name,
                                                 reason=body.reason))

    @router.post("/api/v1/records/{record_id:path}/withdraw",
                 responses={404: {}, 409: {}, 422: {}, 401: {}, 403: {}})
    def api_withdraw(record_id: str, body: ReasonRequest, who: Principal = editor) -> Response:
        """Hide a record from the public (pages, JSON, search, exports); undo with reinstate."""
        return api_write(lambda: curator.withdraw(record_id, author=who.name,
                                                  reason=body.reason))

    @router.post("/api/v1/records/{record_id:path}/reinstate",
                 responses={404: {}, 409: {}, 422: {}, 401: {}, 403: {}})
    def api_reinstate(record_id: str, body: ReasonRequest, who: Principal = editor) -> Response:
        return api_write(lambda: curator.reinstate(record_id, author=who.name,
                                                   reason=body.reason))

    # -- the audit log -----------------------------------------------------------------------

    @router.get("/admin/audit", response_class=HTMLResponse)
    def audit_page(request: Request, page_no: int = Query(1, alias="page", ge=1, le=100000),
                   record: str | None = Query(None, max_length=200),
                   actor: str | None = Query(None, max_length=200),
                   who: Principal = admin_page) -> HTMLResponse:
        entries, total = curator.audit_log(limit=AUDIT_PAGE, offset=(page_no - 1) * AUDIT_PAGE,
                                           record_id=record or None, actor=actor or None)
        return page(request, "audit.html", entries=entries, total=total, page=page_no,
                    pages=max(1, math.ceil(total / AUDIT_PAGE)), record=record or "",
                    actor=actor or "", who=who)

    @router.get("/admin/audit.json")
    def audit_json(page_no: int = Query(1, alias="page", ge=1, le=100000),
                   record: str | None = Query(None, max_length=200),
                   actor: str | None = Query(None, max_length=200),
                   who: Principal = admin) -> dict[str, Any]:
        entries, total = curator.audit_log(limit=AUDIT_PAGE, offset=(page_no - 1) * AUDIT_PAGE,
                                           record_id=record or None, actor=actor or None)
        return {"total": total, "page": page_no,
                "entries": [{"id": e.id, "at": _when(e.at), "actor": e.actor,
                             "action": e.action, "record_id": e.record_id, "reason": e.reason,
                             "detail": e.detail} for e in entries]}

    return router


def install_curation(app: FastAPI, archive: Archive) -> None:
    """Accounts, sessions, security headers, body limits, the 503 handler and the
    curation routes, on an app made by ``create_app``."""
    templates: Jinja2Templates = app.state.templates
    accounts = Accounts(archive.db)
    curator = Curator(archive)
    app.state.curator = curator
    install_security(app, templates, accounts)
    templates.env.filters["when"] = _when
    app.include_router(build_router(curator, accounts, app.state.opis_sessions, templates))
