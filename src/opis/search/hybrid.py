"""Lexical and semantic hits fused: what a search by meaning adds to a search by words.

``mode`` is ``lexical`` (the engine alone), ``semantic`` (the vector index alone),
``hybrid`` (both, fused by reciprocal rank fusion) or ``auto``, which ``classify``
resolves from the query itself:

- query syntax (a "phrase", AND/OR/NOT, -word, prefix*) asks for words: lexical;
- letters of a script other than Latin (Cyrillic, Hangul, Han, kana...): hybrid, since
  the translations are English and a reader's own words rarely match the original's;
- four words or more, or a question mark: a description in natural language, hybrid;
- anything else (a name, a term, two words): lexical, and hybrid after all when the
  words find nothing;
- sorted by date, a search is lexical: it lists what matches rather than what is near.

An explicit ``semantic`` or ``hybrid`` lists by closeness whatever the sort.

Reciprocal rank fusion (Cormack et al. 2009) scores a record ``sum 1 / (k + rank)`` over
the lists it is in; it needs no score calibration between a BM25 engine and cosine
similarities, and k = 60 is the value that paper found robust. It is not tuned here:
on the cross-lingual set (bench/crosslingual.py) words find almost nothing, so every k
gives the same figures; a set of mixed queries would be needed to tune it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace

from opis.model import Record
from opis.model.dates import bounds
from opis.search.base import MAX_RESULT_WINDOW, Hit, SearchRequest, SearchResult, repository_of
from opis.search.query import Node, words_of
from opis.search.vectors import PassageHit, SemanticSearch

MODES = ("auto", "lexical", "semantic", "hybrid")
RRF_K = 60
SNIPPET_CHARS = 320
# What the reader typed as syntax (the parsed tree cannot tell: text in CJK scripts is
# parsed into phrases of its characters).
_SYNTAX = re.compile(r'"|\bAND\b|\bOR\b|\bNOT\b|(?:^|\s)-[\w("]|\w\*')


def mode_problem(mode: str) -> str | None:
    if mode in MODES:
        return None
    return f"mode {mode!r} is not one of {', '.join(MODES)}"


def _non_latin(text: str) -> bool:
    return any(ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN")
               for ch in text)


def classify(query: str, node: Node | None) -> str:
    """``lexical`` or ``hybrid`` for a query asked in ``auto`` mode (rules above)."""
    if not query.strip() or _SYNTAX.search(query):
        return "lexical"
    if _non_latin(query):
        return "hybrid"
    if len(words_of(query)) >= 4 or "?" in query:
        return "hybrid"
    return "lexical"


def fuse(ranked: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of ranked id lists, best first (ties keep list order)."""
    scores: dict[str, float] = {}
    for ids in ranked:
        for rank, rid in enumerate(ids, start=1):
            scores[rid] = scores.get(rid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def matches_filters(record: Record, request: SearchRequest) -> bool:
    """Whether a record found by meaning passes the request's filters, as the engine
    applies them to words. Entity and collection filters need what a light record does
    not carry: with those set, only the engine's hits are shown."""
    if request.entities or request.collections:
        return False
    if request.languages and (record.original_language or "") not in request.languages:
        return False
    if request.repositories and repository_of(record) not in request.repositories:
        return False
    if request.classifications and (record.classification or "").upper() not in {
            c.upper() for c in request.classifications}:
        return False
    if request.date_from or request.date_to or request.years or request.decades:
        span = bounds(record.date)  # EDTF parsing is slow: only when a date filter asks
        if span is None:
            return False
        if request.date_to and span[0] > request.date_to:
            return False
        if request.date_from and span[1] < request.date_from:
            return False
        if request.years and span[0].year not in request.years:
            return False
        if request.decades and span[0].year // 10 * 10 not in request.decades:
            return False
    return True


def passage_snippet(passage: PassageHit) -> str:
    """The passage that matched, escaped, cut at a word near SNIPPET_CHARS."""
    text = " ".join(passage.text.split())
    if len(text) > SNIPPET_CHARS:
        cut = text.rfind(" ", 0, SNIPPET_CHARS)
        text = text[:cut if cut > SNIPPET_CHARS // 2 else SNIPPET_CHARS] + " …"
    return html.escape(text)


def search(request: SearchRequest, node: Node | None, engine, semantic: SemanticSearch,
           session, records: Callable[[list[str]], dict[str, Record]]) -> SearchResult:
    """The request answered in its mode (``request.mode``). ``engine`` is the lexical
    engine; ``records`` loads light records by id (for the filters and titles)."""
    mode = request.mode if request.mode in MODES else "auto"
    if mode == "auto":
        # Sorted by date, a search lists what matches: words decide that, not closeness.
        mode = classify(request.query, node) if request.sort == "relevance" else "lexical"
    if mode != "lexical" and not semantic.available(session):
        mode = "lexical"  # nothing embedded yet (opis embed): words are all there is
    if mode == "lexical":
        result = engine.search(request, node, session)
        if request.mode == "auto" and request.sort == "relevance" and not result.total \
                and node is not None and not _SYNTAX.search(request.query) \
                and semantic.available(session):
            mode = "hybrid"  # the words found nothing: try their meaning
        else:
            result.mode = "lexical"
            return result
    window = min(max(50, request.offset + request.limit), MAX_RESULT_WINDOW)
    if mode == "semantic":
        lexical = SearchResult(total=0, hits=[])
    else:
        lexical = engine.search(replace(request, offset=0, limit=window), node, session)
    passages = semantic.search(session, request.query, min(window, 1000))
    if _filtered(request):  # the filters are checked on the records: load them all
        found = records([p.record_id for p in passages])
        passages = [p for p in passages if p.record_id in found
                    and matches_filters(found[p.record_id], request)]
    by_id = {p.record_id: p for p in passages}
    lexical_hits = {h.id: h for h in lexical.hits}
    fused = fuse([list(lexical_hits), list(by_id)])[request.offset:
                                                    request.offset + request.limit]
    # Titles and dates of the hits on this page that only meaning found.
    found = records([rid for rid, _ in fused if rid not in lexical_hits])
    hits: list[Hit] = []
    for rid, score in fused:
        hit = lexical_hits.get(rid)
        passage = by_id.get(rid)
        if hit is None:
            record = found.get(rid)
            if record is None or passage is None:  # withdrawn since it was embedded
                continue
            hit = Hit(rid, score, record.title, record.date, passage_snippet(passage),
                      matched="meaning", passage_kind=passage.kind)
        else:
            hit = replace(hit, score=score, matched="both" if passage else "words")
        hits.append(hit)
    only_meaning = sum(1 for rid in by_id if rid not in lexical_hits)
    return SearchResult(total=lexical.total + only_meaning, hits=hits, facets=lexical.facets,
                        query=lexical.query or node, facets_sampled=lexical.facets_sampled,
                        mode=mode)


def _filtered(request: SearchRequest) -> bool:
    return bool(request.languages or request.repositories or request.classifications
                or request.date_from or request.date_to or request.years or request.decades
                or request.entities or request.collections)
