"""Users, API tokens, login failures and settings: the SQL behind accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from opis.store.account_tables import LoginFailureRow, SettingRow, TokenRow, UserRow


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


def now() -> datetime:
    return datetime.now(UTC)


def _user(row: UserRow) -> User:
    return User(row.id, row.name, row.role, bool(row.disabled), row.password_hash,
                row.created_at)


def _token(row: TokenRow, user_name: str) -> Token:
    return Token(row.id, row.user_id, user_name, row.label,
                 tuple(s for s in row.scopes.split() if s), row.created_at, row.last_used_at,
                 row.revoked_at)


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
              label: str) -> int:
    row = TokenRow(user_id=user_id, token_hash=token_hash, scopes=" ".join(scopes),
                   label=label, created_at=now())
    session.add(row)
    session.flush()
    return row.id


def token_by_hash(session: Session, token_hash: str) -> tuple[Token, User] | None:
    found = session.execute(select(TokenRow, UserRow).join(UserRow, UserRow.id == TokenRow.user_id)
                            .where(TokenRow.token_hash == token_hash)).first()
    if found is None:
        return None
    token, user = found
    return _token(token, user.name), _user(user)


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
    return _token(row, user.name if user else "?")


def list_tokens(session: Session, user_id: int | None = None) -> list[Token]:
    stmt = (select(TokenRow, UserRow.name).join(UserRow, UserRow.id == TokenRow.user_id)
            .order_by(TokenRow.id))
    if user_id is not None:
        stmt = stmt.where(TokenRow.user_id == user_id)
    return [_token(t, name) for t, name in session.execute(stmt)]


# -- login failures ------------------------------------------------------------------------

def add_login_failure(session: Session, ip: str, username: str) -> None:
    session.add(LoginFailureRow(at=now(), ip=ip[:64], username=username[:100]))


def login_failures(session: Session, since: datetime, *, ip: str,
                   username: str) -> tuple[int, int]:
    """Failures since ``since`` from this address and for this user name."""
    base = select(func.count()).select_from(LoginFailureRow).where(LoginFailureRow.at >= since)
    by_ip = session.scalar(base.where(LoginFailureRow.ip == ip[:64])) or 0
    by_name = session.scalar(base.where(LoginFailureRow.username == username[:100])) or 0
    return by_ip, by_name


def clear_login_failures(session: Session, *, username: str, before: datetime) -> None:
    """Forget a user's failures after a success, and everyone's once they are stale."""
    session.execute(delete(LoginFailureRow).where(or_(
        LoginFailureRow.username == username[:100], LoginFailureRow.at < before)))


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
