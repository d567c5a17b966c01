"""PostgreSQL full-text search: a weighted tsvector per record with a GIN index.

The index lives in the same database and the same transaction as the records, so
any number of web workers on any number of machines share it and it can never
drift from the records it describes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from opis.model import Record
from opis.search.base import (
    ENTITY_FACETS,
    Hit,
    Indexable,
    SearchRequest,
    SearchResult,
    clamp_window,
    marked_html,
    meta_text,
    notes_snippet,
    notes_text,
    query_words,
    unit_spans,
)
from opis.search.languages import cjk_bigrams, has_cjk, language_texts
from opis.search.names import fold_marks
from opis.search.query import And, Name, Node, Not, Or, Phrase, Prefix, Term, positive_terms

# Copies of PostgreSQL's english, russian and german configurations whose words lose
# their diacritics before stemming (migration 0007): Hammarskjold finds Hammarskjöld.
CONFIG = "opis_english"
RUSSIAN = "opis_russian"
GERMAN = "opis_german"
MAX_DOCUMENTS = 2**31 - 1  # more records than any archive: the bound of LIMIT/OFFSET
_UPSERT = text(
    f"""
    INSERT INTO search_documents (record_id, notes, tsv) VALUES (:id, :notes,
        setweight(to_tsvector('{CONFIG}', :title), 'A') ||
        setweight(to_tsvector('{CONFIG}', :summary), 'B') ||
        setweight(to_tsvector('{CONFIG}', :meta), 'C') ||
        setweight(to_tsvector('{CONFIG}', :body), 'D') ||
        setweight(to_tsvector('{CONFIG}', :notes), 'D') ||
        setweight(to_tsvector('{RUSSIAN}', :ru), 'D') ||
        setweight(to_tsvector('{GERMAN}', :de), 'D') ||
        setweight(to_tsvector('simple', :cjk), 'D') ||
        setweight(array_to_tsvector(CAST(:linked AS text[])), 'D'))
    ON CONFLICT (record_id) DO UPDATE SET tsv = EXCLUDED.tsv, notes = EXCLUDED.notes
    """
)
START, STOP = "\x02", "\x03"
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


class PostgresEngine:
    def stage(self, items: Iterable[Indexable], session: Session) -> None:
        for item in items:
            r = item.record
            session.execute(_UPSERT, {"id": r.id, "title": r.title, "summary": r.summary or "",
                                      "meta": meta_text(r), "body": r.text,
                                      "notes": notes_text(r),
                                      "linked": linked_lexemes(r), **language_texts(r)})

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
        """Nothing to release: the index is the database's."""

    def related(self, entities: dict[str, str], subjects: list[str], exclude: str,
                limit: int, common: int, session: Session) -> None:
        """None: full-text rows hold no keyword fields to weigh shared entities by, so
        the services count them in the database (services/reading.py ``related``)."""
        return None

    def rebuild(self, items: Iterable[Indexable], session: Session) -> int:
        session.execute(text("DELETE FROM search_documents"))
        n = 0
        for item in items:
            self.stage([item], session)
            n += 1
        return n

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
        where = ["r.status = 'published'"]
        if node is not None:
            queries = f"{compile_tsquery(node, params)} AS q"
            where.append("s.tsv @@ q.q")
            score = "ts_rank_cd(s.tsv, q.q)"
            if _has_links(node):
                # A document found only through a linked name ranks below every literal
                # match (a tenth of its score: the link lexeme alone counts as a word).
                queries += f", {compile_tsquery(node, params, linked=False)} AS lit"
                score += " * CASE WHEN s.tsv @@ q.lit THEN 1 ELSE 0.1 END"
            source = ("search_documents s JOIN records r ON r.id = s.record_id,"
                      f" (SELECT {queries}) q")
        else:
            source = "records r"
            score = "0.0"
        if request.date_to:
            where.append("r.date_start <= :date_to")
            params["date_to"] = request.date_to
        if request.date_from:
            where.append("r.date_end >= :date_from")
            params["date_from"] = request.date_from
        if request.languages:
            where.append("r.original_language = ANY(:langs)")
            params["langs"] = list(request.languages)
        for i, eid in enumerate(request.entities):
            where.append(f"EXISTS (SELECT 1 FROM mentions m WHERE m.record_id = r.id"
                         f" AND m.entity_id = :ent{i})")
            params[f"ent{i}"] = eid
        if request.repositories:
            where.append("r.repository = ANY(:repos)")
            params["repos"] = list(request.repositories)
        if request.classifications:
            where.append("upper(r.classification) = ANY(:classes)")
            params["classes"] = [c.upper() for c in request.classifications]
        if request.years:
            where.append("CAST(extract(year FROM r.date_start) AS integer) = ANY(:years)")
            params["years"] = list(request.years)
        if request.decades:
            where.append("CAST(extract(year FROM r.date_start) AS integer) / 10 * 10"
                         " = ANY(:decades)")
            params["decades"] = list(request.decades)
        if request.collections:
            where.append("EXISTS (SELECT 1 FROM collection_items ci WHERE ci.record_id = r.id"
                         " AND ci.collection_id = ANY(:colls))")
            params["colls"] = list(request.collections)
        order = {"date": "r.date_start ASC NULLS LAST, r.id",
                 "-date": "r.date_start DESC NULLS LAST, r.id"}.get(
            request.sort, "score DESC, r.date_start, r.id")
        cond = " AND ".join(where)
        rows = session.execute(text(
            f"SELECT r.id, r.title, r.date, {score} AS score, count(*) OVER () AS total"
            f" FROM {source} WHERE {cond} ORDER BY {order} LIMIT :limit OFFSET :offset"
        ), params).all()
        total = rows[0].total if rows else 0
        if not rows and offset:
            total = session.execute(text(f"SELECT count(*) FROM {source} WHERE {cond}"),
                                    params).scalar_one()
        snippets = self._snippets(session, [r.id for r in rows], node)
        hits = [Hit(id=r.id, score=float(r.score), title=r.title, date=r.date,
                    snippet=snippets.get(r.id, "")) for r in rows]
        facets = self._facets(session, source, cond, params, request) if request.facets else {}
        return SearchResult(total=total, hits=hits, facets=facets, query=node)

    def _facets(self, session: Session, source: str, cond: str, params: dict,
                request: SearchRequest) -> dict:
        """Counts per value over every hit: the hit set is found once per query (not once
        per facet, as at first: ten full-text matches per search), the record columns are
        counted in one pass with GROUPING SETS, and the entity kinds in one more."""
        hits = f"WITH hits AS MATERIALIZED (SELECT r.id FROM {source} WHERE {cond}) "
        size = {"size": request.facet_size}
        columns = {
            "language": "r.original_language", "repository": "r.repository",
            "classification": "upper(r.classification)",
            "year": "CAST(extract(year FROM r.date_start) AS integer)",
            "decade": "CAST(extract(year FROM r.date_start) AS integer) / 10 * 10",
        }
        names = list(columns)
        selected = ", ".join(f"{col} AS {name}" for name, col in columns.items())
        sets = ", ".join(f"({name})" for name in names)
        flags = ", ".join(f"GROUPING({name}) AS g_{name}" for name in names)
        rows = session.execute(text(
            f"{hits}SELECT {', '.join(names)}, {flags}, count(*) AS n FROM"
            f" (SELECT {selected} FROM records r JOIN hits h ON h.id = r.id) x"
            f" GROUP BY GROUPING SETS ({sets})"), params).all()
        out: dict[str, list] = {name: [] for name in names}
        for row in rows:
            data = row._mapping
            name = next(n for n in names if data[f"g_{n}"] == 0)
            if data[name] not in ("", None):
                out[name].append((data[name], data["n"]))
        for name in names:
            if name in ("year", "decade"):
                out[name].sort()
            else:
                out[name].sort(key=lambda p: (-p[1], str(p[0])))
                if name != "language":
                    out[name] = out[name][:request.facet_size]
        for kind in ENTITY_FACETS:
            out[kind] = []
        rows = session.execute(text(
            f"{hits}SELECT kind, entity_id, n FROM (SELECT e.kind, m.entity_id, n,"
            " row_number() OVER (PARTITION BY e.kind ORDER BY n DESC, m.entity_id) AS rank"
            " FROM (SELECT m.entity_id, count(DISTINCT m.record_id) AS n FROM mentions m"
            " JOIN hits h ON h.id = m.record_id GROUP BY m.entity_id) m"
            " JOIN entities e ON e.id = m.entity_id WHERE e.kind = ANY(:kinds)) ranked"
            " WHERE rank <= :size ORDER BY kind, rank"),
            {**params, **size, "kinds": list(ENTITY_FACETS)}).all()
        for kind, eid, n in rows:
            out[kind].append((eid, n))
        rows = session.execute(text(
            f"{hits}SELECT ci.collection_id, count(DISTINCT ci.record_id) AS n"
            " FROM collection_items ci JOIN hits h ON h.id = ci.record_id"
            " GROUP BY ci.collection_id ORDER BY n DESC LIMIT :size"), {**params, **size}).all()
        out["collection"] = [(c, n) for c, n in rows]
        return out

    def _snippets(self, session: Session, ids: list[str], node: Node | None) -> dict[str, str]:
        if not ids:
            return {}
        if node is None:
            rows = session.execute(text(
                "SELECT id, coalesce(data->>'summary', left(text, 240)) FROM records"
                " WHERE id = ANY(:ids)"), {"ids": ids}).all()
            return {rid: marked_html((s or "")[:240], []) for rid, s in rows}
        params: dict = {"ids": ids}
        # The words to mark, each once, in one flat OR: highlighting with the whole
        # compiled query (every spelling of a name, each through two stemmers) made
        # ts_headline take seconds for twenty documents.
        words = sorted({w for w in positive_terms(node) for w in w.replace("-", " ").split()
                        if len(w) > 1})
        if not words:
            return self._snippets(session, ids, None)
        tsq = "(" + " || ".join(f"plainto_tsquery('{CONFIG}', :w{i})"
                                for i in range(len(words))) + ")"
        params.update({f"w{i}": w for i, w in enumerate(words)})
        options = (f"StartSel={START}, StopSel={STOP}, MaxWords=40, MinWords=15, "
                   "MaxFragments=2, FragmentDelimiter=\" … \"")
        rows = session.execute(text(
            f"SELECT id, ts_headline('{CONFIG}', text, {tsq}, :opts) FROM records"
            " WHERE id = ANY(:ids)"), {**params, "opts": options}).all()
        marked = {rid: _unmark(h or "") for rid, h in rows}
        # A record found only in its footnotes or source note: the snippet from there.
        unmarked = [rid for rid, (_, spans) in marked.items() if not spans]
        in_notes: set[str] = set()
        if unmarked:
            for rid, h in session.execute(text(
                    f"SELECT record_id, ts_headline('{CONFIG}', notes, {tsq}, :opts)"
                    " FROM search_documents WHERE record_id = ANY(:ids)"),
                    {**params, "ids": unmarked, "opts": options}).all():
                plain, spans = _unmark(h or "")
                if spans:
                    marked[rid] = (plain, spans)
                    in_notes.add(rid)
        # The English configuration's lexeme of each marked word and each query word, in
        # one round trip, so that a phrase or a name is marked whole and only where its
        # words stand in order.
        words = sorted(query_words(node) | {
            plain[a:b] for plain, spans in marked.values() for a, b in spans})
        keys: dict[str, str] = dict(session.execute(text(
            f"SELECT w, coalesce(array_to_string(tsvector_to_array(to_tsvector('{CONFIG}', w)),"
            " ' '), '') FROM unnest(CAST(:words AS text[])) AS w"), {"words": words}).all())

        def key(word: str) -> str:
            return keys.get(word, word.lower())

        out = {rid: marked_html(plain, unit_spans(plain, spans, node, key))
               for rid, (plain, spans) in marked.items()}
        return {rid: notes_snippet(html) if rid in in_notes else html
                for rid, html in out.items()}


def _unmark(headline: str) -> tuple[str, list[tuple[int, int]]]:
    """ts_headline's output with our control-character marks as plain text and the
    character spans it marked."""
    plain = []
    spans = []
    pos = 0
    start = None
    for ch in headline:
        if ch == START:
            start = pos
        elif ch == STOP and start is not None:
            spans.append((start, pos))
            start = None
        else:
            plain.append(ch)
            pos += 1
    return "".join(plain), spans
