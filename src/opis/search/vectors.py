"""The vector index: passages found by meaning, on both backends.

The vectors themselves are rows of the database (``store/passages.py``), SQLite and
PostgreSQL alike, with a change log whose ``seq`` only grows. The nearest-neighbour
index is usearch (HNSW, cosine, vectors quantised to int8: 1.8 ms for k=50 at 100,000
vectors, recall 0.96) kept as a snapshot file: beside the database for SQLite
(``archive.db.vectors``), in the data folder for PostgreSQL, one per database URL. A
process loads the snapshot and applies the log from the snapshot's ``seq`` on, before a
search at most every ``SYNC_SECONDS``; so several web workers, on one machine or many,
each hold their own copy and see the same passages within seconds of ``opis embed``
committing them, with no server extension (Debian's PostgreSQL here has no pgvector).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from opis.enrich.embeddings import Embedder, load_embedder, normalized
from opis.store import passages as store

log = logging.getLogger("opis.vectors")
SYNC_SECONDS = 2.0
# A record's closeness: its best passage's, mixed with its title-and-summary passage's
# (what the record is about). On bench/data/crosslingual.json the best passage alone put
# the right record first for 59% of the queries, this mix for 68% (MRR 0.705 -> 0.739).
TITLE_WEIGHT = 0.3
# Below this closeness a record is left out, so the list ends where the matches thin out
# instead of running through the whole archive. On the cross-lingual set, 0.2 lost one
# expected record from a first ten (recall@10 0.91 -> 0.90); 0.25 lost four (0.86).
MIN_SIMILARITY = 0.2
# A snapshot that lags the log by this many changes is saved again when caught up, so
# a process starting later has less to replay.
SAVE_AFTER = 2000


def index_path(sqlite_path: Path | None, url: str, data_dir: Path) -> Path | None:
    """Where the snapshot of this database's index lives; None for an in-memory SQLite
    database, whose index lives in memory too."""
    if sqlite_path is not None:
        return Path(str(sqlite_path) + ".vectors")
    if url.startswith("sqlite"):
        return None
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return data_dir / "vectors" / f"{digest}.usearch"


def from_bytes(blob: bytes, dimensions: int) -> np.ndarray | None:
    vector = np.frombuffer(blob, dtype="<f4")
    return vector if vector.shape[0] == dimensions else None


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


class VectorIndex:
    """Passage ids and their vectors in a usearch index, saved as a snapshot file with a
    JSON sidecar (the log ``seq`` it reflects, the model, the dimensions)."""

    def __init__(self, path: Path | None, dimensions: int, model: str):
        self.path = path
        self.dimensions = dimensions
        self.model = model
        self.seq = 0
        self.last_passage: int | None = None  # the passage logged at ``seq``
        self.lock = threading.Lock()
        self.index = self._empty()
        self._verified = False
        self._unsaved = 0
        self._load()

    def _empty(self):  # noqa: ANN202 - usearch's Index, imported late (1 s at start-up)
        from usearch.index import Index

        return Index(ndim=self.dimensions, metric="cos", dtype="i8")

    @property
    def _meta(self) -> Path | None:
        return Path(str(self.path) + ".json") if self.path else None

    def _load(self) -> None:
        if not (self.path and self._meta and self.path.exists() and self._meta.exists()):
            return
        try:
            meta = json.loads(self._meta.read_text())
            if meta.get("model") != self.model or meta.get("dimensions") != self.dimensions:
                return  # another model's snapshot: rebuilt from the table on first sync
            index = self._empty()
            index.load(str(self.path))
        except (OSError, ValueError, RuntimeError) as e:
            log.warning("vector snapshot %s unreadable (%s); rebuilding it", self.path, e)
            return
        self.index, self.seq = index, int(meta.get("seq", 0))
        self.last_passage = meta.get("last_passage")

    def __len__(self) -> int:
        return len(self.index)

    def add(self, keys: Sequence[int], vectors: np.ndarray) -> None:
        """Add (or replace) vectors under passage ids."""
        if not len(keys):
            return
        ids = np.asarray(keys, dtype=np.uint64)
        with self.lock:
            self.index.remove(ids)
            self.index.add(ids, normalized(vectors))

    def remove(self, keys: Sequence[int]) -> None:
        if len(keys):
            with self.lock:
                self.index.remove(np.asarray(keys, dtype=np.uint64))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest passage ids with their cosine similarity, best first."""
        with self.lock:
            if not len(self.index) or k <= 0:
                return []
            found = self.index.search(normalized(vector)[0], min(k, len(self.index)))
        return [(int(key), float(1.0 - dist)) for key, dist in zip(found.keys, found.distances,
                                                                   strict=True)]

    def sync(self, session: Session) -> int:
        """Apply the change log after the snapshot's ``seq``; the first time, also check
        that the log still has the snapshot's last entry and the index as many passages
        as the table (neither holds after a restored backup), and rebuild it when not.
        Returns the changes applied."""
        if not self._verified:
            self._verified = True
            if self.seq and store.log_entry(session, self.seq) != self.last_passage:
                return self.rebuild(session)
            applied = self._catch_up(session)
            if len(self.index) != store.count_passages(session):
                return self.rebuild(session)
            if applied:
                self.save()  # the next process to start replays less
            return applied
        return self._catch_up(session)

    def _catch_up(self, session: Session) -> int:
        if self.seq < store.compacted_through(session):
            return self.rebuild(session)  # what it would replay was compacted away
        tail = store.log_since(session, self.seq)
        if not tail:
            return 0
        final: dict[int, str] = {}
        for _, passage_id, op in tail:
            final[passage_id] = op
        gone = [i for i, op in final.items() if op == "del"]
        added = [i for i, op in final.items() if op == "add"]
        self.remove(gone)
        self._add_blobs(store.vectors(session, added))
        self.seq, self.last_passage = tail[-1][0], tail[-1][1]
        self._unsaved += len(tail)
        if self._unsaved >= SAVE_AFTER:
            self.save()
        return len(tail)

    def _add_blobs(self, blobs: dict[int, bytes]) -> None:
        keys, rows = [], []
        for key, blob in blobs.items():
            vector = from_bytes(blob, self.dimensions)
            if vector is not None:  # another model's vector, awaiting re-embedding
                keys.append(key)
                rows.append(vector)
        if keys:
            self.add(keys, np.vstack(rows))

    def rebuild(self, session: Session) -> int:
        """The index anew from every stored vector."""
        seq = store.last_seq(session)
        last = store.log_entry(session, seq)
        fresh = VectorIndex(None, self.dimensions, self.model)
        for ids, blobs in store.all_vectors(session):
            fresh._add_blobs(dict(zip(ids, blobs, strict=True)))
        with self.lock:
            self.index, self.seq, self.last_passage = fresh.index, seq, last
        self._verified = True
        self.save()
        return len(self.index)

    def save(self) -> None:
        """Write the snapshot atomically (a reader never sees half a file). Replaying a
        log entry twice is harmless, so a reader that pairs a new index with the old
        sidecar only replays a little more."""
        self._unsaved = 0
        if not self.path or not self._meta:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        meta_tmp = self.path.with_name(f"{self.path.name}.json.{os.getpid()}.tmp")
        try:
            with self.lock:
                self.index.save(str(tmp))
                seq, last = self.seq, self.last_passage
            meta_tmp.write_text(json.dumps({"seq": seq, "last_passage": last,
                                            "model": self.model,
                                            "dimensions": self.dimensions}))
            os.replace(tmp, self.path)
            os.replace(meta_tmp, self._meta)
        except OSError as e:  # a read-only data folder: the index still works in memory
            log.warning("cannot save the vector snapshot %s: %s", self.path, e)
            for t in (tmp, meta_tmp):
                t.unlink(missing_ok=True)


@dataclass
class PassageHit:
    """A record found by meaning, with the passage that matched best."""

    record_id: str
    score: float  # cosine similarity of the query and the passage
    kind: str  # title, text, note
    text: str
    start: int | None
    end: int | None


@dataclass
class PassagePair:
    """Another record near this one by meaning: its passage nearest to one of ours."""

    record_id: str
    score: float  # cosine similarity of the two passages
    mine: store.StoredPassage
    theirs: store.StoredPassage


# Passages nearer than this read alike (a shared paragraph, the same event told twice);
# below it, two documents merely share a theme, which the entity reasons already show.
RELATED_SIMILARITY = 0.5
_RELATED_PASSAGES = 24  # of one record, the first ones: a long record's opening suffices


class SemanticSearch:
    """Queries embedded and matched against the passages; one per process. The model
    and the index are loaded on first use, so a server that is never asked by meaning
    never loads them."""

    def __init__(self, path: Path | None, embedder: Embedder | Callable[[], Embedder] | None
                 = None):
        self.path = path
        self._embedder = embedder
        self._index: VectorIndex | None = None
        self._synced = 0.0
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder()
        elif not isinstance(self._embedder, Embedder) and callable(self._embedder):
            self._embedder = self._embedder()
        return self._embedder

    def index(self, session: Session, *, fresh: bool = False) -> VectorIndex:
        """The index, caught up with the log (at most every SYNC_SECONDS unless
        ``fresh``)."""
        with self._lock:
            if self._index is None:
                self._index = VectorIndex(self.path, self.embedder.dimensions, self.embedder.name)
            now = time.monotonic()
            if fresh or now - self._synced >= SYNC_SECONDS:
                self._index.sync(session)
                self._synced = now
            return self._index

    def warm(self, sessions: Callable[[], Session]) -> None:
        """Load the model and the index now (a server's first search by meaning would
        otherwise wait seconds for them), when anything is embedded."""
        try:
            with sessions() as session:
                if self.available(session):
                    self.index(session, fresh=True)
                    self.embedder.embed(["warm-up"])
        except Exception:  # noqa: BLE001 - a failure here shows again on first use
            log.exception("could not load the model and the vector index in advance")

    def available(self, session: Session) -> bool:
        """Whether anything has been embedded (``opis embed``), so meaning can be asked."""
        return store.count_embedded(session) > 0

    def near_record(self, session: Session, record_id: str, k: int = 5) -> list[PassagePair]:
        """The records whose passages come nearest to this record's own (their stored
        vectors: nothing is embedded again), each once with its nearest pair, best
        first; nothing when the record is not embedded."""
        mine = [p for p in store.stored_passages(session, [record_id])[record_id]
                if p.kind != "title"][:_RELATED_PASSAGES]
        if not mine or k <= 0:
            return []
        index = self.index(session)
        blobs = store.vectors(session, [p.id for p in mine])
        found: dict[int, tuple[float, store.StoredPassage]] = {}  # their passage: best
        for passage in mine:
            vector = from_bytes(blobs[passage.id], index.dimensions) \
                if passage.id in blobs else None
            if vector is None:
                continue
            for key, score in index.search(vector, k * 4):
                if score >= RELATED_SIMILARITY and score > found.get(key, (-1.0,))[0]:
                    found[key] = (score, passage)
        rows = store.passages_by_id(session, list(found))
        out: dict[str, PassagePair] = {}
        for key, (score, passage) in sorted(found.items(), key=lambda f: -f[1][0]):
            row = rows.get(key)
            if row is None or row.record_id == record_id or row.record_id in out \
                    or row.kind == "title":
                continue
            out[row.record_id] = PassagePair(row.record_id, score, passage, row)
        return list(out.values())[:k]

    def search(self, session: Session, query: str, k: int = 50) -> list[PassageHit]:
        """The records whose passages are nearest to ``query``, each once with its best
        passage, best first (at most ``k`` records)."""
        if not query.strip() or k <= 0:
            return []
        index = self.index(session)
        vector = self.embedder.embed([query])
        # Several passages of one record may be near: ask for more than k records.
        nearest = index.search(vector, k * 3)
        rows = store.passages_by_id(session, [key for key, _ in nearest])
        out: dict[str, PassageHit] = {}
        for key, score in nearest:
            row = rows.get(key)
            if row is None or row.record_id in out:
                continue
            out[row.record_id] = PassageHit(row.record_id, score, row.kind, row.text,
                                            row.start, row.end)
        titles = store.title_vectors(session, list(out))
        for hit in out.values():
            title = from_bytes(titles[hit.record_id], index.dimensions) \
                if hit.record_id in titles else None
            about = float(normalized(title)[0] @ vector[0]) if title is not None else hit.score
            hit.score = (1 - TITLE_WEIGHT) * hit.score + TITLE_WEIGHT * about
        kept = [h for h in out.values() if h.score >= MIN_SIMILARITY]
        return sorted(kept, key=lambda h: -h.score)[:k]
