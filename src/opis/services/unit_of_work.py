"""The archive's one way to write: records in the database and their search-index entries
kept in step, whatever fails.

The protocol, for every write (ingest, edits, entity and collection changes, imports):

1. take the archive's write lock (the index has one writer per process, and whatever a
   thread stages goes out with the next commit of any thread);
2. take the index for writing (``IndexLocked`` while another process holds it);
3. in one database transaction, write and stage the index changes (``Change.index``,
   ``Change.remove``, ``Change.reindex``), and journal the touched records in
   ``index_pending`` in that same transaction;
4. commit the database; on any error before this, roll BOTH back: nothing staged is
   left to go out with someone else's index commit;
5. commit the index; if that fails (a full disk) the database change stands, the
   journal keeps the records, and the next write heals them;
6. clear the journal.

A process killed between 4 and 6 leaves the journal, and ``heal`` at the next open
re-indexes exactly those records. No other module calls the engine's writing methods.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress

from opis.model import Record
from opis.search.base import Indexable, IndexLocked, SearchEngine
from opis.store import audit, collections
from opis.store import entities as entity_store
from opis.store import records as store
from opis.store.db import Database
from opis.store.errors import StoreSession

log = logging.getLogger("opis.writes")


class Change:
    """One write in progress: its session, and the index changes it stages."""

    def __init__(self, session: StoreSession, engine: SearchEngine):
        self.session = session
        self._engine = engine
        self.touched: list[str] = []  # record ids whose index entries changed

    def index(self, record: Record, kinds: dict[str, str | None] | None = None,
              member_of: list[str] | None = None) -> None:
        """Stage ``record``'s index entry (entity kinds and collections looked up unless
        given), as every write path builds it."""
        if kinds is None or None in kinds.values():
            known = entity_store.kinds_of(self.session, {m.entity_id for m in record.mentions})
        else:
            known = {e: k for e, k in kinds.items() if k is not None}
        if member_of is None:
            member_of = collections.collections_of(self.session, record.id)
        self._engine.stage([Indexable(record, known, member_of)], self.session)
        self.touched.append(record.id)

    def remove(self, record_id: str) -> None:
        """Drop a record's index entry (withdrawn, or gone)."""
        self._engine.remove([record_id], self.session)
        self.touched.append(record_id)

    def reindex(self, record_ids: Iterable[str]) -> list[str]:
        """Index records again as the database now has them (their entities or
        collections changed), dropping those not published; one at a time, so memory
        stays bounded."""
        self.session.flush()
        done = []
        for rid in record_ids:
            record = store.get_record(self.session, rid)
            if record is None:
                self.remove(rid)
            else:
                self.index(record)
            done.append(rid)
        return done


class UnitOfWork:
    """The write lock, the transaction, the index journal and both commits of one
    archive (see the module's docstring for the protocol)."""

    def __init__(self, db: Database, engine: SearchEngine):
        self.db = db
        self.engine = engine
        self.lock = threading.RLock()
        self.behind = False  # an index commit failed: heal before the next write

    @contextmanager
    def write(self, wait: float = 0.0, *, defer_index_errors: bool = False
              ) -> Iterator[Change]:
        """One write: what the block does in ``change.session`` is committed with its
        index changes, or neither is. ``wait`` is how long to wait for an index another
        process holds (then IndexLocked). An index that cannot commit after the database
        did is healed by the next write either way; with ``defer_index_errors`` (a
        curator's edit, which is saved) the error is only logged, else it is raised
        (an ingest reports it)."""
        with self.lock:
            self.acquire(wait)
            if self.behind:
                self._heal_quietly()
            try:
                with self.db.transaction() as session:
                    change = Change(session, self.engine)
                    yield change
                    audit.mark_pending(session, change.touched)
            except BaseException:
                self.engine.rollback()
                raise
            if change.touched:
                self._commit_index(change.touched, defer_index_errors)

    @contextmanager
    def load(self) -> Iterator[None]:
        """Many writes in a row (an ingest): the engine may leave out of an empty index
        what is slow to add entry by entry and build it once at the end (``begin_load``),
        even when the load fails; a load killed before its end leaves that to the next
        open (``heal``)."""
        with self.db.transaction() as session:
            self.engine.begin_load(session)
        try:
            yield
        finally:
            with self.db.transaction() as session:
                self.engine.end_load(session)

    def acquire(self, wait: float = 0.0) -> None:
        """Take the index for writing, waiting up to ``wait`` seconds for another process
        (an ingest) to let it go."""
        deadline = time.monotonic() + wait
        while True:
            try:
                self.engine.acquire()
                return
            except IndexLocked:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _commit_index(self, ids: list[str], defer: bool = True) -> None:
        """The database has the change: an index that cannot commit now (a full disk)
        must not turn it into an error. The journal keeps the records, and the next
        write (or the next open) re-indexes them."""
        try:
            self.engine.commit()
        except Exception as e:  # noqa: BLE001 - any index failure: the write stands
            log.warning("saved %s, but the search index could not commit (%s); it will be "
                        "brought up to date at the next write", ", ".join(ids[:5]), e)
            self.engine.rollback()
            self.behind = True
            if not defer:
                raise
            return
        try:
            with self.db.transaction() as session:
                audit.clear_pending(session, ids)
        except Exception as e:  # noqa: BLE001 - the journal only makes the next heal redo them
            log.warning("could not clear the index journal (%s); those records are "
                        "re-indexed later", e)

    def _heal_quietly(self) -> None:
        try:
            self.heal()
            self.behind = False
        except Exception as e:  # noqa: BLE001 - still failing: try at the next write
            log.warning("the search index is still behind the database (%s)", e)
            self.engine.rollback()

    def heal(self, *, recount: bool = False) -> int:
        """Bring the index back in step with the records, which are the truth: first the
        entries the journal names (a crash between the two commits), then with
        ``recount``, if the counts still differ (a deleted index folder), a full rebuild.
        While another process holds the index, that process heals it instead: 0. A full-
        text index a killed load left unbuilt is built first."""
        with self.db.transaction() as session:
            self.engine.ensure_index(session)
        with self.db.primary_sessions() as session:
            lagging = audit.pending(session)
            mismatch = recount and store.count_records(session) != self.engine.count(session)
        if not (lagging or mismatch):
            return 0
        with self.lock:
            try:
                self.acquire()
            except IndexLocked:
                return 0
            if lagging:
                try:
                    with self.db.transaction() as session:
                        Change(session, self.engine).reindex(lagging)
                except BaseException:
                    self.engine.rollback()
                    raise
                self.engine.commit()
                with self.db.transaction() as session:
                    audit.clear_pending(session, lagging)
            if recount:
                with self.db.primary_sessions() as session:
                    mismatch = store.count_records(session) != self.engine.count(session)
                if mismatch:
                    self.rebuild()
        return len(lagging)

    def rebuild(self) -> int:
        """Index every record afresh, from the database."""
        with self.lock:
            self.acquire()
            try:
                with self.db.transaction() as session:
                    change = Change(session, self.engine)

                    def items() -> Iterator[Indexable]:
                        for record in store.iter_records(session):
                            kinds = entity_store.kinds_of(
                                session, {m.entity_id for m in record.mentions})
                            yield Indexable(record, kinds,
                                            collections.collections_of(session, record.id))

                    n = self.engine.rebuild(items(), change.session)
            except BaseException:
                self.engine.rollback()
                raise
            self.engine.commit()
            return n

    def collect_garbage(self) -> None:
        """Before this process's first write: what a kill inside an index commit left.
        Nothing to do while another process writes the index (it is alive)."""
        with self.lock, suppress(IndexLocked):
            self.engine.collect_garbage()
