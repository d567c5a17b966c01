"""Charts drawn on the server as SVG: the documents-per-year timeline and the co-mention
network of a person.

No JavaScript and no vendored chart library: the page arrives with its chart, every bar,
person and line is a link with a tooltip (``<title>``), and the same figures stay in the
table beside it for screen readers and keyboards (the SVG is ``aria-hidden`` and its
links are out of the tab order, so nothing is announced or focused twice).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

INK, MUTED, ACCENT, CENTER, LINE = "#1d1d1f", "#555b63", "#174f8a", "#a0330f", "#d8d4c8"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def timeline_svg(points: Sequence[tuple[int, int, str]], height: int = 240) -> Markup:
    """Bars for (year, documents, link), with the years between them drawn empty so the
    gaps show. Empty when fewer than two years."""
    if len(points) < 2:
        return Markup("")
    by_year = {y: (n, url) for y, n, url in points}
    first, last = min(by_year), max(by_year)
    years = list(range(first, last + 1))
    top = max(n for n, _ in by_year.values()) or 1
    width, left, bottom, pad = 720, 40, 24, 8
    plot_h = height - bottom - pad
    step = (width - left - pad) / len(years)
    bar = max(1.0, min(28.0, step * 0.8))
    label_every = max(1, math.ceil(len(years) / 12))
    parts = [f'<svg class="chart-svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg">']
    for tick in sorted({0, top // 2, top}):  # a scale: zero, half, the tallest bar
        y = pad + plot_h - plot_h * tick / top
        parts.append(f'<line x1="{left}" x2="{width - pad}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{LINE}" stroke-width="1"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="11" fill="{MUTED}">{tick}</text>')
    for i, year in enumerate(years):
        x = left + i * step + (step - bar) / 2
        if year in by_year:
            n, url = by_year[year]
            h = plot_h * n / top
            parts.append(f'<a href="{escape(url)}" tabindex="-1"><title>{year}: '
                         f'{_plural(n, "document")}</title>'
                         f'<rect x="{x:.1f}" y="{pad + plot_h - h:.1f}" '
                         f'width="{bar:.1f}" height="{max(h, 1):.1f}" fill="{ACCENT}"/></a>')
        if i % label_every == 0 or year == last:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                         f'font-size="11" fill="{MUTED}">{year}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


LABEL_CHAR = 6.6  # the width of a character of a 13 px label, on average


def _label_spot(x: float, y: float, angle: float, r: float, width: float,
                taken: list[tuple[float, float, float, float]]) -> tuple[str, float, float]:
    """Where a ring node's label goes: beside it, outward; where that would cover a
    label already placed (crowded at the top and bottom of the ring), further out
    along the same ray, as far as it takes (at most four steps)."""
    cos, sin = math.cos(angle), math.sin(angle)
    anchor = "end" if cos < -0.01 else "start"
    spot = (anchor, x + (-(r + 5) if anchor == "end" else r + 5), y + 4)
    for step in range(5):
        out = step * 17.0
        tx = x + cos * out + (-(r + 5) if anchor == "end" else r + 5)
        ty = y + sin * out + 4 + (math.copysign(8 * step, sin) if abs(sin) > 0.5 else 0)
        left = tx - width if anchor == "end" else tx
        box = (left, ty - 12, left + width, ty + 3)
        if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                   for b in taken):
            return anchor, tx, ty
        spot = spot if step else (anchor, tx, ty)
    return spot


def network_svg(network: dict[str, Any] | None, size: int = 560) -> Markup:
    """The person in the middle, the others on a ring in order of the documents they
    share with them (the same picture on every visit); a line's width grows with the
    documents its two people share."""
    if not network or len(network.get("nodes", [])) < 2:
        return Markup("")
    nodes, edges = network["nodes"], network["edges"]
    center = next((n for n in nodes if n.get("center")), nodes[0])
    shared = {}
    for e in edges:
        if center["id"] in (e["source"], e["target"]):
            other = e["target"] if e["source"] == center["id"] else e["source"]
            shared[other] = e["weight"]
    others = sorted((n for n in nodes if n is not center),
                    key=lambda n: (-shared.get(n["id"], 0), n["label"]))
    mid, radius = size / 2, size * 0.3
    place = {center["id"]: (mid, mid, 0.0)}
    for i, n in enumerate(others):
        angle = -math.pi / 2 + 2 * math.pi * i / len(others)
        place[n["id"]] = (mid + math.cos(angle) * radius, mid + math.sin(angle) * radius, angle)
    weights = [e["weight"] for e in edges] or [1]
    light, heavy = min(weights), max(weights)
    most = max(n["records"] for n in nodes) or 1
    parts = [f'<svg class="chart-svg" viewBox="{-size * 0.25:.0f} 0 {size * 1.5:.0f} {size}" '
             'role="img" aria-hidden="true" focusable="false" '
             'xmlns="http://www.w3.org/2000/svg">']
    for e in sorted(edges, key=lambda e: e["weight"]):
        if e["source"] not in place or e["target"] not in place:
            continue
        (x1, y1, _), (x2, y2, _) = place[e["source"]], place[e["target"]]
        t = (e["weight"] - light) / (heavy - light) if heavy > light else 0.0
        touches = center["id"] in (e["source"], e["target"])
        width = (1.5 + 4 * t) if touches else (0.6 + 3 * t)
        opacity = (0.55 + 0.35 * t) if touches else (0.12 + 0.5 * t)
        parts.append(f'<a href="{escape(e.get("documents") or "")}" tabindex="-1"><title>'
                     f'{_plural(e["weight"], "shared document")}</title>'
                     f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                     f'stroke="{MUTED}" stroke-width="{width:.2f}" '
                     f'stroke-opacity="{opacity:.2f}"/></a>')
    taken: list[tuple[float, float, float, float]] = []  # what a label must not cover
    for n in [center, *others]:  # every node's circle, then each label as it is placed
        x, y, _angle = place[n["id"]]
        r = 15 if n is center else 5 + 8 * math.sqrt(n["records"] / most)
        taken.append((x - r, y - r, x + r, y + r))
    for n in [center, *others]:  # the centre's label first: it stays where it is
        x, y, angle = place[n["id"]]
        is_center = n is center
        r = 15 if is_center else 5 + 8 * math.sqrt(n["records"] / most)
        width = LABEL_CHAR * len(n["label"]) + 4
        if is_center:
            anchor, tx, ty = "middle", x, y + r + 16
        else:
            anchor, tx, ty = _label_spot(x, y, angle, r, width, taken)
        left = tx - width / 2 if anchor == "middle" else tx - width if anchor == "end" else tx
        taken.append((left, ty - 12, left + width, ty + 3))
        n["_label"] = (anchor, tx, ty)
    for n in [*others, center]:
        x, y, _angle = place[n["id"]]
        is_center = n is center
        r = 15 if is_center else 5 + 8 * math.sqrt(n["records"] / most)
        anchor, tx, ty = n.pop("_label")
        label = escape(n["label"])
        weight = ' font-weight="bold"' if is_center else ""
        parts.append(f'<a href="{escape(n.get("documents") or n.get("url") or "")}" '
                     f'class="net-node" tabindex="-1" data-id="{escape(n["id"])}"><title>{label}: '
                     f'{_plural(n["records"], "document")}</title>'
                     f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" '
                     f'fill="{CENTER if is_center else ACCENT}"/>'
                     f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" font-size="13" '
                     f'fill="{INK}"{weight}>{label}'
                     '</text></a>')
    parts.append("</svg>")
    return Markup("".join(parts))
