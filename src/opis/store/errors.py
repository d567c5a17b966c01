"""The database's failures as the rest of opis sees them: which exceptions come from the
database, and which of them mean "unavailable right now" (a 503 with Retry-After) rather
than a bug. Kept here so that no module outside ``store`` needs SQLAlchemy's classes."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

DatabaseError = SQLAlchemyError
# What a web handler catches: a driver error or a pool that gave no connection in time.
ANSWERED: tuple[type[Exception], ...] = (DBAPIError, PoolTimeout)


def database_unavailable(exc: BaseException) -> bool:
    """True when the database is down, unreachable or out of connections: the request
    may succeed in a minute. Anything else from the database is a bug."""
    return (isinstance(exc, OperationalError | InterfaceError | PoolTimeout)
            or bool(getattr(exc, "connection_invalidated", False)))
