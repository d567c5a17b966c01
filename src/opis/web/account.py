"""The signed-in user's own account page: change one's password (the current one asked
first, under the login limits) and see and end one's sessions, without an
administrator or a shell. Only for browser sessions: an API token has no password to
change and no browser to sign out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from opis.services.accounts import AccountError, Accounts, LoginFailed, Principal, RateLimited
from opis.web.security import AuthProblem, Sessions, check_csrf, client_ip, require

DONE = {
    "password": "Your password is changed. Every other browser signed in as you has been "
                "signed out.",
    "others": "Every other browser signed in as you has been signed out.",
    "one": "That browser has been signed out.",
}


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def build_router(accounts: Accounts, sessions: Sessions,
                 templates: Jinja2Templates) -> APIRouter:
    router = APIRouter()
    page_reader = Depends(require("read", page=True))
    reader = Depends(require("read"))

    def browser_only(who: Principal) -> None:
        if who.via != "session" or who.session_hash is None:
            raise AuthProblem(403, "The account page is for a signed-in browser; an API "
                                   "token's owner manages it there.")

    def render(request: Request, who: Principal, code: int = 200,
               **extra: Any) -> HTMLResponse:
        found = accounts.sessions(who.name)
        here = [s for s in found if s.id_hash == who.session_hash]
        others = [s for s in found if s.id_hash != who.session_hash]
        return templates.TemplateResponse(request, "account.html", {
            "who": who, "this_session": here[0] if here else None, "others": others,
            "done": DONE.get(request.query_params.get("done", "")), **extra},
            status_code=code)

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
