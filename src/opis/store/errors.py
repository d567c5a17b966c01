"""The database's failures as the rest of opis sees them: which exceptions come from the
database, and which of them mean "unavailable right now" (a 503 with Retry-After) rather
than a bug. Kept here so that no module outside ``store`` needs SQLAlchemy's classes."""

from __future__ import annotations

from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

DatabaseError = SQLAlchemyError
DriverError = DBAPIError  # the driver refused: a deadlock, a lost connection, a full disk
Conflict = IntegrityError  # a unique key taken by another writer first
Unwritable = OperationalError  # the database cannot write just now (locked, full, gone)
# The connection services hand to store functions; only store code looks inside it.
StoreSession = Session
# What "unavailable right now" is made of, for an ``except`` clause.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)
# What a web handler catches: a driver error or a pool that gave no connection in time.
ANSWERED: tuple[type[Exception], ...] = (DBAPIError, PoolTimeout)


def database_unavailable(exc: BaseException) -> bool:
    """True when the database is down, unreachable or out of connections: the request
    may succeed in a minute. Anything else from the database is a bug."""
    return (isinstance(exc, UNAVAILABLE_ERRORS)
            or bool(getattr(exc, "connection_invalidated", False)))


__all__ = ["ANSWERED", "Conflict", "DatabaseError", "DriverError", "StoreSession",
           "UNAVAILABLE_ERRORS", "Unwritable", "database_unavailable"]
