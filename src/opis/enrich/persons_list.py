"""A persons-list entry as editors write it, read into a name and its spellings.

FRUS and archival indexes print entries in several shapes, and each shape hides the
spellings a historian may type:

- "Rhee, Syngman" (inverted, surname first);
- "Pak Chong-hui (Pak Chung-hui, Park Chung Hee, Pak Jung-Hui)" (no comma: a name in
  reading order with its variants in parentheses);
- "Radford, Admiral Arthur W." (a rank inside the given part: a role, not a name);
- "Hoover, Herbert, Jr.", "Cho, Chung W." inside parentheses (an inverted variant);
- "Yang, Dr." followed by "see You Chan Yang, Dr." (a cross-reference, not a person);
- dates or roles after the name ("Smith, John (1890–1960)", ", Secretary of War").

East Asian names are written surname first, and Western writers reverse them, so both
orders are spellings ("Rhee Syngman" / "Syngman Rhee", "Pak Chong-hui" /
"Chong-hui Pak"). Romanization variants (Yi Sung-man) need nothing here: they share a
romanization key with a spelling listed (names/romanize.py).

Pure functions, no storage: the linker turns an entry into an authority record.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from opis.model.headings import (
    EAST_ASIAN_SURNAMES,
    _is_east_asian,
    _natural,
    is_personal_heading,
)
from opis.names.romanize import cjk_name_word, name_key

# Words of a given part that are a title, rank or honorific: kept as roles, never names.
TITLES = frozenset("""
    dr. dr mr. mr mrs. mrs ms. ms miss sir dame lady lord general admiral colonel major
    captain lieutenant commander marshal ambassador president prince princess king queen
    rev. reverend father madame mme. mme pandit senator governor judge justice professor
    prof. gen. adm. col. lt. capt. cdr. hon. honorable monsignor cardinal bishop count
    baron emir sheikh shaikh sultan
""".split())
_SUFFIXES = frozenset({"jr.", "jr", "sr.", "sr", "ii", "iii", "iv"})
_MACRON = re.compile(r"[āēīōūĀĒĪŌŪ]")
_PAREN = re.compile(r"\s*\(([^()]*)\)")
_DATES = re.compile(r"^(?:b\.\s*|d\.\s*|ca?\.\s*)?\d{3,4}(?:\s*[-–—]\s*(?:\d{2,4})?)?\??$")
_SEE = re.compile(r"^\s*see\s*(?:also\s*)?(.+?)\s*\.?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class PersonEntry:
    """One entry: the name to show, every spelling to find it by, and what else the
    entry says (titles, dates, a cross-reference)."""

    preferred: str
    variants: tuple[str, ...]
    surname: str | None = None
    titles: tuple[str, ...] = ()
    dates: str | None = None
    see: str | None = None  # "Yang, Dr." -> "You Chan Yang": the entry that is the person

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.preferred, *self.variants)


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower())
                   if not unicodedata.combining(c))


def _is_title(word: str) -> bool:
    return word.lower().strip(",") in TITLES


def _split_titles(given: str) -> tuple[str, tuple[str, ...]]:
    """("Admiral Arthur W.") -> ("Arthur W.", ("Admiral",)); titles may lead or trail."""
    words = given.split()
    titles = []
    while words and _is_title(words[0]):
        titles.append(words.pop(0))
    while words and _is_title(words[-1]):
        titles.append(words.pop())
    return " ".join(words), tuple(titles)


def _is_surname_first_east_asian(words: list[str]) -> bool:
    """A name in reading order that is East Asian: "Pak Chong-hui", "Kim Il Sung"."""
    if not 2 <= len(words) <= 3:
        return False
    if _fold(words[0]) not in EAST_ASIAN_SURNAMES and not (
            cjk_name_word(words[0]) and "-" in words[1]):
        return False
    return all(cjk_name_word(w) for w in words[1:]) or "-" in words[1]


def _given_fits(surname: str, given: str) -> bool:
    """A Korean or Chinese surname takes a given name of the same romanization: "Rhee,
    Francesca" is Francesca Rhee, "Rhee, Syngman" is Rhee Syngman."""
    if _MACRON.search(surname + given) or "-" in given or not cjk_name_word(surname):
        return True
    return all(cjk_name_word(w) for w in given.split())


def other_order(name: str, surname: str | None) -> str | None:
    """The same East Asian name in the other order, when the surname's place is known:
    "Rhee Syngman" <-> "Syngman Rhee", "Park Chung Hee" <-> "Chung Hee Park"."""
    words = name.split()
    if len(words) < 2 or surname is None:
        return None
    key = name_key(surname)
    if name_key(words[0]) == key:
        return " ".join([*words[1:], words[0]])
    if name_key(words[-1]) == key:
        return " ".join([words[-1], *words[:-1]])
    return None


def _variant_list(inner: str) -> list[str]:
    """Parenthesized spellings: a list ("Pak Chung-hui, Park Chung Hee") or one inverted
    name ("Cho, Chung W."), told apart by whether every part has two words or more."""
    parts = [p.strip() for p in re.split(r"[;,]", inner) if p.strip()]
    if len(parts) > 1 and all(len(p.split()) >= 2 for p in parts):
        return parts
    if len(parts) == 2 and is_personal_heading(inner):
        return [_natural(inner)]
    return parts


def parse_entry(heading: str, rest: str | None = None) -> PersonEntry:
    """Read one entry's heading (and the text after it, for a "see" reference)."""
    heading = " ".join(heading.split()).strip(" ,;:")
    see = None
    if rest and (m := _SEE.match(rest)):
        see = m.group(1).strip(" ,;")
        see = re.sub(r",\s*(?:" + "|".join(re.escape(t) for t in TITLES) + r")$", "",
                     see, flags=re.IGNORECASE).strip()
    dates = None
    extra: list[str] = []
    for inner in (m.strip() for m in _PAREN.findall(heading)):
        if not inner:
            continue
        if _DATES.match(inner):
            dates = inner
        elif inner[0] in "\"'“‘" and inner[-1] in "\"'”’":
            extra.append("\x00" + inner.strip("\"'“”‘’ "))  # a nickname: placed below
        elif inner[0].isupper():
            extra.extend(_variant_list(inner))
    base = _PAREN.sub("", heading).strip(" ,")
    titles: tuple[str, ...] = ()
    surname: str | None
    if "," in base and is_personal_heading(base):
        parts = [p.strip() for p in base.split(",") if p.strip()]
        surname, given, rest_parts = parts[0], parts[1], parts[2:]
        given, titles = _split_titles(given)
        titles += tuple(p for p in rest_parts if _is_title(p))
        suffix = " ".join(p for p in rest_parts if p.lower() in _SUFFIXES)
        if not given:  # "Yang, Dr.": a title and a surname only
            preferred = " ".join([*titles, surname])
            east = False
        else:
            east = _is_east_asian(surname, given) and _given_fits(surname, given)
            preferred = f"{surname} {given}" if east else f"{given} {surname}"
            preferred = f"{preferred} {suffix}".strip()
    else:
        words = base.split()
        while len(words) > 1 and _is_title(words[0]):
            titles += (words.pop(0),)
        preferred = " ".join(words)
        east = _is_surname_first_east_asian(words)
        surname = words[0] if east else (words[-1] if len(words) > 1 else None)
    forms: list[str] = [base] if base != preferred else []
    for v in extra:
        if v.startswith("\x00"):
            v = f"{v[1:]} {surname}" if surname else v[1:]
        forms.append(v)
    if east:
        for name in [preferred, *extra]:
            name = name.lstrip("\x00")
            flipped = other_order(name, surname)
            if flipped:
                forms.append(flipped)
    variants = tuple(v for v in dict.fromkeys(forms) if v and v != preferred)
    return PersonEntry(preferred, variants, surname, titles, dates, see)



def _word_bag(name: str) -> tuple[str, ...]:
    words = re.sub(r"[,()]", " ", name).split()
    return tuple(sorted(_fold(w).strip(".") for w in words if not _is_title(w)))


def see_matches(see: str | None, spellings) -> bool:  # noqa: ANN001 - any iterable of str
    """Whether a "see" reference names this person in any word order: "You Chan Yang"
    is the entry printed "You, Chan Yang, Dr."."""
    if not see:
        return False
    bag = _word_bag(see)
    return bool(bag) and any(_word_bag(s) == bag for s in spellings)


def see_forms(see: str | None) -> list[str]:
    """The spellings a "see" reference adds: the name as printed and, for an East Asian
    name written surname last ("You Chan Yang"), surname first ("Yang You Chan")."""
    if not see:
        return []
    words = see.split()
    forms = [see]
    if len(words) in (2, 3) and all(cjk_name_word(w) for w in words) \
            and _fold(words[-1]) in EAST_ASIAN_SURNAMES:
        forms.append(" ".join([words[-1], *words[:-1]]))
    return forms
