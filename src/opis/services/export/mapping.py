"""The one mapping from a Record to citation data; every export format reads it.

``citation_data`` turns a record into a CSL-JSON item (the pivot: CSL is the model
Zotero, citeproc and pandoc share) plus the few things CSL has no variable for (tags as
a list, the source URL, an attachment link, Zotero "extra" lines). RIS, BibTeX/BibLaTeX,
CSL-JSON, Dublin Core, the HTML meta tags, JSON-LD, the TEI header and OAI-PMH oai_dc all
read a ``Citation``, so two routes to the same record cannot disagree (issue 18).

Two shapes, decided here once:

- an archival document (the default): CSL ``manuscript`` (Zotero Manuscript, RIS MANSCPT,
  BibTeX @unpublished), with the holding archive and its reference;
- a document printed in a documentary edition (``Record.edition``, FRUS): CSL ``chapter``
  (Zotero Book Section, RIS CHAP, BibTeX @incollection), because only that type keeps the
  volume, its editors, publisher and pages *and* the original's archive and archive
  location (docs/export.md, "Why FRUS is a book section").

Names: an organisation is one literal name everywhere ("Embassy in Korea", never
"Korea, Embassy in"); a person's inverted name ("Nehru, Jawaharlal") is split by
nameparser, which knows suffixes and particles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from nameparser import HumanName
from nameparser.config import CONSTANTS

from opis.model.entity import ENTITY_KINDS
from opis.model.record import Record

# Digital archives we know by the host of a record's source URL. A record may name its
# own in ``extra["digital_archive"]``; this table only fills the gap for known hosts.
DIGITAL_ARCHIVES: dict[str, str] = {
    "wilsoncenter.org": "Wilson Center Digital Archive",
    "wilson-center-digital-archive": "Wilson Center Digital Archive",
    "history.state.gov": "Office of the Historian",
}

# Verbs for the credit line, in the order archives print them ("Obtained by X and
# translated by Y").
ROLE_VERBS: dict[str, str] = {
    "obtained_by": "obtained",
    "translator": "translated",
    "contributor": "contributed",
    "transcriber": "transcribed",
    "editor": "edited",
    "annotator": "annotated",
}

LANGUAGE_NAMES: dict[str, str] = {
    "ar": "Arabic", "bg": "Bulgarian", "cs": "Czech", "de": "German", "en": "English",
    "es": "Spanish", "fr": "French", "hu": "Hungarian", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "mn": "Mongolian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sq": "Albanian", "uk": "Ukrainian", "vi": "Vietnamese", "zh": "Chinese",
}

# Words that make a name an organisation or an office, never a person to invert. Heads
# of English and romanized names as the sources write them (LC headings, FRUS datelines).
CORPORATE_WORDS = frozenset("""
academy administration agency archive archives army assembly association bank board
bureau cabinet center centre chamber command commission committee company congress
consulate corporation council delegation department directorate division embassy
federation foundation front government group headquarters institute institution league
legation library mission ministry movement museum navy office organization organisation
parliament party politburo presidium press republic secretariat section service society
soviet staff union university
ambassador chairman chief commander consul director minister premier president
secretary
академия армия бюро делегация институт консульство министерство миссия отдел партия
посольство правительство представительство совет союз управление университет цк
штаб комитет
""".split())
# Han, Hangul and kana: names in these scripts are not split (no reliable family/given
# order or spacing), so they stay whole.
_CJK = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af]")

_EDTF_DATE = re.compile(
    r"^(?P<y>[0-9X]{4})(?:-(?P<m>[0-9X]{2}))?(?:-(?P<d>[0-9X]{2}))?(?P<q>[?~%]?)$"
)
_PREPOSITION_END = re.compile(r"\b(in|of|to|at|for|on)$", re.IGNORECASE)


def flat(text: str | None) -> str:
    """One line, single spaces: what line-based formats (RIS, BibTeX fields) can carry."""
    return " ".join((text or "").split())


def language_name(code: str | None) -> str | None:
    """English name of an ISO 639-1 code, or the code itself when we have no name for it."""
    if not code:
        return None
    return LANGUAGE_NAMES.get(code.split("-")[0].lower(), code)


# -- names -------------------------------------------------------------------------------

def is_corporate(name: str) -> bool:
    """An organisation or office ("Embassy in Korea", "Japan. Foreign Ministry",
    "Secretary of State"): a word from CORPORATE_WORDS, or an LC-style "Country. Body"."""
    words = re.findall(r"[^\W\d_]+", flat(name).lower())
    if any(w in CORPORATE_WORDS for w in words):
        return True
    if "," in name:
        return False
    # "Japan. Foreign Ministry": a body under its country, as LC headings write it;
    # "Dr. Smith" and "V. Ivanov" are people.
    for head in re.findall(r"([^\W\d_]{2,})\.\s+[^\W\d_]{3,}", name):
        if head.lower() not in CONSTANTS.titles:
            return True
    return False


def corporate_name(name: str) -> str:
    """An organisation's name in reading order: an inverted heading ("Korea, Embassy in",
    "Association, Japan-China Cultural Exchange") is turned round; others stay verbatim."""
    name = flat(name)
    head, sep, tail = name.partition(", ")
    if sep and "," not in tail and (
        _PREPOSITION_END.search(tail) or head.lower() in CORPORATE_WORDS
        or any(w in CORPORATE_WORDS for w in tail.lower().split())
    ):
        return f"{tail} {head}"
    return name


def name_parts(name: str) -> dict[str, str]:
    """CSL name parts: ``literal`` for an organisation or a one-word name, else family and
    given (with suffix and particle) as nameparser reads the name, inverted or not."""
    name = flat(name)
    if not name:
        return {"literal": ""}
    if is_corporate(name):
        return {"literal": corporate_name(name)}
    if _CJK.search(name) or (" " not in name and "," not in name):
        return {"literal": name}
    parsed = HumanName(name)
    family = parsed.last
    given = " ".join(p for p in (parsed.title, parsed.first, parsed.middle) if p)
    if not family or not given:
        return {"literal": name}
    parts = {"family": family, "given": given}
    if parsed.suffix:
        parts["suffix"] = parsed.suffix
    return parts


def display_name(parts: Mapping[str, str]) -> str:
    """Reading order: "V. Ivanov", "Embassy in Korea"."""
    if "literal" in parts:
        return parts["literal"]
    name = f"{parts['given']} {parts['family']}"
    return f"{name}, {parts['suffix']}" if parts.get("suffix") else name


def sort_name(parts: Mapping[str, str]) -> str:
    """Bibliographic order with exactly one comma for a person ("Ivanov, V."), and
    none for an organisation: RIS, Highwire and Dublin Core read a comma as the split."""
    if "literal" in parts:
        return parts["literal"].replace(",", "")
    name = f"{parts['family']}, {parts['given']}"
    return f"{name}, {parts['suffix']}" if parts.get("suffix") else name


# -- dates -------------------------------------------------------------------------------

def date_parts(edtf: str | None) -> list[int] | None:
    """Year, month and day of one EDTF date, as far as they are known.

    Unspecified digits (``1957-01-X9``) end the list there: a citation then shows only
    what is certain (January 1957).
    """
    if not edtf:
        return None
    m = _EDTF_DATE.match(edtf.strip())
    if not m or "X" in m.group("y"):
        return None
    parts = [int(m.group("y"))]
    for key, top in (("m", 12), ("d", 31)):
        value = m.group(key)
        if value is None or "X" in value or not 1 <= int(value) <= top:
            break
        parts.append(int(value))
    return parts


def start_date_parts(edtf: str | None) -> list[int] | None:
    """Date parts of a single date or of the start of an EDTF interval ("1955/1957")."""
    return date_parts(edtf.split("/")[0]) if edtf else None


def csl_date(edtf: str | None) -> dict[str, Any] | None:
    """A CSL date object for an EDTF value: exact, uncertain (circa) or a range."""
    if not edtf:
        return None
    ends = edtf.split("/") if "/" in edtf else [edtf]
    parts = [date_parts(e) for e in ends]
    if any(p is None for p in parts):
        return {"literal": edtf}
    out: dict[str, Any] = {"date-parts": parts}
    if any(e.strip()[-1:] in "?~%" for e in ends):
        out["circa"] = True
    return out


def iso_date(parts: list[int] | None) -> str | None:
    """"1956-12-28", "1956-12", "1956": the one date string every format prints."""
    if not parts:
        return None
    return "-".join(f"{p:02d}" if i else f"{p:04d}" for i, p in enumerate(parts))


# -- record parts ------------------------------------------------------------------------

def digital_archive(record: Record) -> str | None:
    """The online archive that published this copy (Wilson Center Digital Archive, ...)."""
    named = record.extra.get("digital_archive") if record.extra else None
    if isinstance(named, str) and named.strip():
        return named.strip()
    if record.source_url:
        host = urlsplit(record.source_url).netloc.lower()
        for needle, name in DIGITAL_ARCHIVES.items():
            if needle in host:
                return name
    return None


def repository(record: Record) -> str | None:
    """Who holds the original: the parsed repository, else the archive's own title. A
    documentary edition's title is not a repository (FRUS is a published series)."""
    ref = record.archival_reference
    if ref is not None and ref.repository:
        return ref.repository
    title = record.repository_title or None
    if title and record.edition is not None and flat(title) == flat(record.edition.series):
        return None
    return title


def archive_location(record: Record) -> str | None:
    """Where in the repository: the file (FRUS "Central Files, 795.00/6–2656") when it
    was parsed, else the reference as the archive wrote it, with a leading repository
    name cut so ``archive`` + ``archive_location`` never say "RGANI" twice."""
    ref = record.archival_reference
    if ref is None:
        return None
    if ref.file:
        return ", ".join(flat(p) for p in (ref.series, ref.file) if flat(p))
    text = flat(ref.text)
    if not text:
        return None
    repo = repository(record)
    if repo and text.startswith(repo):
        rest = text[len(repo):].lstrip(" ,;.")
        if rest:
            return rest
    return text


def people(record: Record, role: str) -> list[str]:
    """Names of contributors with one role, in record order."""
    return [flat(c.name) for c in record.contributors if c.role == role and c.name]


def text_language(record: Record) -> str | None:
    """Language of the text opis publishes (the translation), which is what gets cited."""
    if record.contents is not None and record.contents.language:
        return record.contents.language
    return record.original_language


def credit_line(record: Record, roles: tuple[str, ...] = tuple(ROLE_VERBS)) -> str | None:
    """"Obtained by X and translated by Y": the credit line archives print, rebuilt."""
    roles_by_name: dict[str, list[str]] = {}
    for c in record.contributors:
        if not c.name or c.role not in roles:
            continue
        named = roles_by_name.setdefault(flat(c.name), [])
        if c.role not in named:
            named.append(c.role)
    if not roles_by_name:
        return None
    order = list(ROLE_VERBS)
    ranked = sorted(roles_by_name.items(), key=lambda kv: min(order.index(r) for r in kv[1]))
    phrases = [f"{join_and([ROLE_VERBS[r] for r in sorted(rs, key=order.index)])} by {name}"
               for name, rs in ranked]
    line = join_and(phrases)
    return line[0].upper() + line[1:]


def join_and(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _title(record: Record) -> str:
    """The title without an edition's document number ("3. Telegram ..." → "Telegram ...")."""
    title = flat(record.title)
    number = record.edition.document_number if record.edition else None
    number = number or (record.document_number if record.edition else None)
    if number and title.startswith(f"{number}. "):
        return title[len(number) + 2:]
    return title


def tags(record: Record, labels: Mapping[str, str] | None = None) -> list[str]:
    """Subjects, then the people, places and organisations the record names or mentions:
    an entity's label from ``labels`` (the archive's entities; glossary terms are none),
    else, for an id of a known kind ("person/kim-il-sung"), the words of its first mention."""
    out: list[str] = []
    out += record.subjects + record.people + record.places + record.organizations
    first: dict[str, str] = {}
    for m in record.mentions:
        first.setdefault(m.entity_id, m.text)
    for entity_id, words in first.items():
        label = (labels or {}).get(entity_id)
        if label is None and entity_id.split("/", 1)[0] in ENTITY_KINDS:
            label = words
        if label:
            out.append(label)
    seen: set[str] = set()
    unique = []
    for tag in (flat(t) for t in out):
        if is_corporate(tag):  # an entity named after an inverted heading
            tag = corporate_name(tag)
        if tag and tag.lower() not in seen:
            seen.add(tag.lower())
            unique.append(tag)
    return unique


# -- the pivot ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportContext:
    """What only the server knows: the record's opis address, when it was read, the
    attachment's link, and entity labels for the tags. Exports without one (the CLI, a
    bulk dump) cite the source URL instead."""

    url: str | None = None
    accessed: date | None = None
    attachment_url: str | None = None
    attachment_type: str = "application/pdf"
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Citation:
    """A record's citation data: ``item`` is the CSL-JSON item; the rest is what CSL has
    no variable for. ``extra`` pairs become Zotero's Extra lines ("Key: value")."""

    item: dict[str, Any]
    kind: str  # "manuscript" or "chapter"
    tags: list[str]
    source_url: str | None
    extra: list[tuple[str, str]]
    original_language: str | None
    attachment: tuple[str, str] | None  # (url, media type)
    place_written: str | None

    def names(self, role: str) -> list[dict[str, str]]:
        return list(self.item.get(role) or [])

    def get(self, key: str) -> Any:
        return self.item.get(key)

    @property
    def date(self) -> str | None:
        """The document's own date (ISO, start of a range): for an edition the original
        date, not the volume's year."""
        value = self.item.get("original-date") or self.item.get("issued")
        parts = (value or {}).get("date-parts")
        return iso_date(parts[0]) if parts else None

    @property
    def extra_text(self) -> str | None:
        return "\n".join(f"{k}: {v}" for k, v in self.extra) or None


def citation_data(record: Record, context: ExportContext | None = None) -> Citation:
    """The citation data of one record; empty values are left out."""
    ctx = context or ExportContext()
    ed = record.edition
    kind = "chapter" if ed is not None else "manuscript"
    item: dict[str, Any] = {"id": record.id, "type": kind, "title": _title(record)}

    def names(values: list[str]) -> list[dict[str, str]]:
        return [p for p in (name_parts(v) for v in values if flat(v)) if any(p.values())]

    roles = {
        "author": names([a.name for a in record.authors]),
        "translator": names(people(record, "translator")),
        "editor": names((ed.editors if ed else []) + people(record, "editor")),
        "recipient": names(record.recipients),
    }
    item.update({k: v for k, v in roles.items() if v})

    document_date = csl_date(record.date)
    extra: list[tuple[str, str]] = []
    if ed is not None:
        container = ", ".join(flat(p) for p in (ed.series, ed.years, ed.volume_title)
                              if flat(p))
        volume = flat(ed.volume)
        if ed.part:
            volume = f"{volume}, pt. {flat(ed.part)}" if volume else f"pt. {flat(ed.part)}"
        item.update({k: v for k, v in {
            "container-title": container,
            "volume": volume,
            "page": flat(ed.pages),
            "number": flat(ed.document_number or record.document_number),
            "publisher": flat(ed.publisher),
            "publisher-place": flat(ed.place),
            "chapter-number": flat(ed.chapter) if ed.chapter and ed.chapter.isdigit() else "",
        }.items() if v})
        published = csl_date(ed.published)
        if published:
            item["issued"] = published
        if document_date:
            item["original-date"] = document_date
    elif document_date:
        item["issued"] = document_date

    place = flat(record.place) or None
    if kind == "manuscript":
        if place:
            item["publisher-place"] = place
        if record.document_type:
            item["genre"] = flat(record.document_type)

    source_url = (record.source_url or (ed.url if ed else None) or "").strip() or None
    url = ctx.url or source_url
    fields = {
        "archive": repository(record),
        "archive_location": archive_location(record),
        "source": digital_archive(record),
        "language": text_language(record),
        "URL": url,
        "abstract": flat(record.summary),
        "keyword": "; ".join(tags(record, ctx.labels)),
        "license": flat(record.rights),
    }
    item.update({k: v for k, v in fields.items() if v})
    if ctx.url and ctx.accessed:
        item["accessed"] = {"date-parts": [[ctx.accessed.year, ctx.accessed.month,
                                            ctx.accessed.day]]}

    # Extra: the facts with no field of their own in the item's type, one line each.
    if item.get("original-date"):
        original = (iso_date(item["original-date"]["date-parts"][0])
                    if "date-parts" in item["original-date"] else None)
        extra.append(("Original Date", original or flat(record.date)))
    if kind == "chapter":
        if record.document_type:
            extra.append(("Type", flat(record.document_type)))
        dateline = record.extra.get("dateline") if isinstance(record.extra, dict) else None
        if isinstance(dateline, str) and flat(dateline):
            # The dateline as printed keeps what no field holds: "Seoul, January 8,
            # 1955—2 p.m.", the hour a telegram was sent.
            extra.append(("Dateline", flat(dateline)))
        elif place:
            extra.append(("Place written", place))
        if item.get("number"):
            extra.append(("Document", item["number"]))
    if record.recipients:
        extra.append(("Recipient", "; ".join(display_name(p) for p in roles["recipient"])))
    original = record.original_language
    if original and original != text_language(record):
        extra.append(("Original language", language_name(original) or original))
    credits = credit_line(record, ("obtained_by", "contributor", "transcriber", "annotator"))
    if credits:
        extra.append(("Credit", credits))
    if record.classification:
        extra.append(("Classification", flat(record.classification)))
    if record.document_number and kind == "manuscript":
        extra.append(("Document number", flat(record.document_number)))
    if record.donors:
        extra.append(("Support", join_and([flat(d) for d in record.donors])))
    if source_url and source_url != url:
        extra.append(("Source URL", source_url))
    if extra:
        item["note"] = "\n".join(f"{k}: {v}" for k, v in extra)

    attachment = (ctx.attachment_url, ctx.attachment_type) if ctx.attachment_url else None
    return Citation(item=item, kind=kind, tags=tags(record, ctx.labels),
                    source_url=source_url, extra=extra, original_language=original,
                    attachment=attachment, place_written=place)
