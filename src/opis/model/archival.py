"""Archival references and credit lines, parsed from the way archives print them.

Russian and Soviet archives cite a hierarchy: repository, fond (f.), opis (op.),
delo (d.) and folios (listy, ll.). Both the spelled-out form the Wilson Center
prints ("RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17") and the abbreviated
Russian form ("RGANI, f. 5, op. 49, d. 131, ll. 193-194") are read. References
from archives without that hierarchy keep only their verbatim text.
"""

from __future__ import annotations

import re

from opis.model.record import ArchivalReference, Contributor

_LABELS = {
    "fond": r"fond|fonds|f",
    "opis": r"opis'?|op",
    "delo": r"delo|d",
    "folios": r"listi|listy|list|ll|l|folios?|ff",
}
_SEGMENT = re.compile(
    r"^(?P<label>[A-Za-z']+)\.?\s*(?P<value>[0-9][0-9A-Za-z/.\-–]*(?:\s*[-–]\s*[0-9][0-9a-z]*)?)$"
)


def parse_archival_reference(text: str) -> ArchivalReference:
    """Split a verbatim reference into its hierarchy where it has one."""
    verbatim = " ".join(text.split()).strip().rstrip(".")
    ref = ArchivalReference(text=verbatim)
    segments = [seg.strip() for seg in re.split(r"[,;]", verbatim)]
    parts: dict[str, str] = {}
    for seg in segments[1:]:
        m = _SEGMENT.match(seg)
        if not m:
            continue
        label = m.group("label").lower()
        for name, pat in _LABELS.items():
            if name not in parts and re.fullmatch(pat, label):
                parts[name] = re.sub(r"\s*[-–]\s*", "-", m.group("value")).rstrip(".")
                break
    if "fond" in parts and ("opis" in parts or "delo" in parts):
        ref.repository = segments[0] or None
        ref.fond = parts.get("fond")
        ref.opis = parts.get("opis")
        ref.delo = parts.get("delo")
        ref.folios = parts.get("folios")
    return ref


_ROLE_VERBS = {
    "obtained": "obtained_by",
    "translated": "translator",
    "contributed": "contributor",
    "transcribed": "transcriber",
    "edited": "editor",
    "annotated": "annotator",
}
_VERB = "|".join(_ROLE_VERBS)
_CREDIT = re.compile(
    rf"(?P<verbs>(?:(?:{_VERB})(?:,\s*|\s+and\s+|,\s*and\s+))*(?:{_VERB}))\s+by\s+"
    rf"(?P<name>.+?)(?=\s*(?:,\s*|\s+)and\s+(?:{_VERB})\b|(?<!\b[A-Z])[.;]\s|\s*[.;]?$|,\s)",
    re.IGNORECASE,
)


def parse_credits(text: str) -> list[Contributor]:
    """Contributors from a credit line: "Obtained by X and translated by Y"."""
    found: list[Contributor] = []
    for m in _CREDIT.finditer(" ".join(text.split())):
        name = m.group("name").strip().rstrip(".")
        for verb in re.findall(_VERB, m.group("verbs"), re.IGNORECASE):
            c = Contributor(name=name, role=_ROLE_VERBS[verb.lower()])
            if c not in found:
                found.append(c)
    return found


_CREDIT_START = re.compile(rf"\.\s+(?:{_VERB})\b.*$|\s*(?:{_VERB})(?:,|\s+and|\s+by)\b.*$",
                           re.IGNORECASE)


def split_citation(citation: str) -> tuple[str | None, str | None]:
    """From a Wilson Center style citation, the archival part and the credit part.

    The form is: "Title", date, Wilson Center Digital Archive, <reference>. <credits>
    """
    flat = " ".join(citation.split())
    credit = None
    m = re.search(rf"\.\s+((?:{_VERB})\b.*)$", flat, re.IGNORECASE)
    if m:
        credit = m.group(1).strip()
        flat = flat[: m.start()]
    m = re.search(r"(?:Digital Archive|Archive),\s*(?P<ref>.+)$", flat)
    if m is None:
        return None, credit
    return m.group("ref").strip().rstrip("."), credit
