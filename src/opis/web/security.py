"""Who may do what, and the defences every response carries.

- Sessions live on the server (``Accounts.start_session``); the HttpOnly, SameSite=Lax
  cookie (``Secure`` over https) carries only the random session id, signed with
  itsdangerous, so logout, disabling a user or a new password end a session whatever
  cookie a browser kept. Before login the cookie names an anonymous visitor, for the
  login form's CSRF token. The CSRF token is an HMAC of the cookie's id: one per
  session, new at login, never stored.
- Every cookie-authenticated POST/PUT/PATCH/DELETE must echo the CSRF token (header
  ``X-CSRF-Token``, or form field ``csrf_token``), whatever its content type or route;
  ``AuthMiddleware`` checks it before any route runs. API calls that send
  ``Authorization: Bearer <token>`` need none, since a browser never adds that header
  by itself.
- ``require("read" | "edit" | "admin")`` is the one dependency every protected route
  uses: anonymous -> 401 (or a redirect to the login page for pages), too little role
  or token scope -> 403.
- Every response gets a strict Content-Security-Policy (no inline script or style) and
  the other usual headers; every response to a signed-in request, and every page with
  a CSRF token, is ``Cache-Control: no-store``; request bodies are capped; a database
  that is down gives a clear 503 instead of a stack trace.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opis.config import settings
from opis.services.accounts import Accounts, Principal
from opis.services.errors import ANSWERED, DatabaseError, database_unavailable
from opis.web.guards import (
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    sanitize_html,
)

SESSION_COOKIE = "opis_session"
DEVICE_COOKIE = "opis_device"  # "this browser has logged in as NAME before" (login limits)
DEVICE_MAX_AGE = 365 * 24 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})  # any other method is a write
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
CSRF_MESSAGE = ("This form has expired or did not come from this site. "
                "Reload the page and try again.")
UNAVAILABLE = "The archive's database is unavailable right now. Please try again in a minute."


# -- errors the handlers turn into responses --------------------------------------------------

class AuthProblem(Exception):
    """401/403/429 with a message; pages get the error page, API calls JSON."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class LoginRequired(AuthProblem):
    """An anonymous visitor asked for a page that needs an account: send them to log in."""

    def __init__(self, next_url: str):
        super().__init__(401, "Please log in to see this page.")
        self.next_url = next_url


def wants_json(request: Request) -> bool:
    path = request.url.path
    return (path.endswith(".json") or path.startswith("/api/")
            or request.headers.get("authorization", "").lower().startswith("bearer "))


# -- sessions -------------------------------------------------------------------------------

class Sessions:
    """The session cookie and what hangs on it. Its signed value is ``{"k": id}`` for a
    server-side session or ``{"a": nonce}`` for an anonymous visitor who was given a
    form; the key comes from the accounts service on first use."""

    def __init__(self, accounts: Accounts):
        self.accounts = accounts
        self._signers: dict[str, URLSafeTimedSerializer] = {}

    def _signer(self, salt: str) -> URLSafeTimedSerializer:
        if salt not in self._signers:
            self._signers[salt] = URLSafeTimedSerializer(self.accounts.secret_key(), salt=salt)
        return self._signers[salt]

    @property
    def serializer(self) -> URLSafeTimedSerializer:
        """Signs the session cookie."""
        return self._signer("opis-session")

    @property
    def devices(self) -> URLSafeTimedSerializer:
        """Signs device cookies (a different salt: one can never pass for the other)."""
        return self._signer("opis-device")

    @property
    def max_age(self) -> int:
        return int(self.accounts.session_lifetime.total_seconds())

    def load(self, request: Request) -> dict[str, Any]:
        cached = getattr(request.state, "opis_session", None)
        if cached is not None:
            return cached
        data: dict[str, Any] = {}
        raw = request.cookies.get(SESSION_COOKIE)
        if raw:
            try:
                value = self.serializer.loads(raw, max_age=self.max_age)
                if isinstance(value, dict) and any(isinstance(value.get(k), str)
                                                   for k in ("k", "a")):
                    data = value
            except BadSignature:
                data = {}
        request.state.opis_session = data
        return data

    def _save(self, request: Request, data: dict[str, Any]) -> None:
        """Replace the cookie's value; the middleware writes it on the response."""
        request.state.opis_session = data
        request.state.opis_cookie = self.serializer.dumps(data) if data else ""

    def key(self, request: Request) -> str | None:
        """The server-side session id the cookie names, if any."""
        key = self.load(request).get("k")
        return key if isinstance(key, str) else None

    def start(self, request: Request, key: str) -> None:
        """Point the cookie at a new server-side session (and so a new CSRF token)."""
        self._save(request, {"k": key})

    def clear(self, request: Request) -> None:
        self._save(request, {})

    def _csrf_for(self, data: dict[str, Any]) -> str | None:
        ident = (f"k:{data['k']}" if isinstance(data.get("k"), str)
                 else f"a:{data['a']}" if isinstance(data.get("a"), str) else None)
        if ident is None:
            return None
        mac = hmac.new(self.accounts.secret_key().encode(), b"opis-csrf|" + ident.encode(),
                       hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode()

    def expected_csrf(self, request: Request) -> str | None:
        return self._csrf_for(self.load(request))

    def csrf_token(self, request: Request) -> str:
        """The session's CSRF token, naming an anonymous visitor when there is no session.
        A response that shows one is never stored by a cache."""
        request.state.opis_private = True
        data = self.load(request)
        token = self._csrf_for(data)
        if token is None:
            data = {"a": secrets.token_urlsafe(18)}
            self._save(request, data)
            token = self._csrf_for(data)
        return token  # type: ignore[return-value]

    def device(self, request: Request, name: str) -> str | None:
        """The nonce of this browser's device cookie when it was given at a login as
        ``name`` (OWASP's device cookies: a known client for the login limits)."""
        raw = request.cookies.get(DEVICE_COOKIE)
        if not raw:
            return None
        try:
            value = self.devices.loads(raw, max_age=DEVICE_MAX_AGE)
        except BadSignature:
            return None
        if (isinstance(value, dict) and value.get("u") == name
                and isinstance(value.get("n"), str)):
            return value["n"]
        return None

    def set_device(self, request: Request, response: Response, name: str) -> None:
        """Mark this browser as one ``name`` logged in from, with a fresh nonce."""
        value = self.devices.dumps({"u": name, "n": secrets.token_urlsafe(16)})
        response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_MAX_AGE, path="/login",
                            httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")


class SessionCookieMiddleware:
    """Writes the cookie a handler asked for (``Sessions.start``/``clear``/a new CSRF
    token) on the way out, and makes every response to a signed-in request (or showing
    a CSRF token, or setting the cookie) ``Cache-Control: no-store``."""

    def __init__(self, app: ASGIApp, max_age: Callable[[], int]):
        self.app = app
        self.max_age = max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if "opis_cookie" in state:
                    value = state["opis_cookie"]
                    secure = "; Secure" if scope.get("scheme") == "https" else ""
                    age = self.max_age() if value else 0
                    cookie = (f"{SESSION_COOKIE}={value}; Path=/; Max-Age={age}; HttpOnly; "
                              f"SameSite=Lax{secure}")
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                if "opis_cookie" in state or state.get("user") or state.get("opis_private"):
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


# -- who is asking --------------------------------------------------------------------------

def _sessions(request: Request) -> Sessions:
    return request.app.state.opis_sessions


def principal(request: Request) -> Principal | None:
    """The signed-in user or token owner (blocking: it reads the database once per
    request). A bad or revoked token is refused outright, never treated as anonymous."""
    if hasattr(request.state, "opis_principal"):  # looked up once per request
        cached: Principal | None = request.state.opis_principal
        return cached
    accounts: Accounts = request.app.state.accounts
    who: Principal | None = None
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthProblem(401, "Use 'Authorization: Bearer <token>'.",
                              {"WWW-Authenticate": 'Bearer error="invalid_request"'})
        who = accounts.token_principal(token.strip())
        if who is None:
            raise AuthProblem(401, "This token is not valid (revoked, expired, or its user "
                              "disabled).", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    else:
        sessions = _sessions(request)
        key = sessions.key(request)
        if key is not None:
            who = accounts.session_principal(key)
            if who is None:
                sessions.clear(request)  # ended or expired: the browser forgets it too
    request.state.opis_principal = who
    return who


class AuthMiddleware:
    """Resolves who is asking once per request and publishes it as ``request.state.user``
    (``{"name", "role", "via"}`` with the role a token's scopes leave, or None), so route
    modules that only need a role check can read it. Every cookie-authenticated write
    must echo the CSRF token, whatever route it reaches and whatever its content type:
    in the X-CSRF-Token header, or for a form in its ``csrf_token`` field (the body is
    read here and handed on to the route unchanged)."""

    def __init__(self, app: ASGIApp, templates: Jinja2Templates):
        self.app = app
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["user"] = None
        request = Request(scope)
        if "authorization" in request.headers or SESSION_COOKIE in request.cookies:
            try:
                who = await run_in_threadpool(principal, request)
            except AuthProblem as e:
                await self._respond(request, send, e.status, e.message, e.headers)
                return
            except DatabaseError as e:
                if not database_unavailable(e):
                    raise
                state["opis_principal"] = None  # the error page renders as anonymous
                await self._respond(request, send, 503, UNAVAILABLE, {"Retry-After": "30"})
                return
            if who is not None:
                state["user"] = {"name": who.name, "role": who.effective_role, "via": who.via}
                if who.via == "session" and request.method not in SAFE_METHODS:
                    expected = _sessions(request).expected_csrf(request)
                    sent, receive = await _sent_csrf(request, receive)
                    if not expected or not sent or not hmac.compare_digest(sent, expected):
                        await self._respond(request, send, 403, CSRF_MESSAGE)
                        return
        await self.app(scope, receive, send)

    async def _respond(self, request: Request, send: Send, status: int, message: str,
                       headers: dict[str, str] | None = None) -> None:
        if wants_json(request):
            response: Response = JSONResponse({"error": message, "status": status}, status,
                                              headers=headers)
        else:
            response = self.templates.TemplateResponse(
                request, "error.html", {"status": status, "message": message},
                status_code=status, headers=headers)
        await response(request.scope, request.receive, send)


def current_user(request: Request) -> Principal | None:
    """For templates: never fails a page (a database error shows the visitor as anonymous)."""
    try:
        return principal(request)
    except (AuthProblem, DatabaseError):
        return None


async def _sent_csrf(request: Request, receive: Receive) -> tuple[str | None, Receive]:
    """The CSRF token a request sent (header, else a form's field), and a ``receive``
    that replays the body for the app when it had to be read here."""
    header = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if header is not None or content_type not in FORM_TYPES:
        return header, receive
    chunks: list[bytes] = []
    while True:  # bounded: BodyLimitMiddleware sits outside and stops an oversized body
        message = await receive()
        if message["type"] != "http.request":
            return None, receive  # the client went away
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)

    def replaying(then: Receive) -> Receive:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await then()

        return replay

    async def disconnected() -> Message:
        return {"type": "http.disconnect"}

    token = None
    try:
        form = await Request(request.scope, replaying(disconnected)).form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
        await form.close()
    except (MultiPartException, StarletteHTTPException, ValueError):
        token = None  # a form that does not parse carries no token
    return token, replaying(receive)


async def check_csrf(request: Request) -> None:
    """A form field or header must echo the CSRF token (compared in constant time): the
    login form's check, made before anyone is signed in. Signed-in writes are checked by
    AuthMiddleware."""
    expected = _sessions(request).expected_csrf(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(sent, expected):
        raise AuthProblem(403, CSRF_MESSAGE)


def require(need: str, *, page: bool = False) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting only principals allowed ``need`` ("read", "edit", "admin").

    ``page`` routes send anonymous GET requests to the login page instead of a 401."""

    async def dependency(request: Request) -> Principal:
        who = await run_in_threadpool(principal, request)
        if who is None:
            if page and request.method in ("GET", "HEAD"):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise LoginRequired(target)
            raise AuthProblem(401, "Please log in (or send an API token) to do this.",
                              {"WWW-Authenticate": 'Bearer realm="opis"'})
        if not who.can(need):
            what = {"read": "a reader", "edit": "an editor", "admin": "an administrator"}[need]
            scope = " (or a token with that scope)" if who.via == "token" else ""
            raise AuthProblem(403, f"Only {what}{scope} may do this.")
        return who

    dependency.__name__ = f"require_{need}"
    return dependency


def safe_next(value: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if (not value or not value.startswith("/") or value.startswith("//")
            or "\\" in value or any(ord(c) < 32 for c in value)):
        return "/"
    return value


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- installing -----------------------------------------------------------------------------

def install_security(app: FastAPI, templates: Jinja2Templates, accounts: Accounts,
                     *, max_body: int | None = None) -> None:
    """Sessions, the auth error handlers, the 503 handler and the security middlewares."""
    app.state.accounts = accounts
    app.state.opis_sessions = sessions = Sessions(accounts)
    templates.env.globals["current_user"] = current_user
    templates.env.globals["csrf_token"] = sessions.csrf_token
    templates.env.filters["sanitize"] = sanitize_html

    def error_page(request: Request, status: int, message: str,
                   headers: dict[str, str] | None = None) -> Response:
        if wants_json(request):
            return JSONResponse({"error": message, "status": status}, status, headers=headers)
        return templates.TemplateResponse(request, "error.html",
                                          {"status": status, "message": message},
                                          status_code=status, headers=headers)

    async def auth_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthProblem)
        if isinstance(exc, LoginRequired) and not wants_json(request):
            return RedirectResponse("/login?next=" + quote(safe_next(exc.next_url), safe="/"),
                                    303)
        return error_page(request, exc.status, exc.message, exc.headers)

    async def database_error(request: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            raise exc  # a bug, not an outage: the app's 500 handler answers
        return error_page(request, 503, UNAVAILABLE, {"Retry-After": "30"})

    app.add_exception_handler(AuthProblem, auth_problem)
    for kind in ANSWERED:
        app.add_exception_handler(kind, database_error)
    limit = max_body or settings().max_body
    app.add_middleware(AuthMiddleware, templates=templates)  # innermost of the four
    app.add_middleware(SessionCookieMiddleware, max_age=lambda: sessions.max_age)
    app.add_middleware(BodyLimitMiddleware, limit=limit)
    app.add_middleware(SecurityHeadersMiddleware)


__all__ = ["AuthProblem", "LoginRequired", "Sessions", "check_csrf",
           "client_ip", "current_user", "install_security", "principal", "require",
           "safe_next", "sanitize_html"]
