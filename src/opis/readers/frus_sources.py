"""FRUS source notes, parsed into the parts a historian cites.

A FRUS source note says where the original lies and how it was marked:
"Source: Department of State, Central Files, 795.00/6–2656. Secret; Priority. Drafted by
Bennett; cleared by Robertson. Repeated to Tokyo." Only the first sentence is the
location ("Department of State, Central Files, 795.00/6–2656"); the rest is the
classification, the drafting and clearance, the distribution and editorial remarks, none
of which belongs in a citation of the archival reference. Old volumes (1861–1930s) print
"[Telegram.]", "[Extract.]", "[Translation.]" or a bare decimal file ("711.90H/41:
Telegram", "File No. 861.00/1457"): brackets describe the document, never its location.

Which archive holds a file is not what FRUS prints: "Department of State, Central Files"
are in the National Archives, Record Group 59. :data:`REPOSITORIES` maps each printed
location to its holding archive (docs/ingest.md#frus-source-notes lists the table); a
file named by ``OPIS_FRUS_REPOSITORIES`` (TOML or JSON) adds rules, tried first.
Pure text handling; the configuration file is read once per process.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from opis.model import ArchivalReference

NARA_59 = "National Archives, RG 59, General Records of the Department of State"
NARA_256 = "National Archives, RG 256, Records of the American Commission to Negotiate Peace"
ENV = "OPIS_FRUS_REPOSITORIES"  # the setting naming a rules file (opis.config reads it)
CLASSIFICATIONS = (
    "Top Secret", "Secret", "Confidential", "Limited Official Use", "Official Use Only",
    "Strictly Confidential", "Private and Confidential", "Restricted",
)
_LIBRARIES = ("Hoover", "Roosevelt", "Truman", "Eisenhower", "Kennedy", "Johnson", "Ford",
              "Carter", "Reagan", "Bush", "Clinton")
_AGENCIES = ("Central Intelligence Agency", "Department of Defense", "Department of the Army",
             "Department of the Navy", "Department of the Air Force", "Joint Chiefs of Staff",
             "National Security Council", "Department of the Treasury",
             "Department of Commerce", "Department of Agriculture", "Library of Congress",
             "Naval Historical Center", "Nixon Presidential Materials",
             "National Archives", "Washington National Records Center",
             "United States Information Agency", "Agency for International Development")


@dataclass(frozen=True)
class Rule:
    """A printed location (``pattern``, matched at its start, case-sensitive) and the
    archive that holds it. Named groups ``series``, ``file`` and ``repository`` take the
    parts from the text; ``repository``/``series`` here are used where the text has none."""

    pattern: str
    repository: str | None = None
    series: str | None = None

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.pattern)


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# The mapping table, first match wins (documented in docs/ingest.md#frus-source-notes).
REPOSITORIES: tuple[Rule, ...] = (
    Rule(r"Department of State,\s*(?P<series>Central Files),?\s*(?P<file>.+)", NARA_59),
    Rule(r"Department of State,\s*(?P<series>[^:,]+?):\s*(?P<file>Lot\s.+)", NARA_59),
    Rule(r"Department of State,\s*(?P<series>[^:,]+?)(?:[:,]\s*(?P<file>.+))?$", NARA_59),
    Rule(r"(?:Ibid\.,\s*)?File Nos?\.\s*(?P<file>.+)", NARA_59, "Central Files"),
    # A bare decimal file: "711.90H/41", "033.1140 Armament Control/7", "861.00/1457",
    # "740.0011 Mutual Guarantee (Locarno)/507", "123 G 861/178a", "865D.01/109".
    Rule(r"(?P<file>\d{3}(?:[^/:;]*/|[0-9A-Z]*\.).*)", NARA_59, "Central Files"),
    Rule(r"(?P<series>(?i:Paris Peace Conf)\.)\s*(?P<file>.+)", NARA_256),
    Rule(r"(?P<series>Inquiry)(?: files|\s+(?P<file>Document No\..+))", NARA_256),
    # The Paris Peace Conference volumes' preface: these men's papers are "in the
    # collections of the Library of Congress" (frus1919Parisv01, the Preface).
    Rule(r"(?P<series>(?:Woodrow Wilson|Robert Lansing|Henry White|Tasker H\. Bliss|"
         r"Breckinridge Long|(?:David )?Hunter Miller) Papers)(?:,\s*(?P<file>.+))?$",
         "Library of Congress, Manuscript Division"),
    Rule(r"(?P<series>Edward M\. House Papers)(?:,\s*(?P<file>.+))?$",
         "Yale University Library, Manuscripts and Archives"),
    Rule(r"(?P<repository>(?:" + "|".join(_LIBRARIES) + r") Library),\s*(?P<series>[^,]+)"
         r"(?:,\s*(?P<file>.+))?$"),
    Rule(r"(?P<repository>" + "|".join(map(re.escape, _AGENCIES)) + r")"
         r"(?:,\s*(?P<series>[^:,]+?))?(?:[:,]\s*(?P<file>.+))?$"),
)


@dataclass
class SourceNote:
    """The parts of one source note; ``reference`` is None when the note names no place
    (an editorial note, "[Extract.]")."""

    reference: ArchivalReference | None = None
    classification: str | None = None
    drafting: str | None = None
    distribution: list[str] = field(default_factory=list)
    document_type: str | None = None


_ABBREVIATIONS = frozenset({"No", "Nos", "Conf", "Mr", "Mrs", "Dr", "St", "Gen", "Col", "Lt",
                            "Adm", "Amb", "Jr", "Sr", "Doc", "vol", "Vol", "p", "pp", "Dept",
                            "U.S", "U.N", "M", "Ibid"})
_DRAFTING = re.compile(r"(?:Drafted|Cleared|Approved|Initialed|Prepared|Concurred|Sent through)"
                       r"\b", re.I)
_DISTRIBUTION = re.compile(r"(?:Repeated|Also sent|Sent|Pouched|Passed)\s+(?:to|for)\s+"
                           r"(?P<to>.+?)\.?$", re.I)
_CLASSIFICATION = re.compile(r"(?P<c>" + "|".join(CLASSIFICATIONS) + r")(?:\s*[;,(—-].*)?\.?$",
                             re.I)
_TYPE_SUFFIX = re.compile(r":\s*(?P<type>Telegram|Circular telegram|Airgram|Despatch|"
                          r"Memorandum|Note|Letter)\b.*$")
_BRACKETED = re.compile(r"^[\[(](?P<inner>[^\])]*)[\])]?\.?$")
_NOT_TYPES = frozenset({"extract", "translation", "paraphrase"})


def sentences(text: str) -> list[str]:
    """Split at ". " before a capital, but not after an initial or an abbreviation
    ("Drafted by Robert J. G. McClurkin", "Paris Peace Conf. 185.1/12")."""
    out: list[str] = []
    start = 0
    for m in re.finditer(r"(?<=[.)])\s+(?=[A-Z“(\[])", text):
        word = re.search(r"([\w.]+)[.)]$", text[start:m.start()])
        if word and (word.group(1) in _ABBREVIATIONS or re.fullmatch(r"[A-Z]", word.group(1))):
            continue
        out.append(text[start:m.start()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def parse(text: str, rules: tuple[Rule, ...] | None = None) -> SourceNote:
    """The parts of a source note (with or without its "Source:" label)."""
    note = SourceNote()
    text = re.sub(r"^Source:\s*", "", " ".join(text.split()))
    if not text:
        return note
    bracketed = _BRACKETED.match(text)
    if bracketed:  # old volumes: "[Telegram.—Paraphrase.]", "[Inclosure 2 in No. 5.]"
        for piece in re.split(r"\s*—\s*", bracketed.group("inner")):
            piece = piece.strip(" .“”")
            c = _CLASSIFICATION.fullmatch(piece)
            if c:
                note.classification = _title_case(c.group("c"))
            elif piece and note.document_type is None and piece.lower() not in _NOT_TYPES:
                note.document_type = re.sub(r"(?:\s+[\dl]+)?(?:,|\s+in\b.*)?$", "", piece) or None
        return note
    parts = sentences(text)
    drafting: list[str] = []
    location: str | None = None
    for i, sentence in enumerate(parts):
        c = _CLASSIFICATION.fullmatch(sentence)
        d = _DISTRIBUTION.match(sentence)
        if c and note.classification is None:
            note.classification = _title_case(c.group("c"))
        elif sentence.lower().startswith("no classification marking"):
            continue
        elif _DRAFTING.match(sentence) or (drafting and i > 0 and parts[i - 1] in drafting
                                           and sentence[:1].islower()):
            drafting.append(sentence.rstrip("."))
        elif d:
            note.distribution += [p for p in re.split(r",\s*(?:and\s+)?|\s+and\s+",
                                                      d.group("to")) if p]
        elif i == 0:
            location = sentence
    if drafting:
        note.drafting = "; ".join(drafting)
    if location:
        m = _TYPE_SUFFIX.search(location)
        if m:
            note.document_type = m.group("type").capitalize()
            location = location[: m.start()]
        note.reference = locate(location.rstrip(". "), rules)
    return note


def locate(location: str, rules: tuple[Rule, ...] | None = None) -> ArchivalReference | None:
    """The archival reference of a printed location: the text verbatim, the holding
    archive and the parts the matching rule names. A location no rule knows keeps its
    text and no repository: better none than a wrong one."""
    if not location or location.startswith(("[", "(")):
        return None
    for rule in rules if rules is not None else REPOSITORIES:
        m = rule.regex.match(location)
        if not m:
            continue
        groups = {k: (v.strip(" ,;") if v else None) for k, v in m.groupdict().items()}
        return ArchivalReference(
            text=location,
            repository=groups.get("repository") or rule.repository,
            series=groups.get("series") or rule.series,
            file=groups.get("file"),
        )
    return ArchivalReference(text=location)


def _title_case(value: str) -> str:
    return next((c for c in CLASSIFICATIONS if c.lower() == value.lower()), value)


def rules_from(path: str) -> tuple[Rule, ...]:
    """The rules of the file at ``path`` (``OPIS_FRUS_REPOSITORIES``, tried first), then
    :data:`REPOSITORIES`; the built-ins alone when ``path`` is empty. ValueError names a
    bad file and entry."""
    return _load(path.strip())


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[Rule, ...]:
    if not path:
        return REPOSITORIES
    return (*load_rules(Path(path)), *REPOSITORIES)


def load_rules(path: Path) -> list[Rule]:
    """Rules from a TOML (``[[repository]]`` tables) or JSON (a list) file, each with
    ``pattern`` and ``repository`` and optionally ``series``. ValueError names the file
    and the entry that is wrong."""
    try:
        raw = path.read_text(encoding="utf-8")
        data = tomllib.loads(raw).get("repository", []) if path.suffix.lower() == ".toml" \
            else json.loads(raw)
    except (OSError, ValueError) as e:
        raise ValueError(f"{ENV}={path}: cannot read the repository rules: {e}") from None
    if isinstance(data, dict):
        data = data.get("repository", [])
    rules = []
    for i, entry in enumerate(data if isinstance(data, list) else [None]):
        if not isinstance(entry, dict) or not isinstance(entry.get("pattern"), str):
            raise ValueError(f"{ENV}={path}: entry {i + 1} needs a 'pattern' (a regular "
                             "expression) and a 'repository'")
        try:
            re.compile(entry["pattern"])
        except re.error as e:
            raise ValueError(f"{ENV}={path}: entry {i + 1}: bad pattern: {e}") from None
        rules.append(Rule(entry["pattern"], entry.get("repository"), entry.get("series")))
    return rules
