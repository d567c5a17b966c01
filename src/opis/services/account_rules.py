"""The rules accounts live by, apart from the database: roles and token scopes, what a
name and a password may be, how login failures make a client wait, how long sessions
last, and how secrets are hashed. ``services/accounts.py`` applies them."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

from opis.config import settings
from opis.store import accounts as store
from opis.store.accounts import FailureCounts, Token

ROLES = ("reader", "editor", "admin")
SCOPES = ("read", "edit", "admin")
# What each role and each token scope allows, as one ladder: read < edit < admin.
LEVELS = {"reader": 1, "editor": 2, "admin": 3, "read": 1, "edit": 2}
TOKEN_PREFIX = "opis_"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# Login limits (docs/security.md explains the policy).
LOGIN_WINDOW = timedelta(minutes=15)  # how long a failure counts for a client, an address
LOGIN_LIMIT = 5  # per account for one client: its device cookie, else its address
ADDRESS_LIMIT = 30  # per address without a device cookie, whatever the user names
ACCOUNT_WINDOW = timedelta(hours=24)  # how long a failure counts for the account
ACCOUNT_FREE = 10  # per account for all clients without its device cookie, then delays
ACCOUNT_MAX_DELAY = 300  # seconds: the longest that growing delay gets
# Sessions end when idle this long, and in any case this long after login.
SESSION_TOUCH = timedelta(minutes=1)  # last-seen is written at most this often


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; the message says why."""


class LoginFailed(Exception):
    """Wrong name or password, or a disabled account: one message for all, on purpose."""


class RateLimited(Exception):
    """Too many recent failures: the password was not checked."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    """Who is asking, and through what: a browser session or an API token."""

    user_id: int
    name: str
    role: str
    via: str  # "session" or "token"
    scopes: tuple[str, ...] = ()
    token_id: int | None = None
    session_hash: str | None = None  # which server-side session, for "end the others"

    @property
    def level(self) -> int:
        role = LEVELS.get(self.role, 0)
        if self.via == "token":
            return min(role, max((LEVELS.get(s, 0) for s in self.scopes), default=0))
        return role

    @property
    def effective_role(self) -> str:
        """The role this request acts with: a token never does more than its scopes."""
        return {3: "admin", 2: "editor", 1: "reader"}.get(self.level, "none")

    def can(self, need: str) -> bool:
        """``need`` is a scope name: "read", "edit" or "admin"."""
        return self.level >= LEVELS[need]


def password_hasher() -> PasswordHasher:
    """Argon2id with argon2-cffi's defaults (64 MiB, 3 passes: RFC 9106's second
    recommendation); ``OPIS_ARGON2_MEMORY_KIB`` and ``OPIS_ARGON2_TIME_COST`` tune it for
    small machines. Existing hashes keep verifying and are upgraded at the next login."""
    found = settings()
    return PasswordHasher(time_cost=found.argon2_time_cost,
                          memory_cost=found.argon2_memory_kib)


def hash_token(token: str) -> str:
    """SHA-256 of an API token or a session id: what the database keeps instead."""
    return hashlib.sha256(token.encode()).hexdigest()


def login_key(name: str) -> str:
    """The name failures are counted under: the name itself when it could be a user's,
    else a digest (a name with NUL or other characters no account has is still counted,
    and never reaches a database that would refuse it)."""
    if NAME_RE.fullmatch(name):
        return name
    return "~" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def token_status(token: Token, at: datetime | None = None) -> str:
    """What a token can do now: "user disabled", "revoked", "expired" or "active"."""
    if token.user_disabled:
        return "user disabled"
    if token.revoked_at is not None:
        return "revoked"
    expires = as_utc(token.expires_at)
    if expires is not None and expires <= (at or store.now()):
        return "expired"
    return "active"


def login_wait(counts: FailureCounts, at: datetime, *, trusted: bool) -> int:
    """Seconds this attempt must wait (0: check the password). ``trusted``: it carries
    a device cookie from an earlier login as this user, so only its own count applies."""
    until: list[datetime] = []
    if counts.client >= LOGIN_LIMIT and counts.client_oldest is not None:
        until.append(_utc(counts.client_oldest) + LOGIN_WINDOW)
    if not trusted:
        if counts.address >= ADDRESS_LIMIT and counts.address_oldest is not None:
            until.append(_utc(counts.address_oldest) + LOGIN_WINDOW)
        if counts.account >= ACCOUNT_FREE and counts.account_latest is not None:
            delay = min(2 ** (counts.account - ACCOUNT_FREE), ACCOUNT_MAX_DELAY)
            until.append(_utc(counts.account_latest) + timedelta(seconds=delay))
    wait = max(((u - at).total_seconds() for u in until), default=0.0)
    return math.ceil(wait) if wait > 0 else 0


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything opis stores is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
