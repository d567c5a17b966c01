"""The domain record: what a historian needs to read, search and cite one document.

Plain dataclasses, no I/O. Every class round-trips through ``to_dict``/``from_dict``
so the store, the JSON API and the exports share one serialization.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from opis.model.entity import Mention


class RecordStatus(StrEnum):
    """Whether the public sees a record. Nothing is deleted: a withdrawn record keeps
    its revisions and comes back when reinstated. Equal to its string value, as the
    database stores it."""

    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


# Annotation kinds, named after TEI P5 where one matches (see docs/apparatus.md).
ANNOTATION_KINDS: dict[str, str] = {
    "stamp": "Stamp",
    "handwritten": "Handwritten",
    "illegible": "Illegible",
    "typed_over": "Typed over",
    "deleted": "Crossed out",
    "sic": "[SIC]",
    "supplied": "Supplied by the translator",
    "original_term": "Original term",
    "gloss": "Translator's gloss",
    "romanization": "Variant spelling",
    "head": "Heading",
}

# A record id: letters and digits of any script, "_" and "-", 1 to 200 characters, the
# first a letter or digit, as every source's ids are (WCDA "114165", FRUS
# "frus1955-57v23p2d3", Markdown slugs "letter-to-mao-1956"). No ".", which starts the
# format in /document/<id>.json, no "/", which starts a path, no space, quote or "<".
RECORD_ID = re.compile(r"[^\W_][\w-]{0,199}")
# How deep a JSON value in a record (``extra``) may nest, and how many values it may
# hold: 900 levels crashed the curation API (RecursionError). 64, as the readers'
# default (OPIS_MAX_DEPTH, readers/limits.py), so an edit keeps what an ingest took.
MAX_NESTING = 64
MAX_JSON_VALUES = 100_000


def id_problem(record_id: object) -> str | None:
    """Why ``record_id`` cannot be a record's id, or None when it can."""
    if not isinstance(record_id, str) or not record_id:
        return "a record needs an id"
    if RECORD_ID.fullmatch(record_id):
        return None
    if len(record_id) > 200:
        return f"id {record_id[:40]!r}… is {len(record_id)} characters long; at most 200"
    bad = next((c for c in record_id if not re.fullmatch(r"[\w-]", c)), None)
    if bad is None:
        return f"id {record_id!r} must start with a letter or a digit"
    return (f"id {record_id!r} may not contain {bad!r}: use letters, digits, '-' and '_', "
            "starting with a letter or digit")


def json_problem(value: object) -> str | None:
    """Why a JSON value is too deep or too large to keep, or None. Iterative, so that
    the check itself cannot exhaust the stack it protects."""
    stack: list[tuple[object, int]] = [(value, 1)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > MAX_JSON_VALUES:
            return f"holds more than {MAX_JSON_VALUES:,} values"
        if isinstance(item, dict | list):
            if depth > MAX_NESTING:
                return f"nested deeper than {MAX_NESTING} levels"
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


CONTRIBUTOR_ROLES = (
    "obtained_by",
    "translator",
    "contributor",
    "transcriber",
    "editor",
    "annotator",
)


@dataclass
class Annotation:
    """A span of ``Record.text`` the translator marked; ``text`` == record.text[start:end]."""

    kind: str
    start: int
    end: int
    text: str
    note: str | None = None


@dataclass
class ArchivalReference:
    """Where the original lies. ``text`` is always kept verbatim; parts only when parsed."""

    text: str
    repository: str | None = None
    fond: str | None = None
    opis: str | None = None
    delo: str | None = None
    folios: str | None = None
    # For files of government archives (FRUS source notes): the series within the
    # repository ("Central Files", "Lot Files") and the file ("795.00/6–2656", "Lot 66 D 79").
    series: str | None = None
    file: str | None = None


@dataclass
class Contributor:
    name: str
    role: str


@dataclass
class Author:
    name: str
    title: str | None = None


@dataclass
class Stamp:
    text: str
    date: str | None = None  # EDTF
    number: str | None = None


@dataclass
class HandwrittenNote:
    text: str
    position: str | None = None


@dataclass
class Contents:
    """What the published text is: a translation into English, a transcription..."""

    kind: str = "translation"
    language: str | None = "en"


@dataclass
class Edition:
    """The published documentary edition a record is printed in (a FRUS volume, say).

    A historian cites such a record as a document in a volume, "FRUS, 1955–57, vol. XXIII,
    pt. 2, doc. 159", with the original's archival location beside it; the exports and the
    citation styles read these fields (docs/export.md)."""

    series: str  # "Foreign Relations of the United States"
    volume_id: str | None = None  # "frus1955-57v23p2"
    years: str | None = None  # "1955–1957", as the volume's title prints them
    volume: str | None = None  # "XXIII"
    part: str | None = None  # "2"
    volume_title: str | None = None  # "Korea"
    editors: list[str] = field(default_factory=list)
    publisher: str | None = None  # "Government Printing Office"
    place: str | None = None  # "Washington"
    published: str | None = None  # year of publication, "1993"
    chapter: str | None = None
    document_number: str | None = None  # "159"
    pages: str | None = None  # printed pages, "345–347"
    url: str | None = None  # the edition's own page for the document


@dataclass
class Flag:
    """Something a reader derived or doubted while storing a record: shown to curators
    and listed in the ingest report ("title derived from the dateline")."""

    field: str
    message: str
    line: int | None = None


@dataclass
class Record:
    id: str
    title: str
    text: str = ""
    date: str | None = None  # EDTF (ISO 8601 when exact)
    citation: str | None = None
    source_url: str | None = None
    summary: str | None = None
    donors: list[str] = field(default_factory=list)
    original_language: str | None = None  # ISO 639-1 where one exists
    contents: Contents | None = None
    archival_reference: ArchivalReference | None = None
    contributors: list[Contributor] = field(default_factory=list)
    classification: str | None = None
    document_number: str | None = None
    authors: list[Author] = field(default_factory=list)
    distribution: list[str] = field(default_factory=list)
    distribution_instruction: str | None = None
    stamps: list[Stamp] = field(default_factory=list)
    handwritten_notes: list[HandwrittenNote] = field(default_factory=list)
    authentication: str | None = None
    endorsements: list[str] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)  # headings from source metadata
    organizations: list[str] = field(default_factory=list)
    rights: str | None = None
    repository_title: str | None = None
    source_format: str | None = None
    source_path: str | None = None
    edition: Edition | None = None
    source_note: str | None = None  # verbatim, as the edition prints it
    drafting: str | None = None  # "Drafted by Bennett; cleared by ..."
    place: str | None = None  # where the document was written (the dateline's place)
    recipients: list[str] = field(default_factory=list)
    document_type: str | None = None  # "Telegram", "Memorandum of Conversation", "Report"
    flags: list[Flag] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, field by field: ``dataclasses.asdict`` deep-copies every value and
        costs more than the rest of an ingest."""
        out = {f.name: getattr(self, f.name) for f in _RECORD_FIELDS}
        for name in ("contents", "archival_reference"):
            if out[name] is not None:
                out[name] = dict(out[name].__dict__)
        if out["edition"] is not None:
            out["edition"] = {**out["edition"].__dict__,
                              "editors": list(out["edition"].editors)}
        for name in ("contributors", "authors", "stamps", "handwritten_notes", "annotations",
                     "mentions", "flags"):
            out[name] = [dict(x.__dict__) for x in out[name]]
        for name in ("donors", "distribution", "endorsements", "subjects", "places", "people",
                     "organizations", "recipients"):
            out[name] = list(out[name])
        out["extra"] = copy.deepcopy(out["extra"])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        if kw.get("contents") is not None:
            kw["contents"] = Contents(**kw["contents"])
        if kw.get("archival_reference") is not None:
            kw["archival_reference"] = ArchivalReference(**kw["archival_reference"])
        if kw.get("edition") is not None:
            kw["edition"] = Edition(**kw["edition"])
        kw["flags"] = [Flag(**f) for f in kw.get("flags") or []]
        kw["contributors"] = [Contributor(**c) for c in kw.get("contributors") or []]
        kw["authors"] = [Author(**a) for a in kw.get("authors") or []]
        kw["stamps"] = [Stamp(**s) for s in kw.get("stamps") or []]
        kw["handwritten_notes"] = [HandwrittenNote(**h) for h in kw.get("handwritten_notes") or []]
        kw["annotations"] = [Annotation(**a) for a in kw.get("annotations") or []]
        kw["mentions"] = [Mention(**m) for m in kw.get("mentions") or []]
        return cls(**kw)

    def check_annotations(self) -> list[str]:
        """Return problems with annotation offsets (empty when every span slices its words)."""
        problems = []
        for i, a in enumerate(self.annotations):
            if not (0 <= a.start <= a.end <= len(self.text)):
                problems.append(f"annotation {i} ({a.kind}) offsets {a.start}-{a.end} out of range")
            elif self.text[a.start : a.end] != a.text:
                problems.append(f"annotation {i} ({a.kind}) text does not match its offsets")
            if a.kind not in ANNOTATION_KINDS:
                problems.append(f"annotation {i} has unknown kind {a.kind!r}")
        return problems


_RECORD_FIELDS = fields(Record)
