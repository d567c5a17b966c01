"""What every response carries and every request body is held to: the security headers
(a strict Content-Security-Policy), the body-size cap, and the HTML a summary may keep.
They know nothing of users or sessions, so they live apart from ``security``."""

from __future__ import annotations

import nh3
from markupsafe import Markup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opis.config import DEFAULT_MAX_BODY

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
       "base-uri 'self'; form-action 'self'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
}
# HTML a summary may keep: inline emphasis, paragraphs, lists, quotations, links.
SUMMARY_TAGS = {"p", "br", "em", "strong", "i", "b", "u", "sub", "sup", "small", "q", "cite",
                "blockquote", "ul", "ol", "li", "a", "abbr", "span"}
SUMMARY_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "q": {"cite"}}


class SecurityHeadersMiddleware:
    """Adds CSP and friends to every response that has not set its own."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security",
                                    b"max-age=31536000; includeSubDomains"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses request bodies over ``limit`` bytes with 413, whether announced by
    Content-Length or streamed in chunks."""

    def __init__(self, app: ASGIApp, limit: int = DEFAULT_MAX_BODY):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    await self._refuse(scope, send)
                    return
        seen = 0
        over = False  # the body went past the limit: whatever the app answers becomes 413
        refused = False

        async def counting_receive() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise BodyTooLarge()  # the app stops reading and writes nothing
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal refused
            if over:
                if not refused:
                    refused = True
                    await self._refuse(scope, send)
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not refused:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        path = scope.get("path", "")
        mb = self.limit / (1024 * 1024)
        if path.startswith("/api/") or path.endswith(".json"):
            body = (b'{"error": "request body too large (limit %.1f MB)", "status": 413}' % mb)
            ctype = b"application/json"
        else:
            body = (b"<!doctype html><title>413 Request too large</title><h1>Request too large"
                    b"</h1><p>The limit is %.1f MB.</p>" % mb)
            ctype = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", ctype),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def sanitize_html(value: str | None) -> Markup:
    """Summary HTML reduced to harmless markup: no script, no event handlers, no
    javascript: links, no styles (the CSP would block them anyway)."""
    if not value:
        return Markup("")
    return Markup(nh3.clean(str(value), tags=SUMMARY_TAGS, attributes=SUMMARY_ATTRIBUTES,
                            url_schemes={"http", "https", "mailto"},
                            link_rel="noopener noreferrer nofollow"))
