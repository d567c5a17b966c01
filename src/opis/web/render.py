"""Record text with its annotations as accessible HTML.

Every annotation becomes a span with a kind class (styled distinctly), a visible
short tag and screen-reader text that says where the mark starts and ends. Spans
that overlap without nesting are split so the HTML always nests.
"""

from __future__ import annotations

import html

from markupsafe import Markup

from opis.model import ANNOTATION_KINDS, Record
from opis.model.record import Annotation

TAGS = {
    "stamp": "stamp", "handwritten": "hw", "illegible": "illeg", "typed_over": "typed over",
    "deleted": "del", "sic": "sic", "supplied": "suppl", "original_term": "orig",
    "gloss": "gloss", "romanization": "var", "head": "",
}


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


def _open_tag(a: Annotation, index: int, first: bool) -> str:
    if a.kind == "head":
        return f'<span class="ann-head" id="section-{index}">'
    title = html.escape(describe(a), quote=True)
    out = (f'<span class="ann ann-{a.kind}" data-kind="{a.kind}" title="{title}">')
    if first:
        out += f'<span class="visually-hidden">[{title}: </span>'
        tag = TAGS.get(a.kind)
        if tag:
            out += f'<span class="ann-tag" aria-hidden="true">{html.escape(tag)}</span>'
    return out


def _close_tag(a: Annotation, last: bool) -> str:
    if a.kind == "head":
        return "</span>"
    end = '<span class="visually-hidden">]</span>' if last else ""
    return end + "</span>"


def annotated_html(record: Record) -> Markup:
    text = record.text
    anns = sorted(enumerate(record.annotations), key=lambda p: (p[1].start, -p[1].end, p[0]))
    bounds = sorted({0, len(text)} | {a.start for _, a in anns} | {a.end for _, a in anns})
    out: list[str] = []
    stack: list[tuple[int, Annotation]] = []
    for seg_start, seg_end in zip(bounds, bounds[1:], strict=False):
        if seg_start == seg_end:
            continue
        active = [(i, a) for i, a in anns if a.start <= seg_start and seg_end <= a.end]
        # Keep the longest common prefix of the open stack, close the rest.
        keep = 0
        while keep < len(stack) and keep < len(active) and stack[keep] == active[keep]:
            keep += 1
        for _i, a in reversed(stack[keep:]):
            out.append(_close_tag(a, last=a.end <= seg_start))
        stack = stack[:keep]
        for i, a in active[keep:]:
            out.append(_open_tag(a, i, first=a.start == seg_start))
            stack.append((i, a))
        out.append(html.escape(text[seg_start:seg_end]))
    for _i, a in reversed(stack):
        out.append(_close_tag(a, last=True))
    return Markup("".join(out))


def legend(record: Record) -> list[tuple[str, str, str, int]]:
    """(kind, label, tag, count) for each kind the record uses, in a stable order."""
    counts: dict[str, int] = {}
    for a in record.annotations:
        counts[a.kind] = counts.get(a.kind, 0) + 1
    return [(k, ANNOTATION_KINDS[k], TAGS.get(k, ""), counts[k])
            for k in ANNOTATION_KINDS if k in counts and k != "head"]


def headings(record: Record) -> list[tuple[int, str]]:
    return [(i, a.text) for i, a in enumerate(record.annotations) if a.kind == "head"]
