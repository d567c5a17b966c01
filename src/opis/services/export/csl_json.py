"""CSL-JSON: the item format citation processors (citeproc-js in Zotero, citeproc-py) read.

The helpers here (names, dates, archive fields, credit line) are the one place where a
Record is turned into bibliographic parts; the RIS, BibTeX, Dublin Core and citation
exporters reuse them so every format says the same thing about a record.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

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

_EDTF_DATE = re.compile(
    r"^(?P<y>[0-9X]{4})(?:-(?P<m>[0-9X]{2}))?(?:-(?P<d>[0-9X]{2}))?(?P<q>[?~%]?)$"
)


def flat(text: str | None) -> str:
    """One line, single spaces: what line-based formats (RIS, BibTeX fields) can carry."""
    return " ".join((text or "").split())


def language_name(code: str | None) -> str | None:
    """English name of an ISO 639-1 code, or the code itself when we have no name for it."""
    if not code:
        return None
    return LANGUAGE_NAMES.get(code.split("-")[0].lower(), code)


def name_parts(name: str) -> dict[str, str]:
    """Split a personal name into CSL family/given parts.

    "Ivanov, V." and "V. Ivanov" both give family "Ivanov"; a single word stays a literal
    so an institution or a one-word name is never cut in two.
    """
    name = flat(name)
    if "," in name:
        family, given = (p.strip() for p in name.split(",", 1))
        return {"family": family, "given": given} if given else {"literal": family}
    words = name.split(" ")
    if len(words) < 2:
        return {"literal": name}
    return {"family": words[-1], "given": " ".join(words[:-1])}


def inverted_name(name: str) -> str:
    """ "Family, Given": the form RIS and BibTeX expect for one person."""
    parts = name_parts(name)
    if "literal" in parts:
        return parts["literal"]
    return f"{parts['family']}, {parts['given']}"


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
    """Who holds the original: the parsed repository, else the archive's own title."""
    ref = record.archival_reference
    if ref is not None and ref.repository:
        return ref.repository
    return record.repository_title or None


def archive_location(record: Record) -> str | None:
    """Where in the repository, as the archive wrote it ("Fond 5, Opis 28, ...").

    The verbatim reference is kept; only a leading repository name is cut when we know
    the repository, so ``archive`` + ``archive_location`` never say "RGANI" twice.
    """
    ref = record.archival_reference
    if ref is None or not ref.text:
        return None
    text = flat(ref.text)
    repo = repository(record)
    if repo and text.startswith(repo):
        rest = text[len(repo):].lstrip(" ,;.")
        if rest:
            return rest
    return text


def credit_line(record: Record) -> str | None:
    """"Obtained by X and translated by Y": the credit line archives print, rebuilt."""
    roles_by_name: dict[str, list[str]] = {}
    for c in record.contributors:
        if not c.name or c.role not in ROLE_VERBS:
            continue
        roles = roles_by_name.setdefault(flat(c.name), [])
        if c.role not in roles:
            roles.append(c.role)
    if not roles_by_name:
        return None
    order = list(ROLE_VERBS)
    people = sorted(roles_by_name.items(), key=lambda kv: min(order.index(r) for r in kv[1]))
    phrases = []
    for name, roles in people:
        verbs = [ROLE_VERBS[r] for r in sorted(roles, key=order.index)]
        phrases.append(f"{_join_and(verbs)} by {name}")
    line = _join_and(phrases)
    return line[0].upper() + line[1:]


def _join_and(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def people(record: Record, role: str) -> list[str]:
    """Names of contributors with one role, in record order."""
    return [flat(c.name) for c in record.contributors if c.role == role and c.name]


def notes(record: Record) -> list[str]:
    """Facts with no bibliographic field of their own, one sentence each."""
    out = []
    credits = credit_line(record)
    if credits:
        out.append(credits + ".")
    if record.original_language and record.contents and record.contents.kind == "translation":
        out.append(f"Translated from {language_name(record.original_language)}.")
    elif record.original_language:
        out.append(f"Original language: {language_name(record.original_language)}.")
    if record.classification:
        out.append(f"Classification: {flat(record.classification)}.")
    if record.document_number:
        out.append(f"Document number: {flat(record.document_number)}.")
    if record.donors:
        out.append("Made possible with support from " + _join_and(
            [flat(d) for d in record.donors]) + ".")
    return out


def text_language(record: Record) -> str | None:
    """Language of the text opis publishes (the translation), which is what gets cited."""
    if record.contents is not None and record.contents.language:
        return record.contents.language
    return record.original_language


def to_csl_json(record: Record) -> dict[str, Any]:
    """One CSL-JSON item (type manuscript) for a record; empty fields are left out."""
    item: dict[str, Any] = {"id": record.id, "type": "manuscript", "title": flat(record.title)}
    issued = csl_date(record.date)
    if issued:
        item["issued"] = issued
    authors = [name_parts(a.name) for a in record.authors if a.name]
    if authors:
        item["author"] = authors
    translators = [name_parts(n) for n in people(record, "translator")]
    if translators:
        item["translator"] = translators
    editors = [name_parts(n) for n in people(record, "editor")]
    if editors:
        item["editor"] = editors
    fields = {
        "archive": repository(record),
        "archive_location": archive_location(record),
        "source": digital_archive(record),
        "language": text_language(record),
        "URL": record.source_url,
        "abstract": flat(record.summary) or None,
        "number": flat(record.document_number) or None,
        "keyword": ", ".join(flat(s) for s in record.subjects if s) or None,
        "note": "\n".join(notes(record)) or None,
    }
    item.update({k: v for k, v in fields.items() if v})
    return item
