"""What an edit does to a record's text and fields: where each mark and mention goes
when the words around it change (so a one-letter correction moves nothing else), and
the field-by-field diff a curator reads before saving or restoring. Pure functions of
the record's data; ``services/curation.py`` applies them."""

from __future__ import annotations

import difflib
import json
from bisect import bisect_right
from dataclasses import dataclass, fields
from dataclasses import field as dataclass_field
from typing import Any

from opis.model import Record

LABELS = {
    "title": "Title", "date": "Date (EDTF)", "citation": "Citation", "source_url": "Source URL",
    "summary": "Summary", "original_language": "Original language",
    "classification": "Classification", "document_number": "Document number",
    "distribution_instruction": "Distribution instruction",
    "authentication": "Authentication", "rights": "Rights", "repository_title": "Archive",
    "text": "Text", "donors": "Made possible by", "distribution": "Distributed to",
    "endorsements": "Endorsements", "subjects": "Subjects", "places": "Places",
    "people": "People", "organizations": "Organizations", "contents": "This text is",
    "archival_reference": "Archival reference", "contributors": "Contributors",
    "authors": "Authors", "stamps": "Stamps", "handwritten_notes": "Handwritten notes",
    "annotations": "Annotations", "extra": "Other fields", "status": "Status",
    "mentions": "Entity links",
}


@dataclass
class FieldDiff:
    field: str  # shadows dataclasses.field in this class body: hence the alias below
    label: str
    lines: list[tuple[str, str]] = dataclass_field(default_factory=list)  # (" "|"-"|"+"|"@", line)


# -- keeping annotations on their words when the text changes --------------------------------

def offset_runs(old: str, new: str) -> list[tuple[int, int, int]]:
    """Runs of text the edit left alone, as (old_start, old_end, new_start).

    Lines are matched first (fast on long documents), then characters inside each
    changed block, so a one-letter correction moves nothing else."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    pa, pb = [0], [0]
    for line in a:
        pa.append(pa[-1] + len(line))
    for line in b:
        pb.append(pb[-1] + len(line))
    runs: list[tuple[int, int, int]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            runs.append((pa[i1], pa[i2], pb[j1]))
        elif tag == "replace":
            sa, sb = old[pa[i1]:pa[i2]], new[pb[j1]:pb[j2]]
            if len(sa) * len(sb) <= 4_000_000:
                matcher = difflib.SequenceMatcher(None, sa, sb, autojunk=False)
                for t, x1, x2, y1, _y2 in matcher.get_opcodes():
                    if t == "equal":
                        runs.append((pa[i1] + x1, pa[i1] + x2, pb[j1] + y1))
    return runs


def map_span(runs: list[tuple[int, int, int]], start: int, end: int) -> tuple[int, int] | None:
    """Where the span [start, end) went, if the edit left all of it alone."""
    starts = [r[0] for r in runs]
    i = bisect_right(starts, start) - 1
    while i >= 0:
        r0, r1, n0 = runs[i]
        if r0 <= start and end <= r1 and (start < r1 or start == end):
            return start - r0 + n0, end - r0 + n0
        if r1 < start:
            break
        i -= 1
    return None


def remap_annotations(old_text: str, new_text: str,
                      annotations: list[dict[str, Any]]) -> tuple[list[dict], list[str]]:
    """Annotations moved with the text; problems name those whose words were edited."""
    runs = offset_runs(old_text, new_text)
    moved, problems = [], []
    for i, a in enumerate(annotations):
        span = map_span(runs, a["start"], a["end"])
        if span is None:
            problems.append(f"annotation {i + 1} ({a['kind']}, “{a['text'][:40]}”)")
            moved.append(a)
        else:
            moved.append({**a, "start": span[0], "end": span[1]})
    return moved, problems


def remap_mentions(old_text: str, new_text: str, mentions: list[dict]) -> list[dict]:
    """Entity mentions in the text follow their words; one whose words were edited keeps
    its entity link with its offsets cleared, for the entity editor to place again."""
    runs = offset_runs(old_text, new_text)
    out = []
    for m in mentions:
        if m.get("field", "text") != "text" or m.get("start") is None or m.get("end") is None:
            out.append(m)
            continue
        span = map_span(runs, m["start"], m["end"])
        out.append({**m, "start": span[0] if span else None, "end": span[1] if span else None})
    return out


# -- diffs -----------------------------------------------------------------------------------

def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    return json.dumps(value, ensure_ascii=False, indent=2)


def field_diffs(old: dict[str, Any], new: dict[str, Any]) -> list[FieldDiff]:
    """Field by field, in the record's own order; long values as a line diff."""
    order = ["status", *[f.name for f in fields(Record)]]
    names = [n for n in order if n in old or n in new]
    names += sorted(k for k in {*old, *new} if k not in names)
    out = []
    for name in names:
        if name in ("source_path",) or old.get(name) == new.get(name):
            continue
        a, b = _as_text(old.get(name)), _as_text(new.get(name))
        diff = FieldDiff(name, LABELS.get(name, name.replace("_", " ").capitalize()))
        if "\n" not in a and "\n" not in b:
            diff.lines = ([("-", a)] if a else []) + ([("+", b)] if b else [])
        else:
            for line in list(difflib.unified_diff(a.splitlines(), b.splitlines(), n=2,
                                                  lineterm=""))[2:]:
                if line.startswith("@@"):
                    diff.lines.append(("@", "…"))
                else:
                    diff.lines.append((line[:1] or " ", line[1:]))
        out.append(diff)
    return out
