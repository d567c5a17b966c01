"""The translator's editorial apparatus: square brackets turned into annotations.

Wilson Center translators mark what they saw on the page with brackets. The rules
(documented with examples in docs/apparatus.md) decide a bracket's kind from its
shape and its neighbours, never from a list of one document's strings:

- ``[[label: words]]`` is an inline mark with an explicit kind ("handwritten",
  "stamp", "typed", ...); the delimiters and the label are dropped from the text.
- ``[Handwritten at <place>: "<words>"; ...]`` describes handwriting; each quoted
  passage becomes a ``handwritten`` annotation whose note is the place.
- ``Stamp:`` followed by ``[...]`` is a stamp; marks inside it nest.
- ``[SIC]`` marks the word before it (``sic``).
- a description with "illegible" is a gap (``illegible``); "typed over" is
  ``typed_over``; "crossed out", "struck out" or "deleted" is ``deleted``.
- after an abbreviation (``MPS [machine rental]``) lower-case English words are a
  ``gloss`` of it.
- after a name, a bracketed name of the same shape and similar letters
  (``Kim Du-bong [Kim Tu Bong]``) is a ``romanization`` variant; the note names
  the spelling it varies.
- lower-case words that are not English (``[ocherednoe]``) are an
  ``original_term`` transliterated from the source language.
- anything else in brackets was ``supplied`` by the translator.

Single brackets stay in the text (they are the translator's own typography); the
annotation covers the words inside them. Offsets always index the output text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

from opis.model import Annotation

INLINE_LABELS = {
    "handwritten": "handwritten",
    "handwriting": "handwritten",
    "stamp": "stamp",
    "typed over": "typed_over",
    "crossed out": "deleted",
    "illegible": "illegible",
    "sic": "sic",
}

_ABBREVIATION = re.compile(r"(?:^|[\s(])([A-Z]{2,6}(?:\s[A-Z]{2,4})?)$")
_NAME_TAIL = re.compile(r"((?:[A-Z][\w'’‘ʼ\-]*\s+){0,4}[A-Z][\w'’‘ʼ\-]*)$")
_HANDWRITTEN_CLAUSE = re.compile(
    r"(?:hand-?written|written by hand)\s*(?P<pos>[^:\"“]*?)\s*:\s*"
    r"[\"“](?P<q>.*?)[\"”](?=\s*(?:;|$))",
    re.IGNORECASE | re.DOTALL,
)


@dataclass
class Parsed:
    text: str
    annotations: list[Annotation] = field(default_factory=list)


@lru_cache(maxsize=4096)
def _english_zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def is_foreign_phrase(words: str) -> bool:
    """True for lower-case words that are not English: a transliterated source term."""
    tokens = re.findall(r"[a-z']+", words)
    if not tokens or words != words.lower() or len(tokens) > 5:
        return False
    return all(_english_zipf(t) < 2.0 for t in tokens)


def _letters(s: str) -> str:
    return re.sub(r"[^a-z]", "", s.lower())


def _parts(s: str) -> list[str]:
    return [p for p in re.split(r"[\s\-]+", s.strip()) if p]


def _looks_like_name(s: str) -> bool:
    words = s.split()
    return 0 < len(words) <= 5 and all(w[0].isupper() for w in words if w[0].isalpha())


def find_varied_name(before: str, variant: str) -> str | None:
    """The name just before a bracket that the bracketed spelling is a variant of."""
    m = _NAME_TAIL.search(before.rstrip())
    if not m:
        return None
    words = m.group(1).split()
    want = len(_parts(variant))
    # Try the shortest tail of capitalized words whose syllable count matches.
    for n in range(1, len(words) + 1):
        cand = " ".join(words[-n:])
        if len(_parts(cand)) == want or n == len(words):
            ratio = SequenceMatcher(None, _letters(cand), _letters(variant)).ratio()
            return cand if ratio >= 0.6 else None
    return None


def _matching_close(s: str, i: int, open_: str = "[", close: str = "]") -> int | None:
    """Index of the bracket that closes the one at ``i``, honouring nesting."""
    depth = 0
    j = i
    while j < len(s):
        c = s[j]
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return None


class _Builder:
    def __init__(self, language: str | None):
        self.out: list[str] = []
        self.length = 0
        self.annotations: list[Annotation] = []
        self.language = language

    def emit(self, s: str) -> None:
        self.out.append(s)
        self.length += len(s)

    def text(self) -> str:
        return "".join(self.out)

    def annotate(self, kind: str, start: int, end: int, note: str | None = None) -> None:
        if end <= start:
            return
        full = self.text()
        # Trim whitespace so the span is exactly the words.
        while start < end and full[start].isspace():
            start += 1
        while end > start and full[end - 1].isspace():
            end -= 1
        if end > start:
            self.annotations.append(Annotation(kind, start, end, full[start:end], note))


def parse_apparatus(body: str, language: str | None = None) -> Parsed:
    """Turn a transcription with bracket marks into plain text plus annotations."""
    b = _Builder(language)
    _parse_into(body, b)
    b.annotations.sort(key=lambda a: (a.start, -a.end))
    return Parsed(b.text(), b.annotations)


def _parse_into(s: str, b: _Builder) -> None:
    i = 0
    n = len(s)
    while i < n:
        j = s.find("[", i)
        if j < 0:
            b.emit(s[i:])
            return
        b.emit(s[i:j])
        if s.startswith("[[", j):
            k = _find_double_close(s, j)
            if k is not None:
                _double(s[j + 2 : k], b)
                i = k + 2
                continue
        k = _matching_close(s, j)
        if k is None:  # an unbalanced bracket is just a character
            b.emit("[")
            i = j + 1
            continue
        _single(s[j + 1 : k], b)
        i = k + 1


def _find_double_close(s: str, j: int) -> int | None:
    depth = 0
    k = j
    while k < len(s):
        if s.startswith("[[", k):
            depth += 1
            k += 2
            continue
        if s.startswith("]]", k):
            depth -= 1
            if depth == 0:
                return k
            k += 2
            continue
        k += 1
    return None


def _double(inner: str, b: _Builder) -> None:
    m = re.match(r"^\s*([A-Za-z][A-Za-z ]{1,20}?)\s*:\s*(.*)$", inner, re.DOTALL)
    if m and m.group(1).lower() in INLINE_LABELS:
        kind = INLINE_LABELS[m.group(1).lower()]
        start = b.length
        _parse_into(m.group(2), b)
        b.annotate(kind, start, b.length)
        return
    _single(inner, b)


def _single(inner: str, b: _Builder) -> None:
    before = b.text()
    low = inner.strip().lower()
    plain = " ".join(inner.split())

    def bracketed(kind: str, note: str | None = None, parse: bool = True) -> None:
        b.emit("[")
        start = b.length
        if parse:
            _parse_into(inner, b)
        else:
            b.emit(inner)
        b.annotate(kind, start, b.length, note)
        b.emit("]")

    if re.fullmatch(r"sic!?", low):
        m = re.search(r"(\S+)(\s*)$", before)
        b.emit("[" + inner + "]")
        if m:
            start = len(before) - len(m.group(0))
            b.annotate("sic", start, start + len(m.group(1)), inner.strip())
        return
    if re.match(r"^\s*stamp\b", low) or re.search(r"stamp:\s*$", before, re.IGNORECASE):
        bracketed("stamp")
        return
    if re.match(r"^\s*(?:hand-?written|written by hand)\b", low):
        _handwritten_block(inner, b)
        return
    if "illegible" in low and len(plain) < 60:
        bracketed("illegible", parse=False)
        return
    if re.search(r"typed over|overtyped", low) and len(plain) < 60:
        bracketed("typed_over", parse=False)
        return
    if re.search(r"crossed out|struck out|deleted", low) and len(plain) < 60:
        bracketed("deleted", parse=False)
        return
    abbr = _ABBREVIATION.search(before.rstrip()) if before.endswith((" ", "\n")) else None
    if abbr and plain == plain.lower() and re.fullmatch(r"[a-z' \-]+", plain):
        bracketed("gloss", abbr.group(1), parse=False)
        return
    if _looks_like_name(plain):
        varied = find_varied_name(before, plain)
        if varied:
            bracketed("romanization", varied, parse=False)
            return
    if is_foreign_phrase(plain):
        bracketed("original_term", b.language, parse=False)
        return
    bracketed("supplied")


def _handwritten_block(inner: str, b: _Builder) -> None:
    b.emit("[")
    base = b.length
    clauses = list(_HANDWRITTEN_CLAUSE.finditer(inner))
    if not clauses:
        _parse_into(inner, b)
        b.annotate("handwritten", base, b.length)
        b.emit("]")
        return
    pos = 0
    for m in clauses:
        _parse_into(inner[pos : m.start("q")], b)
        start = b.length
        _parse_into(m.group("q"), b)
        place = " ".join(m.group("pos").split())
        b.annotate("handwritten", start, b.length, re.sub(r"^(?:at|on|in)\s+", "", place) or None)
        pos = m.end("q")
    _parse_into(inner[pos:], b)
    b.emit("]")
