"""Record text with its annotations, name links and notes as accessible HTML.

Every annotation becomes a span with a kind class (styled distinctly), a visible
short tag and screen-reader text that says where the mark starts and ends. People,
places, organizations and events named in the text become links to their pages.
Annotations and links may overlap without nesting: the renderer sweeps the text once,
and where spans cross it closes and reopens them, so the HTML always nests and a link
never sits inside another link. Point markers (footnote references, page breaks,
paragraph anchors) are placed between characters.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import Markup

from opis.model import ANNOTATION_KINDS, Record
from opis.model.entity import Mention
from opis.model.languages import language_name
from opis.model.record import Annotation

TAGS = {
    "stamp": "stamp", "handwritten": "hw", "illegible": "illeg", "typed_over": "typed over",
    "deleted": "del", "sic": "sic", "supplied": "suppl", "original_term": "orig",
    "gloss": "gloss", "romanization": "var", "head": "",
}
ENTITY_KINDS = ("person", "place", "organization", "event")
KIND_LABELS = {"person": "Person", "place": "Place", "organization": "Organization",
               "event": "Event"}
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
LONG_TEXT = 6000  # characters: past this a document gets a paragraph table of contents


def describe(a: Annotation) -> str:
    label = ANNOTATION_KINDS.get(a.kind, a.kind)
    if a.kind == "romanization" and a.note:
        return f"Variant spelling of {a.note}"
    if a.kind == "gloss" and a.note:
        return f"Translator's gloss of {a.note}"
    if a.kind == "original_term" and a.note:
        return f"Original term ({a.note}), transliterated"
    if a.kind == "handwritten" and a.note:
        return f"Handwritten, {a.note}"
    return label


def document_url(record_id: str) -> str:
    """/document/<id> with the id percent-encoded, "/" included, so that every id, even
    a legacy one with "/", "<" or "?", makes a working link (docs/security.md)."""
    return "/document/" + quote(record_id, safe="")


def entity_url(entity_id: str) -> str:
    """/person/kim-il-sung for "person/kim-il-sung"; the slug is percent-encoded."""
    kind, _, slug = entity_id.partition("/")
    return f"/{kind}/{quote(slug, safe='/')}"


@dataclass(frozen=True, eq=False)
class _Span:
    """An element around text[start:end]: an annotation or a name link."""

    start: int
    end: int
    order: int  # annotations (0) wrap links (1) over the same characters
    index: int
    annotation: Annotation | None = None
    mention: Mention | None = None

    @property
    def key(self) -> tuple:
        return (self.start, -self.end, self.order, self.index)

    @property
    def is_link(self) -> bool:
        return self.mention is not None


@dataclass(frozen=True)
class Point:
    """Markup placed at an offset between characters; ``link`` points never sit in a link."""

    offset: int
    html: str
    link: bool = False


class _Writer:
    def __init__(self, labels: dict[str, str]):
        self.labels = labels

    def open(self, s: _Span, first: bool) -> str:
        if s.mention is not None:
            m = s.mention
            kind = m.entity_id.split("/", 1)[0]
            label = self.labels.get(m.entity_id)
            title = f"{KIND_LABELS.get(kind, 'Name')}: {label or m.text}"
            href = html.escape(entity_url(m.entity_id))
            return (f'<a class="ent ent-{html.escape(kind)}" href="{href}"'
                    f' title="{html.escape(title)}">')
        a = s.annotation
        assert a is not None
        if a.kind == "head":
            anchor = f' id="section-{s.index}"' if first else ""
            return f'<span class="ann-head" role="heading" aria-level="3"{anchor}>'
        title = html.escape(describe(a), quote=True)
        out = f'<span class="ann ann-{a.kind}" data-kind="{a.kind}" title="{title}">'
        if first:
            out += f'<span class="visually-hidden">[{title}: </span>'
            tag = TAGS.get(a.kind)
            if tag:
                out += f'<span class="ann-tag" aria-hidden="true">{html.escape(tag)}</span>'
        return out

    @staticmethod
    def close(s: _Span, last: bool) -> str:
        if s.mention is not None:
            return "</a>"
        if s.annotation is not None and s.annotation.kind == "head":
            return "</span>"
        end = '<span class="visually-hidden">]</span>' if last else ""
        return end + "</span>"


def _link_spans(mentions: Iterable[Mention], text: str, start_index: int) -> list[_Span]:
    """Name links that do not overlap each other (links cannot nest): the first and,
    at the same start, the longest mention wins."""
    usable = [m for m in mentions if m.start is not None and m.end is not None
              and 0 <= m.start < m.end <= len(text)
              and m.entity_id.split("/", 1)[0] in ENTITY_KINDS]
    usable.sort(key=lambda m: (m.start, -(m.end or 0)))
    spans, reach = [], -1
    for i, m in enumerate(usable):
        if m.start >= reach:  # type: ignore[operator]
            spans.append(_Span(m.start, m.end, 1, start_index + i, mention=m))  # type: ignore[arg-type]
            reach = m.end  # type: ignore[assignment]
    return spans


def sweep(text: str, spans: list[_Span], points: Iterable[Point],
          labels: dict[str, str] | None = None) -> str:
    """Render ``text`` with the spans as nested elements and the points between characters.

    One pass over the boundaries; at each segment the wanted stack is the covering spans
    in nesting order, and only the part of the open stack that differs is closed and
    reopened.
    """
    writer = _Writer(labels or {})
    spans = [s for s in spans if s.start < s.end]
    at: dict[int, list[Point]] = {}
    for p in points:
        at.setdefault(min(max(p.offset, 0), len(text)), []).append(p)
    starts: dict[int, list[_Span]] = {}
    for s in spans:
        starts.setdefault(s.start, []).append(s)
    bounds = sorted({0, len(text)} | set(starts) | {s.end for s in spans} | set(at))
    out: list[str] = []
    stack: list[_Span] = []
    active: set[_Span] = set()
    opened: set[_Span] = set()

    def close_to(keep: int, pos: int) -> None:
        nonlocal stack
        for s in reversed(stack[keep:]):
            out.append(writer.close(s, last=s.end <= pos))
        stack = stack[:keep]

    for i, pos in enumerate(bounds):
        active = {s for s in active if s.end > pos}
        active.update(starts.get(pos, ()))
        if pos in at:
            keep = 0  # close what has ended, and any link, before a point
            while keep < len(stack) and stack[keep].end > pos and not (
                    stack[keep].is_link and any(p.link for p in at[pos])):
                keep += 1
            close_to(keep, pos)
            out.extend(p.html for p in at[pos])
        if i + 1 == len(bounds):
            break
        end = bounds[i + 1]
        wanted = sorted(active, key=lambda s: s.key)
        keep = 0
        while keep < len(stack) and keep < len(wanted) and stack[keep] is wanted[keep]:
            keep += 1
        close_to(keep, pos)
        for s in wanted[keep:]:
            out.append(writer.open(s, first=s not in opened))
            opened.add(s)
            stack.append(s)
        out.append(html.escape(text[pos:end]))
    close_to(0, len(text))
    return "".join(out)


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each block of text between blank lines."""
    out, pos = [], 0
    for m in _PARAGRAPH.finditer(text):
        if text[pos:m.start()].strip():
            out.append((pos, m.start()))
        pos = m.end()
    if text[pos:].strip():
        out.append((pos, len(text)))
    return out


def notes(record: Record) -> list[dict]:
    """FRUS-style footnotes: ``extra["notes"]`` entries with an anchor offset in the text."""
    raw = record.extra.get("notes") if isinstance(record.extra, dict) else None
    out = []
    for i, n in enumerate(raw or []):
        if not isinstance(n, dict) or not isinstance(n.get("text"), str):
            continue
        nid = str(n.get("id") or f"n{i + 1}")
        slug = re.sub(r"[^A-Za-z0-9_-]", "-", nid)
        offset = n.get("offset")
        out.append({"id": nid, "anchor": slug, "n": str(n.get("n") or i + 1),
                    "offset": offset if isinstance(offset, int) else None,
                    "type": n.get("type"), "text": n["text"]})
    return out


def page_breaks(record: Record) -> list[dict]:
    raw = record.extra.get("page_breaks") if isinstance(record.extra, dict) else None
    return [{"n": str(p.get("n")), "offset": p["offset"]} for p in raw or []
            if isinstance(p, dict) and isinstance(p.get("offset"), int) and p.get("n")]


def annotated_html(record: Record, labels: dict[str, str] | None = None, *,
                   links: bool = True) -> Markup:
    """The record's text with editorial marks, name links, note references, page breaks
    and paragraph anchors (``p-1``, ``p-2``...)."""
    text = record.text
    spans = [_Span(a.start, a.end, 0, i, annotation=a)
             for i, a in enumerate(record.annotations) if 0 <= a.start <= a.end <= len(text)]
    if links:
        spans += _link_spans((m for m in record.mentions if m.field == "text"), text,
                             len(record.annotations))
    points = [Point(start, f'<span class="para-anchor" id="p-{n}"></span>')
              for n, (start, _end) in enumerate(paragraphs(text), 1)]
    for p in page_breaks(record):
        n = html.escape(p["n"])
        points.append(Point(p["offset"], f'<span class="pb" id="page-{n}">'
                                         f'<span class="visually-hidden">Page </span>'
                                         f'<span aria-hidden="true">[p. </span>{n}'
                                         f'<span aria-hidden="true">]</span></span>'))
    for note in notes(record):
        if note["offset"] is None:
            continue
        a, n = html.escape(note["anchor"]), html.escape(note["n"])
        points.append(Point(note["offset"], f'<sup class="fn-ref"><a id="fnref-{a}" '
                                            f'href="#fn-{a}" aria-label="Note {n}">{n}</a></sup>',
                            link=True))
    return Markup(sweep(text, spans, points, labels))


def linked_html(text: str, mentions: Iterable[Mention], labels: dict[str, str] | None = None
                ) -> Markup:
    """Plain text (a footnote, say) with its name mentions as links."""
    return Markup(sweep(text, _link_spans(mentions, text, 0), (), labels))


def note_html(record: Record, labels: dict[str, str] | None = None) -> list[dict]:
    """Each note with its text rendered (name links kept), for the notes list."""
    out = []
    for note in notes(record):
        field = f"note:{note['id']}"
        ms = [m for m in record.mentions if m.field == field]
        out.append({**note, "html": linked_html(note["text"], ms, labels)})
    return out


def legend(record: Record) -> list[tuple[str, str, str, int]]:
    """(kind, label, tag, count) for each kind the record uses, in a stable order."""
    counts: dict[str, int] = {}
    for a in record.annotations:
        counts[a.kind] = counts.get(a.kind, 0) + 1
    return [(k, ANNOTATION_KINDS[k], TAGS.get(k, ""), counts[k])
            for k in ANNOTATION_KINDS if k in counts and k != "head"]


def headings(record: Record) -> list[tuple[int, str]]:
    return [(i, " ".join(a.text.split())) for i, a in enumerate(record.annotations)
            if a.kind == "head"]


def contents(record: Record) -> dict:
    """The table of contents: headings; for long texts the paragraphs; notes and pages."""
    paras = []
    text = record.text
    if len(text) > LONG_TEXT:
        for n, (start, end) in enumerate(paragraphs(text), 1):
            words = " ".join(text[start:end].split())
            paras.append((n, words[:70] + ("…" if len(words) > 70 else "")))
    return {"headings": headings(record), "paragraphs": paras,
            "notes": len(notes(record)), "pages": [p["n"] for p in page_breaks(record)]}


_DIFF_WORD = re.compile(r"\w+|\s+|[^\w\s]")


def _inline(old: str, new: str) -> tuple[Markup, Markup]:
    """Both lines with the words that differ wrapped in <del>/<ins class="changed">, so a
    changed word inside a long line is seen, not hunted for."""
    a, b = _DIFF_WORD.findall(old), _DIFF_WORD.findall(new)
    left, right = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        was, now = html.escape("".join(a[i1:i2])), html.escape("".join(b[j1:j2]))
        if op == "equal":
            left.append(was)
            right.append(now)
            continue
        if was:
            left.append(f'<del class="changed">{was}</del>')
        if now:
            right.append(f'<ins class="changed">{now}</ins>')
    return Markup("".join(left)), Markup("".join(right))


def diff_rows(lines: list[tuple[str, str]]) -> list[tuple[str, Markup]]:
    """A field's diff lines as HTML: a removed line followed by an added one (a line
    changed) shows what changed within it; other lines are escaped whole."""
    out: list[tuple[str, Markup]] = []
    i = 0
    while i < len(lines):
        removed = []
        while i < len(lines) and lines[i][0] == "-":
            removed.append(lines[i][1])
            i += 1
        added = []
        while i < len(lines) and lines[i][0] == "+":
            added.append(lines[i][1])
            i += 1
        if removed or added:
            pairs = min(len(removed), len(added))
            marked = [_inline(removed[k], added[k]) for k in range(pairs)]
            out += [("-", m[0]) for m in marked]
            out += [("-", Markup.escape(line)) for line in removed[pairs:]]
            out += [("+", m[1]) for m in marked]
            out += [("+", Markup.escape(line)) for line in added[pairs:]]
            continue
        out.append((lines[i][0], Markup.escape(lines[i][1])))
        i += 1
    return out


_ISO = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")


def html_datetime(value: str | None) -> str:
    """The value for <time datetime>, which takes only a plain date: "" for an uncertain
    or partly unreadable EDTF date or a range (the attribute is then left out)."""
    return value if value and _ISO.fullmatch(value) else ""


def contents_label(record: Record) -> str:
    """What this text is, in words: "Translation into English from Russian", and for a
    transcription "Transcription of the English original" (never "into": a transcription
    stays in the language it transcribes)."""
    c = record.contents
    if c is None:
        return ""
    lang = language_name(c.language) if c.language else ""
    orig = record.original_language
    if c.kind == "translation":
        out = "Translation" + (f" into {lang}" if lang else "")
        if orig and orig != c.language:
            out += f" from {language_name(orig)}"
        return out
    if c.kind == "transcription":
        if lang and (not orig or orig == c.language):
            return f"Transcription of the {lang} original"
        return "Transcription" + (f" in {lang}" if lang else "")
    return c.kind.replace("_", " ").capitalize() + (f" in {lang}" if lang else "")


_NUMBERED = re.compile(r"(\d+)\.\s+")


def list_title(title: str, position: int) -> str:
    """A title in a numbered list without its own number when that number is the list's
    ("1. Editorial Note" as item 1 read "1. 1. Editorial Note")."""
    m = _NUMBERED.match(title)
    return title[m.end():] if m and int(m.group(1)) == position else title
