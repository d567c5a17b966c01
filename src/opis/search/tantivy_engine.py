"""The embedded default: a Tantivy index in a folder beside the SQLite file.

Tantivy (BM25, phrase and prefix queries, snippets, aggregations) answers in a few
milliseconds where SQLite FTS5 with ranking and snippets needs hundreds at 200k
documents. The index is derived data: ``rebuild`` recreates it from the records.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import tantivy
from rapidfuzz.distance import Levenshtein

from opis.model.dates import bounds
from opis.search.base import (
    FACETS,
    SAMPLE_BUCKETS,
    Hit,
    Indexable,
    IndexLocked,
    SearchRequest,
    SearchResult,
    about,
    clamp_window,
    day_number,
    meta_text,
    notes_text,
    repository_of,
    sample_bucket,
    typo_distance,
)
from opis.search.languages import language_texts
from opis.search.query import Node
from opis.search.snippets import Finder, snippet_html
from opis.search.tantivy_query import (
    FOLD,
    KEYWORD_FIELDS,
    WORD,
    build_schema,
    compile_query,
    register_analyzers,
    snippet_key,
)

SCHEMA_VERSION = 6  # 4: subject headings as keywords, sample buckets; 5: notes;
# 6: Latin diacritics folded in the index (Hammarskjold finds Hammarskjöld)
# Facet counts are exact up to this many hits; above it they are estimated from a sample
# of about FACET_SAMPLE hits. Counting ten fields (four of them about 26 names a document)
# over every hit cost 0.28 microseconds a hit: 160 ms for a word in 570,000 documents.
FACET_EXACT_UP_TO = 50_000
FACET_SAMPLE = 25_000

def _marker_version(marker: Path) -> int | None:
    """The schema version an index folder says it has; None when unknown or unreadable
    (the index is then rebuilt from the records, which are the truth)."""
    try:
        return json.loads(marker.read_text()).get("version")
    except (OSError, ValueError, AttributeError):
        return None


def _stored_id(doc: tantivy.Document) -> str:
    """The record id every document is written with (``_document``)."""
    value = doc.get_first("id")
    if not isinstance(value, str):
        raise ValueError("a search index document has no record id: rebuild the index")
    return value


class TantivyEngine:
    def __init__(self, path: Path | None):
        """``path`` None keeps the index in memory (tests of in-memory databases)."""
        self.path = path
        self.schema = build_schema()
        self._writer: tantivy.IndexWriter | None = None
        self._open()

    def _open(self) -> None:
        if self.path is None:
            self.index = tantivy.Index(self.schema)
            register_analyzers(self.index)
            return
        marker = self.path / "opis-schema.json"
        if self.path.exists() and _marker_version(marker) != SCHEMA_VERSION:
            shutil.rmtree(self.path)  # an index of another schema is rebuilt from the records
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
        except ValueError as e:
            if "schema does not match" not in str(e):
                raise
            # Fields changed without a new version number (a development build): the
            # records are the truth, so the index is rebuilt rather than refused.
            shutil.rmtree(self.path)
            self.path.mkdir(parents=True)
            self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
        register_analyzers(self.index)
        if _marker_version(marker) != SCHEMA_VERSION:
            # Written once, atomically: a crash while opening never leaves it half-written.
            partial = marker.with_suffix(".part")
            partial.write_text(json.dumps({"version": SCHEMA_VERSION}))
            os.replace(partial, marker)

    @property
    def writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self.index.writer(64_000_000, 1)
            except ValueError as e:
                if "Lock" not in str(e):  # Tantivy names its lockfile, nothing typed
                    raise
                raise IndexLocked(f"the search index {self.path} is being written by "
                                  "another process (an ingest?)") from None
        return self._writer

    def acquire(self) -> None:
        self.writer  # noqa: B018 - creating the writer takes the lock

    def collect_garbage(self) -> None:
        """A process killed inside a Tantivy commit leaves files no commit refers to; the
        next commit that deletes from the same segment would try to create one of them
        again and fail. Tantivy removes them when asked; then the writer is let go, so
        that until this process writes it blocks no ingest."""
        self.writer.garbage_collect_files()
        self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None

    # -- writing ---------------------------------------------------------------------------

    def document(self, item: Indexable) -> tantivy.Document:
        record = item.record
        doc = tantivy.Document()
        doc.add_text("id", record.id)
        doc.add_text("title", record.title)
        doc.add_text("summary", record.summary or "")
        doc.add_text("text", record.text)
        doc.add_text("meta", meta_text(record))
        doc.add_text("notes", notes_text(record))
        doc.add_text("lang", record.original_language or "")
        by_language = language_texts(record)
        doc.add_text("text_ru", by_language["ru"])
        doc.add_text("text_de", by_language["de"])
        doc.add_text("text_cjk", by_language["cjk"])
        doc.add_text("date", record.date or "")
        doc.add_integer("sample", sample_bucket(record.id))
        span = bounds(record.date)
        if span:
            doc.add_integer("date_start", day_number(span[0]))
            doc.add_integer("date_end", day_number(span[1]))
            doc.add_integer("year", span[0].year)  # counted once, in the year it starts
            doc.add_integer("decade", span[0].year // 10 * 10)
        for kind in ("person", "place", "organization", "event"):
            for eid in item.entities(kind):
                doc.add_text(kind, eid)
        for subject in dict.fromkeys(" ".join(s.split()) for s in record.subjects):
            doc.add_text("subject", subject)
        if repo := repository_of(record):
            doc.add_text("repository", repo)
        if record.classification:
            doc.add_text("classification", record.classification.upper())
        for cid in item.collections:
            doc.add_text("collection", cid)
        return doc

    def stage(self, items: Iterable[Indexable], session: object = None) -> None:
        w = self.writer
        for item in items:
            w.delete_documents_by_term("id", item.record.id)
            w.add_document(self.document(item))

    def remove(self, record_ids: Iterable[str], session: object = None) -> None:
        for rid in record_ids:
            self.writer.delete_documents_by_term("id", rid)

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self.index.reload()

    def rollback(self) -> None:
        if self._writer is not None:
            self._writer.rollback()

    def rebuild(self, items: Iterable[Indexable], session: object = None) -> int:
        w = self.writer
        w.delete_all_documents()
        n = 0
        for item in items:
            w.add_document(self.document(item))
            n += 1
        self.commit()
        return n

    def begin_load(self, session: object = None) -> bool:
        """Nothing to defer: a Tantivy writer adds documents in bulk already."""
        return False

    def end_load(self, session: object = None) -> None:
        """Nothing was deferred (``begin_load``)."""

    def ensure_index(self, session: object = None) -> bool:
        """Nothing to build (``begin_load``)."""
        return False

    def count(self, session: object = None) -> int:
        self.index.reload()
        return self.index.searcher().num_docs

    def near_words(self, word: str, session: object = None, limit: int = 5) -> list[str]:
        """Fuzzy term queries over the title and text find the documents holding a word
        within ``typo_distance`` of this one; their stored words say which it was."""
        typed = "".join(FOLD.analyze(word))
        distance = typo_distance(typed)
        if not distance:
            return []
        stem = snippet_key(word) or typed
        query = tantivy.Query.boolean_query([
            (tantivy.Occur.Should, tantivy.Query.fuzzy_term_query(
                self.schema, f, stem, distance=distance, transposition_cost_one=True))
            for f in ("title", "text")])
        self.index.reload()
        searcher = self.index.searcher()
        counts: Counter[str] = Counter()
        for _score, address in searcher.search(query, limit=8).hits:
            doc = searcher.doc(address)
            stored = f"{doc.get_first('title') or ''} {(doc.get_first('text') or '')[:50_000]}"
            for token in set(WORD.findall(stored)):
                plain = "".join(FOLD.analyze(token))
                if plain != typed and abs(len(plain) - len(typed)) <= distance and \
                        Levenshtein.distance(plain, typed, score_cutoff=distance) <= distance:
                    counts[token] += 1
        return [w for w, _ in counts.most_common(limit)]

    # -- reading ---------------------------------------------------------------------------

    def _query(self, request: SearchRequest, node: Node | None) -> tantivy.Query:
        if node is None:
            q = tantivy.Query.all_query()
        else:
            q = compile_query(self.index, self.schema, node)
        clauses = [(tantivy.Occur.Must, q)]
        if request.date_from or request.date_to:
            lo = day_number(request.date_from) if request.date_from else None
            hi = day_number(request.date_to) if request.date_to else None
            if hi is not None:  # the record starts before the range ends
                clauses.append((tantivy.Occur.Must, tantivy.Query.range_query(
                    self.schema, "date_start", tantivy.FieldType.Integer, None, hi)))
            if lo is not None:  # and ends after it starts
                clauses.append((tantivy.Occur.Must, tantivy.Query.range_query(
                    self.schema, "date_end", tantivy.FieldType.Integer, lo, None)))
        if request.languages:
            clauses.append((tantivy.Occur.Must, tantivy.Query.term_set_query(
                self.schema, "lang", list(request.languages))))
        for eid in request.entities:
            kind = eid.split("/", 1)[0]
            if kind in ("person", "place", "organization", "event"):
                clauses.append((tantivy.Occur.Must, tantivy.Query.term_query(
                    self.schema, kind, eid)))
        for name, values in (("repository", request.repositories),
                             ("classification", [c.upper() for c in request.classifications]),
                             ("collection", request.collections),
                             ("year", request.years), ("decade", request.decades)):
            if values:
                clauses.append((tantivy.Occur.Must, tantivy.Query.term_set_query(
                    self.schema, name, list(values))))
        return clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)

    def search(self, request: SearchRequest, node: Node | None,
               session: object = None) -> SearchResult:
        self.index.reload()
        searcher = self.index.searcher()
        query = self._query(request, node)
        # Tantivy sizes its top-k buffer by offset + limit before looking at a document:
        # never more than the index holds. A page past the end still counts the hits.
        offset, limit = clamp_window(request.offset, request.limit, searcher.num_docs)
        kwargs: dict = {"limit": max(1, limit), "count": True,
                        "offset": offset if limit else 0}
        if request.sort in ("date", "-date"):
            kwargs["order_by_field"] = "date_start"
            kwargs["order"] = tantivy.Order.Asc if request.sort == "date" else tantivy.Order.Desc
        result = searcher.search(query, **kwargs)
        finder = Finder(node, snippet_key)  # search/snippets.py: the engines' one way
        hits = []
        for score, address in result.hits if limit else []:
            doc = searcher.doc(address)
            snippet = snippet_html(finder, node, doc.get_first("text") or "",
                                   doc.get_first("notes") or "", doc.get_first("summary") or "")
            hits.append(Hit(id=_stored_id(doc), score=float(score),
                            title=doc.get_first("title") or "", date=doc.get_first("date") or None,
                            snippet=snippet))
        total = result.count or 0  # type: ignore[attr-defined]  # in tantivy, not its stubs
        facets, sampled = self._facets(searcher, query, request, total) if request.facets \
            else ({}, None)
        return SearchResult(total=total, hits=hits, facets=facets, query=node,
                            facets_sampled=sampled)

    def related(self, entities: dict[str, str], subjects: list[str], exclude: str,
                limit: int, common: int, session: object = None
                ) -> list[tuple[str, float, dict[str, float]]]:
        """Records sharing the rarest of these entities (id -> kind) and subjects: a
        "more like this" over the keyword fields, where BM25 weighs each shared entity by
        its rarity. Entities in more than ``common`` records say nothing and are left
        out. Returns (id, score, weight of each entity used)."""
        self.index.reload()
        searcher = self.index.searcher()
        total = searcher.num_docs or 1
        common = max(common, total // 100)  # in a large archive, 1% of it is still rare
        occur = tantivy.Occur
        weights: dict[str, float] = {}
        clauses = []
        for eid, kind in entities.items():
            if kind not in ("person", "place", "organization", "event"):
                continue
            df = searcher.doc_freq(kind, eid)
            if 1 < df <= common:  # 1: only this record names it
                weights[eid] = math.log((total + 1) / df)
                clauses.append((occur.Should, tantivy.Query.term_query(self.schema, kind, eid)))
        # Subject headings the same way, half again as heavy as a name. A common heading
        # counts only when nothing rarer is shared, so that a record naming no rare person
        # still finds the records filed under its subjects.
        shared = [(subject, searcher.doc_freq("subject", subject)) for subject in subjects]
        rare = [(subject, df) for subject, df in shared if 1 < df <= common]
        for subject, _df in rare or ([] if weights else [p for p in shared if p[1] > 1]):
            term = tantivy.Query.term_query(self.schema, "subject", subject)
            clauses.append((occur.Should, tantivy.Query.boost_query(term, 1.5)))
        if not clauses:
            return []
        clauses.append((occur.MustNot, tantivy.Query.term_query(self.schema, "id", exclude)))
        # No total wanted: without counting every match Tantivy can skip whole blocks
        # of documents that cannot reach the top (block-max WAND).
        result = searcher.search(tantivy.Query.boolean_query(clauses), limit, count=False)
        return [(_stored_id(searcher.doc(address)), float(score), weights)
                for score, address in result.hits]

    def _facets(self, searcher: tantivy.Searcher, query: tantivy.Query,
                request: SearchRequest, total: int) -> tuple[dict, float | None]:
        """Counts per value over every hit (not just the page), in one aggregation pass;
        over the hits in a few sample buckets when there are many (then each count is
        scaled up and the share sampled is returned with them)."""
        share = None
        if not request.exact_facets and total > FACET_EXACT_UP_TO:
            buckets = max(1, math.ceil(SAMPLE_BUCKETS * FACET_SAMPLE / total))
            if buckets < SAMPLE_BUCKETS:
                share = buckets / SAMPLE_BUCKETS
                query = tantivy.Query.boolean_query([
                    (tantivy.Occur.Must, query),
                    (tantivy.Occur.Must, tantivy.Query.term_set_query(
                        self.schema, "sample", list(range(buckets))))])
        size = request.facet_size
        spec = {"language": {"terms": {"field": "lang", "size": 60}},
                "year": {"terms": {"field": "year", "size": 200}},
                "decade": {"terms": {"field": "decade", "size": 30}}}
        for name in KEYWORD_FIELDS:
            spec[name] = {"terms": {"field": name, "size": size}}
        agg = searcher.aggregate(query, spec)
        out = {}
        for name in FACETS:
            buckets = agg.get(name, {}).get("buckets", [])
            values = [(b["key"], b["doc_count"] if share is None
                       else about(b["doc_count"] / share))
                      for b in buckets if b["key"] not in ("", None)]
            if name in ("year", "decade"):
                values = sorted((int(k), n) for k, n in values)
            out[name] = values
        return out, share
