"""Accounts: who may change the archive, and how they prove it.

Passwords are hashed with Argon2id; API tokens are random 256-bit strings of which
only a SHA-256 is stored (a fast hash is right for high-entropy secrets, a slow one
is needed only for guessable passwords). Failed logins are counted per address and
per user name in the database, so every worker process shares the limit.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from opis.store import accounts as store
from opis.store import audit
from opis.store.accounts import Token, User
from opis.store.db import Database

ROLES = ("reader", "editor", "admin")
SCOPES = ("read", "edit", "admin")
# What each role and each token scope allows, as one ladder: read < edit < admin.
LEVELS = {"reader": 1, "editor": 2, "admin": 3, "read": 1, "edit": 2}
TOKEN_PREFIX = "opis_"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
LOGIN_WINDOW = timedelta(minutes=5)
LOGIN_MAX_FAILURES = 5


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; the message says why."""


class LoginFailed(Exception):
    """Wrong name or password, or a disabled account: one message for all, on purpose."""


class RateLimited(Exception):
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
    fingerprint: str = ""

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
    memory = int(os.environ.get("OPIS_ARGON2_MEMORY_KIB", "65536"))
    passes = int(os.environ.get("OPIS_ARGON2_TIME_COST", "3"))
    return PasswordHasher(time_cost=passes, memory_cost=memory)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_fingerprint(password_hash: str) -> str:
    """A short digest of the stored hash: sessions carry it, so changing a password
    ends every session opened with the old one."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class Accounts:
    """Every read here is on the primary (``primary_sessions``), never a replica: a
    disabled user, a revoked token, a failed login or a new signing key must count at once.
    """

    def __init__(self, db: Database, hasher: PasswordHasher | None = None):
        self.db = db
        self.hasher = hasher or password_hasher()
        self._dummy_hash: str | None = None
        self._secret: str | None = None

    # -- users ----------------------------------------------------------------------------

    def _check_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
        if len(password) > MAX_PASSWORD:
            raise AccountError(f"a password may have at most {MAX_PASSWORD} characters")

    def add_user(self, name: str, role: str, password: str, *, actor: str = "cli") -> User:
        if not NAME_RE.match(name):
            raise AccountError("a user name is 1-100 letters, digits and _ . @ - "
                               "(starting with a letter or digit)")
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
        self._check_password(password)
        digest = self.hasher.hash(password)
        try:
            with self.db.transaction() as session:
                if store.user_by_name(session, name):
                    raise AccountError(f"user {name} exists already")
                user = store.add_user(session, name, role, digest)
                audit.add_entry(session, actor=actor, action="user.add",
                                detail={"user": name, "role": role})
        except IntegrityError:
            raise AccountError(f"user {name} exists already") from None
        return user

    def users(self) -> list[User]:
        with self.db.primary_sessions() as session:
            return store.list_users(session)

    def user(self, name: str) -> User | None:
        with self.db.primary_sessions() as session:
            return store.user_by_name(session, name)

    def _change(self, name: str, actor: str, action: str, **values: object) -> User:
        with self.db.transaction() as session:
            user = store.user_by_name(session, name)
            if user is None:
                raise AccountError(f"no user named {name}")
            store.update_user(session, user.id, **values)  # type: ignore[arg-type]
            detail = {"user": name} | {k: v for k, v in values.items() if k != "password_hash"}
            audit.add_entry(session, actor=actor, action=action, detail=detail)
            return store.user_by_id(session, user.id)  # type: ignore[return-value]

    def disable_user(self, name: str, *, actor: str = "cli") -> User:
        """Disabling ends the user's sessions and tokens at once; nothing is deleted."""
        return self._change(name, actor, "user.disable", disabled=True)

    def enable_user(self, name: str, *, actor: str = "cli") -> User:
        return self._change(name, actor, "user.enable", disabled=False)

    def set_role(self, name: str, role: str, *, actor: str = "cli") -> User:
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
        return self._change(name, actor, "user.role", role=role)

    def set_password(self, name: str, password: str, *, actor: str = "cli") -> User:
        self._check_password(password)
        return self._change(name, actor, "user.password",
                            password_hash=self.hasher.hash(password))

    # -- logging in -----------------------------------------------------------------------

    def authenticate(self, name: str, password: str, ip: str) -> User:
        """The user, or LoginFailed; RateLimited once an address or a name has failed
        LOGIN_MAX_FAILURES times in LOGIN_WINDOW, before any password is checked."""
        now = store.now()
        with self.db.primary_sessions() as session:
            by_ip, by_name = store.login_failures(session, now - LOGIN_WINDOW, ip=ip,
                                                  username=name)
            if max(by_ip, by_name) >= LOGIN_MAX_FAILURES:
                raise RateLimited(int(LOGIN_WINDOW.total_seconds()))
            user = store.user_by_name(session, name) if len(password) <= MAX_PASSWORD else None
        ok = self._verify(user.password_hash if user else None, password)
        if not ok or user is None or user.disabled:
            with self.db.transaction() as session:
                store.add_login_failure(session, ip, name)
            raise LoginFailed()
        with self.db.transaction() as session:
            store.clear_login_failures(session, username=name, before=now - LOGIN_WINDOW)
            if self.hasher.check_needs_rehash(user.password_hash):
                store.update_user(session, user.id, password_hash=self.hasher.hash(password))
            return store.user_by_id(session, user.id)  # type: ignore[return-value]

    def _verify(self, digest: str | None, password: str) -> bool:
        """Verify, spending the same time when the user does not exist (no name probing)."""
        if digest is None:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash(secrets.token_hex(16))
            digest = self._dummy_hash
            password = password[:MAX_PASSWORD] + "\0"
        try:
            return self.hasher.verify(digest, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return False

    def session_principal(self, user_id: int, fingerprint: str) -> Principal | None:
        """The signed-in user behind a session cookie, if the account is still active and
        its password unchanged since the session began."""
        with self.db.primary_sessions() as session:
            user = store.user_by_id(session, user_id)
        if user is None or user.disabled:
            return None
        if not secrets.compare_digest(password_fingerprint(user.password_hash), fingerprint):
            return None
        return Principal(user.id, user.name, user.role, "session",
                         fingerprint=password_fingerprint(user.password_hash))

    # -- API tokens -----------------------------------------------------------------------

    def create_token(self, name: str, scopes: list[str], label: str = "", *,
                     actor: str = "cli") -> tuple[int, str]:
        """Return (id, token). The token is shown once; only its hash is kept."""
        scopes = sorted(set(scopes), key=SCOPES.index) if scopes else []
        if not scopes:
            raise AccountError("a token needs at least one scope: " + ", ".join(SCOPES))
        bad = [s for s in scopes if s not in SCOPES]
        if bad:
            raise AccountError(f"unknown scope {bad[0]!r}; use: {', '.join(SCOPES)}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            user = store.user_by_name(session, name)
            if user is None:
                raise AccountError(f"no user named {name}")
            if user.disabled:
                raise AccountError(f"user {name} is disabled")
            token_id = store.add_token(session, user.id, hash_token(token), scopes, label[:200])
            audit.add_entry(session, actor=actor, action="token.create",
                            detail={"user": name, "token": token_id, "scopes": scopes,
                                    "label": label[:200]})
        return token_id, token

    def revoke_token(self, token_id: int, *, actor: str = "cli") -> Token:
        with self.db.transaction() as session:
            token = store.revoke_token(session, token_id)
            if token is None:
                raise AccountError(f"no token with id {token_id}")
            audit.add_entry(session, actor=actor, action="token.revoke",
                            detail={"user": token.user_name, "token": token_id})
        return token

    def tokens(self, name: str | None = None) -> list[Token]:
        with self.db.primary_sessions() as session:
            user_id = None
            if name is not None:
                user = store.user_by_name(session, name)
                if user is None:
                    raise AccountError(f"no user named {name}")
                user_id = user.id
            return store.list_tokens(session, user_id)

    def token_principal(self, token: str) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        with self.db.primary_sessions() as session:
            found = store.token_by_hash(session, hash_token(token))
        if found is None:
            return None
        tok, user = found
        if tok.revoked_at is not None or user.disabled:
            return None
        now = store.now()
        last = as_utc(tok.last_used_at)
        if last is None or now - last > timedelta(minutes=10):  # a write now and then only
            with self.db.transaction() as session:
                store.touch_token(session, tok.id, now)
        return Principal(user.id, user.name, user.role, "token", scopes=tok.scopes,
                         token_id=tok.id)

    # -- the session signing key ----------------------------------------------------------

    def secret_key(self) -> str:
        """``OPIS_SECRET_KEY``, else a random key made once and kept in the database so
        every worker (and every restart) signs sessions alike."""
        if self._secret:
            return self._secret
        env = os.environ.get("OPIS_SECRET_KEY")
        if env:
            self._secret = env
            return env
        with self.db.primary_sessions() as session:
            value = store.get_setting(session, "session_secret")
        if value is None:
            try:
                with self.db.transaction() as session:
                    store.put_setting(session, "session_secret", secrets.token_urlsafe(48))
            except IntegrityError:
                pass  # another worker made it first: use theirs
            with self.db.primary_sessions() as session:
                value = store.get_setting(session, "session_secret")
        self._secret = value
        return value  # type: ignore[return-value]


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything opis stores is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
