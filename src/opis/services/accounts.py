"""Accounts: who may change the archive, and how they prove it.

Passwords are hashed with Argon2id; API tokens and session ids are random 256-bit
strings of which only a SHA-256 is stored (a fast hash is right for high-entropy
secrets, a slow one is needed only for guessable passwords), so a copy of the database
signs nobody in. Sessions live on the server: logging out, disabling the user or
changing the password ends them there, whatever cookie a browser kept.

Logins are limited the way OWASP's "Slow Down Online Guessing Attacks with Device
Cookies" proposes, without a lock-out anyone could trigger: each client (a browser
that signed in as the user before, by its device cookie; else an address) has its own
small allowance per account; browsers the account has never used share a larger one
(over a day) after which each try waits twice as long as the one before, up to five
minutes; an address has a ceiling across all names. Every attempt is written, under a
lock, before its password is checked, so parallel attempts cannot slip past the count.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from opis.config import SESSION_IDLE, settings
from opis.services.account_rules import (
    ACCOUNT_WINDOW,
    ADDRESS_LIMIT,
    LOGIN_LIMIT,
    LOGIN_WINDOW,
    MAX_PASSWORD,
    MIN_PASSWORD,
    NAME_RE,
    ROLES,
    SCOPES,
    SESSION_TOUCH,
    TOKEN_PREFIX,
    AccountError,
    LoginFailed,
    Principal,
    RateLimited,
    as_utc,
    encodable,
    hash_token,
    login_key,
    login_wait,
    password_hasher,
    token_status,
)
from opis.store import accounts as store
from opis.store import audit
from opis.store.accounts import SessionInfo, Token, User
from opis.store.db import Database
from opis.store.errors import Conflict, StoreSession, Unwritable


class Accounts:
    """Every read here is on the primary (``primary_sessions``), never a replica: a
    disabled user, a revoked token, a failed login or a new signing key must count at once.
    """

    def __init__(self, db: Database, hasher: PasswordHasher | None = None):
        self.db = db
        self.hasher = hasher or password_hasher()
        self._dummy_hash: str | None = None
        self._secret: str | None = None
        # OPIS_SESSION_IDLE_MINUTES / OPIS_SESSION_HOURS tune how long sessions last.
        self.session_idle = settings().session_idle
        self.session_lifetime = settings().session_lifetime

    # -- users ----------------------------------------------------------------------------

    def _check_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
        if len(password) > MAX_PASSWORD:
            raise AccountError(f"a password may have at most {MAX_PASSWORD} characters")
        if not encodable(password):
            raise AccountError("a password must be valid text (it has a lone surrogate)")

    def add_user(self, name: str, role: str, password: str, *, actor: str = "cli") -> User:
        if not NAME_RE.fullmatch(name):
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
        except Conflict:
            raise AccountError(f"user {name} exists already") from None
        return user

    def users(self) -> list[User]:
        with self.db.primary_sessions() as session:
            return store.list_users(session)

    def user(self, name: str) -> User | None:
        with self.db.primary_sessions() as session:
            return store.user_by_name(session, name)

    def _change(self, name: str, actor: str, action: str,
                then: Callable[[StoreSession, User], dict[str, object]] | None = None,
                **values: object) -> User:
        """Update a user and write the audit entry, in one transaction; ``then`` does more
        in it (ending sessions, revoking tokens) and returns what to add to the entry."""
        with self.db.transaction() as session:
            user = store.user_by_name(session, name)
            if user is None:
                raise AccountError(f"no user named {name}")
            store.update_user(session, user.id, **values)  # type: ignore[arg-type]
            detail = {"user": name} | {k: v for k, v in values.items() if k != "password_hash"}
            if then is not None:
                detail |= then(session, user)
            audit.add_entry(session, actor=actor, action=action, detail=detail)
            return store.user_by_id(session, user.id)  # type: ignore[return-value]

    def disable_user(self, name: str, *, actor: str = "cli") -> User:
        """Disabling ends the user's sessions and revokes their tokens for good (enabling
        the user again brings none back); nothing else is deleted."""

        def end_all(session: StoreSession, user: User) -> dict[str, object]:
            return {"sessions_ended": store.delete_sessions(session, user_id=user.id),
                    "tokens_revoked": store.revoke_user_tokens(session, user.id)}

        return self._change(name, actor, "user.disable", end_all, disabled=True)

    def enable_user(self, name: str, *, actor: str = "cli") -> User:
        """The user may log in again; their old sessions and tokens stay dead."""
        return self._change(name, actor, "user.enable", disabled=False)

    def set_role(self, name: str, role: str, *, actor: str = "cli") -> User:
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
        return self._change(name, actor, "user.role", role=role)

    def set_password(self, name: str, password: str, *, actor: str = "cli",
                     keep_session: str | None = None) -> User:
        """A new password ends every session of the user but ``keep_session`` (the one
        that changed it, when it was changed in a browser)."""
        self._check_password(password)

        def end_others(session: StoreSession, user: User) -> dict[str, object]:
            return {"sessions_ended": store.delete_sessions(session, user_id=user.id,
                                                            keep=keep_session)}

        return self._change(name, actor, "user.password", end_others,
                            password_hash=self.hasher.hash(password))

    # -- logging in -----------------------------------------------------------------------

    def authenticate(self, name: str, password: str, ip: str,
                     device: str | None = None) -> User:
        """The user, or LoginFailed; RateLimited (before any password is checked) when
        this attempt must wait. ``device``: the nonce of a valid device cookie this
        browser got at an earlier login as ``name``, which makes it a known client."""
        key = login_key(name)
        attempt = self._reserve_attempt(key, ip, device)
        user = None
        if key == name and len(password) <= MAX_PASSWORD:
            with self.db.primary_sessions() as session:
                user = store.user_by_name(session, name)
        ok = self._verify(user.password_hash if user else None, password)
        if not ok or user is None or user.disabled:
            raise LoginFailed()  # the attempt stays written: it is the failure
        with self.db.transaction() as session:
            store.lock_logins(session, "login:" + key)
            store.forget_login_attempt(session, attempt, ip=ip, username=key, device=device)
            if self.hasher.check_needs_rehash(user.password_hash):
                store.update_user(session, user.id, password_hash=self.hasher.hash(password))
            return store.user_by_id(session, user.id)  # type: ignore[return-value]

    def _reserve_attempt(self, key: str, ip: str, device: str | None) -> int:
        """Write the attempt as a failure and weigh it against the recent ones, in one
        transaction that attempts on the same name or address take in turn: however many
        arrive at once, each sees all the others. RateLimited rolls it back."""
        with self.db.transaction() as session:
            store.lock_logins(session, "login:" + key, "login-ip:" + ip)
            attempt = store.add_login_attempt(session, ip=ip, username=key, device=device)
            at = store.now()
            counts = store.failure_counts(session, at - LOGIN_WINDOW, at - ACCOUNT_WINDOW,
                                          ip=ip, username=key, device=device, exclude=attempt)
            wait = login_wait(counts, at, trusted=device is not None)
            if wait:
                raise RateLimited(wait)
            store.forget_stale_failures(session, at - ACCOUNT_WINDOW)
        return attempt

    def _verify(self, digest: str | None, password: str) -> bool:
        """Verify, spending the same time when the user does not exist (no name probing).
        Any string is accepted: one that is not valid UTF-8 simply does not match."""
        if digest is None:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash(secrets.token_hex(16))
            digest = self._dummy_hash
            password = password[:MAX_PASSWORD] + "\0"
        secret = password[:MAX_PASSWORD].encode("utf-8", "surrogatepass")
        try:
            return self.hasher.verify(digest, secret)
        except (VerificationError, InvalidHashError):
            return False

    # -- sessions -------------------------------------------------------------------------

    def start_session(self, user: User, *, ip: str, user_agent: str = "") -> str:
        """A new server-side session for ``user``; returns its id, which only the cookie
        holds (the database keeps its hash). Dead sessions are swept on the way."""
        key = secrets.token_urlsafe(32)
        at = store.now()
        with self.db.transaction() as session:
            store.delete_dead_sessions(session, at=at, idle_since=at - self.session_idle)
            store.add_session(session, hash_token(key), user.id, at + self.session_lifetime,
                              ip=ip, user_agent=user_agent)
        return key

    def session_principal(self, key: str) -> Principal | None:
        """The signed-in user behind a session id, if the session is alive (not ended,
        not idle for SESSION_IDLE, not older than SESSION_LIFETIME) and the user enabled."""
        if not key or len(key) > 100:
            return None
        digest = hash_token(key)
        with self.db.primary_sessions() as session:
            found = store.session_by_hash(session, digest)
        if found is None:
            return None
        info, user = found
        at = store.now()
        seen = as_utc(info.last_seen_at) or at
        if (user.disabled or at >= as_utc(info.expires_at)  # type: ignore[operator]
                or at - seen > self.session_idle):
            with self.db.transaction() as session:
                store.delete_sessions(session, id_hash=digest)
            return None
        if at - seen > SESSION_TOUCH:  # a write now and then only
            self._touch(store.touch_session, digest, at)
        return Principal(user.id, user.name, user.role, "session", session_hash=digest)

    def end_session(self, key: str) -> bool:
        """Log out: the session is deleted on the server; the cookie is worth nothing."""
        with self.db.transaction() as session:
            return store.delete_sessions(session, id_hash=hash_token(key)) > 0

    def sessions(self, name: str) -> list[SessionInfo]:
        """The user's live sessions, oldest first."""
        at = store.now()
        with self.db.primary_sessions() as session:
            user = store.user_by_name(session, name)
            if user is None:
                raise AccountError(f"no user named {name}")
            found = store.list_sessions(session, user.id)
        return [s for s in found if as_utc(s.expires_at) > at  # type: ignore[operator]
                and at - as_utc(s.last_seen_at) <= self.session_idle]  # type: ignore[operator]

    def end_sessions(self, name: str, *, prefix: str = "", actor: str = "cli") -> int:
        """End the user's sessions (only those whose id hash starts with ``prefix``, as
        ``opis user sessions`` shows it, when given); how many ended."""
        with self.db.transaction() as session:
            user = store.user_by_name(session, name)
            if user is None:
                raise AccountError(f"no user named {name}")
            chosen = [s.id_hash for s in store.list_sessions(session, user.id)
                      if s.id_hash.startswith(prefix)]
            if prefix and len(chosen) != 1:
                raise AccountError(f"{len(chosen)} sessions of {name} start with {prefix!r}; "
                                   "give one id as 'opis user sessions' shows it")
            ended = sum(store.delete_sessions(session, id_hash=h) for h in chosen)
            audit.add_entry(session, actor=actor, action="user.logout",
                            detail={"user": name, "sessions_ended": ended})
        return ended

    def end_other_sessions(self, name: str, keep: str, *, actor: str) -> int:
        """End every session of the user but ``keep`` (an id hash: the browser asking);
        how many ended."""
        with self.db.transaction() as session:
            user = store.user_by_name(session, name)
            if user is None:
                raise AccountError(f"no user named {name}")
            ended = store.delete_sessions(session, user_id=user.id, keep=keep)
            audit.add_entry(session, actor=actor, action="user.logout",
                            detail={"user": name, "sessions_ended": ended, "kept": "this one"})
        return ended

    def end_all_sessions(self, *, actor: str = "cli") -> int:
        """Everyone logs in again: after a restore, which would otherwise bring back the
        sessions the backup held, logged out or not."""
        with self.db.transaction() as session:
            ended = store.delete_sessions(session)
            audit.add_entry(session, actor=actor, action="sessions.end_all",
                            detail={"sessions_ended": ended})
        return ended

    # -- API tokens -----------------------------------------------------------------------

    def create_token(self, name: str, scopes: list[str], label: str = "", *,
                     expires_in: timedelta | None = None,
                     actor: str = "cli") -> tuple[int, str]:
        """Return (id, token). The token is shown once; only its hash is kept. With
        ``expires_in`` it stops working that long from now."""
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
            expires = store.now() + expires_in if expires_in is not None else None
            token_id = store.add_token(session, user.id, hash_token(token), scopes, label[:200],
                                       expires)
            audit.add_entry(session, actor=actor, action="token.create",
                            detail={"user": name, "token": token_id, "scopes": scopes,
                                    "label": label[:200],
                                    "expires": expires.isoformat() if expires else None})
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
        if token_status(tok) != "active":
            return None
        now = store.now()
        last = as_utc(tok.last_used_at)
        if last is None or now - last > timedelta(minutes=10):  # a write now and then only
            self._touch(store.touch_token, tok.id, now)
        return Principal(user.id, user.name, user.role, "token", scopes=tok.scopes,
                         token_id=tok.id)

    def _touch(self, write: Callable[[StoreSession, Any, datetime], None], key: Any,
               at: datetime) -> None:
        """Note when a session or token was last used. A database that cannot write just
        now (a full disk) must not sign anyone out: the note waits for the next request."""
        try:
            with self.db.transaction() as session:
                write(session, key, at)
        except Unwritable:
            pass

    # -- the session signing key ----------------------------------------------------------

    def secret_key(self) -> str:
        """``OPIS_SECRET_KEY``, else a random key made once and kept in the database so
        every worker (and every restart) signs sessions alike."""
        if self._secret:
            return self._secret
        env = settings().secret_key
        if env:
            self._secret = env
            return env
        with self.db.primary_sessions() as session:
            value = store.get_setting(session, "session_secret")
        if value is None:
            try:
                with self.db.transaction() as session:
                    store.put_setting(session, "session_secret", secrets.token_urlsafe(48))
            except Conflict:
                pass  # another worker made it first: use theirs
            with self.db.primary_sessions() as session:
                value = store.get_setting(session, "session_secret")
        self._secret = value
        return value  # type: ignore[return-value]


__all__ = [
    "ADDRESS_LIMIT",
    "AccountError",
    "Accounts",
    "LOGIN_LIMIT",
    "LoginFailed",
    "Principal",
    "ROLES",
    "RateLimited",
    "SCOPES",
    "SESSION_IDLE",
    "as_utc",
    "hash_token",
    "password_hasher",
    "token_status",
]
