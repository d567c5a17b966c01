"""What is never a person: titles, offices, fragments, bodies and places.

A rule-based extractor reads "Secretary of State" as a rank and a name, "Governor
General" as a rank and "General", and a FRUS head's "Telegram From the Embassy in
Korea" as its author. These rules run on every person candidate before linking, so an
authority file never gains "of State", "Resident", "General" or "Embassy in Korea" as
people (issue 16). Pure functions over strings.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from opis.model.headings import EAST_ASIAN_SURNAMES
from opis.names.gazetteer import default_gazetteer, korean_surnames

# Titles, ranks, offices and the words that build office names. A name made only of
# these (and of/the/for/and, a country) is an office, never a person.
OFFICE_WORDS = frozenset("""
    president vice premier prime minister ministers secretary secretaries under assistant
    deputy acting chief general generals admiral colonel major captain lieutenant commander
    marshal ambassador ambassadors envoy consul consuls counselor counsellor attaché attache
    chargé charge d'affaires resident residents governor governors senator senators
    representative representatives delegate delegation chairman chairwoman director
    directors head officer officers commissioner commissar adviser advisor advisers
    special staff clerk judge justice king queen prince princess emperor sultan shah emir
    sheikh pope cardinal bishop mr mrs ms miss dr sir lady lord madame mme monsieur
    messrs cde cdes comrade comrades tov excellency highness majesty honorable hon
    mayor governor-general lieutenant-general major-general commander-in-chief
    generalissimo pandit professor
    state foreign affairs defense defence war navy army treasury interior commerce
    justice labor finance economic political military naval air chiefs
    of the for and in at to on
""".split())
ORG_WORDS = re.compile(
    r"\b(?:Department|Office|Bureau|Agency|Committee|Commission|Council|Ministry|Embassy|"
    r"Legation|Consulate|Army|Navy|Force|Forces|Command|Organization|Party|Union|Nations|"
    r"Administration|Service|Board|Staff|Corps|Bank|Fund|Group|Conference|Assembly|"
    r"Government|Mission|Station|Division|Section|Institute|Secretariat|Cabinet|Delegation|"
    r"Headquarters|Chiefs|Senate|Congress|Parliament|Diet|Foundation|Company|Corporation|"
    r"University|Times|Press|Agency|House)\b")
# Places the shipped gazetteer lacks that the Korean-name rule would read as people
# ("Hong Kong": surname Hong, given name Kong).
PLACES = frozenset({"Hong Kong", "Pusan", "Busan", "Inchon", "Incheon", "Panmunjom",
                    "Kaesong", "Okinawa", "Manila", "Saigon", "Hanoi", "Taipei", "Canton",
                    "Macao", "Macau", "Singapore", "Rangoon", "Djakarta", "Jakarta"})
FEMALE_TITLES = frozenset({"mrs", "madame", "mme", "miss", "lady", "ms"})
_TITLE_BEFORE = re.compile(r"((?:[A-Z][a-z]+\.?|Vice|Prime)(?:[ -][A-Z][a-z]+\.?)?)\s+$")


def fold(text: str) -> str:
    """Lowercase without diacritics: Hammarskjöld and Hammarskjold are one word."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower())
                   if not unicodedata.combining(c))


def _words(name: str) -> list[str]:
    return [w.strip(".,;:’'()") for w in fold(name).split()]


def is_office(name: str) -> bool:
    """"Secretary of State", "of State", "General", "Resident", "Washington Department
    of State" (a place and a body): an office, a title or a fragment, never a person."""
    words = [w for w in _words(name) if w]
    if not words:
        return True
    if name[:1].islower():  # "of State": a fragment left by a title taken off
        return True
    rest = [w for w in words if w not in OFFICE_WORDS]
    return not rest or (len(rest) < len(words) and all(_is_place(w) for w in rest))


@lru_cache(maxsize=4096)
def _is_place(word_or_name: str) -> bool:
    gaz = default_gazetteer()
    for spelling, known in gaz.by_spelling.items():
        if known.kind == "place" and fold(spelling) == fold(word_or_name):
            return True
    return any(fold(p) == fold(word_or_name) for p in PLACES)


def kind_of_name(name: str) -> str | None:
    """For a person candidate: "person", "organization", "place", or None (an office or
    fragment, dropped)."""
    name = " ".join(name.split())
    if ORG_WORDS.search(name):
        return "organization"
    if _is_place(name):
        return "place"
    if is_office(name):
        return None
    return "person"


@lru_cache(maxsize=1)
def _common_surnames() -> frozenset[str]:
    return frozenset({fold(s) for s in korean_surnames()} | EAST_ASIAN_SURNAMES)


def is_common_surname(word: str) -> bool:
    """Kim, Pak, Li, Wang: a surname alone that names no one person."""
    return fold(word.strip(".,’'")) in _common_surnames()


def title_before(text: str, start: int) -> str | None:
    """The title or rank written just before a mention ("President" in "President
    Rhee"), lowercase without its full stop; None when there is none."""
    m = _TITLE_BEFORE.search(text[max(0, start - 40):start])
    if not m:
        return None
    title = fold(m.group(1)).rstrip(".")
    return title if all(w in OFFICE_WORDS for w in title.replace("-", " ").split()) else None


_KIN = re.compile(r"\b(wife|widow|daughter|son|mother|father|brother|sister|husband) of\b")
_WOMEN = frozenset({"wife", "widow", "daughter", "mother", "sister"})


def title_fits(title: str | None, description: str | None) -> bool:
    """Whether "<title> <surname>" can be this person: "Mrs. Rhee" is not the President
    and "President Rhee" is not his wife (FRUS describes her as "wife of ...")."""
    desc = fold(description or "")
    kin = _KIN.search(desc)
    if title in FEMALE_TITLES:
        return bool(kin and kin.group(1) in _WOMEN) or f"{title} " in desc
    if title:
        return not kin
    return True


def choose_referent(title: str | None, pools: list[list[tuple[str, str | None]]],
                    ) -> str | None:
    """The one person a surname (with its title, if any) can mean, or None.

    ``pools`` are the candidates sharing the surname, nearest first (named in full in
    the record, then the volume's persons list), each as (entity id, description). The
    first pool with a fitting candidate decides; several that fit are told apart only
    by the title in a description ("President of the Republic of Korea"), else the
    surname stays unlinked: a wrong link is worse than none."""
    for pool in pools:
        fit = [(eid, desc) for eid, desc in pool if title_fits(title, desc)]
        if len(fit) == 1:
            return fit[0][0]
        if fit:
            named = [eid for eid, desc in fit if title and title in fold(desc or "")]
            return named[0] if len(named) == 1 else None
    return None
