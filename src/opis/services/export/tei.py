"""TEI P5 edition of a record: header metadata plus the text with its editorial apparatus.

Annotation kinds map one to one onto TEI elements (docs/export.md has the table). The
translator's square brackets around a converted span, and " [SIC]" after a sic, are
dropped because the element now says what they said.

Spans that overlap without nesting cannot both be XML elements. The rule here: spans are
placed in order of start (longer first at equal starts) and a span that would cross the
end of one already placed, or that falls in the dropped brackets of one, is left out; the
words stay as plain text. ``dropped_spans`` lists what a record would lose that way.
A span that crosses a paragraph break (a blank line) is left out by the same rule, and so
is one inside an illegible or typed-over span, whose description is plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote

from lxml import etree

from opis.model.record import Record
from opis.services.export.mapping import (
    ExportContext,
    citation_data,
    text_language,
)
from opis.services.export.tei_header import (
    HAND,
    TEI_NS,
    XML_NS,
    _lang,
    _sub,
    _t,
    header,
    xml_id,
    xml_safe,
)

# Kinds whose span is the whole content of a translator's bracket; for handwritten and
# stamp the bracket may open with a label ("[handwritten: DPRK]").
_BRACKETED = {
    "illegible", "typed_over", "supplied", "original_term", "gloss", "romanization",
    "handwritten", "stamp", "deleted",
}
_LABELLED = {"handwritten": "handwritten", "stamp": "stamp"}
_SIC_AFTER = re.compile(r"\s*\[\s*sic\s*[!.]?\s*\]", re.IGNORECASE)
_ENTITY_ELEMENTS = {"person": "persName", "place": "placeName", "organization": "orgName"}
_GAPS = {"illegible", "typed_over"}
_URI_SAFE = ":/?#[]@!$&'()*+,;=%~"
_PLACES = ("top", "bottom", "left", "right", "margin", "above", "below", "overleaf")
_QUANTITY = re.compile(r"^\s*(\d+)(?:\s*[-–]\s*(\d+))?\s+(word|line|character|letter|page)s?\b",
                       re.IGNORECASE)


@dataclass
class _Span:
    """One element to place: its region(s) of record.text and the outer range it replaces."""

    kind: str
    outer: tuple[int, int]
    regions: list[tuple[int, int]]
    note: str | None = None
    entity_id: str | None = None
    between: str = ""  # text between a gloss's term and its bracket
    children: list[list[_Span]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.children = [[] for _ in self.regions]


def _bracket_outer(text: str, kind: str, start: int, end: int) -> tuple[int, int] | None:
    """The range including the translator's brackets (and label) around a span, if any."""
    if end >= len(text) or text[end] != "]":
        return None
    label = _LABELLED.get(kind)
    pattern = r"\[\s*$" if label is None else rf"\[\s*(?:{label}[^\[\]:\n]*:\s*)?$"
    window = max(0, start - 80)
    m = re.search(pattern, text[window:start], re.IGNORECASE)
    if not m:
        return None
    return window + m.start(), end + 1


def _annotation_span(text: str, kind: str, start: int, end: int, note: str | None) -> _Span:
    """Work out which characters around an annotation the TEI element replaces."""
    outer = (start, end)
    regions = [(start, end)]
    if kind == "sic":
        m = _SIC_AFTER.match(text, end)
        if m:
            outer = (start, m.end())
    elif kind in _BRACKETED:
        bracketed = _bracket_outer(text, kind, start, end)
        if bracketed:
            outer = bracketed
            if kind in ("romanization", "gloss") and note:
                window = max(0, outer[0] - len(note) - 8)
                m = re.search(re.escape(note) + r"\s*$", text[window:outer[0]])
                if m:
                    lo = window + m.start()
                    between = text[lo + len(note):bracketed[0]]
                    span = _Span(kind=kind, outer=(lo, outer[1]), note=note,
                                 regions=[(lo, lo + len(note)), (start, end)])
                    span.between = between
                    return span
    return _Span(kind=kind, outer=outer, regions=regions, note=note)


def _spans(record: Record) -> list[_Span]:
    text = record.text
    spans = []
    for a in record.annotations:
        if 0 <= a.start < a.end <= len(text):
            spans.append(_annotation_span(text, a.kind, a.start, a.end, a.note))
    for m in record.mentions:
        if m.field != "text" or m.start is None or m.end is None:
            continue
        if 0 <= m.start < m.end <= len(text):
            spans.append(_Span(kind="mention", outer=(m.start, m.end),
                               regions=[(m.start, m.end)], entity_id=m.entity_id))
    return spans


def _blocks(text: str) -> list[tuple[int, int]]:
    """Paragraph ranges: text between blank lines, without surrounding whitespace."""
    blocks = []
    pos = 0
    for m in list(re.finditer(r"\n[ \t]*\n\s*", text)) + [None]:
        hi = m.start() if m else len(text)
        lo = pos
        while lo < hi and text[lo].isspace():
            lo += 1
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
        if hi > lo:
            blocks.append((lo, hi))
        if m:
            pos = m.end()
    return blocks


def _plan(record: Record) -> tuple[list[_Span], list[_Span]]:
    """Nest spans inside paragraph spans; return (paragraphs, dropped spans)."""
    paragraphs = [_Span(kind="p", outer=b, regions=[b]) for b in _blocks(record.text)]
    spans = sorted(_spans(record), key=lambda s: (s.outer[0], -s.outer[1]))
    dropped: list[_Span] = []
    for span in spans:
        container = next((p for p in paragraphs
                          if p.outer[0] <= span.outer[0] and span.outer[1] <= p.outer[1]), None)
        if container is None:
            dropped.append(span)
            continue
        if not _place(container, span):
            dropped.append(span)
    return paragraphs, dropped


def _place(parent: _Span, span: _Span) -> bool:
    """Put span into the deepest region that holds it; False if it crosses a boundary.

    A gap's description is plain text, so nothing is placed inside a gap either.
    """
    if parent.kind in _GAPS:
        return False
    for region, kids in zip(parent.regions, parent.children, strict=True):
        if not (region[0] <= span.outer[0] and span.outer[1] <= region[1]):
            continue
        for kid in kids:
            if kid.outer[0] <= span.outer[0] and span.outer[1] <= kid.outer[1]:
                return _place(kid, span)
            if span.outer[0] < kid.outer[1] and kid.outer[0] < span.outer[1]:
                return False  # overlaps a placed sibling without nesting
        kids.append(span)
        kids.sort(key=lambda s: s.outer[0])
        return True
    return False


def dropped_spans(record: Record) -> list[tuple[str, int, int]]:
    """(kind, start, end) of annotations and mentions the TEI export leaves as plain text."""
    _, dropped = _plan(record)
    return [(s.kind if s.kind != "mention" else f"mention:{s.entity_id}", *s.outer)
            for s in dropped]


class _Builder:
    """Turns the planned span tree into TEI elements with lxml."""

    def __init__(self, record: Record, entity_refs: dict[str, str] | None):
        self.record = record
        self.text = record.text
        self.entity_refs = entity_refs or {}
        self.term_count = 0
        self.hand = xml_id(record.id, HAND)

    def fill(self, elem: etree._Element, lo: int, hi: int, kids: list[_Span]) -> None:
        """Write text[lo:hi] into elem, children as elements, newlines as <lb/>."""
        cursor = lo
        for kid in kids:
            self.put_text(elem, self.text[cursor:kid.outer[0]])
            self.element(elem, kid)
            cursor = kid.outer[1]
        self.put_text(elem, self.text[cursor:hi])

    def put_text(self, elem: etree._Element, chunk: str) -> None:
        lines = chunk.split("\n")
        for i, line in enumerate(lines):
            if i:
                etree.SubElement(elem, _t("lb"))
            self.append(elem, line)

    @staticmethod
    def append(elem: etree._Element, chunk: str) -> None:
        chunk = xml_safe(chunk)
        if not chunk:
            return
        if len(elem):
            elem[-1].tail = (elem[-1].tail or "") + chunk
        else:
            elem.text = (elem.text or "") + chunk

    def region(self, parent: etree._Element, tag: str, span: _Span, i: int,
               **attrs: str | None) -> etree._Element:
        elem = etree.SubElement(parent, _t(tag), {k: v for k, v in attrs.items() if v})
        self.fill(elem, *span.regions[i], span.children[i])
        return elem

    def element(self, parent: etree._Element, span: _Span) -> None:
        k = span.kind
        if k == "stamp":
            self.region(parent, "stamp", span, 0)
        elif k == "handwritten":
            self.region(parent, "add", span, 0, hand=f"#{self.hand}", place=_place_attr(span.note))
        elif k in ("illegible", "typed_over"):
            reason = "illegible" if k == "illegible" else "overtyped"
            gap = etree.SubElement(parent, _t("gap"), {"reason": reason})
            lo, hi = span.regions[0]
            m = _QUANTITY.match(self.text[lo:hi])
            if m:
                if m.group(2):
                    gap.set("atLeast", m.group(1))
                    gap.set("atMost", m.group(2))
                else:
                    gap.set("quantity", m.group(1))
                gap.set("unit", m.group(3).lower())
            desc = etree.SubElement(gap, _t("desc"))
            self.append(desc, " ".join(self.text[lo:hi].split()))
        elif k == "deleted":
            self.region(parent, "del", span, 0, rend="strikethrough")
        elif k == "sic":
            self.region(parent, "sic", span, 0)
        elif k == "supplied":
            self.region(parent, "supplied", span, 0, reason="omitted-in-original")
        elif k == "original_term":
            base = _term_language(span.note, self.record.original_language)
            elem = self.region(parent, "foreign", span, 0)
            elem.set(f"{{{XML_NS}}}lang", f"{base}-Latn")
        elif k == "gloss":
            if len(span.regions) == 2:
                self.term_count += 1
                term_id = xml_id(self.record.id, f"term{self.term_count}")
                term = self.region(parent, "term", span, 0)
                term.set(f"{{{XML_NS}}}id", term_id)
                self.put_text(parent, span.between)
                self.region(parent, "gloss", span, 1, target=f"#{term_id}")
            else:
                self.region(parent, "gloss", span, 0)
        elif k == "romanization":
            if len(span.regions) == 2:
                choice = etree.SubElement(parent, _t("choice"))
                self.region(choice, "reg", span, 0)
                self.region(choice, "orig", span, 1)
            else:
                self.region(parent, "orig", span, 0)
        elif k == "head":
            self.region(parent, "hi", span, 0, rend="heading")
        elif k == "mention":
            self.mention(parent, span)
        else:  # an unknown kind keeps its words
            self.fill(parent, *span.regions[0], span.children[0])

    def mention(self, parent: etree._Element, span: _Span) -> None:
        entity_id = span.entity_id or ""
        kind = entity_id.split("/", 1)[0]
        tag = _ENTITY_ELEMENTS.get(kind, "name")
        ref = self.entity_refs.get(entity_id)
        elem = self.region(parent, tag, span, 0, key=entity_id,
                           ref=quote(ref.strip(), safe=_URI_SAFE) if ref else None)
        if tag == "name" and kind:
            elem.set("type", kind)


def _place_attr(note: str | None) -> str | None:
    """TEI @place tokens (top, left, margin...) found in a free-text position note."""
    if not note:
        return None
    words = re.findall(r"[a-z]+", note.lower())
    found = [w for w in words if w in _PLACES]
    return " ".join(dict.fromkeys(found)) or None


def _term_language(note: str | None, original: str | None) -> str:
    """Base language of an original term: the annotation's note, else the record's."""
    for code in (note, original):
        tag = _lang(code)
        if tag:
            return tag.split("-")[0]
    return "und"


def to_tei_element(record: Record, entity_refs: dict[str, str] | None = None,
                   context: ExportContext | None = None) -> etree._Element:
    """The TEI element tree, for callers that embed it (OAI-PMH) rather than serialize."""
    paragraphs, _ = _plan(record)
    builder = _Builder(record, entity_refs)

    def walk(spans: list[_Span]) -> list[_Span]:
        out = []
        for s in spans:
            out.append(s)
            for kids in s.children:
                out.extend(walk(kids))
        return out

    placed = walk(paragraphs)
    has_hand = any(s.kind == "handwritten" for s in placed)
    foreign = {
        f"{_term_language(s.note, record.original_language)}-Latn"
        for s in placed if s.kind == "original_term"
    }

    tei = etree.Element(_t("TEI"), nsmap={None: TEI_NS})
    header(record, tei, has_hand, foreign, citation_data(record, context))
    text_elem = _sub(tei, "text")
    lang = _lang(text_language(record))
    if lang:
        text_elem.set(f"{{{XML_NS}}}lang", lang)
    body = _sub(text_elem, "body")
    div = None
    for para in paragraphs:
        kids = para.children[0]
        is_head = (len(kids) == 1 and kids[0].kind == "head"
                   and kids[0].outer == para.outer)
        if is_head:
            div = _sub(body, "div")
            head = _sub(div, "head")
            builder.fill(head, *kids[0].regions[0], kids[0].children[0])
            continue
        if div is None:
            div = _sub(body, "div")
        p = _sub(div, "p")
        builder.fill(p, *para.regions[0], kids)
    if div is None:
        _sub(_sub(body, "div"), "p")
    for d in body.iter(_t("div")):
        if len(d) == 1 and d[0].tag == _t("head"):
            _sub(d, "p")
    return tei


def to_tei(record: Record, entity_refs: dict[str, str] | None = None,
           context: ExportContext | None = None) -> str:
    """A TEI P5 document for the record; entity_refs maps entity ids to URLs for @ref."""
    return etree.tostring(
        to_tei_element(record, entity_refs, context), xml_declaration=True, encoding="UTF-8",
        pretty_print=False,
    ).decode("utf-8")


__all__ = ["HAND", "TEI_NS", "XML_NS", "dropped_spans", "to_tei", "to_tei_element", "xml_id",
           "xml_safe"]
