"""Signed, opaque tokens for values that make a round trip through a client: the API's
cursors and OAI-PMH resumption tokens.

A client may only hand back what opis gave it. Each token is base64url of compact JSON
followed by an HMAC-SHA256 (itsdangerous's ``Signer``) under a key derived, by HMAC
with a purpose label, from the archive's secret (``Accounts.secret_key``: the
``OPIS_SECRET_KEY`` setting or the key kept in the database). So a cursor cannot be
replayed as a resumption token, nor a search cursor as a records cursor, and a forged,
altered or truncated token is refused before a byte of it is decoded. The length is
checked before anything else, so a megabyte of garbage costs nothing to refuse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

from itsdangerous import BadSignature, Signer

from opis.services.accounts import Accounts
from opis.store.db import Database

# base64url body, ".", base64url signature: nothing else is ever issued.
_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class BadToken(ValueError):
    """A token opis did not issue (or issued under another key or for another purpose)."""


class SignedJSON:
    """JSON payloads signed for one purpose; ``loads`` returns only what ``dumps`` made."""

    def __init__(self, secret: str | bytes, purpose: str, *, max_length: int):
        self.max_length = max_length
        self._signer = Signer(secret, salt=f"opis:{purpose}", key_derivation="hmac",
                              digest_method=hashlib.sha256)

    def dumps(self, payload: Any) -> str:
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        body = base64.urlsafe_b64encode(raw).rstrip(b"=")
        token = self._signer.sign(body).decode("ascii")
        if len(token) > self.max_length:  # a bug of ours, never a client's
            raise ValueError(f"a {len(token)}-character token is over the limit of "
                             f"{self.max_length}")
        return token

    def loads(self, token: str) -> Any:
        """The payload, or BadToken: checked for length, shape and signature, in that
        order, before it is decoded."""
        if len(token) > self.max_length:
            raise BadToken(f"longer than {self.max_length} characters")
        if not _SHAPE.fullmatch(token):
            raise BadToken("not a token this server issued")
        try:
            body = self._signer.unsign(token.encode("ascii"))
        except BadSignature:
            raise BadToken("its signature does not match (altered, truncated, or made "
                           "with another key)") from None
        try:
            return json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
        except (binascii.Error, ValueError, RecursionError):  # only if our own key leaked
            raise BadToken("not a token this server issued") from None


def archive_secret(db: Database) -> str:
    """The archive's signing secret: the same in every worker and across restarts."""
    return Accounts(db).secret_key()


__all__ = ["BadToken", "SignedJSON", "archive_secret"]
