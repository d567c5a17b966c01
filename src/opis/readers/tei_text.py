"""TEI elements as plain text with exact offsets: the part of reading a FRUS volume
that knows how prose, line breaks, footnotes, page breaks and linked names turn into a
record's text and its mentions (:mod:`opis.readers.tei_frus` streams the volume)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEI_NS = "http://www.tei-c.org/ns/1.0"
FRUS_NS = "http://history.state.gov/frus/ns/1.0"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"

_BLOCKS = frozenset({
    "head", "p", "opener", "closer", "list", "item", "label", "table", "row", "ab",
    "postscript", "trailer", "lg", "figure", "byline", "docAuthor", "argument",
    "epigraph", "div", "floatingText", "listBibl", "address", "sp", "castList",
})
_LINES = frozenset({"lb", "dateline", "signed", "salute", "l", "addrLine", "speaker"})
_SPACES = frozenset({"cell"})
_SKIP = frozenset({"fw", "facsimile", "figDesc"})  # running heads, image lists
_RANK = {"": 0, " ": 1, "\n": 2, "\n\n": 3}


def tag(local: str) -> str:
    """The Clark name lxml gives a TEI element: ``tag("p")`` is ``{TEI}p``."""
    return f"{{{TEI_NS}}}{local}"


def local_name(el: Any) -> str | None:
    """The TEI local name of an element; None for comments, PIs and foreign elements."""
    tag = el.tag
    if not isinstance(tag, str) or not tag.startswith(f"{{{TEI_NS}}}"):
        return None
    return tag[len(TEI_NS) + 2 :]


def norm(text: str) -> str:
    return " ".join(text.split())


class TextBuilder:
    """Builds plain text from XML pieces: collapses whitespace, places paragraph
    breaks, and reports the exact span each open element ends up covering."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.pending = ""
        self.open: list[list[int | None]] = []

    def _flush(self) -> None:
        if self.pending and self.length:
            self.parts.append(self.pending)
            self.length += len(self.pending)
        self.pending = ""

    def _space(self) -> None:
        if self.length and _RANK[self.pending] < 1:
            self.pending = " "

    def write(self, s: str | None) -> None:
        if not s:
            return
        core = " ".join(s.split())
        if not core:
            self._space()
            return
        if s[0].isspace():
            self._space()
        self._flush()
        for span in self.open:
            if span[0] is None:
                span[0] = self.length
        self.parts.append(core)
        self.length += len(core)
        if s[-1].isspace():
            self.pending = " "

    def brk(self, sep: str) -> None:
        if self.length and _RANK[sep] > _RANK[self.pending]:
            self.pending = sep

    def next_offset(self) -> int:
        """Where the next text will start: past a pending space or break."""
        return self.length + len(self.pending) if self.length else 0

    def open_span(self) -> list[int | None]:
        span: list[int | None] = [None]
        self.open.append(span)
        return span

    def close_span(self, span: list[int | None]) -> tuple[int, int] | None:
        self.open.remove(span)
        return None if span[0] is None else (span[0], self.length)

    def value(self) -> str:
        return "".join(self.parts)


@dataclass
class Walked:
    """What one document's walk collects besides its text."""

    notes: list[dict[str, Any]] = field(default_factory=list)
    page_breaks: list[dict[str, Any]] = field(default_factory=list)
    spans: list[tuple[str, int, int, str]] = field(default_factory=list)  # id, start, end, field


def walk(el: Any, out: TextBuilder, doc: Walked, fld: str, volume_id: str | None,
         top: bool = False) -> None:
    """Append an element's text to ``out``; notes and page breaks go to ``doc``."""
    local = local_name(el)
    if local is None or local in _SKIP:
        if local is None and isinstance(el.tag, str):  # a foreign element: keep its text
            out.write(el.text)
            for child in el:
                walk(child, out, doc, fld, volume_id)
        out.write(el.tail)
        return
    if local == "note" and fld == "text":
        _note(el, out, doc, volume_id)
        out.write(el.tail)
        return
    if local == "pb":
        if fld == "text":
            doc.page_breaks.append(
                {"n": el.get("n"), "id": el.get(XML_ID), "offset": out.next_offset()}
            )
        out.write(el.tail)
        return
    sep = _separator(el, local)
    if sep and not top:
        out.brk(sep)
    spans = [(out.open_span(), target) for target in _targets(el, local, volume_id)]
    out.write(el.text)
    for child in el:
        walk(child, out, doc, fld, volume_id)
    for span, target in spans:
        covered = out.close_span(span)
        if covered:
            doc.spans.append((target, covered[0], covered[1], fld))
    if sep and sep != " " and local != "label" and not top:  # a label runs into its item
        out.brk(sep)
    if not top:
        out.write(el.tail)


def _note(note: Any, out: TextBuilder, doc: Walked, volume_id: str | None) -> None:
    note_id = note.get(XML_ID) or f"note{len(doc.notes) + 1}"
    inner = TextBuilder()
    inner_doc = Walked()
    inner.write(note.text)
    for child in note:
        walk(child, inner, inner_doc, f"note:{note_id}", volume_id)
    entry: dict[str, Any] = {"n": note.get("n"), "id": note_id, "offset": out.length}
    if note.get("type"):
        entry["type"] = note.get("type")
    entry["text"] = inner.value()
    doc.notes.append(entry)
    doc.spans.extend(inner_doc.spans)


def _targets(el: Any, local: str, volume_id: str | None) -> list[str]:
    """Entity ids an element links to: persName/@corresp, gloss/@target."""
    if local == "persName":
        refs = el.get("corresp")
    elif local == "gloss":
        refs = el.get("target")
    else:
        return []
    out = []
    for ref in (refs or "").split():
        volume, hash_, frag = ref.partition("#")
        if not hash_:
            volume, frag = "", ref
        volume = volume.removesuffix(".xml") or volume_id or ""
        if frag:
            out.append(f"{volume}/{frag}")
    return out


def drop(el: Any) -> None:
    """Free a finished element and the finished siblings before it."""
    el.clear(keep_tail=True)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _separator(el: Any, local: str) -> str:
    if local == "item":
        prev = el.getprevious()
        return " " if prev is not None and local_name(prev) == "label" else "\n\n"
    if local == "quote":
        return "\n\n" if el.get("rend") == "blockquote" else ""
    if local in _BLOCKS:
        return "\n\n"
    if local in _LINES:
        return "\n"
    if local in _SPACES:
        return " "
    return ""


def in_note(el: Any, stop: Any) -> bool:
    for a in el.iterancestors():
        if a is stop:
            return False
        if local_name(a) == "note":
            return True
    return False


def inline_text(el: Any, keep_notes: bool = False) -> str:
    """An element's text on one line, footnotes left out unless asked for."""
    parts: list[str] = []

    def collect(e: Any) -> None:
        if e.text:
            parts.append(e.text)
        for child in e:
            local = local_name(child)
            if local in _WORD_BREAKS:
                parts.append(" ")
            if isinstance(child.tag, str) and (keep_notes or local != "note") and (
                local not in _SKIP
            ):
                collect(child)
            if local in _WORD_BREAKS:
                parts.append(" ")
            if child.tail:
                parts.append(child.tail)

    collect(el)
    return norm("".join(parts))


# Elements that end a word on the printed line even without whitespace around them in
# the TEI: "No. 160.<lb/>Mr. Frelinghuysen" is "No. 160. Mr. Frelinghuysen".
_WORD_BREAKS = _BLOCKS | _LINES | _SPACES


def text_after(root: Any, target: Any) -> str:
    """The text of ``root`` that follows ``target`` (a term's expansion, say)."""
    parts: list[str] = []
    seen = False

    def walk(e: Any) -> None:
        nonlocal seen
        if e is target:
            seen = True
        else:
            if seen and e.text:
                parts.append(e.text)
            for child in e:
                walk(child)
        if seen and e is not root and e.tail:
            parts.append(e.tail)

    walk(root)
    return "".join(parts)
