"""Finding a hit's snippet in its text without the database: the window of the text
that holds the most of the query's words, and where they stand in it.

Why: PostgreSQL's ``ts_headline`` parses the whole text it is given, 1.3 ms for 10,000
characters, so twenty hits cost 25–40 ms a results page whatever the archive's size.
Here ``str.find`` of the query words' first letters in a lower-cased copy of the text
with its Latin marks folded (C loops, not a Python loop over every word) finds the few
candidate words, and only those are stemmed and compared as the engine compares them
(``key``). Latin diacritics are
folded for the comparison (a search for "Kwasniewski" finds and marks "Kwaśniewski"),
CJK words are found inside longer runs of characters, and every offset is a character
offset into the text as stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from opis.search.base import STOPWORDS, Key, marked_html, notes_snippet, unit_spans
from opis.search.languages import has_cjk
from opis.search.names import fold_marks
from opis.search.query import Node, positive_units

PREFIX = 4  # letters of a word's key that pick its candidates in the text
SIZE = 240  # characters of a snippet, as the embedded engine's
LEAD = 40  # characters of context before the first word of the window
# Letters Unicode does not decompose that both indexes still fold to one letter
# (Tantivy's ASCII folding, PostgreSQL's unaccent); the rest as the query side folds
# them (``fold_marks``: Latin marks, ё as е).
_NO_DECOMPOSITION = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ı": "i",
                     "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T"}


class _Fold(dict):
    """``str.translate`` table of ``fold_marks`` and the letters above, one character
    for one, so offsets into the folded text are offsets into the text."""

    def __missing__(self, ordinal: int) -> str:
        ch = chr(ordinal)
        base = _NO_DECOMPOSITION.get(ch) or fold_marks(ch)
        self[ordinal] = base
        return base


_FOLD = _Fold()


def fold(text: str) -> str:
    """``text`` with Latin diacritics folded (and ё as е), of the same length."""
    return text.translate(_FOLD)


# The Latin letters with marks that ``fold`` changes: in a text, few, so only they are
# replaced (folding every character through a table took longer than the search).
_LATIN_MARK = re.compile("[" + "".join(
    ch for ch in map(chr, [*range(0xC0, 0x250), *range(0x1E00, 0x1F00), 0x401, 0x451])
    if fold(ch) != ch) + "]")
_WORD_REST = re.compile(r"\w*")


def _searchable(text: str) -> str | None:
    """``text`` lower-cased with Latin marks folded, of the same length (so its offsets
    are the text's); None for the rare text whose lower case is longer ("İ")."""
    low = text.lower()
    if len(low) != len(text):
        return None
    if not _LATIN_MARK.search(low):
        return low
    pieces, last = [], 0
    for m in _LATIN_MARK.finditer(low):
        pieces += [low[last:m.start()], fold(m.group())]
        last = m.end()
    pieces.append(low[last:])
    return "".join(pieces)


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
                parts = re.findall(r"\w+", word)
                for n, part in enumerate(parts):
                    if has_cjk(part):
                        self.cjk.append(part)
                        continue
                    # A stop word is never marked alone, nor an initial ("A." of
                    # "A. I. Mikoyan"): a phrase or name still marks them whole.
                    if part.casefold() in STOPWORDS or len(part) < 2:
                        continue
                    if word.endswith("*") and n == len(parts) - 1:
                        self.prefixes.append(fold(part).casefold())
                        starts.add(fold(part).casefold()[:PREFIX])
                        continue
                    k = key(part)
                    if k:
                        self.keys.add(k)
                        starts.add(fold(k)[:PREFIX])
                        starts.add(fold(part).casefold()[:PREFIX])
        self.starts = sorted((s for s in starts if s), key=len, reverse=True)
        self.cjk = sorted(set(self.cjk), key=len, reverse=True)

    def _candidates(self, text: str) -> Iterable[tuple[int, int]]:
        """Where a query word may stand: each word of the text beginning with one of
        the starts, found by ``str.find`` in a lower-cased, folded copy (several times
        faster than a case-insensitive regular expression over the text), and each CJK
        word wherever it stands inside a run."""
        low = _searchable(text)
        if low is None:  # lower case changed the length: a slower, exact way
            pattern = "|".join(r"\b" + re.escape(s) + r"\w*" for s in self.starts)
            if pattern:
                yield from (m.span() for m in re.finditer(pattern, fold(text), re.IGNORECASE))
        else:
            seen: set[int] = set()
            for start in self.starts:
                i = low.find(start)
                while i >= 0:
                    if (i == 0 or not (low[i - 1].isalnum() or low[i - 1] == "_")) \
                            and i not in seen:
                        seen.add(i)
                        end = _WORD_REST.match(low, i + len(start))
                        yield i, end.end() if end else i + len(start)
                    i = low.find(start, i + 1)
        for word in self.cjk:
            i = text.find(word)
            while i >= 0:
                yield i, i + len(word)
                i = text.find(word, i + len(word))

    def hits(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, what matched) of each query word in ``text``, in order."""
        if not text or not (self.starts or self.cjk):
            return []
        out = []
        for a, b in self._candidates(text):
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
        out.sort()
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


def snippet_html(finder: Finder, node: Node | None, text: str, notes: str,
                 summary: str) -> str:
    """A hit's snippet as both engines show it: the window of its text with the most
    query words, marked as units (a phrase, a name); from its notes, said to be from
    there, when only they hold the words; else the opening of its summary (or text)."""
    found = finder.fragment(text)
    if found:
        return marked_html(found[0], unit_spans(*found, node, finder.key))
    found = finder.fragment(notes)
    if found:  # found only in a footnote or source note: say so
        return notes_snippet(marked_html(found[0], unit_spans(*found, node, finder.key)))
    return marked_html((summary or text or "")[:SIZE], [])
