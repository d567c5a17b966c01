"""BibTeX/BibLaTeX entry for a record, written with bibtexparser 2.

The entry type is ``@unpublished``, which Zotero's BibTeX translator maps to and from
its Manuscript type; the fields are those BibTeX and BibLaTeX styles print for it
(``howpublished``, ``note``) plus BibLaTeX's ``date``, ``translator``, ``url``.
Values stay UTF-8 and only LaTeX's special characters are escaped, so names in any
script survive and nothing a user typed can open a LaTeX command.
"""

from __future__ import annotations

import re

import bibtexparser
from bibtexparser.model import Entry, Field

from opis.model.record import Record
from opis.services.export.csl_json import (
    archive_location,
    date_parts,
    digital_archive,
    flat,
    inverted_name,
    notes,
    people,
    repository,
    start_date_parts,
    text_language,
)

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in one flattened value."""
    return _SPECIAL_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], flat(text))


def _url_value(url: str) -> str:
    """URLs are verbatim in BibLaTeX; only what could unbalance the entry is encoded."""
    url = url.strip().replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")
    return url.replace(" ", "%20").replace("%", r"\%")


def _iso(parts: list[int]) -> str:
    return "-".join(f"{p:02d}" if i else f"{p:04d}" for i, p in enumerate(parts))


def _biblatex_date(edtf: str | None) -> str | None:
    """BibLaTeX's date field: ISO 8601, an interval as start/end, uncertainty dropped."""
    if not edtf:
        return None
    ends = [date_parts(e) for e in edtf.split("/")]
    if any(p is None for p in ends):
        return None
    return "/".join(_iso(p) for p in ends if p)


def citation_key(record: Record) -> str:
    """A key BibTeX accepts, stable across exports: "opis" plus the record id."""
    return "opis" + re.sub(r"[^A-Za-z0-9_:-]+", "-", record.id).strip("-")


def _names(names: list[str]) -> str:
    return " and ".join(latex_escape(inverted_name(n)) for n in names)


def bibtex_entry(record: Record) -> Entry:
    """The bibtexparser Entry for a record; empty fields are left out."""
    parts = start_date_parts(record.date)
    howpublished = ", ".join(
        p for p in (repository(record), archive_location(record)) if p
    )
    note_parts = notes(record)
    archive = digital_archive(record)
    if archive:
        note_parts.insert(0, f"{archive}.")
    values: list[tuple[str, str | None]] = [
        # Double braces keep the title's capitals from BibTeX styles that lowercase titles.
        ("title", "{" + latex_escape(record.title) + "}" if flat(record.title) else None),
        ("author", _names([a.name for a in record.authors if a.name]) or None),
        ("translator", _names(people(record, "translator")) or None),
        ("date", _biblatex_date(record.date)),
        ("year", f"{parts[0]:04d}" if parts else None),
        ("month", str(parts[1]) if parts and len(parts) > 1 else None),
        ("howpublished", latex_escape(howpublished) if howpublished else None),
        ("note", latex_escape(" ".join(note_parts)) if note_parts else None),
        ("url", _url_value(record.source_url) if record.source_url else None),
        ("language", latex_escape(text_language(record) or "") or None),
        ("abstract", latex_escape(record.summary)
         if record.summary and flat(record.summary) else None),
        ("keywords", latex_escape(", ".join(flat(s) for s in record.subjects if flat(s)))
         or None),
        ("copyright", latex_escape(record.rights)
         if record.rights and flat(record.rights) else None),
    ]
    fields = [Field(key, value) for key, value in values if value]
    return Entry("unpublished", citation_key(record), fields)


def to_bibtex(record: Record) -> str:
    """One @unpublished entry for the record."""
    library = bibtexparser.Library([bibtex_entry(record)])
    return bibtexparser.write_string(library)
