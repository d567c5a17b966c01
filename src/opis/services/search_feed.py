"""A search as a feed: the documents it finds that were added or corrected most
recently, newest first, so a historian can follow a topic in a feed reader (the search
page's Atom link). Every search can be followed; nothing is stored per reader."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from opis.model import Record
from opis.search.base import MAX_RESULT_WINDOW, SearchRequest
from opis.services.archive import Archive
from opis.store import browse
from opis.store import records as record_store

FEED_ENTRIES = 50
_PAGE = 1000


@dataclass
class FeedEntry:
    record: Record
    published: datetime  # when it was added
    updated: datetime  # when it was last changed


def newest_found(archive: Archive, request: SearchRequest,
                 limit: int = FEED_ENTRIES) -> list[FeedEntry]:
    """The ``limit`` records the search finds (of its first 10,000) changed last."""
    ids: list[str] = []
    while len(ids) < MAX_RESULT_WINDOW:
        page = replace(request, limit=min(_PAGE, MAX_RESULT_WINDOW - len(ids)),
                       offset=len(ids), facets=False)
        hits = archive.search(page).result.hits
        ids += [h.id for h in hits]
        if len(hits) < page.limit:
            break
    with archive.db.sessions() as session:
        newest = browse.newest(session, list(dict.fromkeys(ids)), limit)
        records = record_store.get_records(session, [i for i, _, _ in newest])
    return [FeedEntry(records[i], created, updated) for i, created, updated in newest
            if i in records]
