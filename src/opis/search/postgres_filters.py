"""What a PostgreSQL search filters by and how its facet counts are listed: the
request's filters as conditions on a record's index row, and the counted values in
each facet's order."""

from __future__ import annotations

from opis.search.base import ENTITY_FACETS, SearchRequest, about


def filters(request: SearchRequest, params: dict) -> list[str]:
    """The request's filters as conditions on a record's index row ``s`` (which holds
    the record's filter columns), their values bound in ``params``."""
    where = []
    if request.date_to:
        where.append("s.date_start <= :date_to")
        params["date_to"] = request.date_to
    if request.date_from:
        where.append("s.date_end >= :date_from")
        params["date_from"] = request.date_from
    if request.languages:
        where.append("s.language = ANY(:langs)")
        params["langs"] = list(request.languages)
    for i, eid in enumerate(request.entities):
        where.append(f"EXISTS (SELECT 1 FROM mentions m WHERE m.record_id = s.record_id"
                     f" AND m.entity_id = :ent{i})")
        params[f"ent{i}"] = eid
    if request.repositories:
        where.append("s.repository = ANY(:repos)")
        params["repos"] = list(request.repositories)
    if request.classifications:
        where.append("s.classification = ANY(:classes)")
        params["classes"] = [c.upper() for c in request.classifications]
    if request.years:
        where.append("s.year = ANY(:years)")
        params["years"] = list(request.years)
    if request.decades:
        where.append("s.year / 10 * 10 = ANY(:decades)")
        params["decades"] = list(request.decades)
    if request.collections:
        where.append("s.collections && CAST(:colls AS text[])")
        params["colls"] = list(request.collections)
    return where


def facet_lists(counts: dict[str, list[tuple[str, int]]], share: float | None,
                 size: int) -> dict[str, list]:
    """The counted values as each facet lists them (years and decades in order, the
    rest most frequent first), scaled up when only a sample was counted."""
    def scaled(n: int) -> int:
        return n if share is None else about(n / share)

    out: dict[str, list] = {}
    years = [(int(v), n) for v, n in counts.get("year", [])]
    out["year"] = sorted((y, scaled(n)) for y, n in years)
    decades: dict[int, int] = {}
    for y, n in years:
        decades[y // 10 * 10] = decades.get(y // 10 * 10, 0) + n
    out["decade"] = sorted((d, scaled(n)) for d, n in decades.items())
    for name in ("language", "repository", "classification", *ENTITY_FACETS, "collection"):
        values = sorted(((v, scaled(n)) for v, n in counts.get(name, [])),
                        key=lambda p: (-p[1], str(p[0])))
        out[name] = values if name == "language" else values[:size]
    return out
