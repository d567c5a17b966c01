"""The shipped authority seed: known people, places, organizations and events.

A gazetteer names what rules cannot find (a lone "Mikoyan" is a person; "KWP" is the
Korean Workers' Party) and gives each entity a preferred form. Abbreviations found
here are the global glossary; a source may bring its own (a FRUS terms list).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources


def first_chars(words: list[str]) -> str:
    """A lookahead for the characters the words can start with. Python's regex engine
    skips ahead on a leading character set but not past a lookbehind, so putting this
    first makes scanning a long text for hundreds of names about four times faster."""
    chars = "".join(sorted({w[0] for w in words if w}))
    return f"(?=[{re.escape(chars)}])" if chars else ""


@dataclass(frozen=True)
class Known:
    kind: str
    preferred: str
    variants: tuple[str, ...]
    description: str | None = None
    wikidata: str | None = None

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.preferred, *self.variants)


SMALL = 24  # spellings up to which a scan with str.find beats compiling a regex


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def bounded(text: str, start: int, end: int) -> bool:
    """The boundaries the regex scan enforces: not inside a word, not before a hyphen,
    and an apostrophe after the name (straight or curly) only as a possessive ("Mikoyan's",
    "Kim Il Sung’s"), never as a word going on ("Ch’oe")."""
    if start > 0 and (_word_char(text[start - 1]) or text[start - 1] in "'’"):
        return False
    after = text[end:end + 1]
    if after and (_word_char(after) or after == "-"):
        return False
    if after in ("'", "’") and end + 1 < len(text) and _word_char(text[end + 1]):
        return text[end + 1] == "s" and not (end + 2 < len(text) and _word_char(text[end + 2]))
    return True


@dataclass
class Gazetteer:
    entries: list[Known]
    by_spelling: dict[str, Known] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for entry in self.entries:
            for s in entry.spellings:
                if s:
                    self.by_spelling.setdefault(s, entry)
        self._pattern: re.Pattern[str] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        """One alternation of every spelling, longest first (compiled on first use)."""
        if self._pattern is None:
            spellings = sorted(self.by_spelling, key=len, reverse=True)
            self._pattern = re.compile(
                first_chars(spellings) + r"(?<![\w'’])("
                + "|".join(re.escape(s) for s in spellings) + r")(?![\w-]|['’](?!s\b)\w)")
        return self._pattern

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Every spelling standing as a whole name in ``text``: (start, end, spelling).
        A record's own small gazetteer is scanned with str.find, since compiling a regex
        for each record would cost more than the scan; overlaps are left to the caller."""
        if len(self.by_spelling) > SMALL:
            return [(m.start(1), m.end(1), m.group(1)) for m in self.pattern.finditer(text)]
        out = []
        for spelling in self.by_spelling:
            at = text.find(spelling)
            while at >= 0:
                if bounded(text, at, at + len(spelling)):
                    out.append((at, at + len(spelling), spelling))
                at = text.find(spelling, at + 1)
        return out

    def abbreviations(self) -> dict[str, Known]:
        """Variants written in capitals (KWP, CPSU CC): the global glossary."""
        return {s: k for s, k in self.by_spelling.items()
                if re.fullmatch(r"[A-Z][A-Z.]{1,6}(?: [A-Z]{2,4})?", s)}


def _data(name: str) -> str:
    return (resources.files("opis.names") / "data" / name).read_text(encoding="utf-8")


@cache
def default_gazetteer() -> Gazetteer:
    raw = json.loads(_data("gazetteer.json"))
    return Gazetteer([Known(e["kind"], e["preferred"], tuple(e.get("variants", [])),
                            e.get("description"), e.get("wikidata")) for e in raw["entities"]])


@cache
def korean_surnames() -> frozenset[str]:
    words = []
    for line in _data("korean_surnames.txt").splitlines():
        if not line.startswith("#"):
            words += line.split()
    return frozenset(words)
