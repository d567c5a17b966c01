"""Find the people, places, organizations and events a record names.

No statistical model: spaCy's English pipelines are not published on PyPI (only
unofficial re-uploads are), and models fetched at run time do not work here. Rules
written for this domain plus a gazetteer do better on these sources anyway
(bench/entities.py prints precision and recall against hand-made gold lists):

- the gazetteer's spellings (a lone "Mikoyan", "KWP", "Pyongyang", "August Plenum");
- Korean personal names: a Korean surname followed by a given name written
  hyphenated (Du-bong), spaced (Tu Bong) or as one syllable (Kim Il);
- names after an honorific or rank (Cde., Cdes., Comrade, Minister, Ambassador,
  General-Lieutenant ...), which is never part of the name, including lists
  ("Cdes. Mikoyan and Peng Dehuai");
- initials and a surname (V. Ivanov, D. T. SHEPILOV);
- a romanization variant in brackets names the same entity as the name before it.

Where candidates overlap the longest wins, so "Kim Il Sung" is one person and never
"Kim Il" plus "Sung"; "Kim Il" on its own stays a different person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from opis.model import Record
from opis.model.headings import is_personal_heading, split_heading
from opis.names.gazetteer import (
    Gazetteer,
    Known,
    default_gazetteer,
    first_chars,
    korean_surnames,
)

HONORIFICS = (
    "Cde.", "Cdes.", "Comrade", "Comrades", "Tov.", "Minister", "Ambassador", "Premier",
    "General-Lieutenant", "General-Major", "General-Colonel", "Lieutenant General",
    "Major General", "General", "Marshal", "Admiral", "Colonel", "President", "Chairman",
    "Secretary", "Mr.", "Mrs.", "Ms.", "Dr.", "Messrs.", "Prime Minister", "Vice Minister",
    "Deputy Prime Minister", "Deputy Premier", "Governor", "Senator", "Congressman",
)
_HONORIFIC = "|".join(re.escape(h) for h in sorted(HONORIFICS, key=len, reverse=True))
# Capitalized words that end a name list or can never start a name.
STOPWORDS = frozenset("""
    The A An In At On Of For To By And Or But With From This That These Those It Its His Her
    Their Our We They He She Central Committee Party Plenum Congress Soviet Korean Chinese
    Presidium Republic State Government Embassy Ministry Council Politburo People's National
    Union Democratic Supreme Assembly Army Secretary Secretaries Deputy Minister Department
    Chairman Chief Director Head Office Bureau However Thus Also Both After Before During
    Until Some Many All Most Only Since When Where While Although Because If As Not No
    January February March April May June July August September October November December
    North South East West American British French Japanese German Polish Hungarian Egyptian
    Headquarters Staff Affairs Association Assembly Command Commission Affairs Forces Embassy
    Office Secretariat Staff Sent Received Copy Subject Memorandum Telegram Letter
""".split())
FACILITY = re.compile(r"^\s+(?:metallurgical\s+)?(?:plant|factory|works|mine|university|"
                      r"street|square|station|stadium|combine|shipyard|institute)\b",
                      re.IGNORECASE)
_APOS = r"(?:['’](?!s\b)[a-zŏŭ]{1,5})?"  # Ch'ang, but not a possessive 's
_SYL = rf"[A-Z][a-zŏŭéō]{{0,6}}{_APOS}"
_GIVEN_HYPHEN = rf"{_SYL}-[a-zŏŭéō]{{1,6}}{_APOS}"
_GIVEN_JOINED = r"[A-Z][a-zŏŭéō]{7,10}"  # Seonghwan: a given name written as one word
_KOREAN_GIVEN = rf"(?:{_GIVEN_HYPHEN}|{_GIVEN_JOINED}|{_SYL}(?: {_SYL})?)"
_INITIALS = re.compile(
    r"(?=[A-Z])(?<![\w.])((?:[A-Z]\. ?){1,3})([A-Z][a-z]+(?:-[A-Z][a-z]+)?|[A-Z]{3,})\b")
_WORD = r"[A-Z]\w+(?:['’](?!s\b)\w+)?(?:-[A-Z]?\w+)?"
_CAP_NAME = rf"(?:[A-Z]\. ?){{0,3}}{_WORD}(?: {_WORD}){{0,2}}"


@dataclass
class Candidate:
    kind: str
    start: int | None
    end: int | None
    text: str  # the words as written
    source: str  # "gazetteer", "korean", "honorific", "initials", "variant", field name
    known: Known | None = None
    same_as: int | None = None  # index of the candidate this one is a variant of
    field: str = "text"
    priority: int = 0

    @property
    def span(self) -> tuple[int, int]:
        """(start, end) in the text; only the record's metadata mentions have none."""
        if self.start is None or self.end is None:
            raise ValueError(f"{self.text!r} ({self.source}) is not a mention in the text")
        return self.start, self.end


@lru_cache(maxsize=1)
def _korean_pattern() -> re.Pattern[str]:
    surnames = sorted(korean_surnames(), key=len, reverse=True)
    return re.compile(first_chars(surnames) + r"(?<![\w'’-])(?:"
                      + "|".join(re.escape(s) for s in surnames)
                      + rf") {_KOREAN_GIVEN}(?![\w’]|'\w(?<!'s))")


def _korean_names(text: str) -> list[Candidate]:
    out = []
    for m in _korean_pattern().finditer(text):
        words = m.group(0).split()
        # Drop a trailing capitalized word that is really the next sentence or a title.
        while len(words) > 2 and words[-1] in STOPWORDS:
            words.pop()
        if words[1] in STOPWORDS or words[1].isupper() and len(words[1]) > 1:
            continue
        span = " ".join(words)
        if FACILITY.match(text[m.start() + len(span):]):
            continue
        out.append(Candidate("person", m.start(), m.start() + len(span), span, "korean",
                             priority=2))
    return out


_PLURAL = r"Cdes\.|Comrades|Messrs\."
_HONORIFIC_RX = re.compile(
    first_chars(list(HONORIFICS)) + rf"(?<![\w])(?:(?:{_PLURAL}) +({_CAP_NAME}(?:(?:, | and "
    rf"|, and )(?!the\b){_CAP_NAME})*)|(?:{_HONORIFIC}) +({_CAP_NAME}))")


def _honorific_names(text: str) -> list[Candidate]:
    """Names after an honorific; only plural honorifics ("Cdes.") introduce a list."""
    out = []
    for m in _HONORIFIC_RX.finditer(text):
        group = 1 if m.group(1) else 2
        pos = m.start(group)
        for part in re.split(r",\s(?:and\s)?|\sand\s", m.group(group)):
            start = text.index(part, pos)
            pos = start + len(part)
            words = part.split()
            while words and words[-1] in STOPWORDS:
                words.pop()
            if not words or words[0] in STOPWORDS:
                continue
            name = " ".join(words)
            if FACILITY.match(text[start + len(name):]):
                continue
            out.append(Candidate("person", start, start + len(name), name, "honorific",
                                 priority=1))
    return out


@lru_cache(maxsize=8192)
def _common_english(word: str) -> bool:
    """"Moreover" after "Phase D." is not a surname; rare words and names are kept."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word.lower(), "en") > 3.5


def _initials(text: str) -> list[Candidate]:
    return [Candidate("person", m.start(), m.end(), m.group(0), "initials", priority=1)
            for m in _INITIALS.finditer(text)
            if m.group(2) not in STOPWORDS and (m.group(2).isupper()
                                                or not _common_english(m.group(2)))]


def _gazetteer(text: str, gaz: Gazetteer) -> list[Candidate]:
    return [Candidate(gaz.by_spelling[s].kind, start, end, s, "gazetteer", gaz.by_spelling[s],
                      priority=3) for start, end, s in gaz.find(text)]


def _resolve_overlaps(cands: list[Candidate]) -> list[Candidate]:
    """Longest span wins; on equal spans, the higher priority (gazetteer > rules)."""
    cands.sort(key=lambda c: (c.span[0] - c.span[1], -c.priority, c.span[0]))
    size = max((c.span[1] for c in cands), default=0)
    taken = bytearray(size)  # one flag per character: overlap checks stay linear
    kept = []
    for c in cands:
        start, end = c.span
        if any(taken[start:end]):
            continue
        taken[start:end] = b"\x01" * (end - start)
        kept.append(c)
    kept.sort(key=lambda c: c.span[0])
    return kept


def record_gazetteer(record: Record) -> Gazetteer | None:
    """The people a record's own metadata names, in every order a text may write them:
    "Ushiba, Nobuhiko" is found as "Ushiba Nobuhiko" and "Nobuhiko Ushiba"."""
    entries = []
    for heading in [*record.people, *(a.name for a in record.authors)]:
        if "," not in heading or not is_personal_heading(heading):
            continue
        display, variants = split_heading(heading)
        surname, _, given = heading.partition(",")
        given = re.sub(r"\s*\(.*?\)", "", given).strip()
        forms = {display, *variants, f"{surname.strip()} {given}", f"{given} {surname.strip()}"}
        entries.append(Known("person", display, tuple(sorted(forms - {display}))))
    return Gazetteer(entries) if entries else None


def extract(record: Record, gazetteer: Gazetteer | None = None) -> list[Candidate]:
    """Mentions in the text (with offsets) and in the record's own metadata."""
    gaz = gazetteer or default_gazetteer()
    text = record.text
    cands = (_gazetteer(text, gaz) + _korean_names(text) + _honorific_names(text)
             + _initials(text))
    local = record_gazetteer(record)
    if local is not None:
        cands += _gazetteer(text, local)
    found = _resolve_overlaps(cands)
    found = _repeat_surnames(text, found)
    # A bracketed romanization variant names the same entity as the name it varies.
    by_end = {c.end: i for i, c in enumerate(found)}
    for a in record.annotations:
        if a.kind != "romanization" or not a.note:
            continue
        before = text.rfind(a.note, 0, a.start)
        target = by_end.get(before + len(a.note)) if before >= 0 else None
        if target is None:
            continue
        existing = next((c for c in found if c.start == a.start and c.end == a.end), None)
        if existing is not None:
            existing.same_as = target
            existing.kind = found[target].kind
        elif not any(c.span[0] < a.end and a.start < c.span[1] for c in found):
            found.append(Candidate(found[target].kind, a.start, a.end, a.text, "variant",
                                   same_as=target))
    found.sort(key=lambda c: (c.start, c.end))
    # Re-point same_as after sorting.
    return _renumber(found) + _metadata(record, gaz)


def _repeat_surnames(text: str, found: list[Candidate]) -> list[Candidate]:
    """A one-word name found once with a cue ("President Rhee", a gazetteer "Hull") names
    the same person wherever else it stands alone in the record ("Rhee's remarks")."""
    single = {c.text for c in found if c.kind == "person" and " " not in c.text
              and c.source in ("honorific", "gazetteer") and c.text[:1].isupper()
              and len(c.text) > 2}
    if not single:
        return found
    taken = bytearray(len(text))
    for c in found:
        start, end = c.span
        taken[start:end] = b"\x01" * (end - start)
    extra = []
    for name in sorted(single):  # a few names: str.find beats compiling a regex per record
        at = text.find(name)
        while at >= 0:
            end = at + len(name)
            if (_repeat_bounded(text, at, end) and not any(taken[at:end])):
                extra.append(Candidate("person", at, end, name, "repeat"))
                taken[at:end] = b"\x01" * len(name)
            at = text.find(name, end)
    return sorted(found + extra, key=lambda c: c.span[0])


def _repeat_bounded(text: str, start: int, end: int) -> bool:
    """A whole word: not after a letter, period, apostrophe or hyphen; followed by a
    possessive ("Rhee's") or by anything that does not continue the word."""
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.'’-"):
        return False
    after = text[end:end + 1]
    if after in ("'", "’") and text[end + 1:end + 2] == "s":
        nxt = text[end + 2:end + 3]
        return not (nxt.isalnum() or nxt == "_")
    return not (after and (after.isalnum() or after in "_'’-"))


def _renumber(found: list[Candidate]) -> list[Candidate]:
    return found


def _metadata(record: Record, gaz: Gazetteer) -> list[Candidate]:
    out = []
    for a in record.authors:
        out.append(Candidate("person", None, None, a.name, "authors", gaz.by_spelling.get(a.name),
                             field="authors"))
    for c in record.contributors:
        out.append(Candidate("person", None, None, c.name, "contributors", field="contributors"))
    for name in record.distribution:
        out.append(Candidate("person", None, None, name, "distribution",
                             gaz.by_spelling.get(name), field="distribution"))
    for kind, values in (("person", record.people), ("organization", record.organizations),
                         ("place", record.places)):
        for v in values:
            out.append(Candidate(kind, None, None, v, "metadata", gaz.by_spelling.get(v),
                                 field="metadata"))
    return out
