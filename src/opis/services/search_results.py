"""One shape for a search's results, whoever asks: the search page's JSON twin
(``/search.json``), the API (``/api/v1/search``) and ``opis search --json`` all send
these fields under these names, each adding only what is its own (the page its
paging and suggestions, the API its cursor). docs/json.md describes them."""

from __future__ import annotations

from typing import Any

from opis.model import Record
from opis.model.languages import language_name
from opis.search.base import ENTITY_FACETS, Hit
from opis.services.records import TimedResult


def facet_label(name: str, value: object, labels: dict[str, str]) -> str:
    """What a person reads for a facet value: a name for an entity or collection id,
    "Russian" for ``ru``, "1950s" for the decade 1950."""
    if name in ENTITY_FACETS or name == "collection":
        return labels.get(str(value), str(value).split("/")[-1])
    if name == "language":
        return language_name(str(value)) or str(value)
    if name == "decade":
        return f"{value}s"
    return str(value)


def hit_data(hit: Hit, record: Record | None) -> dict[str, Any]:
    """One hit: what the engine found, and from its record the two fields a result
    list shows (the original's language, the archival reference)."""
    ref = record.archival_reference.text if record is not None and \
        record.archival_reference else None
    return {"id": hit.id, "title": hit.title, "date": hit.date,
            "score": round(hit.score, 4), "snippet": hit.snippet, "matched": hit.matched,
            "passage_kind": hit.passage_kind,
            "original_language": record.original_language if record is not None else None,
            "archival_reference": ref}


def facets_data(timed: TimedResult) -> dict[str, list[dict[str, Any]]]:
    return {k: [{"value": v, "count": n, "label": facet_label(k, v, timed.labels)}
                for v, n in vs] for k, vs in timed.result.facets.items()}


def results_data(timed: TimedResult, query: str, mode_asked: str) -> dict[str, Any]:
    """The fields every answer to a search carries. ``mode`` is the mode the search
    ran in (``auto`` resolved), ``mode_asked`` the one the request named."""
    r = timed.result
    return {"query": query, "mode": r.mode, "mode_asked": mode_asked, "total": r.total,
            "milliseconds": round(timed.milliseconds, 2),
            "spellings": [{"typed": t, "variants": v} for t, v in r.spellings()],
            "hits": [hit_data(h, timed.records.get(h.id)) for h in r.hits],
            "facets": facets_data(timed), "facets_sampled": r.facets_sampled}
