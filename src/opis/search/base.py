"""One search interface, two engines (Tantivy beside SQLite, PostgreSQL full text)."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from opis.model import Record
from opis.search.query import Node

FACETS = ("person", "place", "organization", "event", "language", "repository",
          "classification", "decade", "year", "collection")
ENTITY_FACETS = ("person", "place", "organization", "event")
# How deep a search may be paged from outside (the web pages, the API's cursors): the
# first 10,000 hits, as Elasticsearch's max_result_window. Tantivy allocates its top-k
# buffer for offset + limit hits up front, per index segment, so an unbounded offset
# was a one-request denial of service (2**31 asked for 34 GB and killed the server).
MAX_RESULT_WINDOW = 10_000


@dataclass
class SearchRequest:
    query: str = ""
    date_from: date | None = None
    date_to: date | None = None
    languages: list[str] = field(default_factory=list)
    limit: int = 20
    offset: int = 0
    sort: str = "relevance"  # or "date", "-date"
    entities: list[str] = field(default_factory=list)  # every one must be mentioned
    repositories: list[str] = field(default_factory=list)
    classifications: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    decades: list[int] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)
    facet_size: int = 15
    facets: bool = True
    # Browse pages list every year or repository with its count: they ask for exact
    # counts however many documents match. A search may have them estimated.
    exact_facets: bool = False
    # lexical, semantic, hybrid, or auto: hybrid for natural-language questions and
    # other scripts, lexical for names, terms and query syntax (search/hybrid.py)
    mode: str = "auto"


@dataclass
class Indexable:
    """A record plus what the index needs to know beyond it."""

    record: Record
    entity_kinds: dict[str, str] = field(default_factory=dict)  # entity id -> kind
    collections: list[str] = field(default_factory=list)

    def entities(self, kind: str) -> list[str]:
        return sorted({m.entity_id for m in self.record.mentions
                       if self.entity_kinds.get(m.entity_id) == kind})


def repository_of(record: Record) -> str | None:
    ref = record.archival_reference
    return (ref.repository if ref and ref.repository else record.repository_title) or None


@dataclass
class Hit:
    id: str
    score: float
    title: str
    date: str | None
    snippet: str  # HTML: escaped text with <mark> around matched words
    # "words" (the engine found it), "meaning" (only the vector index: the snippet is
    # the passage that matched), or "both"
    matched: str = "words"
    passage_kind: str | None = None  # for "meaning": title, text or note


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    query: Node | None = None
    # The facet counts were estimated from a sample of the hits (a search matching a
    # large part of a large archive); None when they are exact, else the share sampled.
    facets_sampled: float | None = None
    mode: str = "lexical"  # the mode the search ran in, "auto" resolved


class SearchEngine(Protocol):
    """What the services need from an engine. ``stage``/``commit`` follow the store's
    transaction so a failed ingest leaves neither a record nor an index entry."""

    def stage(self, items: Iterable[Indexable], session: object) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def search(self, request: SearchRequest, node: Node | None,
               session: object) -> SearchResult: ...

    def rebuild(self, items: Iterable[Indexable], session: object) -> int: ...

    def count(self, session: object) -> int: ...


def clamp_window(offset: int, limit: int, size: int) -> tuple[int, int]:
    """(offset, limit) kept inside the ``size`` documents an engine holds: a page past
    the last document is empty whatever it asked for, so the engines never size a
    buffer or a query by a number from outside (defence behind the web's own bounds,
    which keep offset + limit within MAX_RESULT_WINDOW)."""
    offset = min(max(0, offset), size)
    return offset, max(0, min(limit, size - offset))


def day_number(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def marked_html(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Escape ``text`` and wrap the given character spans in <mark>."""
    out = []
    pos = 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        out.append(html.escape(text[pos:start]))
        out.append("<mark>" + html.escape(text[start:end]) + "</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def meta_text(record: Record) -> str:
    """Metadata worth finding a record by, flattened into one searchable field."""
    parts: list[str] = []
    if record.archival_reference:
        parts.append(record.archival_reference.text)
    parts += [c.name for c in record.contributors]
    parts += [a.name for a in record.authors] + [a.title or "" for a in record.authors]
    parts += record.distribution + record.subjects + record.places + record.people
    parts += record.organizations + record.donors
    for value in (record.classification, record.document_number, record.repository_title,
                  record.citation):
        if value:
            parts.append(value)
    return "\n".join(p for p in parts if p)
