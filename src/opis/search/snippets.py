"""Finding a hit's snippet in its text without the database: the window of the text
that holds the most of the query's words, and where they stand in it.

Why: PostgreSQL's ``ts_headline`` parses the whole text it is given, 1.3 ms for 10,000
characters, so twenty hits cost 25–40 ms a results page whatever the archive's size.
Here a regular expression of the query words' first letters, each letter also as it is
written with marks (run by the regex engine, not a Python loop over every word), finds
the few candidate words, and only those are
stemmed and compared as the engine compares them (``key``). Latin diacritics are
folded for the comparison (a search for "Kwasniewski" finds and marks "Kwaśniewski"),
CJK words are found inside longer runs of characters, and every offset is a character
offset into the text as stored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from opis.search.base import STOPWORDS, Key
from opis.search.languages import has_cjk
from opis.search.query import Node, positive_units

PREFIX = 4  # letters of a word's key that pick its candidates in the text
SIZE = 240  # characters of a snippet, as the embedded engine's
LEAD = 40  # characters of context before the first word of the window
# Letters Unicode does not decompose that ASCII folding still maps to one letter.
_NO_DECOMPOSITION = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ı": "i",
                     "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T"}


class _Fold(dict):
    """``str.translate`` table that folds a Latin letter with marks to its base letter,
    one character for one, so offsets into the folded text are offsets into the text."""

    def __missing__(self, ordinal: int) -> str:
        ch = chr(ordinal)
        base = _NO_DECOMPOSITION.get(ch)
        if base is None:
            parts = unicodedata.normalize("NFD", ch)
            base = parts[0] if len(parts) > 1 and parts[0].isascii() and all(
                unicodedata.combining(p) for p in parts[1:]) else ch
        self[ordinal] = base
        return base


_FOLD = _Fold()


def fold(text: str) -> str:
    """``text`` with Latin diacritics folded, of the same length."""
    return text.translate(_FOLD)


def _letters_with_marks() -> dict[str, str]:
    """Each ASCII letter -> the Latin letters with marks that fold to it ("s" -> "śšşș…"),
    so that a pattern finds them without folding every text first (which took longer
    than the rest of the search)."""
    out: dict[str, str] = {}
    for cp in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        ch = chr(cp)
        base = fold(ch)
        if base != ch and base.isascii() and base.isalpha():
            out[base.lower()] = out.get(base.lower(), "") + ch
    return out


_MARKED = _letters_with_marks()


def _pattern_of(prefix: str) -> str:
    """A folded prefix as a pattern that also matches it written with marks."""
    return "".join(f"[{c}{_MARKED[c]}]" if c in _MARKED else re.escape(c) for c in prefix)


class Finder:
    """The query's words, ready to be looked for in many texts."""

    def __init__(self, node: Node | None, key: Key):
        self.key = key
        self.keys: set[str] = set()  # whole words, as ``key`` has them
        self.prefixes: list[str] = []  # words typed with a *, folded and lower-cased
        self.cjk: list[str] = []
        starts: set[str] = set()
        for unit in positive_units(node):
            for word in unit:
                prefix = word.endswith("*")
                for part in re.findall(r"\w+", word):
                    if has_cjk(part):
                        self.cjk.append(part)
                        continue
                    if part.casefold() in STOPWORDS:
                        continue
                    if prefix and part == re.findall(r"\w+", word)[-1]:
                        self.prefixes.append(fold(part).casefold())
                        starts.add(fold(part).casefold()[:PREFIX])
                        continue
                    k = key(part)
                    if k:
                        self.keys.add(k)
                        starts.add(fold(k)[:PREFIX])
                        starts.add(fold(part).casefold()[:PREFIX])
        alternatives = [r"\b" + _pattern_of(s) + r"\w*" for s in sorted(starts, key=len) if s]
        alternatives += [re.escape(w) for w in sorted(set(self.cjk), key=len, reverse=True)]
        self.pattern = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives \
            else None

    def hits(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, what matched) of each query word in ``text``, in order."""
        if self.pattern is None or not text:
            return []
        out = []
        for m in self.pattern.finditer(text):
            a, b = m.span()
            word = text[a:b]
            if has_cjk(word):
                out.append((a, b, word))
                continue
            k = self.key(word)
            if k in self.keys:
                out.append((a, b, k))
            elif self.prefixes:
                low = fold(word).casefold()
                p = next((p for p in self.prefixes if low.startswith(p)), None)
                if p is not None:
                    out.append((a, b, p + "*"))
        return out

    def fragment(self, text: str) -> tuple[str, list[tuple[int, int]]] | None:
        """The window of about SIZE characters holding the most distinct query words
        (then the most words), cut at spaces, and the words' spans in it; None when no
        query word is in the text."""
        found = self.hits(text)
        if not found:
            return None
        best = (-1, -1, 0)
        j = 0
        for i, (start, _end, _w) in enumerate(found):
            j = max(j, i)
            while j + 1 < len(found) and found[j + 1][1] - start <= SIZE - LEAD:
                j += 1
            window = found[i:j + 1]
            score = (len({w for _a, _b, w in window}), len(window))
            if score > best[:2]:
                best = (*score, i)
        first = found[best[2]][0]
        start = _cut_before(text, max(0, first - LEAD))
        end = _cut_after(text, min(len(text), start + SIZE))
        spans = [(a - start, b - start) for a, b, _w in found if a >= start and b <= end]
        return text[start:end], spans


def _cut_before(text: str, at: int) -> int:
    """The start of the word ``at`` falls in (never before the text)."""
    if at <= 0:
        return 0
    space = text.rfind(" ", max(0, at - 20), at + 1)
    return space + 1 if space >= 0 else at


def _cut_after(text: str, at: int) -> int:
    """The end of the last whole word before ``at``."""
    if at >= len(text):
        return len(text)
    space = text.rfind(" ", max(0, at - 20), at)
    return space if space > 0 else at


def fragments(texts: Iterable[str], node: Node | None, key: Key
              ) -> list[tuple[str, list[tuple[int, int]]] | None]:
    """``Finder.fragment`` of each text, for one query."""
    finder = Finder(node, key)
    return [finder.fragment(t) for t in texts]
