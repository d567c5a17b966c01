"""Logging in and out, and the signed-in user's own account page: change one's password
(the current one asked first, under the login limits) and see and end one's sessions,
without an administrator or a shell. The account page is only for browser sessions:
an API token has no password to change and no browser to sign out."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from opis.services.accounts import AccountError, Accounts, LoginFailed, Principal, RateLimited
from opis.web.security import (
    AuthProblem,
    Sessions,
    check_csrf,
    client_ip,
    principal,
    require,
    safe_next,
)

DONE = {
    "password": "Your password is changed. Every other browser signed in as you has been "
                "signed out.",
    "others": "Every other browser signed in as you has been signed out.",
    "one": "That browser has been signed out.",
}


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _wait(seconds: int) -> str:
    """A Retry-After for people: "40 seconds", "3 minutes"."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def build_router(accounts: Accounts, sessions: Sessions,
                 templates: Jinja2Templates) -> APIRouter:
    router = APIRouter()
    page_reader = Depends(require("read", page=True))
    reader = Depends(require("read"))

    def browser_only(who: Principal) -> None:
        if who.via != "session" or who.session_hash is None:
            raise AuthProblem(403, "The account page is for a signed-in browser; an API "
                                   "token's owner manages it there.")

    def page(request: Request, name: str, code: int = 200,
             headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
        response = templates.TemplateResponse(request, name, context, status_code=code,
                                              headers=headers)
        response.headers["Cache-Control"] = "no-store"
        return response

    # -- logging in and out ----------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next_url: str = Query("/", alias="next",
                                                           max_length=2000)) -> HTMLResponse:
        return page(request, "login.html", next_url=safe_next(next_url), username="",
                    error=None, who=principal(request))

    @router.post("/login", response_class=HTMLResponse)
    async def login_submit(request: Request, form: dict[str, str] = Depends(_form)
                           ) -> Response:
        await check_csrf(request)
        name = form.get("username", "").strip()[:100]
        password = form.get("password", "")
        next_url = safe_next(form.get("next"))
        ip = client_ip(request)
        try:
            user = await run_in_threadpool(accounts.authenticate, name, password, ip,
                                           sessions.device(request, name))
        except RateLimited as e:
            return page(request, "login.html", 429, {"Retry-After": str(e.retry_after)},
                        next_url=next_url, username=name, who=None,
                        error=f"Too many failed attempts. Try again in {_wait(e.retry_after)}.")
        except LoginFailed:
            error = "Wrong user name or password."
            if not await run_in_threadpool(accounts.users):
                # The set-up trap: accounts made on another database than the one served.
                error += (" This archive has no accounts yet: create one on the server with"
                          " “opis user add NAME --role editor”, with the same --db as"
                          " “opis serve” (docs/curation.md).")
            return page(request, "login.html", 401, next_url=next_url, username=name,
                        who=None, error=error)
        # A new server-side session (and CSRF token) at login: a planted cookie is worth
        # nothing, and the session this browser had before ends.
        old = sessions.key(request)
        key = await run_in_threadpool(accounts.start_session, user, ip=ip,
                                      user_agent=request.headers.get("user-agent", ""))
        if old:
            await run_in_threadpool(accounts.end_session, old)
        sessions.start(request, key)
        response = RedirectResponse(next_url, 303)
        sessions.set_device(request, response, user.name)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        """Ends the session on the server (AuthMiddleware has checked the CSRF token of a
        signed-in request), then in the browser."""
        key = sessions.key(request)
        if key:
            await run_in_threadpool(accounts.end_session, key)
        sessions.clear(request)
        return RedirectResponse("/", 303)

    # -- one's own account -----------------------------------------------------------------

    def render(request: Request, who: Principal, code: int = 200,
               **extra: Any) -> HTMLResponse:
        found = accounts.sessions(who.name)
        here = [s for s in found if s.id_hash == who.session_hash]
        others = [s for s in found if s.id_hash != who.session_hash]
        return page(request, "account.html", code, who=who,
                    this_session=here[0] if here else None, others=others,
                    done=DONE.get(request.query_params.get("done", "")), **extra)

    @router.get("/account", response_class=HTMLResponse)
    def account_page(request: Request, who: Principal = page_reader) -> HTMLResponse:
        browser_only(who)
        return render(request, who)

    @router.post("/account/password", response_class=HTMLResponse)
    async def change_password(request: Request, who: Principal = reader) -> Response:
        await check_csrf(request)
        browser_only(who)
        form = await _form(request)
        current, new = form.get("current_password", ""), form.get("new_password", "")
        if new != form.get("repeat_password", ""):
            return await run_in_threadpool(
                render, request, who, 400,
                password_error="The new password and its repetition differ: nothing changed.")
        try:  # the current password, checked under the same limits as a login
            await run_in_threadpool(accounts.authenticate, who.name, current,
                                    client_ip(request), sessions.device(request, who.name))
        except RateLimited as e:
            return await run_in_threadpool(
                render, request, who, 429,
                password_error=f"Too many wrong passwords: try again in {e.retry_after} s.")
        except LoginFailed:
            return await run_in_threadpool(
                render, request, who, 400,
                password_error="Your current password is not right: nothing changed.")
        try:
            await run_in_threadpool(lambda: accounts.set_password(
                who.name, new, actor=who.name, keep_session=who.session_hash))
        except AccountError as e:
            return await run_in_threadpool(render, request, who, 400,
                                           password_error=f"Nothing changed: {e}.")
        return RedirectResponse("/account?done=password", 303)

    @router.post("/account/sessions/end", response_class=HTMLResponse)
    async def end_sessions(request: Request, who: Principal = reader) -> Response:
        await check_csrf(request)
        browser_only(who)
        form = await _form(request)
        chosen = form.get("session", "")
        if chosen == "others":
            await run_in_threadpool(accounts.end_other_sessions, who.name,
                                    who.session_hash or "", actor=who.name)
            return RedirectResponse("/account?done=others", 303)
        mine = {s.id_hash for s in await run_in_threadpool(accounts.sessions, who.name)}
        if len(chosen) < 16 or chosen not in mine or chosen == who.session_hash:
            return await run_in_threadpool(
                render, request, who, 400,
                sessions_error="That session has ended already or is not one of yours "
                               "(to sign out this browser, use Log out).")
        await run_in_threadpool(lambda: accounts.end_sessions(who.name, prefix=chosen,
                                                              actor=who.name))
        return RedirectResponse("/account?done=one", 303)

    return router


def install_account(app: FastAPI) -> None:
    """The account page, on an app whose security is installed (accounts, sessions)."""
    app.include_router(build_router(app.state.accounts, app.state.opis_sessions,
                                    app.state.templates))
