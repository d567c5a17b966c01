"""Expanding the names in a query to every spelling the authority file knows.

Only names are expanded, never the whole query fuzzed: runs of adjacent words (or a
quoted phrase) whose romanization key is a known spelling's key become a ``Name``
node matching any spelling of that entity, the typed spelling ranked first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opis.names.romanize import name_key
from opis.search.query import And, Name, Node, Not, Or, Phrase, Term, words_of

Lookup = Callable[[Iterable[str]], dict[str, set[str]]]
MAX_RUN = 4


def _leaf(words: list[str]) -> Term | Phrase:
    return Term(words[0]) if len(words) == 1 else Phrase(tuple(words))


def _variants(spellings: set[str], typed: str) -> tuple[Term | Phrase, ...]:
    out = []
    for s in sorted(spellings):
        if s.lower() == typed.lower():
            continue
        words = words_of(s)
        if words:
            out.append(_leaf(words))
    return tuple(dict.fromkeys(out))


def expand(node: Node | None, lookup: Lookup) -> Node | None:
    if node is None:
        return None
    keys: set[str] = set()
    _collect(node, keys)
    if not keys:
        return node
    found = lookup(keys)
    return _rewrite(node, found) if found else node


def _word_runs(words: list[str]) -> Iterable[str]:
    for i in range(len(words)):
        for j in range(i + 1, min(len(words), i + MAX_RUN) + 1):
            yield " ".join(words[i:j])


def _collect(node: Node, keys: set[str]) -> None:
    if isinstance(node, Term | Phrase):
        words = [node.text] if isinstance(node, Term) else list(node.words)
        keys.add(name_key(" ".join(words)))
        if isinstance(node, Term) and "-" not in node.text:
            return
    elif isinstance(node, And):
        terms = [i.text for i in node.items if isinstance(i, Term)]
        for run in _word_runs(terms):
            keys.add(name_key(run))
        for i in node.items:
            if not isinstance(i, Term):
                _collect(i, keys)
    elif isinstance(node, Or):
        for i in node.items:
            _collect(i, keys)
    elif isinstance(node, Not):
        _collect(node.item, keys)


def _rewrite(node: Node, found: dict[str, set[str]]) -> Node:
    if isinstance(node, Term | Phrase):
        words = [node.text] if isinstance(node, Term) else list(node.words)
        typed = " ".join(words)
        spellings = found.get(name_key(typed))
        if spellings:
            variants = _variants(spellings, typed)
            if variants:
                return Name(node, variants)
        return node
    if isinstance(node, And):
        return _rewrite_and(node, found)
    if isinstance(node, Or):
        return Or(tuple(_rewrite(i, found) for i in node.items))
    if isinstance(node, Not):
        return Not(_rewrite(node.item, found))
    return node


def _rewrite_and(node: And, found: dict[str, set[str]]) -> Node:
    items = list(node.items)
    out: list[Node] = []
    i = 0
    while i < len(items):
        item = items[i]
        if isinstance(item, Term):
            # The longest run of plain words starting here that is a known name.
            best = None
            j = i
            while j < len(items) and isinstance(items[j], Term) and j - i < MAX_RUN:
                j += 1
                words = [t.text for t in items[i:j] if isinstance(t, Term)]  # all are
                spellings = found.get(name_key(" ".join(words)))
                if spellings and _variants(spellings, " ".join(words)):
                    best = (j, words, spellings)
            if best:
                j, words, spellings = best
                out.append(Name(_leaf(words), _variants(spellings, " ".join(words))))
                i = j
                continue
        out.append(_rewrite(item, found))
        i += 1
    return out[0] if len(out) == 1 else And(tuple(out))
