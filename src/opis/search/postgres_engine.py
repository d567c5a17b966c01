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
from opis.search.base import Hit, SearchRequest, SearchResult, marked_html, meta_text
from opis.search.query import And, Node, Not, Or, Phrase, Prefix, Term

CONFIG = "english"
_UPSERT = text(
    f"""
    INSERT INTO search_documents (record_id, tsv) VALUES (:id,
        setweight(to_tsvector('{CONFIG}', :title), 'A') ||
        setweight(to_tsvector('{CONFIG}', :summary), 'B') ||
        setweight(to_tsvector('{CONFIG}', :meta), 'C') ||
        setweight(to_tsvector('{CONFIG}', :body), 'D'))
    ON CONFLICT (record_id) DO UPDATE SET tsv = EXCLUDED.tsv
    """
)
START, STOP = "\x02", "\x03"


def compile_tsquery(node: Node, params: dict[str, str]) -> str:
    """Our query tree as a tsquery SQL expression with bound parameters."""

    def bind(value: str) -> str:
        name = f"q{len(params)}"
        params[name] = value
        return f":{name}"

    if isinstance(node, Term):
        return f"plainto_tsquery('{CONFIG}', {bind(node.text)})"
    if isinstance(node, Phrase):
        return f"phraseto_tsquery('{CONFIG}', {bind(' '.join(node.words))})"
    if isinstance(node, Prefix):
        stem = re.sub(r"[^\w]", "", node.stem).lower() or "x"
        return f"to_tsquery('simple', {bind(stem + ':*')})"
    if isinstance(node, Not):
        return f"(!! {compile_tsquery(node.item, params)})"
    if isinstance(node, And):
        return "(" + " && ".join(compile_tsquery(i, params) for i in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " || ".join(compile_tsquery(i, params) for i in node.items) + ")"
    raise TypeError(node)


class PostgresEngine:
    def stage(self, records: Iterable[Record], session: Session) -> None:
        for r in records:
            session.execute(_UPSERT, {"id": r.id, "title": r.title, "summary": r.summary or "",
                                      "meta": meta_text(r), "body": r.text})

    def remove(self, record_ids: Iterable[str], session: Session) -> None:
        for rid in record_ids:
            session.execute(text("DELETE FROM search_documents WHERE record_id = :id"), {"id": rid})

    def commit(self) -> None:
        """Nothing to do: the index rows commit with the records."""

    def rollback(self) -> None:
        """Nothing to do: the index rows roll back with the records."""

    def close(self) -> None:
        """Nothing to release: the index is the database's."""

    def rebuild(self, records: Iterable[Record], session: Session) -> int:
        session.execute(text("DELETE FROM search_documents"))
        n = 0
        for r in records:
            self.stage([r], session)
            n += 1
        return n

    def count(self, session: Session) -> int:
        return session.execute(text("SELECT count(*) FROM search_documents")).scalar_one()

    def search(self, request: SearchRequest, node: Node | None, session: Session) -> SearchResult:
        params: dict = {"limit": max(1, request.limit), "offset": request.offset}
        where = ["r.status = 'published'"]
        if node is not None:
            tsq = compile_tsquery(node, params)
            where.append("s.tsv @@ q.q")
            source = ("search_documents s JOIN records r ON r.id = s.record_id,"
                      f" (SELECT {tsq} AS q) q")
            score = "ts_rank_cd(s.tsv, q.q)"
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
        order = {"date": "r.date_start ASC NULLS LAST, r.id",
                 "-date": "r.date_start DESC NULLS LAST, r.id"}.get(
            request.sort, "score DESC, r.date_start, r.id")
        cond = " AND ".join(where)
        rows = session.execute(text(
            f"SELECT r.id, r.title, r.date, {score} AS score, count(*) OVER () AS total"
            f" FROM {source} WHERE {cond} ORDER BY {order} LIMIT :limit OFFSET :offset"
        ), params).all()
        total = rows[0].total if rows else 0
        if not rows and request.offset:
            total = session.execute(text(f"SELECT count(*) FROM {source} WHERE {cond}"),
                                    params).scalar_one()
        snippets = self._snippets(session, [r.id for r in rows], node)
        hits = [Hit(id=r.id, score=float(r.score), title=r.title, date=r.date,
                    snippet=snippets.get(r.id, "")) for r in rows]
        langs = session.execute(text(
            f"SELECT r.original_language, count(*) FROM {source} WHERE {cond}"
            " GROUP BY r.original_language ORDER BY count(*) DESC"),
            params).all()
        facets = {"language": [(lang, n) for lang, n in langs if lang]}
        return SearchResult(total=total, hits=hits, facets=facets, query=node)

    def _snippets(self, session: Session, ids: list[str], node: Node | None) -> dict[str, str]:
        if not ids:
            return {}
        if node is None:
            rows = session.execute(text(
                "SELECT id, coalesce(data->>'summary', left(text, 240)) FROM records"
                " WHERE id = ANY(:ids)"), {"ids": ids}).all()
            return {rid: marked_html((s or "")[:240], []) for rid, s in rows}
        params: dict = {"ids": ids}
        tsq = compile_tsquery(node, params)
        options = (f"StartSel={START}, StopSel={STOP}, MaxWords=40, MinWords=15, "
                   "MaxFragments=2, FragmentDelimiter=\" … \"")
        rows = session.execute(text(
            f"SELECT id, ts_headline('{CONFIG}', text, {tsq}, :opts) FROM records"
            " WHERE id = ANY(:ids)"), {**params, "opts": options}).all()
        return {rid: _marks_to_html(h or "") for rid, h in rows}


def _marks_to_html(headline: str) -> str:
    """ts_headline's output with our control-character marks, escaped and marked up."""
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
    return marked_html("".join(plain), spans)
