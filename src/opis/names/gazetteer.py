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


@dataclass
class Gazetteer:
    entries: list[Known]
    by_spelling: dict[str, Known] = field(default_factory=dict)
    pattern: re.Pattern[str] | None = None

    def __post_init__(self) -> None:
        for entry in self.entries:
            for s in entry.spellings:
                self.by_spelling.setdefault(s, entry)
        spellings = sorted(self.by_spelling, key=len, reverse=True)
        self.pattern = re.compile(
            r"(?<![\w'’])(" + "|".join(re.escape(s) for s in spellings) + r")(?![\w’-]|'(?!s\b)\w)")

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
