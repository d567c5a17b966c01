"""Read-your-writes behind read replicas: after a reader's write (a curator's save, an
upload, a login), the pages that reader asks for next read from the primary for as
long as a replica may trail it, so the page after "Saved" shows the save.

A successful write request (anything but GET, HEAD and OPTIONS answered below 400) sets
a short-lived cookie with its time; a request that carries it, within the window, has
its reads sent to the primary (``Database.from_primary``). Other readers keep reading
from the replicas, which are skipped when they trail by more than the lag bound.
"""

from __future__ import annotations

import math
import time
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opis.services.archive import Archive

COOKIE = "opis_wrote"
READS = {"GET", "HEAD", "OPTIONS"}


class ReadYourWrites:
    """The middleware; ``window`` is the seconds a replica may trail the primary."""

    def __init__(self, app: ASGIApp, archive: Archive, window: float):
        self.app = app
        self.archive = archive
        self.window = window

    def _wrote_recently(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name != b"cookie":
                continue
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed cookie header: not ours
                continue
            if COOKIE in jar:
                try:
                    at = float(jar[COOKIE].value)
                except ValueError:
                    return False
                return 0 <= time.time() - at <= self.window
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        writes = scope.get("method", "GET") not in READS

        async def send_marked(message: Message) -> None:
            if writes and message["type"] == "http.response.start" \
                    and message["status"] < 400:
                cookie = (f"{COOKIE}={time.time():.3f}; Max-Age={math.ceil(self.window)}; "
                          "Path=/; SameSite=Lax; HttpOnly")
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"set-cookie", cookie.encode())]}
            await send(message)

        if self._wrote_recently(scope):
            with self.archive.db.from_primary():
                await self.app(scope, receive, send_marked)
        else:
            await self.app(scope, receive, send_marked)
