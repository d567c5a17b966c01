"""The curator's side of held updates: what a re-ingest would have changed in records
it held back as damaged (services/reingest_guard.py), and accepting one (it is stored
as a new revision, as an ingest with ``--force`` would have) or rejecting it (the
stored record stays; the update is forgotten). Both are audited."""

from __future__ import annotations

from dataclasses import dataclass

from opis.model import Record
from opis.services.archive import Archive
from opis.services.curation import NotFound
from opis.services.reingest_guard import what_changes
from opis.store import audit
from opis.store import held as held_store
from opis.store import records as record_store
from opis.store.held import HeldUpdate


@dataclass
class HeldView:
    held: HeldUpdate
    stored: Record | None  # the record as it is now (None: deleted since)
    changes: str  # what accepting would change, field by field


class HeldUpdates:
    def __init__(self, archive: Archive):
        self.archive = archive

    def count(self) -> int:
        with self.archive.db.primary_sessions() as session:
            return held_store.count_held(session)

    def list(self) -> list[HeldView]:
        with self.archive.db.primary_sessions() as session:
            found = held_store.held_updates(session)
            stored = record_store.get_records(session, [h.record_id for h in found],
                                              public=False)
        return [HeldView(h, stored.get(h.record_id),
                         what_changes(stored[h.record_id], h.record)
                         if h.record_id in stored else "the record is new")
                for h in found]

    def _take(self, held_id: int) -> HeldUpdate:
        with self.archive.db.primary_sessions() as session:
            found = held_store.held_update(session, held_id)
        if found is None:
            raise NotFound(f"No held update {held_id}: another curator has accepted or "
                           "rejected it already")
        return found

    def accept(self, held_id: int, *, author: str, reason: str = "") -> str:
        """Store the held update as the record's new version; its id."""
        held = self._take(held_id)
        why = reason.strip() or f"accepted the update held from {held.source or 'an ingest'}"
        self.archive.put([held.record], author=author, reason=why)
        with self.archive.db.transaction() as session:
            held_store.release(session, held_id)
            audit.add_entry(session, actor=author, action="held.accept", reason=why,
                            record_id=held.record_id, detail={"held": held.reason})
        return held.record_id

    def reject(self, held_id: int, *, author: str, reason: str = "") -> str:
        """Forget the held update; the stored record stays as it is. Its id."""
        held = self._take(held_id)
        with self.archive.db.transaction() as session:
            if not held_store.release(session, held_id):
                raise NotFound(f"No held update {held_id}: another curator has accepted "
                               "or rejected it already")
            audit.add_entry(session, actor=author, action="held.reject",
                            reason=reason.strip() or "rejected a held update",
                            record_id=held.record_id, detail={"held": held.reason})
        return held.record_id
