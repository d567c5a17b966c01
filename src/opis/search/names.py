"""Expanding the names in a query to every spelling the authority file knows.

Only names are expanded, never the whole query fuzzed: runs of adjacent words (or a
quoted phrase) whose romanization key is a known spelling's key become a ``Name``
node matching any spelling of that entity, the typed spelling ranked first. A full
name (two words or more, or a hyphenated given name) also carries the entities it
names, so that a document that links the person finds him though its text says only
"President Rhee" (the engines rank such a match below a literal one). A lone word
never does: "Rhee" is the surname of more than one person.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable

from opis.names.romanize import name_key
from opis.search.query import And, Name, Node, Not, Or, Phrase, Term, words_of

Lookup = Callable[[Iterable[str]], dict[str, set[str]]]
MAX_RUN = 4


def _is_full_name(words: list[str]) -> bool:
    return len(words) > 1 or (len(words) == 1 and "-" in words[0])


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


def fold_marks(text: str) -> str:
    """Latin letters without their diacritics (ś→s, ö→o, ō→o, ŏ→o) and ё as е, as both
    search indexes fold them; й, ў and other Cyrillic letters with a mark of their own
    stay, and Hangul and Hanzi stay as they are (decomposing Hangul would split its
    syllables)."""
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        if ch in "ёЁ" or len(parts) > 1 and all(unicodedata.combining(p) for p in parts[1:]) \
                and "LATIN" in unicodedata.name(parts[0], ""):
            out.append(parts[0])
        else:
            out.append(ch)
    return "".join(out)


def _folded(node: Node) -> Node:
    """A word typed with diacritics also matches it written without them: "Kwaśniewski"
    finds the records that write Kwasniewski (the typed form still ranks first)."""
    if isinstance(node, Term | Phrase):
        words = [node.text] if isinstance(node, Term) else list(node.words)
        plain = [fold_marks(w) for w in words]
        return node if plain == words else Name(node, (_leaf(plain),))
    if isinstance(node, And):
        return And(tuple(_folded(i) for i in node.items))
    if isinstance(node, Or):
        return Or(tuple(_folded(i) for i in node.items))
    if isinstance(node, Not):
        return Not(_folded(node.item))
    if isinstance(node, Name):
        extra = tuple(v for v in (_folded(node.exact),) if isinstance(v, Name))
        more = extra[0].variants if extra else ()
        return Name(node.exact, tuple(dict.fromkeys((*node.variants, *more))), node.entities)
    return node


def expand(node: Node | None, lookup: Lookup,
           entity_lookup: Lookup | None = None) -> Node | None:
    """``lookup`` gives each key's spellings; ``entity_lookup`` (optional) each key's
    entity ids. Diacritics the user typed are optional (``fold_marks``)."""
    if node is None:
        return None
    return _folded(_expand(node, lookup, entity_lookup))


def _expand(node: Node, lookup: Lookup, entity_lookup: Lookup | None) -> Node:
    keys: set[str] = set()
    _collect(node, keys)
    if not keys:
        return node
    found = lookup(keys)
    ents = entity_lookup(keys) if entity_lookup is not None and found else {}
    return _rewrite(node, found, ents) if found else node


def _name(words: list[str], spellings: set[str], ents: dict[str, set[str]]) -> Name | None:
    typed = " ".join(words)
    variants = _variants(spellings, typed)
    linked = tuple(sorted(ents.get(name_key(typed), ()))) if _is_full_name(words) else ()
    if not variants and not linked:
        return None
    return Name(_leaf(words), variants, linked)


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


def _rewrite(node: Node, found: dict[str, set[str]], ents: dict[str, set[str]]) -> Node:
    if isinstance(node, Term | Phrase):
        words = [node.text] if isinstance(node, Term) else list(node.words)
        spellings = found.get(name_key(" ".join(words)))
        if spellings and (name := _name(words, spellings, ents)):
            return Name(node, name.variants, name.entities)
        return node
    if isinstance(node, And):
        return _rewrite_and(node, found, ents)
    if isinstance(node, Or):
        return Or(tuple(_rewrite(i, found, ents) for i in node.items))
    if isinstance(node, Not):
        return Not(_rewrite(node.item, found, ents))
    return node


def _rewrite_and(node: And, found: dict[str, set[str]], ents: dict[str, set[str]]) -> Node:
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
                if spellings and (name := _name(words, spellings, ents)):
                    best = (j, name)
            if best:
                j, name = best
                out.append(name)
                i = j
                continue
        out.append(_rewrite(item, found, ents))
        i += 1
    return out[0] if len(out) == 1 else And(tuple(out))
