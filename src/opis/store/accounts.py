"""Users, API tokens, sessions, login failures and settings: the SQL behind accounts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from opis.store.account_tables import (
    LoginFailureRow,
    SessionRow,
    SettingRow,
    TokenRow,
    UserRow,
)
from opis.store.db import affected


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    disabled: bool
    password_hash: str
    created_at: datetime


@dataclass(frozen=True)
class Token:
    id: int
    user_id: int
    user_name: str
    label: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None = None
    user_disabled: bool = False


@dataclass(frozen=True)
class SessionInfo:
    """A signed-in browser as the server knows it (never its id, only the id's hash)."""

    id_hash: str
    user_id: int
    user_name: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str
    user_agent: str


@dataclass(frozen=True)
class FailureCounts:
    """Recent failed (or still unchecked) logins that bear on one attempt."""

    client: int  # for this user name from this client (its device, else its address)
    client_oldest: datetime | None
    account: int  # for this user name from every browser without its device cookie
    account_latest: datetime | None
    address: int  # from this address without a device cookie, whatever the name
    address_oldest: datetime | None


def now() -> datetime:
    return datetime.now(UTC)


def _user(row: UserRow) -> User:
    return User(row.id, row.name, row.role, bool(row.disabled), row.password_hash,
                row.created_at)


def _token(row: TokenRow, user: UserRow | None) -> Token:
    return Token(row.id, row.user_id, user.name if user else "?", row.label,
                 tuple(s for s in row.scopes.split() if s), row.created_at, row.last_used_at,
                 row.revoked_at, row.expires_at, bool(user.disabled) if user else False)


# -- users ---------------------------------------------------------------------------------

def add_user(session: Session, name: str, role: str, password_hash: str) -> User:
    t = now()
    row = UserRow(name=name, role=role, password_hash=password_hash, disabled=False,
                  created_at=t, updated_at=t)
    session.add(row)
    session.flush()
    return _user(row)


def user_by_name(session: Session, name: str) -> User | None:
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    return _user(row) if row else None


def user_by_id(session: Session, user_id: int) -> User | None:
    row = session.get(UserRow, user_id)
    return _user(row) if row else None


def list_users(session: Session) -> list[User]:
    return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.name))]


def update_user(session: Session, user_id: int, *, disabled: bool | None = None,
                role: str | None = None, password_hash: str | None = None) -> None:
    row = session.get(UserRow, user_id)
    if row is None:
        return
    if disabled is not None:
        row.disabled = disabled
    if role is not None:
        row.role = role
    if password_hash is not None:
        row.password_hash = password_hash
    row.updated_at = now()
    session.flush()


# -- tokens --------------------------------------------------------------------------------

def add_token(session: Session, user_id: int, token_hash: str, scopes: list[str],
              label: str, expires_at: datetime | None = None) -> int:
    row = TokenRow(user_id=user_id, token_hash=token_hash, scopes=" ".join(scopes),
                   label=label, created_at=now(), expires_at=expires_at)
    session.add(row)
    session.flush()
    return row.id


def token_by_hash(session: Session, token_hash: str) -> tuple[Token, User] | None:
    found = session.execute(select(TokenRow, UserRow).join(UserRow, UserRow.id == TokenRow.user_id)
                            .where(TokenRow.token_hash == token_hash)).first()
    if found is None:
        return None
    token, user = found
    return _token(token, user), _user(user)


def touch_token(session: Session, token_id: int, at: datetime) -> None:
    row = session.get(TokenRow, token_id)
    if row is not None:
        row.last_used_at = at


def revoke_token(session: Session, token_id: int) -> Token | None:
    row = session.get(TokenRow, token_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now()
    user = session.get(UserRow, row.user_id)
    session.flush()
    return _token(row, user)


def revoke_user_tokens(session: Session, user_id: int) -> int:
    """Revoke every live token of a user, for good: enabling the user revives none."""
    result = session.execute(update(TokenRow)
                             .where(TokenRow.user_id == user_id, TokenRow.revoked_at.is_(None))
                             .values(revoked_at=now())
                             .execution_options(synchronize_session=False))
    return affected(result)


def list_tokens(session: Session, user_id: int | None = None) -> list[Token]:
    stmt = (select(TokenRow, UserRow).join(UserRow, UserRow.id == TokenRow.user_id)
            .order_by(TokenRow.id))
    if user_id is not None:
        stmt = stmt.where(TokenRow.user_id == user_id)
    return [_token(t, user) for t, user in session.execute(stmt)]


# -- sessions ------------------------------------------------------------------------------

def _session(row: SessionRow, user_name: str) -> SessionInfo:
    return SessionInfo(row.id_hash, row.user_id, user_name, row.created_at, row.last_seen_at,
                       row.expires_at, row.ip, row.user_agent)


def add_session(session: Session, id_hash: str, user_id: int, expires_at: datetime, *,
                ip: str, user_agent: str) -> None:
    t = now()
    session.add(SessionRow(id_hash=id_hash, user_id=user_id, created_at=t, last_seen_at=t,
                           expires_at=expires_at, ip=ip[:64], user_agent=user_agent[:200]))
    session.flush()


def session_by_hash(session: Session, id_hash: str) -> tuple[SessionInfo, User] | None:
    found = session.execute(select(SessionRow, UserRow)
                            .join(UserRow, UserRow.id == SessionRow.user_id)
                            .where(SessionRow.id_hash == id_hash)).first()
    if found is None:
        return None
    row, user = found
    return _session(row, user.name), _user(user)


def touch_session(session: Session, id_hash: str, at: datetime) -> None:
    session.execute(update(SessionRow).where(SessionRow.id_hash == id_hash)
                    .values(last_seen_at=at).execution_options(synchronize_session=False))


def delete_sessions(session: Session, *, id_hash: str | None = None, user_id: int | None = None,
                    keep: str | None = None) -> int:
    """End one session (``id_hash``) or all of a user's but ``keep``; how many ended."""
    stmt = delete(SessionRow)
    if id_hash is not None:
        stmt = stmt.where(SessionRow.id_hash == id_hash)
    if user_id is not None:
        stmt = stmt.where(SessionRow.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(SessionRow.id_hash != keep)
    return affected(session.execute(stmt.execution_options(synchronize_session=False)))


def delete_dead_sessions(session: Session, *, at: datetime, idle_since: datetime) -> int:
    """Forget sessions past their absolute expiry or idle since ``idle_since``."""
    stmt = delete(SessionRow).where(or_(SessionRow.expires_at <= at,
                                        SessionRow.last_seen_at < idle_since))
    return affected(session.execute(stmt.execution_options(synchronize_session=False)))


def list_sessions(session: Session, user_id: int) -> list[SessionInfo]:
    stmt = (select(SessionRow, UserRow.name).join(UserRow, UserRow.id == SessionRow.user_id)
            .where(SessionRow.user_id == user_id).order_by(SessionRow.created_at))
    return [_session(row, name) for row, name in session.execute(stmt)]


# -- login failures ------------------------------------------------------------------------

def _lock_key(value: str) -> int:
    return int.from_bytes(hashlib.sha256(value.encode()).digest()[:8], "big", signed=True)


def lock_logins(session: Session, *keys: str) -> None:
    """Serialize login attempts that share a key (a user name, an address) until the
    transaction ends. PostgreSQL: transaction-scoped advisory locks, always taken in the
    order given (user name first), so two attempts never wait on each other in a cycle.
    SQLite needs none: the attempt's INSERT, the transaction's first statement, takes the
    database's single write lock, which holds until commit."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in keys:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(key)})


def add_login_attempt(session: Session, *, ip: str, username: str,
                      device: str | None) -> int:
    """An attempt, recorded as a failure before its password is checked."""
    row = LoginFailureRow(at=now(), ip=ip[:64], username=username[:100], device=device)
    session.add(row)
    session.flush()
    return row.id


def failure_counts(session: Session, since: datetime, account_since: datetime, *, ip: str,
                   username: str, device: str | None, exclude: int) -> FailureCounts:
    """The failures that the login limits weigh (see FailureCounts): since ``since`` for
    the client and the address, since ``account_since`` for the account."""
    f = LoginFailureRow
    name, address = f.username == username[:100], f.ip == ip[:64]
    client = and_(name, f.device == device) if device else and_(name, address, f.device.is_(None))
    counted = select(func.count(), func.min(f.at), func.max(f.at)).where(f.id != exclude)
    c_n, c_min, _ = session.execute(counted.where(client, f.at >= since)).one()
    a_n, _, a_max = session.execute(counted.where(name, f.device.is_(None),
                                                  f.at >= account_since)).one()
    i_n, i_min, _ = session.execute(counted.where(address, f.device.is_(None),
                                                  f.at >= since)).one()
    return FailureCounts(c_n or 0, c_min, a_n or 0, a_max, i_n or 0, i_min)


def forget_stale_failures(session: Session, before: datetime, batch: int = 200) -> None:
    """Drop up to ``batch`` failures older than ``before``. Rows another attempt has
    locked are skipped (PostgreSQL), so cleaning never makes two logins wait on each other."""
    f = LoginFailureRow
    stale = (select(f.id).where(f.at < before).order_by(f.id).limit(batch)
             .with_for_update(skip_locked=True))
    session.execute(delete(f).where(f.id.in_(stale)).execution_options(
        synchronize_session=False))


def forget_login_attempt(session: Session, attempt_id: int, *, ip: str, username: str,
                         device: str | None) -> None:
    """After a right password: this attempt and the client's earlier failures for this
    name go. The account-wide count of other clients stays: it is what slows a
    distributed attack."""
    f = LoginFailureRow
    name = f.username == username[:100]
    client = and_(name, f.device == device) if device else and_(name, f.ip == ip[:64],
                                                               f.device.is_(None))
    session.execute(delete(f).where(or_(f.id == attempt_id, client))
                    .execution_options(synchronize_session=False))


# -- settings ------------------------------------------------------------------------------

def get_setting(session: Session, key: str) -> str | None:
    row = session.get(SettingRow, key)
    return row.value if row else None


def put_setting(session: Session, key: str, value: str) -> None:
    row = session.get(SettingRow, key)
    if row is None:
        session.add(SettingRow(key=key, value=value))
    else:
        row.value = value
    session.flush()
