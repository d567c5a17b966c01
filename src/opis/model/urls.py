"""Which addresses a record may carry as a link or an image.

One rule each, shared by the edit form (services/curation.py), ingest
(services/archive.py) and the document page (web/documents.py), so a value refused in
one place is never accepted in another.
"""

from __future__ import annotations

import re
from typing import TypeGuard
from urllib.parse import unquote, urlsplit

WEB_SCHEMES = ("http", "https")
WEB_ADDRESS_PROBLEM = "must be an http:// or https:// address"
# A browser drops tabs and newlines inside a URL, strips leading controls and spaces,
# and reads "\" as "/": any of them could turn "/x" into "//host/x".
_UNSAFE_IN_PATH = re.compile(r"[\x00-\x20\x7f\\]")
# Once percent-decoded, a space is a file name's ("%20"); a control or "\" never is.
_UNSAFE_DECODED = re.compile(r"[\x00-\x1f\x7f\\]")


def web_address_problem(value: str) -> str | None:
    """Why ``value`` is not an http(s) address with a host (``javascript:``,
    ``data:``, ``vbscript:``, a bare path...), or None when it is one."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.netloc:
        return WEB_ADDRESS_PROBLEM
    return None


def is_web_address(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and web_address_problem(value) is None


def is_local_path(value: object) -> TypeGuard[str]:
    """True for a path on this site (``/attachments/ab12…``) that no browser can read
    as another host: it starts with one ``/``, has no scheme, host, backslash, space
    or control character, and the same holds once percent-decoded (twice, for values
    that were encoded twice; a decoded space is allowed)."""
    if not isinstance(value, str):
        return False
    seen = value
    unsafe = _UNSAFE_IN_PATH
    for _ in range(3):
        if not seen.startswith("/") or seen.startswith("//") or unsafe.search(seen):
            return False
        parts = urlsplit(seen)
        if parts.scheme or parts.netloc:
            return False
        decoded = unquote(seen)
        if decoded == seen:
            return True
        seen, unsafe = decoded, _UNSAFE_DECODED
    return False  # still encoded after three rounds: nothing opis itself would write
