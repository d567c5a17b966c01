"""The full-text index of PostgreSQL's ``search_documents``: which one the server has
(RUM where the ``rum`` extension is installed, else GIN), and taking it down for a bulk
load and building it again once.

Why: each row inserted into a RUM index adds every word of the document to the index's
trees one at a time. Measured on 500 records of 10,700 characters, inserting their
tsvectors took 2.6 ms a record into a RUM index, 0.2 ms into a GIN one and 0.08 ms into
the bare table; the RUM index built once over the rows costs a fraction of that. So a
first load into an empty archive (nobody can search it yet) inserts the rows without
the index and builds it at the end; an interrupted load leaves no index, which the next
open of the archive notices and builds (``ensure``).

Loads hold a shared advisory lock while they run, and ``ensure`` builds only when it can
take that lock exclusively: a web server opened during a first load does not build the
index under the loader's feet, two loads at once leave the build to the last to finish,
and a load killed by a signal loses its connection and with it the lock.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

RUM_INDEX = "ix_search_documents_rank"
GIN_INDEX = "ix_search_documents_tsv"  # where the server lacks RUM
# How long "this archive has no RUM index" is believed before it is looked up again:
# during a first load the index is absent, and a web worker must not keep ranking
# without it once the load has built it.
_RECHECK_SECONDS = 30.0


# An advisory lock per schema: one archive's load does not hold up another's.
_LOAD_LOCK = "1869640042, hashtext(current_schema())"
_BEGIN_LOCK = "1869640043, hashtext(current_schema())"


def present(session: Session) -> list[str]:
    """The full-text indexes ``search_documents`` has in this schema (one normally)."""
    return list(session.execute(text(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents'"
        " AND schemaname = current_schema() AND indexname IN (:rum, :gin)"),
        {"rum": RUM_INDEX, "gin": GIN_INDEX}).scalars())


def rum_schema(session: Session) -> str | None:
    """The schema the ``rum`` extension is installed in, None without it."""
    return session.execute(text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'rum'")).scalar()


def drop(session: Session) -> None:
    """Take the full-text index down (a rebuild, a first load): rows go in unindexed."""
    for name in present(session):
        session.execute(text(f"DROP INDEX IF EXISTS {name}"))


def drop_if_empty(session: Session) -> bool:
    """Take the full-text index down if ``search_documents`` is empty: True when it is.
    Loads starting together take turns here: each one's look at the table would
    otherwise hold it against the other's DROP INDEX, a deadlock."""
    session.execute(text(f"SELECT pg_advisory_xact_lock({_BEGIN_LOCK})"))
    if session.execute(text("SELECT 1 FROM search_documents LIMIT 1")).first():
        return False
    drop(session)
    return True


def ensure(session: Session) -> bool:
    """Build the full-text index if ``search_documents`` has none (after a bulk load, or
    a load that was killed before it could): RUM where the extension is installed, as
    migration 0009 made it, else GIN. True when one was built. Two processes finishing
    loads at once: the second finds the first's (IF NOT EXISTS). Nothing is built while
    a load is running (it builds at its end)."""
    if present(session):
        return False
    if not session.execute(text(f"SELECT pg_try_advisory_xact_lock({_LOAD_LOCK})")).scalar():
        return False
    schema = rum_schema(session)
    if schema:
        session.execute(text(f"CREATE INDEX IF NOT EXISTS {RUM_INDEX} ON search_documents"
                             f" USING rum (tsv {schema}.rum_tsvector_ops)"))
    else:
        session.execute(text(f"CREATE INDEX IF NOT EXISTS {GIN_INDEX} ON search_documents"
                             " USING GIN (tsv)"))
    return True


def hold_load(session: Session) -> Connection:
    """Announce a load until ``release_load`` (or the process's death). Waits while an
    index is being built."""
    conn = session.get_bind().engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        conn.execute(text(f"SELECT pg_advisory_lock_shared({_LOAD_LOCK})"))
    except BaseException:
        conn.invalidate()
        raise
    return conn


def release_load(conn: Connection) -> None:
    """End the announcement: a pooled connection outlives ``close``, its lock with it,
    so the lock is let go first (and a connection that cannot is thrown away)."""
    try:
        conn.execute(text(f"SELECT pg_advisory_unlock_shared({_LOAD_LOCK})"))
        conn.close()
    except Exception:  # noqa: BLE001 - a broken connection: closing it drops the lock
        conn.invalidate()


class DistanceOperator:
    """RUM's distance operator, qualified by the extension's schema (an archive's own
    schema may be the only one on its search path), or None while the archive has no
    RUM index: found once, and an absence looked up again after a while."""

    def __init__(self) -> None:
        self._operator: str | None = None
        self._absent_since = 0.0

    def __call__(self, session: Session) -> str | None:
        if self._operator:
            return self._operator
        if self._absent_since and time.monotonic() - self._absent_since < _RECHECK_SECONDS:
            return None
        schema = session.execute(text(
            "SELECT n.nspname FROM pg_indexes i, pg_extension e JOIN pg_namespace n"
            " ON n.oid = e.extnamespace WHERE i.indexname = :name"
            " AND i.schemaname = current_schema() AND e.extname = 'rum'"),
            {"name": RUM_INDEX}).scalar()
        if schema:
            self._operator = f"OPERATOR({schema}.<=>)"
            return self._operator
        self._absent_since = time.monotonic()
        return None
