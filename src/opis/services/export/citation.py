"""Formatted citations (Chicago, APA, MLA) from a record, with citeproc-py and CSL styles.

The styles ship in ``opis/data/csl`` (from the citation-style-language/styles
repository, CC BY-SA 3.0, headers kept), so citing needs no network. Chicago gives
the full note, the form archives print under "Citation"; APA and MLA give the
reference-list entry, since their in-text forms ("(Ivanov, 1956)") do not stand alone.

Gaps in citeproc-py 0.11 are closed here, with element classes registered only for
the styles opis loads, rather than by patching the library:

- ``initialize="false"`` on ``cs:name`` is ignored, so full given names came out as
  initials ("G. Goldberg") in Chicago and MLA; ``_Name`` honours it.
- Variables used by a ``cs:substitute`` are not suppressed afterwards, so a record with
  no author printed its title (or translator) twice; ``_Substitute`` and ``_Names``
  suppress them as CSL 1.0 section "Substitute" requires, and names inside a substitute
  inherit the ``cs:name``/``cs:label`` of the ``cs:names`` they replace, so a translator
  standing in for a missing author keeps the "trans." label.
- The HTML formatter does not escape field values; ``cite(..., fmt="html")`` escapes
  every string of the item first.
- ``punctuation-in-quote`` is read but never applied, and quotes inside a quoted title
  stay double; ``punctuate_in_quotes`` finishes the rendered text (docs/export.md,
  "Quotation marks").

For the Wilson Center convention the CSL item given to the style differs from the
CSL-JSON export (for a document in an edition, see ``cite_item``): ``archive`` is the
digital archive that published the translation and ``archive_location`` the original's
reference verbatim ("RGANI, Fond 5, ..."), which is how the archive's own citation line
reads. What still differs from the Wilson Center line for the reference record is listed
in docs/export.md and checked by tests/services/export/test_export_citation.py:

- Chicago puts the author first ("V. Ivanov, ") where the archive names none;
- curly quotes (“...”) where the archive prints straight ones;
- the translator follows the title as "trans. Gary Goldberg" instead of closing the line;
- the comma stands inside the closing quotation mark (US punctuation);
- "Obtained by James F. Person" is absent: CSL has no role for who obtained a document;
- the archive and reference come in Chicago's order, location first ("RGANI, Fond 5,
  ..., Listi 1-17, Wilson Center Digital Archive"), then the URL and a final period.
"""

from __future__ import annotations

import html
import re
import threading
import warnings
from functools import cache
from importlib import resources
from typing import Any

import citeproc
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    Locator,
)
from citeproc import formatter as citeproc_formatter
from citeproc.model import CitationStylesElement, Name, Names, Substitute
from citeproc.source.json import CiteProcJSON
from lxml import etree

from opis.model.record import Record
from opis.services.export.mapping import (
    ExportContext,
    citation_data,
    digital_archive,
    flat,
    start_date_parts,
)

CSL_NS = "http://purl.org/net/xbiblio/csl"
STYLES: dict[str, str] = {
    "chicago": "chicago-notes-bibliography",
    "apa": "apa",
    "mla": "modern-language-association",
}
# Note styles cite with the note; author-date and MLA with the reference-list entry.
_NOTE_STYLES = {"chicago"}
_FORMATTERS = {"text": citeproc_formatter.plain, "html": citeproc_formatter.html}
_LOCK = threading.Lock()  # citeproc-py keeps the formatter on the shared style object
_SUPPORTED = {v.replace("_", "-") for v in citeproc.VARIABLES} | set(citeproc.VARIABLES)


class CitationError(ValueError):
    """An unknown style or output format was asked for."""


def _repressed(context: CitationStylesElement) -> dict[str, list[str]]:
    return context.get_layout().repressed


class _Name(Name):
    """cs:name that keeps full given names when the style says initialize="false"."""

    def get_option(self, name: str, context: Any = None, sort_options: Any = None) -> Any:
        if name == "initialize-with" and self.get("initialize") == "false":
            return None
        return super().get_option(name, context, sort_options)


class _Names(Names):
    """cs:names that skips a name variable already printed by a substitution."""

    def process(self, item: Any, names_context: Any = None, context: Any = None,
                **kwargs: Any) -> Any:
        if names_context is None and self.name is None:
            # CSL: names in a substitute inherit the name and label of the cs:names they
            # stand in for, also when a cs:choose sits between (citeproc-py misses that).
            outer = self.xpath_search("./ancestor::cs:substitute[1]/parent::cs:names")
            if outer:
                names_context = outer[0]
        layout_context = context if context is not None else self
        suppressed = _repressed(layout_context).get("*", [])
        roles = [r for r in (self.get("variable") or "").split() if r not in suppressed]
        if not roles:
            substitute = self.substitute()
            return substitute.render(item, context=context, **kwargs) if substitute else None
        original = self.get("variable")
        self.set("variable", " ".join(roles))
        try:
            return super().process(item, names_context=names_context, context=context,
                                   **kwargs)
        finally:
            self.set("variable", original)


class _Substitute(Substitute):
    """cs:substitute that suppresses what it printed for the rest of the entry."""

    def render(self, item: Any, context: Any = None, **kwargs: Any) -> Any:
        text = super().render(item, context=context, **kwargs)
        if text:
            layout_context = context if context is not None else self
            repressed = _repressed(layout_context)
            used = _variables_in(self, item, str(text))
            suppressed = repressed.setdefault("*", [])
            text_tag = f"{{{CSL_NS}}}text"
            texts = repressed.setdefault(text_tag, [])
            for var in used:
                if var not in suppressed:
                    suppressed.append(var)
                if var not in texts:
                    texts.append(var)
        return text


def _variables_in(elem: CitationStylesElement, item: Any, rendered: str) -> set[str]:
    """Variables under elem (macros followed) whose value shows in the rendered text."""
    found: set[str] = set()
    low = rendered.lower()
    for var in _variables_under(elem):
        value = item.reference.get(var.replace("-", "_"))
        if value is None:
            continue
        if isinstance(value, list) and all(isinstance(n, dict) for n in value):
            words = [str(n.get("family") or n.get("literal") or "") for n in value]
        else:
            words = [str(value)]
        if any(w and w.lower() in low for w in words):
            found.add(var)
    return found


_UNDER: dict[tuple[int, str], tuple[str, ...]] = {}


def _variables_under(elem: CitationStylesElement) -> tuple[str, ...]:
    """Every variable named under elem, macros followed. A style never changes once
    parsed, so this walk (about ten milliseconds a citation) is done once per element."""
    root = elem.getroottree().getroot()
    key = (id(root), elem.getroottree().getpath(elem))
    if key not in _UNDER:
        names: list[str] = []
        seen_macros: set[str] = set()
        stack = [elem]
        while stack:
            node = stack.pop()
            names += (node.get("variable") or "").split()
            macro = node.get("macro")
            if macro and macro not in seen_macros:
                seen_macros.add(macro)
                stack.append(node.get_macro(macro))
            stack.extend(child for child in node if isinstance(child.tag, str))
        _UNDER[key] = tuple(dict.fromkeys(names))
    return _UNDER[key]


_xpath = CitationStylesElement.xpath_search
_FOUND: dict[tuple[int, str, str], list[Any]] = {}


def _xpath_search(self: CitationStylesElement, expression: str) -> list[Any]:
    """citeproc-py finds macros, terms, layouts and parents by XPath searches of the
    style and locale trees each time it needs one (thousands a citation, most of its
    time). Those trees never change once parsed, so each search is done once. Installed
    on citeproc-py's element class, from which every CSL element class inherits it."""
    tree = self.getroottree()
    key = (id(tree.getroot()), tree.getpath(self), expression)
    found = _FOUND.get(key)
    if found is None:
        found = _FOUND[key] = _xpath(self, expression)
    return found


CitationStylesElement.xpath_search = _xpath_search


def _lookup() -> etree.ElementNamespaceClassLookup:
    lookup = etree.ElementNamespaceClassLookup()
    namespace = lookup.get_namespace(CSL_NS)
    namespace[None] = CitationStylesElement
    namespace.update({cls.__name__.replace("_", "-").lower(): cls
                      for cls in CitationStylesElement.__subclasses__()})
    namespace.update({"name": _Name, "names": _Names, "substitute": _Substitute})
    return lookup


def style_path(style: str) -> Any:
    """The shipped .csl file for a short style name."""
    if style not in STYLES:
        raise CitationError(f"unknown citation style {style!r}; use one of {sorted(STYLES)}")
    return resources.files("opis").joinpath("data", "csl", f"{STYLES[style]}.csl")


@cache
def _style(style: str) -> CitationStylesStyle:
    """Parse a style once, with the element classes above in place of citeproc-py's."""
    parser = etree.XMLParser(remove_comments=True, encoding="UTF-8", no_network=True,
                             resolve_entities=False)
    parser.set_element_class_lookup(_lookup())
    loaded = CitationStylesStyle.__new__(CitationStylesStyle)
    with style_path(style).open("rb") as f:
        loaded.xml = etree.parse(f, parser)
    loaded.root = loaded.xml.getroot()
    loaded.root.set_locale_list(loaded.root.get("default-locale", "en-US"), validate=False)
    return loaded


def cite_item(record: Record, context: ExportContext | None = None,
              style: str = "chicago") -> dict[str, Any]:
    """The CSL item handed to the style: the pivot, with the changes the module docstring
    lists for an archival document, and for a document in an edition the form a FRUS
    editor prints: the dateline in the title, the volume in the container title and,
    for Chicago, the document number where the pages would go ("doc. 3")."""
    data = citation_data(record, context)
    item = dict(data.item)
    if data.kind == "chapter":
        ed = record.edition
        heading = [item.get("title") or ""]
        if data.place_written and data.place_written not in heading[0]:
            heading.append(data.place_written)
        when = _long_date(record.date)
        if when and when not in heading[0]:
            heading.append(when)
        item["title"] = ", ".join(h for h in heading if h)
        if ed is not None:
            container = [flat(ed.series), flat(ed.years)]
            if ed.volume:
                container.append(f"vol. {flat(ed.volume)}")
            if ed.part:
                container.append(f"pt. {flat(ed.part)}")
            container.append(flat(ed.volume_title))
            item["container-title"] = ", ".join(c for c in container if c)
        item.pop("volume", None)
        item.pop("original-date", None)
        # Chicago prints an archive as the place of a manuscript; for a printed document
        # the original's file and repository follow the volume as one location.
        where = [item.pop("archive_location", None), item.pop("archive", None)]
        if any(where):
            item["archive_location"] = ", ".join(w for w in where if w)
        if style == "chicago" and item.get("number"):
            item["page"] = f"doc. {item['number']}"
    else:
        ref = record.archival_reference
        if ref is not None and flat(ref.text):
            item["archive_location"] = flat(ref.text)
            item.pop("archive", None)
        archive = digital_archive(record)
        if archive:
            item["archive"] = archive
    item.pop("source", None)
    item.pop("number", None)
    item.pop("note", None)
    item.pop("keyword", None)
    item["id"] = "item"
    return {k: v for k, v in item.items() if k in _SUPPORTED or k in ("id", "type")}


_MONTHS = ("January February March April May June July August September October "
           "November December").split()


def _long_date(edtf: str | None) -> str | None:
    """"January 8, 1955": the date as a FRUS dateline prints it."""
    parts = start_date_parts(edtf)
    if not parts:
        return None
    if len(parts) == 3:
        return f"{_MONTHS[parts[1] - 1]} {parts[2]}, {parts[0]}"
    if len(parts) == 2:
        return f"{_MONTHS[parts[1] - 1]} {parts[0]}"
    return str(parts[0])


# While a citation is rendered, the curly quotes inside field values (a title quoting a
# phrase) stand in as these, so the quotes the style adds can be told apart from them.
_FIELD_OPEN, _FIELD_CLOSE, _NESTED_CLOSE = "\ue001", "\ue002", "\ue003"


def _mark_field_quotes(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\u201c", _FIELD_OPEN).replace("\u201d", _FIELD_CLOSE)
    if isinstance(value, list):
        return [_mark_field_quotes(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k in ("id", "type") else _mark_field_quotes(v)
                for k, v in value.items()}
    return value


def punctuate_in_quotes(text: str, in_quote: bool = True) -> str:
    """Finish the quotation marks of a rendered citation, as CSL 1.0 requires and
    citeproc-py 0.11 does not: a quotation inside a quoted title becomes single
    (“Report on ‘Satō’s Note’”), and with the locale's ``punctuation-in-quote`` (en-US)
    a comma or period after a closing quotation mark the style added goes inside it;
    one already inside ("Why?" or "Report.") absorbs it. Quotes that are part of a field
    value are left where they are (the CSL test suite's flipflop_QuotesInFieldNotOnNode)."""
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch == "\u201c":
            depth += 1
            out.append(ch)
        elif ch == "\u201d":
            depth = max(0, depth - 1)
            out.append(ch)
        elif ch == _FIELD_OPEN:
            out.append("\u2018" if depth else "\u201c")
        elif ch == _FIELD_CLOSE:
            out.append(_NESTED_CLOSE if depth else ch)
        else:
            out.append(ch)
    text = "".join(out)
    if in_quote:
        def move(m: re.Match[str]) -> str:
            before = text[m.start() - 1] if m.start() else ""
            return m.group(1) if before in ".,?!" else m.group(2) + m.group(1)

        text = re.sub("((?:" + _NESTED_CLOSE + ")*\u201d)([.,])", move, text)
    return text.replace(_NESTED_CLOSE, "\u2019").replace(_FIELD_CLOSE, "\u201d")


def _escaped(value: Any) -> Any:
    """HTML-escape every string of a CSL item: citeproc-py's HTML formatter does not."""
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k in ("id", "type") else _escaped(v) for k, v in value.items()}
    return value


def cite(record: Record, style: str = "chicago", fmt: str = "text",
         context: ExportContext | None = None) -> str:
    """One formatted citation: the full note for Chicago, the reference entry for APA/MLA."""
    if fmt not in _FORMATTERS:
        raise CitationError(f"unknown citation format {fmt!r}; use 'text' or 'html'")
    csl_style = _style(style)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # citeproc-py warns about CSL fields it skips
        item = _mark_field_quotes(cite_item(record, context, style))
        source = CiteProcJSON([_escaped(item) if fmt == "html" else item])
    with _LOCK:
        bibliography = CitationStylesBibliography(csl_style, source, _FORMATTERS[fmt])
        # A note cites a document in an edition by its number where a page would go.
        locator = (Locator("page", item["page"]) if style in _NOTE_STYLES
                   and str(item.get("page", "")).startswith("doc. ") else None)
        citation = Citation([CitationItem("item", locator=locator)] if locator
                            else [CitationItem("item")])
        bibliography.register(citation)
        if style in _NOTE_STYLES:
            text = str(bibliography.cite(citation, lambda _item: None))
        else:
            entries = bibliography.bibliography()
            text = str(entries[0]) if entries else ""
    return punctuate_in_quotes(" ".join(text.split()), _punctuation_in_quote(style))


@cache
def _punctuation_in_quote(style: str) -> bool:
    """The style's locale option: true for en-US (Chicago, APA and MLA as shipped)."""
    return _style(style).root.get_locale_option("punctuation-in-quote").lower() == "true"
