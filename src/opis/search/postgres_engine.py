"""PostgreSQL full-text search: a weighted tsvector per record with a GIN index.

The index lives in the same database and the same transaction as the records, so
any number of web workers on any number of machines share it and it can never
drift from the records it describes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from itertools import islice

from sqlalchemy import Connection, Row, text
from sqlalchemy.orm import Session

from opis.model import Record
from opis.model.dates import bounds
from opis.search import postgres_index
from opis.search.base import (
    ENTITY_FACETS,
    SAMPLE_BUCKETS,
    Hit,
    Indexable,
    SearchRequest,
    SearchResult,
    clamp_window,
    meta_text,
    notes_text,
    repository_of,
    sample_bucket,
)
from opis.search.languages import cjk_bigrams, has_cjk, language_texts
from opis.search.names import fold_marks
from opis.search.postgres_filters import facet_lists, filters
from opis.search.query import And, Name, Node, Not, Or, Phrase, Prefix, Term, positive_terms
from opis.search.snippets import Finder, snippet_html
from opis.search.tantivy_query import snippet_key

# Copies of PostgreSQL's english, russian and german configurations whose words lose
# their diacritics before stemming (migration 0007): Hammarskjold finds Hammarskjöld.
CONFIG = "opis_english"
RUSSIAN = "opis_russian"
GERMAN = "opis_german"
# The index that ranks inside itself (migration 0009; absent where the server lacks RUM).
# Facet counts are exact up to this many hits; above, they are estimated from the hits
# in a few sample buckets (about FACET_SAMPLE of them), as the embedded engine does
# above its own, higher limit: here every counted hit is a row read from the table.
FACET_EXACT_UP_TO = 2_000
FACET_SAMPLE = 2_000
MAX_DOCUMENTS = 2**31 - 1  # more records than any archive: the bound of LIMIT/OFFSET
_UPSERT = text(
    f"""
    INSERT INTO search_documents (record_id, notes, sample, entities, collections,
        language, repository, classification, date_start, date_end, year, tsv)
    VALUES (:id, :notes, :sample, CAST(:entities AS text[]), CAST(:collections AS text[]),
        :language, :repository, :classification, :date_start, :date_end, :year,
        setweight(to_tsvector('{CONFIG}', :title), 'A') ||
        setweight(to_tsvector('{CONFIG}', :summary), 'B') ||
        setweight(to_tsvector('{CONFIG}', :meta), 'C') ||
        setweight(to_tsvector('{CONFIG}', :body), 'D') ||
        setweight(to_tsvector('{CONFIG}', :notes), 'D') ||
        setweight(to_tsvector('{RUSSIAN}', :ru), 'D') ||
        setweight(to_tsvector('{GERMAN}', :de), 'D') ||
        setweight(to_tsvector('simple', :cjk), 'D') ||
        setweight(array_to_tsvector(CAST(:linked AS text[])), 'D'))
    ON CONFLICT (record_id) DO UPDATE SET tsv = EXCLUDED.tsv, notes = EXCLUDED.notes,
        sample = EXCLUDED.sample, entities = EXCLUDED.entities,
        collections = EXCLUDED.collections, language = EXCLUDED.language,
        repository = EXCLUDED.repository, classification = EXCLUDED.classification,
        date_start = EXCLUDED.date_start, date_end = EXCLUDED.date_end, year = EXCLUDED.year
    """
)
LINKED = "entity:"


def _tsquote(lexeme: str) -> str:
    return "'" + lexeme.replace("'", "''").replace("\\", "\\\\") + "'"


def linked_lexemes(record: Record) -> list[str]:
    """One lexeme per entity the record links ("entity:person/rhee-syngman"): no text
    word parses into one, so a name query can ask for the link beside the words."""
    return sorted({LINKED + m.entity_id for m in record.mentions})


def _has_links(node: Node) -> bool:
    if isinstance(node, Name):
        return bool(node.entities)
    if isinstance(node, And | Or):
        return any(_has_links(i) for i in node.items)
    return isinstance(node, Not) and _has_links(node.item)


def compile_tsquery(node: Node, params: dict[str, str], linked: bool = True) -> str:
    """Our query tree as a tsquery SQL expression with bound parameters; ``linked``
    False leaves out the entity links of names (the literal query, for ranking)."""

    def bind(value: str) -> str:
        name = f"q{len(params)}"
        params[name] = value
        return f":{name}"

    if isinstance(node, Term | Phrase):
        words = node.text if isinstance(node, Term) else " ".join(node.words)
        fn = "plainto_tsquery" if isinstance(node, Term) else "phraseto_tsquery"
        p = bind(words)
        # The same words through each language's stemmer, and CJK as bigrams. A word
        # English drops as a stop word ("of") must stay dropped, not become required
        # through the German stemmer, hence the numnode() guard.
        english = f"{fn}('{CONFIG}', {p})"
        german = f"{fn}('{GERMAN}', {p})"
        # German only where it stems differently: a name ("Kim") is the same lexeme in
        # both, and OR-ing it with itself doubled the work of matching and ranking.
        parts = [f"(CASE WHEN numnode({english}) = 0 OR {english} = {german} THEN {english}"
                 f" ELSE {english} || {german} END)"]
        if re.search(r"[\u0400-\u04ff]", words):
            parts.append(f"{fn}('{RUSSIAN}', {p})")
        if has_cjk(words):
            parts.append(f"phraseto_tsquery('simple', {bind(cjk_bigrams(words))})")
        return "(" + " || ".join(parts) + ")"
    if isinstance(node, Prefix):
        # As the index holds words: diacritics folded (opis_english's unaccent).
        stem = fold_marks(re.sub(r"[^\w]", "", node.stem)).lower() or "x"
        return f"to_tsquery('simple', {bind(stem + ':*')})"
    if isinstance(node, Not):
        return f"(!! {compile_tsquery(node.item, params, linked)})"
    if isinstance(node, And):
        return "(" + " && ".join(compile_tsquery(i, params, linked) for i in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " || ".join(compile_tsquery(i, params, linked) for i in node.items) + ")"
    if isinstance(node, Name):
        parts = [compile_tsquery(i, params, linked) for i in (node.exact, *node.variants)]
        if linked:  # a quoted lexeme: ids are slugs, so no quote inside to double
            parts += [f"CAST({bind(_tsquote(LINKED + eid))} AS tsquery)"
                      for eid in node.entities]
        return "(" + " || ".join(parts) + ")"
    raise TypeError(node)


_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+")


def _has_prefix(node: Node) -> bool:
    if isinstance(node, Prefix):
        return True
    if isinstance(node, And | Or):
        return any(_has_prefix(i) for i in node.items)
    if isinstance(node, Name):
        return any(_has_prefix(i) for i in (node.exact, *node.variants))
    return False


def ranking_words(node: Node, params: dict[str, str]) -> str | None:
    """What a page is ranked by inside the RUM index: any of the query's words, one
    lexeme each, while the WHERE still asks for its phrases and names. Ranked by the
    phrases themselves, RUM checked every phrase of every candidate before the first
    row came out: a name written 24 ways found in 785 of 10,000 documents took 91 ms,
    ranked by its words 24 ms. Only for Latin-script words (other scripts are matched
    through other configurations and CJK bigrams) and without prefixes; None: rank by
    the query itself."""
    if _has_prefix(node):
        return None
    words = sorted({w for term in positive_terms(node)
                    for w in re.findall(r"[^\W\d_]+", term)})
    if not words or not all(_LATIN.fullmatch(w) for w in words):
        return None
    parts = []
    for w in words:
        name = f"q{len(params)}"
        params[name] = w
        parts.append(f"plainto_tsquery('{CONFIG}', :{name})")
    return "(" + " || ".join(parts) + ")"


class PostgresEngine:
    def __init__(self) -> None:
        self._distance = postgres_index.DistanceOperator()
        self._loads: list[Connection] = []  # held while this process loads (begin_load)

    def stage(self, items: Iterable[Indexable], session: Session) -> None:
        rows = [_row(item) for item in items]
        if rows:  # one executemany: psycopg sends the rows in a pipeline, not one by one
            session.execute(_UPSERT, rows)

    def remove(self, record_ids: Iterable[str], session: Session) -> None:
        for rid in record_ids:
            session.execute(text("DELETE FROM search_documents WHERE record_id = :id"), {"id": rid})

    def acquire(self) -> None:
        """Nothing to take: rows are locked by the transaction that writes them."""

    def collect_garbage(self) -> None:
        """Nothing to collect: the index is rows of the database."""

    def commit(self) -> None:
        """Nothing to do: the index rows commit with the records."""

    def rollback(self) -> None:
        """Nothing to do: the index rows roll back with the records."""

    def close(self) -> None:
        """Let go of the announcements of loads that did not end (the index is the
        database's: nothing else to release)."""
        while self._loads:
            postgres_index.release_load(self._loads.pop())

    def related(self, entities: dict[str, str], subjects: list[str], exclude: str,
                limit: int, common: int, session: Session) -> None:
        """None: full-text rows hold no keyword fields to weigh shared entities by, so
        the services count them in the database (services/reading.py ``related``)."""
        return None

    def rebuild(self, items: Iterable[Indexable], session: Session) -> int:
        """Every row again, with the full-text index dropped first and built once at the
        end, in the same transaction: built in bulk, a RUM index is made many times
        faster than row by row."""
        postgres_index.drop(session)
        session.execute(text("DELETE FROM search_documents"))
        n = 0
        rest = iter(items)
        while batch := list(islice(rest, 200)):
            self.stage(batch, session)
            n += len(batch)
        postgres_index.ensure(session)
        return n

    def begin_load(self, session: Session) -> bool:
        """A load into an empty index: its rows go in without the full-text index, which
        ``end_load`` builds once (search/postgres_index.py says why and how loads and
        open archives agree on who builds it)."""
        self._loads.append(postgres_index.hold_load(session))
        return postgres_index.drop_if_empty(session)

    def end_load(self, session: Session) -> None:
        """The load is over: let the index be built, and build it unless another load
        still runs (then that one will)."""
        if self._loads:
            postgres_index.release_load(self._loads.pop())
        postgres_index.ensure(session)

    def ensure_index(self, session: Session) -> bool:
        """Build the full-text index if a load took it down and is no longer running
        (it was killed); True when one was built."""
        return postgres_index.ensure(session)

    def count(self, session: Session) -> int:
        return session.execute(text("SELECT count(*) FROM search_documents")).scalar_one()

    def near_words(self, word: str, session: Session, limit: int = 5) -> list[str]:
        """PostgreSQL keeps no list of the words it indexed that a typo could be looked
        up in (ts_stat reads every document): "did you mean" offers the authority
        file's names only (services/spelling.py)."""
        return []

    def search(self, request: SearchRequest, node: Node | None, session: Session) -> SearchResult:
        # LIMIT and OFFSET are bigints: a number from outside past 2**63 would be a
        # database error, so both stay within what any archive can hold.
        offset, limit = clamp_window(request.offset, request.limit, MAX_DOCUMENTS)
        params: dict = {"limit": max(1, limit), "offset": offset}
        where = filters(request, params)
        if node is None:
            return self._browse(request, where, params, session)
        # The planner cannot know that matching a row it reads from the table means
        # reading its tsvector out of line: for a common word it chose to scan the table
        # (0.66 s at 100,000 records) over the index's bitmap (0.1 s).
        session.execute(text("SET LOCAL enable_seqscan = off"))
        match = compile_tsquery(node, params)
        cond = " AND ".join([f"s.tsv @@ {match}", *where])
        hits = self._page(request, node, match, cond, params, session)
        total, facets, share = self._count_and_facets(request, cond, params, session)
        snippets = self._snippets(session, [h.id for h in hits], node)
        for hit in hits:
            hit.snippet = snippets.get(hit.id, "")
        return SearchResult(total=total, hits=hits, facets=facets, query=node,
                            facets_sampled=share)

    def _page(self, request: SearchRequest, node: Node, match: str, cond: str,
              params: dict, session: Session) -> list[Hit]:
        """The hits of one page, best first (or by date). With the RUM index the best
        come out of the index in rank order, read from the positions it keeps, so no
        hit's tsvector is read from the table; without it (a server lacking the
        extension) every hit's is, to rank it with ts_rank_cd."""
        source = "search_documents s JOIN records r ON r.id = s.record_id"
        by_date = {"date": "s.date_start ASC NULLS LAST, s.record_id",
                   "-date": "s.date_start DESC NULLS LAST, s.record_id"}.get(request.sort)
        if by_date:
            return _hits(session.execute(text(
                f"SELECT r.id, r.title, r.date, 0.0 AS score FROM {source} WHERE {cond}"
                f" ORDER BY {by_date} LIMIT :limit OFFSET :offset"), params).all())
        literal = compile_tsquery(node, params, linked=False) if _has_links(node) else None
        distance = self._distance(session)
        if not distance:
            score = f"ts_rank_cd(s.tsv, {match})"
            if literal:
                # A document found only through a linked name ranks below every literal
                # match (a tenth of its score: the link lexeme alone counts as a word).
                score += f" * CASE WHEN s.tsv @@ {literal} THEN 1 ELSE 0.1 END"
            return _hits(session.execute(text(
                f"SELECT r.id, r.title, r.date, {score} AS score FROM {source} WHERE {cond}"
                f" ORDER BY score DESC, s.date_start, s.record_id LIMIT :limit OFFSET :offset"),
                params).all())

        def ranked(condition: str, by: str, offset: int, limit: int) -> list[Hit]:
            # Rows come out of the index best first (the distance is 1 / rank), but ties
            # in an order of its own that a LIMIT or a rebuild can change, and a
            # document could then fall between two pages. So a few rows more are read
            # until the tie at the page's end is whole, and the order is (distance,
            # id). Only the index's ordered scan: a second ORDER BY key, or a bitmap
            # scan and a sort, made the planner rank every hit.
            # The scan's cost is in finding and ranking the hits, hardly in the rows it
            # returns, so it reads 200 more at once and, if the tie is longer, once more
            # ten times as many (a tie of thousands, as in a synthetic corpus, keeps the
            # index's own order past that); reading 50 more and then four times as many
            # ran a phrase's scan 2.5 times a page.
            window = offset + limit
            fetch = window + 200
            session.execute(text("SET LOCAL enable_bitmapscan = off"))
            for _ in range(2):
                rows = session.execute(text(
                    f"SELECT r.id, r.title, r.date, s.tsv {distance} {by} AS d FROM {source}"
                    f" WHERE {condition} ORDER BY s.tsv {distance} {by} LIMIT :fetch"),
                    {**params, "fetch": fetch}).all()
                if len(rows) < fetch or rows[-1].d > rows[window - 1].d:
                    break
                fetch *= 10
            session.execute(text("SET LOCAL enable_bitmapscan = on"))
            page = sorted(rows, key=lambda r: (r.d, r.id))[offset:window]
            return [Hit(id=r.id, title=r.title, date=r.date, snippet="",
                        score=0.0 if math.isinf(r.d) else 1.0 / r.d) for r in page]

        offset, limit = params["offset"], params["limit"]
        words = ranking_words(node, params)
        if not literal:
            return ranked(cond, words or match, offset, limit)
        # A name the authority links: the documents that write one of its spellings
        # first, in rank order; then those found only through the link.
        first = ranked(f"s.tsv @@ {literal} AND {cond}", words or literal, 0, offset + limit)
        if len(first) == offset + limit:
            return first[offset:]
        rest = ranked(f"NOT s.tsv @@ {literal} AND {cond}", words or match,
                      max(0, offset - len(first)), offset + limit - max(len(first), offset))
        return [*first[offset:], *rest]

    def _browse(self, request: SearchRequest, where: list[str], params: dict,
                session: Session) -> SearchResult:
        """No query: the published records that pass the filters, oldest first unless
        asked otherwise (a browse page)."""
        order = {"-date": "s.date_start DESC NULLS LAST, s.record_id"}.get(
            request.sort, "s.date_start ASC NULLS LAST, s.record_id")
        cond = " AND ".join(where) or "TRUE"
        rows = session.execute(text(
            "SELECT r.id, r.title, r.date, 0.0 AS score FROM search_documents s"
            f" JOIN records r ON r.id = s.record_id WHERE {cond}"
            f" ORDER BY {order} LIMIT :limit OFFSET :offset"), params).all()
        total, facets, share = self._count_and_facets(request, cond, params, session)
        snippets = self._snippets(session, [r.id for r in rows], None)
        hits = [Hit(id=r.id, score=0.0, title=r.title, date=r.date,
                    snippet=snippets.get(r.id, "")) for r in rows]
        return SearchResult(total=total, hits=hits, facets=facets, facets_sampled=share)

    def _count_and_facets(self, request: SearchRequest, cond: str, params: dict,
                          session: Session) -> tuple[int, dict, float | None]:
        """The number of hits and, if asked, the counts per facet value, in one
        statement: the hits are found once, counted, and (above FACET_EXACT_UP_TO, unless
        exact counts are asked for) only those in a few sample buckets are counted per
        value, scaled up. Every count comes from columns of the hits' own rows (the
        entity and collection ids the index row keeps), never from a join per mention:
        that join read 90 rows a hit and took seconds at 100,000 records."""
        sampled = request.facets and not request.exact_facets
        rows = session.execute(text(
            # Only the index rows: they hold every column counted, and the index holds
            # published records only, so no hit is joined with its record.
            f"WITH hits AS MATERIALIZED (SELECT s.record_id AS id, s.sample"
            f" FROM search_documents s WHERE {cond}),"
            " n AS (SELECT count(*) AS total FROM hits),"
            # (numeric: psycopg binds a small int as a smallint, which the product of
            # two overflowed)
            " k AS (SELECT CAST(CASE WHEN NOT :sampled OR total <= :exact THEN :buckets"
            " ELSE least(:buckets, ceil(CAST(:buckets AS numeric) * :target / total)) END"
            " AS integer) AS buckets FROM n),"
            " counted AS MATERIALIZED (SELECT d.language, d.repository, d.classification,"
            " d.year, d.entities, d.collections FROM hits h"
            " JOIN search_documents d ON d.record_id = h.id, k"
            " WHERE :facets AND h.sample < k.buckets)"
            " SELECT 'total' AS facet, NULL AS value, total AS n FROM n"
            " UNION ALL SELECT 'buckets', NULL, buckets FROM k"
            " UNION ALL SELECT CASE WHEN GROUPING(language) = 0 THEN 'language'"
            " WHEN GROUPING(repository) = 0 THEN 'repository'"
            " WHEN GROUPING(classification) = 0 THEN 'classification' ELSE 'year' END,"
            " coalesce(language, repository, classification, CAST(year AS text)), count(*)"
            " FROM counted GROUP BY GROUPING SETS ((language), (repository),"
            " (classification), (year))"
            " UNION ALL SELECT 'entity:' || kind, entity_id, n FROM (SELECT e.kind,"
            " x.entity_id, x.n, row_number() OVER (PARTITION BY e.kind"
            " ORDER BY x.n DESC, x.entity_id) AS rank FROM (SELECT entity_id, count(*) AS n"
            " FROM counted, unnest(counted.entities) AS entity_id GROUP BY entity_id) x"
            " JOIN entities e ON e.id = x.entity_id WHERE e.kind = ANY(:kinds)) ranked"
            " WHERE rank <= :size"
            " UNION ALL SELECT 'collection', collection_id, n FROM (SELECT collection_id,"
            " count(*) AS n FROM counted, unnest(counted.collections) AS collection_id"
            " GROUP BY collection_id ORDER BY n DESC, collection_id LIMIT :size) c"),
            {**params, "sampled": sampled, "facets": request.facets,
             "exact": FACET_EXACT_UP_TO, "target": FACET_SAMPLE, "buckets": SAMPLE_BUCKETS,
             "size": request.facet_size, "kinds": list(ENTITY_FACETS)}).all()
        total = buckets = 0
        counts: dict[str, list[tuple[str, int]]] = {}
        for facet, value, n in rows:
            if facet == "total":
                total = n
            elif facet == "buckets":
                buckets = n
            elif value not in ("", None):
                counts.setdefault(facet.removeprefix("entity:"), []).append((value, n))
        if not request.facets:
            return total, {}, None
        share = buckets / SAMPLE_BUCKETS if buckets < SAMPLE_BUCKETS else None
        return total, facet_lists(counts, share, request.facet_size), share

    def _snippets(self, session: Session, ids: list[str], node: Node | None) -> dict[str, str]:
        """Each hit's snippet: the window of its text with the most query words, marked
        as units (a phrase, a name), found in Python (search/snippets.py says why not
        ts_headline); from its notes when only they hold the words, else its summary."""
        if not ids:
            return {}
        rows = session.execute(text(
            "SELECT r.id, r.text, coalesce(s.notes, ''), coalesce(r.data->>'summary', '')"
            " FROM records r LEFT JOIN search_documents s ON s.record_id = r.id"
            " WHERE r.id = ANY(:ids)"), {"ids": ids}).all()
        finder = Finder(node, snippet_key)
        return {rid: snippet_html(finder, node, body or "", notes, summary)
                for rid, body, notes, summary in rows}


def _hits(rows: Sequence[Row]) -> list[Hit]:
    return [Hit(id=r.id, score=float(r.score), title=r.title, date=r.date, snippet="")
            for r in rows]


def _row(item: Indexable) -> dict:
    """The parameters of one record's index row."""
    r = item.record
    span = bounds(r.date)
    return {"id": r.id, "title": r.title, "summary": r.summary or "", "meta": meta_text(r),
            "body": r.text, "notes": notes_text(r), "linked": linked_lexemes(r),
            "sample": sample_bucket(r.id), "language": r.original_language,
            "repository": repository_of(r),
            "classification": r.classification.upper() if r.classification else None,
            "date_start": span[0] if span else None, "date_end": span[1] if span else None,
            "year": span[0].year if span else None,
            "entities": sorted({m.entity_id for m in r.mentions}),
            "collections": sorted(set(item.collections)), **language_texts(r)}
