"""What the reading room needs beyond the archive's core methods.

Listings with keyset cursors (records and entities, ordered by id so a cursor never
skips or repeats a row while the archive grows), record summaries that skip the text,
snippets around an entity's first mention, subject headings split into their LCSH
hierarchy, and related documents scored by what two records share.

Values that are costly to derive (the subject index, a parsed 40,000-character record,
its rendered text, a browse page) are kept in a per-archive ``Snapshot`` cache until a
record or collection changes (one small query per page checks), and at most
``TTL_SECONDS``, since curators' entity merges and renames touch no record.
"""

from __future__ import annotations

import html
import math
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opis.model import Record
from opis.model.entity import Entity
from opis.services.archive import Archive
from opis.services.embedding import EmbedderError
from opis.store import browse
from opis.store import entities as entity_store

# An entity named in more records than this says little about how two records relate
# (China, the United States): it is left out of the related-documents candidates.
COMMON_ENTITY = 1000


@dataclass
class RecordSummary:
    """What a listing shows of a record: no text, so listings stay cheap."""

    id: str
    title: str
    date: str | None
    original_language: str | None
    repository: str | None
    classification: str | None
    summary: str | None = None
    subjects: list[str] = field(default_factory=list)


@dataclass
class EntityCount:
    entity: Entity
    records: int
    mentions: int


@dataclass
class EntityDocument:
    """A record naming an entity, with the passage around its first mention."""

    record: RecordSummary
    mentions: int
    snippet: str  # escaped HTML, the mention inside <mark>
    where: str  # "text", "note", "distribution", "authors", "contributors", "metadata"


@dataclass
class Related:
    record: RecordSummary
    score: float
    entities: list[tuple[str, str]]  # (entity id, preferred name), rarest first
    subjects: list[str]


@dataclass
class SubjectNode:
    name: str
    path: str
    records: int = 0
    children: list[SubjectNode] = field(default_factory=list)


# -- cache ---------------------------------------------------------------------------------

MAX_CACHED = 4096  # values per archive; past this the cache starts again
# Curators' entity merges and renames touch no record: what they change may show up to
# this late on cached pages.
TTL_SECONDS = 60.0


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stamp: tuple | None = None
        self.values: dict[str, Any] = {}


_CACHES: weakref.WeakKeyDictionary[Archive, _Cache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


class Snapshot:
    """Values derived from the archive as it is now. ``get`` builds a value once and
    keeps it until any record changes: one small query per snapshot buys pages that
    skip re-reading and re-rendering a 40,000-character record on every visit."""

    def __init__(self, archive: Archive):
        with _CACHES_LOCK:
            self._cache = _CACHES.setdefault(archive, _Cache())
        with archive.db.sessions() as session:
            self.stamp = browse.change_stamp(session)
        with self._cache.lock:
            if self._cache.stamp != self.stamp:
                self._cache.values = {}
                self._cache.stamp = self.stamp

    def get(self, name: str, build: Any) -> Any:
        cache = self._cache
        now = time.monotonic()
        with cache.lock:
            if cache.stamp == self.stamp and name in cache.values:
                value, made = cache.values[name]
                if now - made < TTL_SECONDS:
                    return value
        value = build()  # outside the lock: other pages need not wait for this one
        with cache.lock:
            if cache.stamp == self.stamp:
                if len(cache.values) >= MAX_CACHED:
                    cache.values = {}
                cache.values[name] = (value, now)
        return value


# -- records ---------------------------------------------------------------------------------

def record_version(archive: Archive, record_id: str) -> tuple | None:
    """What changes whenever the record does (None when it is not published): a cheap
    key for caches of what is derived from one record."""
    with archive.db.sessions() as session:
        return browse.record_version(session, record_id)


def entity_labels(archive: Archive, ids: Iterable[str]) -> dict[str, str]:
    """Entity id -> preferred name, in one query (no spellings loaded)."""
    with archive.db.sessions() as session:
        return browse.entity_labels(session, list(set(ids)))


def _summary(row: Any) -> RecordSummary:
    data = row.data or {}
    return RecordSummary(row.id, row.title, row.date, row.original_language, row.repository,
                         row.classification, data.get("summary"), list(data.get("subjects") or []))


def summaries(archive: Archive, ids: Iterable[str]) -> list[RecordSummary]:
    """Published records by id, in the order given; ids not found are left out."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    with archive.db.sessions() as session:
        found = {r.id: _summary(r) for r in browse.summary_rows(session, ids)}
    return [found[i] for i in ids if i in found]


def list_records(archive: Archive, after: str | None = None, limit: int = 50) -> list[Record]:
    """Published records in id order, starting after ``after`` (a keyset cursor)."""
    from opis.store import records as store

    with archive.db.sessions() as session:
        ids = browse.published_ids(session, after, limit)
        found = store.get_records(session, ids)
    return [found[i] for i in ids if i in found]


# -- entities --------------------------------------------------------------------------------

def list_entities(archive: Archive, kind: str | None = None, after: str | None = None,
                  limit: int = 50, *, by: str = "id", offset: int = 0) -> list[EntityCount]:
    """Entities named in published records: in id order after ``after`` (a keyset
    cursor), or with ``by="records"`` the most often named first. Spellings load in one
    query for the whole page, not one per entity."""
    with archive.db.sessions() as session:
        return [EntityCount(e, r, m) for e, r, m in
                browse.entities_with_counts(session, kind, after, limit, by, offset)]


def co_mentioned(archive: Archive, entity_id: str, kind: str | None = None,
                 limit: int = 20) -> list[tuple[str, str, int]]:
    """(entity id, preferred name, shared records) for entities named with this one."""
    with archive.db.sessions() as session:
        pairs = entity_store.co_mentioned(session, entity_id, kind, limit)
    labels = entity_labels(archive, [e for e, _ in pairs])
    return [(e, labels[e], n) for e, n in pairs if e in labels]


def network(archive: Archive, entity_id: str, size: int = 25) -> dict:
    """Co-mention network around an entity: nodes (the entity and the ``size`` people or
    things most often named with it) and edges weighted by shared published records.
    The same shape as ``Archive.network``, in three queries whatever the size."""
    with archive.db.sessions() as session:
        kind = browse.entity_kind(session, entity_id)
        if kind is None:
            return {"nodes": [], "edges": []}
        around = entity_store.co_mentioned(session, entity_id, kind, size)
        ids = [entity_id] + [e for e, _ in around]
        records: dict[str, set[str]] = defaultdict(set)
        for eid, rid in browse.mention_pairs(session, ids):
            records[eid].add(rid)
    labels = entity_labels(archive, ids)
    edges = []
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            shared = len(records[a] & records[b])
            if shared:
                edges.append({"source": a, "target": b, "weight": shared})
    nodes = [{"id": e, "label": labels[e], "records": len(records[e]),
              "center": e == entity_id} for e in ids if e in labels]
    return {"nodes": nodes, "edges": edges}


def count_entities(archive: Archive, kind: str | None = None) -> int:
    with archive.db.sessions() as session:
        return browse.count_entities(session, kind)


def entity_record_count(archive: Archive, entity_id: str) -> int:
    with archive.db.sessions() as session:
        return browse.entity_record_count(session, entity_id)


def snippet_html(text: str, start: int, end: int, width: int = 110) -> str:
    """The passage around text[start:end], cut at word boundaries, the span marked."""
    lo = max(0, start - width)
    hi = min(len(text), end + width)
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi

    def flat(s: str) -> str:
        return html.escape(" ".join(s.split()))

    before, mark, after = text[lo:start], text[start:end], text[end:hi]
    out = ("… " if lo > 0 else "") + flat(before)
    out += (" " if before[-1:].isspace() else "") + "<mark>" + flat(mark) + "</mark>"
    out += (" " if after[:1].isspace() else "") + flat(after) + (" …" if hi < len(text) else "")
    return out


_FIELD_LABELS = {"distribution": "Named in the distribution list",
                 "authors": "Named as author", "contributors": "Named among the contributors",
                 "metadata": "Named in the catalogue record"}


def entity_documents(archive: Archive, entity_id: str, limit: int = 20,
                     offset: int = 0) -> list[EntityDocument]:
    """Records naming the entity (most mentions first), each with a snippet."""
    with archive.db.sessions() as session:
        hits = entity_store.records_mentioning(session, entity_id, limit, offset)
        ids = [r for r, _ in hits]
        if not ids:
            return []
        rows = browse.mentions_in(session, entity_id, ids)
        first: dict[str, Any] = {}
        for row in rows:  # prefer a mention in the text, then in a note, then metadata
            rank = 0 if row.field == "text" else 1 if row.field.startswith("note:") else 2
            best = first.get(row.record_id)
            if best is None or rank < best[0] or (
                    rank == best[0] == 0 and (row.start or 0) < (best[1].start or 0)):
                first[row.record_id] = (rank, row)
        texts = browse.texts(session, [r for r, (k, _) in first.items() if k == 0])
    found = {s.id: s for s in summaries(archive, ids)}
    notes: dict[str, dict[str, str]] = {}
    need_notes = [r for r, (k, _) in first.items() if k == 1]
    if need_notes:
        with archive.db.sessions() as session:
            for rid, data in browse.data_of(session, need_notes).items():
                notes[rid] = {n.get("id"): n.get("text", "")
                              for n in data.get("extra", {}).get("notes", [])}
    out = []
    for rid, n in hits:
        if rid not in found:
            continue
        rank, m = first.get(rid, (3, None))
        snippet, where = "", "metadata"
        if m is not None and rank == 0 and m.start is not None and rid in texts:
            snippet, where = snippet_html(texts[rid], m.start, m.end), "text"
        elif m is not None and rank == 1 and m.start is not None:
            note = notes.get(rid, {}).get(m.field[5:], "")
            if note[m.start:m.end] == m.text:
                snippet, where = snippet_html(note, m.start, m.end), "note"
        elif m is not None:
            where = m.field
            snippet = html.escape(f"{_FIELD_LABELS.get(m.field, 'Named')}: ") + \
                "<mark>" + html.escape(m.text) + "</mark>"
        out.append(EntityDocument(found[rid], n, snippet, where))
    return out


# -- subjects --------------------------------------------------------------------------------

def subject_index(archive: Archive, snapshot: Snapshot | None = None
                  ) -> dict[str, list[str]]:
    """Subject heading -> ids of published records that carry it."""
    def build() -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        with archive.db.sessions() as session:
            for rid, data in browse.published_data(session):
                for s in dict.fromkeys(data.get("subjects") or []):
                    index[" ".join(s.split())].append(rid)
        return dict(index)

    return (snapshot or Snapshot(archive)).get("subjects", build)


def _related_by_index(archive: Archive, record: Record, limit: int) -> list[Related] | None:
    """``related`` through the search index: a few milliseconds at a million records,
    where counting every entity's records in the database took seconds."""
    mine = list(dict.fromkeys(m.entity_id for m in record.mentions))
    subjects = list(dict.fromkeys(" ".join(s.split()) for s in record.subjects))
    with archive.db.sessions() as session:
        kinds = entity_store.kinds_of(session, mine)
        hits = archive.engine.related({e: kinds[e] for e in mine if e in kinds}, subjects,
                                      record.id, limit, COMMON_ENTITY, session)
        if hits is None:  # the engine has no keyword index to ask (PostgreSQL)
            return None
        ids = [rid for rid, _, _ in hits]
        shared: dict[str, list[str]] = defaultdict(list)
        weight = hits[0][2] if hits else {}
        if ids and weight:
            for eid, rid in browse.mention_pairs(session, list(weight), record_ids=ids,
                                                 published=False):
                shared[rid].append(eid)
    labels = entity_labels(archive, {e for es in shared.values() for e in es})
    found = {s.id: s for s in summaries(archive, ids)}
    out = []
    for rid, score, _ in hits:
        if rid not in found:
            continue
        ents = sorted(shared[rid], key=lambda e: (-weight[e], labels.get(e, e)))
        theirs = {" ".join(s.split()) for s in found[rid].subjects}
        out.append(Related(found[rid], round(score, 3), [(e, labels.get(e, e)) for e in ents],
                           [s for s in subjects if s in theirs]))
    return out


def split_subject(heading: str) -> list[str]:
    """LCSH subdivisions: "China--Foreign relations--Soviet Union" -> three parts."""
    return [p.strip() for p in heading.replace("—", "--").split("--") if p.strip()]


def subject_tree(archive: Archive) -> list[SubjectNode]:
    """Subjects as a tree of subdivisions; each node counts the records at or below it."""
    index = subject_index(archive)
    roots: dict[str, SubjectNode] = {}
    below: dict[str, set[str]] = defaultdict(set)
    nodes: dict[str, SubjectNode] = {}
    for heading, ids in index.items():
        parts = split_subject(heading)
        level = roots
        path: list[str] = []
        parent: SubjectNode | None = None
        for part in parts:
            path.append(part)
            key = "--".join(path)
            node = nodes.get(key)
            if node is None:
                node = nodes[key] = SubjectNode(part, key)
                if parent is None:
                    level[part] = node
                else:
                    parent.children.append(node)
            below[key].update(ids)
            parent = node
    for key, node in nodes.items():
        node.records = len(below[key])
        node.children.sort(key=lambda c: c.name.lower())
    return sorted(roots.values(), key=lambda n: n.name.lower())


def subject_records(archive: Archive, path: str) -> list[RecordSummary]:
    """Records whose subjects are the heading or one of its subdivisions, by date."""
    want = split_subject(path)
    ids: list[str] = []
    for heading, rids in subject_index(archive).items():
        if split_subject(heading)[:len(want)] == want:
            ids.extend(rids)
    found = summaries(archive, ids)
    return sorted(found, key=lambda s: (s.date is None, s.date or "", s.id))


# -- related documents -----------------------------------------------------------------------

@dataclass
class ReadsAlike:
    """A record near this one by meaning, and the pair of passages that read alike."""

    record: RecordSummary
    score: float
    mine: str  # this record's passage, shortened
    theirs: str  # the other record's passage, shortened


def reads_alike(archive: Archive, record: Record, limit: int = 3,
                exclude: Iterable[str] = ()) -> list[ReadsAlike]:
    """Records whose passages read like this one's (the embeddings of ``opis embed``),
    best first, leaving out ``exclude`` (those related by shared names already);
    nothing when the archive has no embeddings or its model cannot be loaded."""
    skip = set(exclude)
    try:
        with archive.db.sessions() as session:
            if not archive.semantic.available(session):
                return []
            pairs = archive.semantic.near_record(session, record.id, limit + len(skip))
    except EmbedderError:
        return []
    pairs = [p for p in pairs if p.record_id not in skip]
    found = {s.id: s for s in summaries(archive, [p.record_id for p in pairs])}
    return [ReadsAlike(found[p.record_id], round(p.score, 3), _excerpt(p.mine.text),
                       _excerpt(p.theirs.text)) for p in pairs if p.record_id in found][:limit]


def _excerpt(text: str, size: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[:size].rsplit(" ", 1)[0] + "…"


def related(archive: Archive, record: Record, limit: int = 5,
            snapshot: Snapshot | None = None) -> list[Related]:
    """Records sharing the rarest entities and subjects with this one, best first.

    Each shared entity weighs log(N / records naming it) and each shared subject half
    again as much, so a shared obscure official counts for more than a shared "China".
    """
    by_index = _related_by_index(archive, record, limit)
    if by_index is not None:
        return by_index
    index = subject_index(archive, snapshot)
    mine = list(dict.fromkeys(m.entity_id for m in record.mentions))
    scores: dict[str, float] = defaultdict(float)
    why_entities: dict[str, list[str]] = defaultdict(list)
    why_subjects: dict[str, list[str]] = defaultdict(list)
    # How many records name each entity, kept with the snapshot: the common ones
    # (a country, a leader) are on most pages and cost the most to count.
    known = (snapshot or Snapshot(archive)).get("entity-df", dict)
    with archive.db.sessions() as session:
        total = browse.count_published(session) or 1
        missing = [e for e in mine if e not in known]
        counted = entity_store.mention_counts_upto(session, missing, COMMON_ENTITY + 1)
        known.update({e: counted.get(e, 0) for e in missing})
        df = {e: known[e] for e in mine}
        useful = [e for e in mine if 0 < df.get(e, 0) <= COMMON_ENTITY]
        weight = {e: math.log((total + 1) / df[e]) for e in useful}
        scores.update(browse.shared_entity_scores(session, weight, record.id))
    for subject in dict.fromkeys(" ".join(s.split()) for s in record.subjects):
        others = [r for r in index.get(subject, []) if r != record.id]
        if not others:
            continue
        w = 1.5 * math.log((total + 1) / (len(others) + 1))
        for rid in others:
            scores[rid] += max(w, 0.5)
            why_subjects[rid].append(subject)
    best = sorted(scores.items(), key=lambda p: (-p[1], p[0]))[:limit]
    with archive.db.sessions() as session:  # which entities each of the best shares
        for eid, rid in browse.mention_pairs(session, useful, record_ids=[r for r, _ in best]):
            why_entities[rid].append(eid)
    labels = entity_labels(archive, {e for es in why_entities.values() for e in es})
    found = {s.id: s for s in summaries(archive, [r for r, _ in best])}
    out = []
    for rid, score in best:
        if rid not in found:
            continue
        ents = sorted(why_entities[rid], key=lambda e: (-weight[e], labels.get(e, e)))
        out.append(Related(found[rid], round(score, 3),
                           [(e, labels.get(e, e)) for e in ents], why_subjects[rid]))
    return out
