"""What every route module needs: the archive, the template renderer, opaque cursors."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from opis.services.archive import Archive


def archive_of(request: Request) -> Archive:
    return request.app.state.archive


def page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    """A template rendered with plain objects: templates never query."""
    return request.app.state.templates.TemplateResponse(request, name, context,
                                                        status_code=code)


def encode_cursor(key: Any) -> str:
    """An opaque cursor: base64 of the last row's sort key, so clients never build one."""
    raw = json.dumps(key, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise HTTPException(400, "invalid cursor: pass back the next_cursor of a previous "
                                 "response unchanged") from None


def not_found(message: str) -> HTTPException:
    return HTTPException(404, message)
