"""What every route module needs: the archive, the template renderer, opaque cursors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from opis.services.archive import Archive
from opis.services.signing import BadToken, SignedJSON

# A cursor holds at most a 200-character id (800 bytes of UTF-8, JSON-escaped at worst
# 1,200): base64 and the signature keep it under 2,048 characters.
CURSOR_MAX_LENGTH = 2048


def archive_of(request: Request) -> Archive:
    return request.app.state.archive


def site_url(request: Request) -> str:
    """The site's absolute address, never taken from an untrusted Host header (which
    anyone can set, and which was reflected in OAI-PMH's baseURL and the citation
    tags): ``OPIS_BASE_URL`` when set; the Host header when ``OPIS_ALLOWED_HOSTS`` has
    vetted it; else the address the server itself listens on (so localhost works)."""
    state = request.app.state
    if getattr(state, "base_url", None):
        return state.base_url
    if getattr(state, "allowed_hosts", None):
        return str(request.base_url).rstrip("/")
    scheme = request.scope.get("scheme", "http")
    host, port = request.scope.get("server") or ("localhost", None)
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{request.scope.get('root_path', '')}".rstrip("/")


def absolute_url(request: Request, path: str) -> str:
    return site_url(request) + path


def page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    """A template rendered with plain objects: templates never query."""
    return request.app.state.templates.TemplateResponse(request, name, context,
                                                        status_code=code)


def _cursor_signer(request: Request, purpose: str) -> SignedJSON:
    """One signer per list, keyed from the archive's secret (made once per app)."""
    state = request.app.state
    signers: dict[str, SignedJSON] | None = getattr(state, "cursor_signers", None)
    if signers is None:
        signers = state.cursor_signers = {}
    if purpose not in signers:
        signers[purpose] = SignedJSON(state.accounts.secret_key(), f"cursor:{purpose}",
                                      max_length=CURSOR_MAX_LENGTH)
    return signers[purpose]


def encode_cursor(request: Request, purpose: str, key: list[Any]) -> str:
    """An opaque cursor: the last row's sort key, signed for this list (``purpose``),
    so a client can only hand back one this server made for it."""
    return _cursor_signer(request, purpose).dumps(key)


def decode_cursor(request: Request, purpose: str, cursor: str | None,
                  valid: Callable[[Any], bool]) -> list[Any] | None:
    """The key a cursor carries, or a 400 naming the parameter: a cursor that is too
    long, not signed by this server for this list, or whose key ``valid`` refuses."""
    if not cursor:
        return None
    try:
        key = _cursor_signer(request, purpose).loads(cursor)
    except BadToken as e:
        raise HTTPException(400, f"cursor: not a cursor of this list ({e}); pass back the "
                                 "next_cursor of a previous response unchanged, or start "
                                 "again without one") from None
    if not isinstance(key, list) or not valid(key):
        raise HTTPException(400, "cursor: not a cursor of this list; pass back the "
                                 "next_cursor of a previous response unchanged")
    return key


def not_found(message: str) -> HTTPException:
    return HTTPException(404, message)
