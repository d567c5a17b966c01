"""BibTeX/BibLaTeX entry for a record, written with bibtexparser 2 from the pivot.

An archival document is ``@unpublished`` (Zotero's BibTeX translator: Manuscript), a
document in an edition ``@incollection`` (Book Section) with ``booktitle``, ``editor``,
``volume``, ``pages``, ``publisher`` and ``address``. Besides BibTeX's fields, the
BibLaTeX ones styles print: ``date``, ``translator``, ``url``, ``urldate``, ``type``,
``location``; ``howpublished`` names the archive and its reference. An organisation is
wrapped in braces (``{Embassy in Korea}``) so no style splits it into given and family.
Values stay UTF-8 and only LaTeX's special characters are escaped, so names in any
script survive and nothing a user typed can open a LaTeX command.
"""

from __future__ import annotations

import re

import bibtexparser
from bibtexparser.model import Entry, Field

from opis.model.record import Record
from opis.services.export.mapping import (
    ExportContext,
    citation_data,
    date_parts,
    flat,
    iso_date,
    sort_name,
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
    """Escape LaTeX's special characters in one flattened value; "--" (subject headings,
    "Korea (North)--Politics") stays two hyphens instead of turning into an en dash."""
    escaped = _SPECIAL_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], flat(text))
    return escaped.replace("--", "-{}-").replace("--", "-{}-")


def _url_value(url: str) -> str:
    """URLs are verbatim in BibLaTeX; only what could unbalance the entry is encoded."""
    url = url.strip().replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")
    return url.replace(" ", "%20").replace("%", r"\%")


def _biblatex_date(edtf: str | None) -> str | None:
    """BibLaTeX's date field: ISO 8601, an interval as start/end, uncertainty dropped."""
    if not edtf:
        return None
    ends = [date_parts(e) for e in edtf.split("/")]
    if any(p is None for p in ends):
        return None
    return "/".join(iso_date(p) or "" for p in ends if p)


def _csl_iso(value: dict | None) -> str | None:
    parts = (value or {}).get("date-parts")
    return "/".join(iso_date(list(p)) or "" for p in parts) if parts else None


def citation_key(record: Record) -> str:
    """A key BibTeX accepts, stable across exports: "opis" plus the record id."""
    return "opis" + re.sub(r"[^A-Za-z0-9_:-]+", "-", record.id).strip("-")


def _names(names: list[dict[str, str]]) -> str:
    """BibTeX's "and"-list; an organisation in braces, a person "Family, Given"."""
    return " and ".join(
        "{" + latex_escape(p["literal"]) + "}" if "literal" in p else latex_escape(sort_name(p))
        for p in names)


def bibtex_entry(record: Record, context: ExportContext | None = None) -> Entry:
    """The bibtexparser Entry for a record; empty fields are left out."""
    data = citation_data(record, context)
    issued = (data.get("issued") or {}).get("date-parts")
    parts = list(issued[0]) if issued else None
    howpublished = ", ".join(p for p in (data.get("archive"), data.get("archive_location"))
                             if p)
    note = "; ".join(f"{k}: {v}" for k, v in data.extra)
    url = data.get("URL")

    def esc(value: str | None) -> str | None:
        return latex_escape(value) if value and flat(value) else None

    values: list[tuple[str, str | None]] = [
        # Double braces keep the title's capitals from BibTeX styles that lowercase titles.
        ("title", "{" + latex_escape(data.get("title")) + "}" if data.get("title") else None),
        ("author", _names(data.names("author")) or None),
        ("editor", _names(data.names("editor")) or None),
        ("translator", _names(data.names("translator")) or None),
        ("booktitle", esc(data.get("container-title"))),
        ("volume", esc(data.get("volume"))),
        ("pages", (esc(data.get("page")) or "").replace("–", "--") or None),
        ("publisher", esc(data.get("publisher"))),
        ("address", esc(data.get("publisher-place"))),
        ("date", _csl_iso(data.get("issued")) if data.kind == "chapter"
         else _biblatex_date(record.date)),
        ("origdate", _csl_iso(data.get("original-date"))),
        ("year", f"{parts[0]:04d}" if parts else None),
        ("month", str(parts[1]) if parts and len(parts) > 1 else None),
        ("type", esc(data.get("genre"))),
        ("location", esc(data.get("publisher-place")) if data.kind == "manuscript" else None),
        ("howpublished", esc(howpublished)),
        ("note", esc(note)),
        ("url", _url_value(url) if url else None),
        ("urldate", _csl_iso(data.get("accessed"))),
        ("language", esc(data.get("language"))),
        ("abstract", esc(data.get("abstract"))),
        ("keywords", esc(", ".join(t.replace(",", "") for t in data.tags))),
        ("copyright", esc(data.get("license"))),
    ]
    fields = [Field(key, value) for key, value in values if value]
    kind = "incollection" if data.kind == "chapter" else "unpublished"
    return Entry(kind, citation_key(record), fields)


def to_bibtex(record: Record, context: ExportContext | None = None) -> str:
    """One @unpublished (or @incollection) entry for the record."""
    library = bibtexparser.Library([bibtex_entry(record, context)])
    return bibtexparser.write_string(library)
