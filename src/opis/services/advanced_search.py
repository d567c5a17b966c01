"""The advanced search form's rows turned into an ordinary search: words to have (all,
as a phrase, any) and not to have become the query language (``plenum "cult of
personality" (Kim OR Pak) -Taiwan``), names become entity filters when the authority
file knows exactly one entity by that name (else they are searched as phrases, in
every spelling), and the other fields become the search's own filters. The result is
a URL like any other search's: bookmarked, shared and refined as one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from opis.names.romanize import name_key
from opis.search.base import SearchRequest
from opis.services.archive import Archive
from opis.services.search_results import facet_label
from opis.store import entities as entity_store

NAME_KINDS = ("person", "place", "organization")
CHOICE_FACETS = ("language", "repository", "classification", "collection")


@dataclass
class Composed:
    q: str
    filters: dict[str, list[str]] = field(default_factory=dict)
    searched_as_words: list[str] = field(default_factory=list)  # names no entity matched


def _words(value: str) -> list[str]:
    return [w for w in re.split(r"\s+", value.replace('"', " ").strip()) if w]


def query_of(all_words: str = "", phrase: str = "", any_words: str = "",
             none_words: str = "") -> str:
    """The rows as the query language: quotes and operators typed into a row are taken
    as words, so a row can never change what the others mean."""
    parts = [w for w in _words(all_words) if w.upper() not in ("AND", "OR", "NOT")]
    if _words(phrase):
        parts.append('"' + " ".join(_words(phrase)) + '"')
    alternatives = [w for w in _words(any_words) if w.upper() not in ("AND", "OR", "NOT")]
    if len(alternatives) > 1:
        parts.append("(" + " OR ".join(alternatives) + ")")
    elif alternatives:
        parts.append(alternatives[0])
    parts += ["-" + w.lstrip("-") for w in _words(none_words)
              if w.lstrip("-") and w.upper() not in ("AND", "OR", "NOT")]
    return " ".join(parts)


def names_of(value: str) -> list[str]:
    """Names typed in one field, separated by semicolons or commas."""
    return [n.strip() for n in re.split(r"[;,]", value) if n.strip()]


def compose(archive: Archive, *, all_words: str = "", phrase: str = "", any_words: str = "",
            none_words: str = "", names: dict[str, str] | None = None) -> Composed:
    q = query_of(all_words, phrase, any_words, none_words)
    out = Composed(q)
    typed = {kind: names_of(value) for kind, value in (names or {}).items()
             if kind in NAME_KINDS}
    keys = {name_key(n) for ns in typed.values() for n in ns}
    with archive.db.sessions() as session:
        found = entity_store.entities_by_keys(session, keys)
    extra = []
    for kind, wanted in typed.items():
        for name in wanted:
            ids = sorted(e for e in found.get(name_key(name), ()) if e.startswith(kind + "/"))
            if len(ids) == 1:
                out.filters.setdefault(kind, []).append(ids[0])
            else:  # unknown or ambiguous: the name itself, in every spelling
                extra.append('"' + " ".join(_words(name)) + '"')
                out.searched_as_words.append(name)
    out.q = " ".join([q, *extra]).strip()
    return out


def choices(archive: Archive) -> dict[str, list[tuple[str, str, int]]]:
    """(value, label, documents) of each field chosen from a list: the original
    languages, repositories, classifications and collections the archive holds."""
    timed = archive.search(SearchRequest(limit=0, exact_facets=True))
    return {name: [(str(v), facet_label(name, v, timed.labels), n)
                   for v, n in timed.result.facets.get(name, [])]
            for name in CHOICE_FACETS}
