"""Whether an incoming record that replaces a stored one looks damaged: a truncated
copy of the file (its text much shorter, or stopping mid-word where the stored one
goes on), a re-export that lost most of the filled fields, or a file read in the wrong
encoding (mojibake, judged by ftfy). Such an update is held, not published: the
stored record stays as it was until a curator re-runs the ingest with ``--force``."""

from __future__ import annotations

import ftfy

from opis.model import Record

SHORTER = 0.6  # an update keeping under 60 % of a text of at least MIN_TEXT is suspect
MIN_TEXT = 200
# What a record's source fills and a faithful re-export keeps.
FIELDS = ("date", "summary", "original_language", "contents", "archival_reference",
          "authors", "contributors", "classification", "subjects", "places", "people",
          "organizations", "rights", "citation", "source_url", "repository_title")
LABELS = {"original_language": "original language", "contents": "language of the text",
          "archival_reference": "archival reference", "source_url": "source URL",
          "repository_title": "archive"}


def damage(stored: Record, incoming: Record) -> str | None:
    """Why ``incoming`` should not silently replace ``stored``, in plain words; None
    when it looks like an honest update (a correction, an added field)."""
    old, new = stored.text or "", incoming.text or ""
    if len(old) >= MIN_TEXT and len(new) < SHORTER * len(old):
        cut = " and stops mid-word" if _mid_word(new, old) else ""
        return (f"its text is {len(new):,} characters where the stored one has "
                f"{len(old):,}{cut}: a truncated copy of the file?")
    if _mid_word(new, old):
        return (f"its text stops mid-word (…{new.rstrip()[-30:]!r}) where the stored "
                "one goes on: a truncated copy of the file?")
    filled = [f for f in FIELDS if _filled(getattr(stored, f))]
    dropped = [f for f in filled if not _filled(getattr(incoming, f))]
    if len(filled) >= 3 and len(dropped) * 2 > len(filled):
        names = ", ".join(LABELS.get(f, f) for f in dropped)
        return (f"it drops {len(dropped)} of the {len(filled)} fields the stored record "
                f"has ({names}): a partial export?")
    sample = (incoming.title or "") + "\n" + new[:20_000]
    if ftfy.is_bad(sample) and not ftfy.is_bad((stored.title or "") + "\n" + old[:20_000]):
        fixed = ftfy.fix_text(sample)
        example = next((w for w in sample.split() if w not in fixed), sample.split()[0]
                       if sample.split() else "")
        return (f"its text looks read in the wrong encoding (e.g. {example[:30]!r}): give "
                "the file's encoding with --encoding")
    return None


def what_changes(stored: Record, incoming: Record) -> str:
    """The fields an update changes, in plain words, for ``opis ingest --dry-run``:
    "text (35,806 → 35,810 characters), date, subjects"."""
    old, new = stored.to_dict(), incoming.to_dict()
    names = [k for k in dict.fromkeys([*old, *new])
             if k not in ("source_path", "mentions") and old.get(k) != new.get(k)]
    parts = []
    for name in names:
        if name == "text":
            parts.append(f"text ({len(stored.text):,} → {len(incoming.text):,} characters)")
        else:
            parts.append(LABELS.get(name, name.replace("_", " ")))
    return ", ".join(parts) or "nothing a reader sees (internal fields only)"


def _mid_word(new: str, old: str) -> bool:
    """``new`` is the start of ``old`` cut inside a word."""
    cut = new.rstrip()
    return (bool(cut) and len(cut) < len(old.rstrip()) and old.startswith(cut)
            and cut[-1].isalnum() and old[len(cut)].isalnum())


def _filled(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list | dict):
        return bool(value)
    return True
