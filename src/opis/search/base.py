"""One search interface, two engines (Tantivy beside SQLite, PostgreSQL full text)."""

from __future__ import annotations

import html
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from opis.model import Record
from opis.search.languages import has_cjk
from opis.search.query import Node, lone_word, name_spellings, positive_units

FACETS = ("person", "place", "organization", "event", "language", "repository",
          "classification", "decade", "year", "collection")
ENTITY_FACETS = ("person", "place", "organization", "event")
# How deep a search may be paged from outside (the web pages, the API's cursors): the
# first 10,000 hits, as Elasticsearch's max_result_window. Tantivy allocates its top-k
# buffer for offset + limit hits up front, per index segment, so an unbounded offset
# was a one-request denial of service (2**31 asked for 34 GB and killed the server).
MAX_RESULT_WINDOW = 10_000


# Every record falls in one of these buckets (by a hash of its id, the same in both
# engines): a facet count over the hits in a few buckets, scaled up, estimates the count
# over all of them.
SAMPLE_BUCKETS = 64


def sample_bucket(record_id: str) -> int:
    return zlib.crc32(record_id.encode()) % SAMPLE_BUCKETS


def about(estimate: float) -> int:
    """An estimated count to three significant figures (79,300, not a falsely exact
    79,280: a sample of one hit in sixteen counts in sixteens), and never zero."""
    digits = len(str(int(estimate)))
    return max(1, int(round(estimate, min(0, 3 - digits))))


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

    def spellings(self) -> list[tuple[str, list[str]]]:
        """(typed name, other spellings searched) for each name the query expanded."""
        return name_spellings(self.query)

    def lone_word(self) -> str | None:
        """The query's one plain word, when it is one (for "words beginning with…")."""
        return lone_word(self.query)


class EngineError(Exception):
    """Base of the errors an engine raises for the services to act on."""


class IndexLocked(EngineError, ValueError):
    """Another process holds the index for writing (Tantivy has one writer per index:
    an ingest elsewhere). The write can be tried again once that process is done."""


class SearchEngine(Protocol):
    """What the services need from an engine. ``stage``/``remove`` are staged with the
    store's transaction and go out with ``commit`` (or are dropped by ``rollback``), so
    a failed write leaves neither a record nor an index entry; only
    services/unit_of_work.py calls the writing half. Both engines implement all of it."""

    def acquire(self) -> None:
        """Take the index for writing now; IndexLocked while another process has it."""

    def stage(self, items: Iterable[Indexable], session: Any) -> None: ...

    def remove(self, record_ids: Iterable[str], session: Any) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def collect_garbage(self) -> None:
        """Remove what a process killed inside an index commit left behind, then let
        the writer go; IndexLocked when another process is writing (it is alive)."""

    def close(self) -> None: ...

    def search(self, request: SearchRequest, node: Node | None,
               session: Any) -> SearchResult: ...

    def related(self, entities: dict[str, str], subjects: list[str], exclude: str,
                limit: int, common: int, session: Any
                ) -> list[tuple[str, float, dict[str, float]]] | None:
        """Records sharing the rarest of these entities (id -> kind) and subjects with
        record ``exclude``, best first: (id, score, weight of each shared entity); None
        when the engine keeps no keyword fields to ask, and the caller counts instead."""
        ...

    def rebuild(self, items: Iterable[Indexable], session: Any) -> int: ...

    def begin_load(self, session: Any) -> bool:
        """Before a load: take down what makes each staged entry slow to add, when
        nobody can be searching yet (the index is empty); True when it did. Every
        ``begin_load`` is followed by ``end_load``. Engines that index in bulk anyway
        do nothing."""
        ...

    def end_load(self, session: Any) -> None:
        """After a load (finished or failed): build what ``begin_load`` took down."""
        ...

    def ensure_index(self, session: Any) -> bool:
        """Build what a killed load took down; True when something was built."""
        ...

    def count(self, session: Any) -> int: ...

    def near_words(self, word: str, session: Any, limit: int = 5) -> list[str]:
        """Words of the indexed texts within a typo of ``word`` (one edit in a short
        word, two in a long one), the most common first: what "did you mean" offers
        when a word finds nothing. Empty when the engine cannot tell."""
        ...


def typo_distance(word: str) -> int:
    """How many edits a typo of ``word`` may be: none below four letters (too many
    words are that close), one up to six, two beyond."""
    n = len(word)
    return 0 if n < 4 else 1 if n <= 6 else 2


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


# The label a hit in the notes field carries in its snippet: the reader sees why a
# record was found when the word is nowhere in its text.
NOTES_LABEL = "in a footnote"


def notes_text(record: Record) -> str:
    """A record's footnotes and source note (``extra["notes"]``, docs/formats), one per
    line: their own searchable field, since they are not part of ``text``."""
    notes = record.extra.get("notes") if isinstance(record.extra, dict) else None
    parts = [n["text"] for n in notes or [] if isinstance(n, dict)
             and isinstance(n.get("text"), str)]
    if record.source_note and record.source_note not in parts:
        parts.append(record.source_note)
    return "\n".join(parts)


def notes_snippet(html_fragment: str) -> str:
    """A snippet from the notes, labelled so."""
    return f"<em class=\"snippet-where\">{NOTES_LABEL}:</em> {html_fragment}"


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


# English stop words (PostgreSQL's english.stop, Snowball's list): never marked alone,
# since a snippet lit up at every "the" shows nothing; inside a phrase they are marked.
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before
being below between both but by can did do does doing don down during each few for from
further had has have having he her here hers herself him himself his how i if in into is
it its itself just me more most my myself no nor not now of off on once only or other
our ours ourselves out over own s same she should so some such t than that the their
theirs them themselves then there these they this those through to too under until up
very was we were what when where which while who whom why will with you your yours
yourself yourselves
""".split())
_TOKEN = re.compile(r"\w+")
Key = Callable[[str], str]


def char_spans(text: str, byte_spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Byte offsets into ``text`` encoded as UTF-8 (what Tantivy's snippets give) as
    character offsets: read as characters, a hit after "встретился" or a curly quote
    landed bytes-many characters too far."""
    data = text.encode("utf-8")

    def chars(b: int) -> int:
        return len(data[:b].decode("utf-8", "ignore"))

    return [(chars(a), chars(b)) for a, b in byte_spans]


def _overlapping(tokens: list[tuple[int, int, str]], hits: list[tuple[int, int]]) -> list[bool]:
    """For each token (sorted), whether a hit span (sorted) overlaps it: one pass over
    both, not every hit against every token of a 240-character fragment."""
    out = []
    j = 0
    for s, e, _w in tokens:
        while j < len(hits) and hits[j][1] <= s:
            j += 1
        k = j
        found = False
        while k < len(hits) and hits[k][0] < e:
            if hits[k][1] > s:
                found = True
                break
            k += 1
        out.append(found)
    return out


def unit_spans(text: str, hits: Iterable[tuple[int, int]], node: Node | None,
               key: Key) -> list[tuple[int, int]]:
    """The character spans of ``text`` to mark for a query: a phrase as one span, a name
    as one span (never each "Kim" of "Kim Il Sung" alone), a word alone unless it is a
    stop word. ``hits`` are the words the engine matched (character offsets); ``key`` is
    the engine's own normalisation (its stemmer), so a unit's words are compared as the
    engine compared them. Runs of CJK characters are matched inside longer runs, as the
    engines' bigrams match them ("김두봉" in "김두봉은")."""
    hits = sorted(hits)
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    hit = _overlapping(tokens, hits)
    units = []
    for words in positive_units(node):
        parts = tuple(t for w in words for t in _TOKEN.findall(w.rstrip("*")))
        if not parts or all(p.casefold() in STOPWORDS for p in parts):
            continue
        units.append((parts, words[-1].endswith("*")))
    units.sort(key=lambda u: -len(u[0]))  # the longest unit wins where several start

    def fits(i: int, word: str, prefix: bool) -> bool:
        _s, _e, token = tokens[i]
        if word.casefold() in STOPWORDS:
            return token.casefold() in STOPWORDS
        if prefix:
            return token.casefold().startswith(word.casefold())
        return hit[i] and key(token) == key(word)

    def adjacent(i: int, n: int) -> bool:
        """The words of a phrase stand next to each other: nothing but spaces and
        joining punctuation between them ("Kim Il-sung", "U.S.")."""
        return all(not text[tokens[k][1]:tokens[k + 1][0]].strip(" -‐‑’'.\u00a0")
                   for k in range(i, i + n - 1))

    # A unit starts only on a token the engine matched, unless its first word is a stop
    # word or a prefix (which the engine's hits do not show): the rest are skipped.
    any_start = any(parts[0].casefold() in STOPWORDS or (prefix and len(parts) == 1)
                    for parts, prefix in units)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        if not hit[i] and not any_start:
            i += 1
            continue
        for parts, prefix in units:
            n = len(parts)
            # The first word first: most tokens are no hit, and that ends it at once.
            if i + n <= len(tokens) and fits(i, parts[0], prefix and n == 1) \
                    and adjacent(i, n) and all(fits(i + k, parts[k], prefix and k == n - 1)
                                               for k in range(1, n)):
                spans.append((tokens[i][0], tokens[i + n - 1][1]))
                i += n
                break
        else:
            i += 1
    # CJK words inside longer runs, which no word tokenizer splits.
    for parts, _prefix in units:
        if len(parts) == 1 and has_cjk(parts[0]):
            for m in re.finditer(re.escape(parts[0]), text):
                if not any(a < m.end() and m.start() < b for a, b in spans):
                    spans.append((m.start(), m.end()))
    return sorted(spans)


def query_words(node: Node | None) -> set[str]:
    """Every word of the units a snippet may mark, for an engine to normalise at once."""
    return {t for words in positive_units(node) for w in words for t in _TOKEN.findall(w)}
