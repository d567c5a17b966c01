""""Did you mean": when a search of plain words finds nothing, the query with each
word that finds nothing replaced by the nearest one that does — a name of the
authority file within a typo of it by its romanization key ("Kim Tu-bon" → "Kim
Tu-bong", "Pyongyan" → "Pyongyang"), else a word of the indexed texts
(``SearchEngine.near_words``: "plenm" → "plenum")."""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

from opis.names.romanize import name_key
from opis.search.base import SearchRequest, typo_distance
from opis.services.archive import Archive
from opis.store import entities as entity_store

_SYNTAX = re.compile(r'["*()]|\b(?:AND|OR|NOT)\b')


def did_you_mean(archive: Archive, query: str) -> str | None:
    """A corrected query that finds something, or None (nothing to correct, syntax in
    the query, or no near spelling that finds anything)."""
    query = " ".join(query.split())
    if not query or _SYNTAX.search(query):
        return None
    whole = _near_name(archive, query)  # a mistyped name, as one
    if whole and _finds(archive, whole):
        return whole
    words = query.split()
    fixed = []
    for word in words:
        if _finds(archive, word):
            fixed.append(word)
            continue
        near = _near_name(archive, word)
        candidates = ([near] if near else []) + _near_words(archive, word)
        fixed.append(next((c for c in candidates if _finds(archive, c)), word))
    corrected = " ".join(fixed)
    return corrected if corrected != query and _finds(archive, corrected) else None


def _finds(archive: Archive, query: str) -> bool:
    return archive.search(SearchRequest(query=query, limit=1, facets=False)).result.total > 0


def _near_name(archive: Archive, typed: str) -> str | None:
    """The authority's spelling nearest to ``typed`` by romanization key, within a typo."""
    key = name_key(typed)
    distance = typo_distance(key.replace(" ", ""))
    if not distance:
        return None
    with archive.db.sessions() as session:
        candidates = entity_store.spellings_near_key(session, key)
    near = sorted(
        (d, Levenshtein.distance(typed.casefold(), spelling.casefold()), spelling)
        for spelling, k in candidates if k != key
        for d in [Levenshtein.distance(key, k, score_cutoff=distance)] if d <= distance)
    return near[0][2] if near else None  # nearest by sound, then by the letters typed


def _near_words(archive: Archive, word: str) -> list[str]:
    with archive.db.sessions() as session:
        return archive.engine.near_words(word, session)
