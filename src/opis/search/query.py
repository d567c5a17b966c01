"""The user's query language, parsed once and compiled by each engine.

Syntax: words (all must match), "a phrase", prefix*, AND, OR, NOT, -word,
parentheses. Parsing never raises: a query that does not parse falls back to a
plain search of its words, so a stray quote or bracket never costs a reader an
error page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    text: str


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]


@dataclass(frozen=True)
class Prefix:
    stem: str


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class Name:
    """A name as typed, expanded to every spelling the authority file knows; the typed
    spelling ranks first. ``entities`` are the authority records the name is a spelling
    of: a document linking one of them matches too, ranked below any literal match."""

    exact: Term | Phrase
    variants: tuple[Term | Phrase, ...]
    entities: tuple[str, ...] = ()


Node = Term | Phrase | Prefix | And | Or | Not | Name

_TOKEN = re.compile(
    r'\s*(?:(?P<neg>-(?=[("]))|(?P<phrase>"[^"]*")|(?P<lp>\()|(?P<rp>\))|(?P<word>[^\s()"]+))'
)
_WORD = re.compile(r"[\w][\w'’\-.]*[\w]|[\w]", re.UNICODE)


class _Fail(Exception):
    pass


def words_of(text: str) -> list[str]:
    return _WORD.findall(text)


def _clean_word(w: str) -> str:
    return " ".join(words_of(w))


def parse_query(text: str) -> Node | None:
    """The query as a tree; None for an empty query."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        tokens = _tokenize(text)
        node, pos = _or(tokens, 0)
        if pos != len(tokens):
            raise _Fail
        return node
    except (_Fail, RecursionError):
        words = words_of(text)
        if not words:
            return None
        return And(tuple(Term(w) for w in words)) if len(words) > 1 else Term(words[0])


def _tokenize(text: str) -> list[tuple[str, str]]:
    if text.count('"') % 2:
        raise _Fail
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group("neg"):
            out.append(("NOT", "NOT"))
        elif m.group("phrase") is not None:
            out.append(("phrase", m.group("phrase")[1:-1]))
        elif m.group("lp"):
            out.append(("(", "("))
        elif m.group("rp"):
            out.append((")", ")"))
        else:
            w = m.group("word")
            if w in ("AND", "OR", "NOT"):
                out.append((w, w))
            else:
                out.append(("word", w))
    return out


def _or(tokens: list[tuple[str, str]], pos: int) -> tuple[Node, int]:
    items = []
    node, pos = _and(tokens, pos)
    items.append(node)
    while pos < len(tokens) and tokens[pos][0] == "OR":
        node, pos = _and(tokens, pos + 1)
        items.append(node)
    return (items[0] if len(items) == 1 else Or(tuple(items))), pos


def _and(tokens: list[tuple[str, str]], pos: int) -> tuple[Node, int]:
    items = []
    while pos < len(tokens) and tokens[pos][0] not in (")", "OR"):
        if tokens[pos][0] == "AND":
            pos += 1
            continue
        node, pos = _unary(tokens, pos)
        if node is not None:
            items.append(node)
    if not items:
        raise _Fail
    return (items[0] if len(items) == 1 else And(tuple(items))), pos


def _unary(tokens: list[tuple[str, str]], pos: int) -> tuple[Node | None, int]:
    kind, value = tokens[pos]
    if kind == "NOT":
        if pos + 1 >= len(tokens):
            raise _Fail
        node, pos = _unary(tokens, pos + 1)
        return (Not(node) if node is not None else None), pos
    if kind == "word" and value.startswith("-") and len(value) > 1:
        node, _ = _atom([("word", value[1:])], 0)
        return (Not(node) if node is not None else None), pos + 1
    return _atom(tokens, pos)


def _atom(tokens: list[tuple[str, str]], pos: int) -> tuple[Node | None, int]:
    kind, value = tokens[pos]
    if kind == "(":
        node, pos = _or(tokens, pos + 1)
        if pos >= len(tokens) or tokens[pos][0] != ")":
            raise _Fail
        return node, pos + 1
    if kind == "phrase":
        words = tuple(words_of(value))
        if not words:
            return None, pos + 1
        return (Phrase(words) if len(words) > 1 else Term(words[0])), pos + 1
    if kind == "word":
        value = value.lstrip("+")
        if value.endswith("*") and len(words_of(value)) == 1:
            return Prefix(words_of(value)[0]), pos + 1
        pieces = words_of(value)
        if not pieces:
            return None, pos + 1
        if len(pieces) > 1:  # "Chang-ik" or "U.S." — keep the pieces together
            return Phrase(tuple(pieces)), pos + 1
        return Term(pieces[0]), pos + 1
    raise _Fail


def positive_terms(node: Node | None) -> list[str]:
    """The words a hit should highlight: every word not under a NOT."""
    if node is None:
        return []
    if isinstance(node, Term):
        return [node.text]
    if isinstance(node, Phrase):
        return list(node.words)
    if isinstance(node, Prefix):
        return [node.stem]
    if isinstance(node, And | Or):
        return [w for item in node.items for w in positive_terms(item)]
    if isinstance(node, Name):
        return [w for item in (node.exact, *node.variants) for w in positive_terms(item)]
    return []


def name_spellings(node: Node | None) -> list[tuple[str, list[str]]]:
    """(typed name, other spellings searched) for each name the query expanded, so a
    page can say "Rhee Syngman: also searched Yi Sung-man". Nothing under a NOT."""
    out: list[tuple[str, list[str]]] = []

    def words(n: Node) -> str:
        return " ".join(n.words) if isinstance(n, Phrase) else n.text if isinstance(n, Term) \
            else ""

    def walk(n: Node | None) -> None:
        if n is None or isinstance(n, Not):
            return
        if isinstance(n, Name):
            out.append((words(n.exact), [words(v) for v in n.variants]))
        for child in getattr(n, "items", ()):
            walk(child)

    walk(node)
    return out


def lone_word(node: Node | None) -> str | None:
    """The word of a query that is one plain word (not a prefix), else None: what a
    "words beginning with…" suggestion can be made from."""
    terms = positive_terms(node)
    return terms[0] if len(terms) == 1 and not isinstance(node, Prefix) else None


def positive_units(node: Node | None) -> list[tuple[str, ...]]:
    """What a hit should highlight, each as a whole: a word alone, a phrase as one
    span, a name as any of its spellings (never the words of a name one by one), a
    prefix as ``stem*``. Nothing under a NOT."""
    if node is None:
        return []
    if isinstance(node, Term):
        return [(node.text,)]
    if isinstance(node, Phrase):
        return [node.words]
    if isinstance(node, Prefix):
        return [(node.stem + "*",)]
    if isinstance(node, And | Or):
        return [u for item in node.items for u in positive_units(item)]
    if isinstance(node, Name):
        return [u for item in (node.exact, *node.variants) for u in positive_units(item)]
    return []


def only_negative(node: Node) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, And):
        return all(only_negative(i) for i in node.items)
    return False
