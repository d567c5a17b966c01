"""Engines and migrations: an SQLite file by default, PostgreSQL by URL.

With PostgreSQL, read replicas may take the read-only traffic: ``Database.sessions``
(what every page and search reads through) goes to the next replica that is up, and to
the primary when none is; ``Database.transaction`` and ``Database.primary_sessions``
always use the primary, so writes and reads that must see a write just made (accounts,
the curation pages, OAI-PMH) never meet replication lag. Migrations run on the primary
only: a streaming replica receives them through replication.

Replication lag: a replica whose replay trails the primary by more than
``OPIS_REPLICA_MAX_LAG`` seconds (5 by default; looked up at most once a second per
replica) is skipped until it catches up. A reader who has just written (a curator who
saved an edit) reads from the primary for that long too (``Database.from_primary``,
which the web layer opens for a request that carries its recent-write cookie), so that
the page after the save shows the save.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from opis.config import REPLICAS_ENV, ReplicaError, replica_urls, settings  # noqa: F401

MIGRATIONS = Path(__file__).parent / "migrations"
# A replica that could not be reached is left alone this long before it is tried again,
# so that a down replica costs one failed connection per interval, not one per request.
REPLICA_RETRY_SECONDS = 30.0
REPLICA_CONNECT_TIMEOUT = 3  # seconds; a replica that does not answer falls back fast
LAG_CHECK_SECONDS = 1.0  # a replica's lag is looked up at most this often
# How far a replica's replay trails: nothing when it has replayed all it received, else
# the time since the last transaction it replayed was committed on the primary.
_LAG = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
    " ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END")
# Set for the reads of a request whose reader has just written (``from_primary``).
_FROM_PRIMARY: ContextVar[bool] = ContextVar("opis_from_primary", default=False)

log = logging.getLogger("opis.db")


def database_url(value: str) -> str:
    """Accept a URL or a plain file path (which means SQLite)."""
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _json_text(value: object) -> str:
    """JSON columns encoded by orjson: four times faster than the standard library on
    the records an ingest writes (a thousand 12 kB records a batch)."""
    return orjson.dumps(value).decode()


def make_engine(url: str, *, replica: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               json_serializer=_json_text)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers keep reading during an ingest
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            # 128 MB of page cache instead of 2 MB: the mentions index of a million records
            # is written in entity order, and a small cache turns that into disk reads.
            cur.execute("PRAGMA cache_size=-131072")
            cur.close()

        return engine
    if not replica:
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                             json_serializer=_json_text)
    args = {} if "connect_timeout" in url else {"connect_timeout": REPLICA_CONNECT_TIMEOUT}
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                           connect_args=args, json_serializer=_json_text)

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
        # A hot standby refuses writes by itself; saying so here too makes a write that
        # strays into a read session fail the same way against any server (and in tests,
        # whose "replica" is a writable schema).
        cur = dbapi_conn.cursor()
        cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        cur.close()
        dbapi_conn.commit()

    return engine


class Replica:
    """One read replica: its engine and whether it was reachable when last tried."""

    def __init__(self, url: str, retry: float, max_lag: float = 5.0):
        self.url = url
        self.engine = make_engine(url, replica=True)
        self.retry = retry
        self.down_until = 0.0
        self.down = False
        self.max_lag = max_lag
        self.lag = 0.0  # seconds, as last looked up
        self.lag_checked = 0.0
        self.lagging = False
        self._lag_lock = threading.Lock()
        event.listen(self.engine, "handle_error", self._on_error)

    def too_far_behind(self, session: Session) -> bool:
        """Whether this replica trails the primary by more than ``max_lag`` seconds,
        looked up on ``session`` (its connection) at most once a second."""
        now = time.monotonic()
        with self._lag_lock:
            if now - self.lag_checked < LAG_CHECK_SECONDS:
                return self.lagging
            self.lag_checked = now
        lag = float(session.execute(_LAG).scalar_one() or 0)
        lagging = lag > self.max_lag
        if lagging != self.lagging:
            log.warning("read replica %s is %.1f s behind the primary; %s",
                        safe_url(self.url), lag,
                        "reading from the others or the primary until it catches up"
                        if lagging else "back in rotation")
        self.lag, self.lagging = lag, lagging
        return lagging

    def available(self) -> bool:
        return not self.down or time.monotonic() >= self.down_until

    def mark_down(self, why: BaseException) -> None:
        if not self.down:
            log.warning("read replica %s is unreachable (%s); reading from the primary, "
                        "trying it again every %.0f s", safe_url(self.url),
                        str(why).strip().splitlines()[0] if str(why).strip() else why,
                        self.retry)
        self.down = True
        self.down_until = time.monotonic() + self.retry

    def mark_up(self) -> None:
        if self.down:
            log.warning("read replica %s is back", safe_url(self.url))
        self.down = False

    def _on_error(self, context) -> None:  # noqa: ANN001 - sqlalchemy ExceptionContext
        """A connection lost in the middle of a read (the replica stopped) takes the replica
        out of rotation at once; that one request fails (a 503), the next go elsewhere."""
        if context.is_disconnect:
            self.mark_down(context.original_exception)


class ReadSessions:
    """Called like a sessionmaker: a session on the next replica that is up (round-robin),
    else on the primary. The connection is taken at once, so an unreachable replica is
    noticed here, where falling back is still possible, and not in the middle of a page."""

    def __init__(self, primary: sessionmaker, replicas: list[Replica]):
        self.primary = primary
        self.replicas = replicas
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def __call__(self) -> Session:
        if _FROM_PRIMARY.get():  # this reader has just written: no lag may hide it
            return self.primary()
        with self._lock:
            start = next(self._turn)
        n = len(self.replicas)
        for i in range(n):
            replica = self.replicas[(start + i) % n]
            if not replica.available():
                continue
            session = Session(replica.engine, expire_on_commit=False)
            try:
                session.connection()
                behind = replica.too_far_behind(session)
            except (OperationalError, InterfaceError) as e:
                session.close()
                replica.mark_down(e)
                continue
            replica.mark_up()
            if behind:
                session.close()
                continue
            return session
        return self.primary()


class Database:
    """One database: its engine, its sessions and its schema version; with PostgreSQL,
    optionally read replicas (``read_urls``) for the read-only sessions."""

    def __init__(self, url: str, read_urls: Iterable[str] = (), *,
                 replica_retry: float = REPLICA_RETRY_SECONDS,
                 replica_max_lag: float | None = None):
        self.url = database_url(url)
        self.read_urls = [database_url(u) for u in read_urls]
        if self.read_urls and not self.url.startswith("postgresql"):
            raise ReplicaError(
                "read replicas need PostgreSQL: this archive is an SQLite file, which has no "
                "replicas (several workers can read one SQLite file by themselves). Remove "
                f"--read-replica / {REPLICAS_ENV}, or move the archive to PostgreSQL.")
        for u in self.read_urls:
            if not u.startswith("postgresql"):
                raise ReplicaError(f"read replica {safe_url(u)} is not a PostgreSQL URL; a "
                                   "replica is a PostgreSQL standby of the primary "
                                   "(postgresql+psycopg://user@host/db)")
        self.engine = make_engine(self.url)
        # Writes, and reads that must see a write just made: always the primary.
        self.primary_sessions = sessionmaker(self.engine, expire_on_commit=False)
        lag = settings().replica_max_lag if replica_max_lag is None else replica_max_lag
        self.replicas = [Replica(u, replica_retry, lag) for u in self.read_urls]
        # Everything else reads through ``sessions``: the replicas when there are any.
        self.sessions: sessionmaker | ReadSessions = (
            ReadSessions(self.primary_sessions, self.replicas) if self.replicas
            else self.primary_sessions)

    @property
    def replica_window(self) -> float:
        """How long after a write a replica in use may still not show it: its lag bound
        and the interval at which the lag is looked up (0 without replicas)."""
        if not self.replicas:
            return 0.0
        return max(r.max_lag for r in self.replicas) + LAG_CHECK_SECONDS

    @contextmanager
    def from_primary(self) -> Iterator[None]:
        """Within this block (a request of a reader who has just written), every read
        goes to the primary."""
        token = _FROM_PRIMARY.set(True)
        try:
            yield
        finally:
            _FROM_PRIMARY.reset(token)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def sqlite_path(self) -> Path | None:
        if self.dialect != "sqlite":
            return None
        db = self.engine.url.database
        return Path(db) if db and db != ":memory:" else None

    def migrate(self) -> None:
        """Bring the schema to the newest migration (a no-op when it is there already).
        On the primary only: replicas receive the schema through replication."""
        if self.sqlite_path:
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write: on the primary, committed at the end, rolled back on any error."""
        with self.primary_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        for replica in self.replicas:
            replica.engine.dispose()


def affected(result: object) -> int:
    """Rows an UPDATE or DELETE changed: ``Session.execute`` is typed as returning a
    ``Result``, which has no ``rowcount``; for these statements it is a cursor result."""
    return getattr(result, "rowcount", 0) or 0
