"""Which language a text is in, whole or paragraph by paragraph (ISO 639-1 codes).

Used where a record has no language field, and to tag the paragraphs of mixed
texts (an English translation quoting the Russian original). lingua ships its
models in the wheel, so this runs offline; pure functions of text, no I/O.

Only the languages this domain's sources come in are considered: fewer candidates
is faster and avoids exotic false positives. Long texts use lingua's low-accuracy
(trigram) mode, which is as good there and loads in a fraction of a second; short
ones use the high-accuracy models, loaded on first need (several seconds, ~350 MB).
"""

from __future__ import annotations

import re

from opis.model import Contents, Record
from opis.model.language_detection import (  # noqa: F401 - this module's public names too
    _LETTER,
    LANGUAGES,
    MIN_LETTERS,
    SAMPLE,
    SHORT_TEXT,
    _detector,
    detect_language,
)

# Paragraphs with fewer letters than this (alphabets, CJK characters) follow a
# neighbour in the same script.
SHORT_PARAGRAPH = (30, 8)

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v\r]*\n\s*")
_CYRILLIC = re.compile(r"[\u0400-\u052f]")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def paragraph_languages(text: str) -> list[tuple[int, int, str]]:
    """(start, end, code) spans of ``text``, one per run of paragraphs in one language.

    Paragraphs are separated by blank lines; a span runs from its first paragraph's
    first character to its last paragraph's last one. A short paragraph ("Top
    secret", "No. 2", a signature) is too little to judge alone: it takes the
    language of its nearest long neighbour in the same script, and is judged on its
    own only when it has none (a Russian line amid English paragraphs).
    """
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for m in _PARAGRAPH_BREAK.finditer(text):
        spans.append((pos, m.start(), ""))
        pos = m.end()
    spans.append((pos, len(text), ""))
    paragraphs = []
    for start, end, _ in spans:
        chunk = text[start:end].rstrip()
        if chunk.strip():
            letters = len(_LETTER.findall(chunk))
            paragraphs.append((start, start + len(chunk), _script(chunk), letters))

    codes: list[str | None] = [
        detect_language(text[s:e]) if n >= SHORT_PARAGRAPH[script == "cjk"] else None
        for s, e, script, n in paragraphs
    ]
    decided = list(codes)
    for i, (s, e, script, letters) in enumerate(paragraphs):
        if decided[i] is not None:
            continue
        if script == "none" and i and codes[i - 1]:  # "1956", "No. 2": goes with the text above
            codes[i] = codes[i - 1]
            continue
        near = [j for j in range(i - 1, -1, -1) if decided[j]]
        near += [j for j in range(i + 1, len(paragraphs)) if decided[j]]
        same = [j for j in near if script in ("none", paragraphs[j][2])]
        if same:
            codes[i] = decided[same[0]]
        elif letters >= MIN_LETTERS:
            codes[i] = detect_language(text[s:e])

    resolved: list[tuple[int, int, str]] = []
    for (start, end, _, _), code in zip(paragraphs, codes, strict=True):
        if code is None:
            continue
        if resolved and resolved[-1][2] == code:
            resolved[-1] = (resolved[-1][0], end, code)
        else:
            resolved.append((start, end, code))
    return resolved


def _script(text: str) -> str:
    """The paragraph's dominant script family, to tell which neighbour it belongs with.

    Chinese, Japanese and Korean count as one: a short line of Han characters in a
    Japanese text is Japanese, in a Korean one is Hanja."""
    counts = {
        "cyrillic": len(_CYRILLIC.findall(text)),
        "cjk": len(_HANGUL.findall(text)) + len(_KANA.findall(text)) + len(_HAN.findall(text)),
    }
    counts["latin"] = len(re.findall(r"[A-Za-z\u00c0-\u024f]", text))
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else "none"


def fill_language(record: Record) -> None:
    """Name the language of a record's text where the source did not.

    The text's own language goes into ``contents.language``; it is also the original
    language only when the text is a transcription of the original, never when it is a
    translation (an English translation says nothing about the Russian original).
    """
    if not record.text.strip():
        return
    if record.contents is None:
        record.contents = Contents(
            "transcription" if record.original_language in (None, "en") else "translation",
            None)
    if record.contents.language is None:
        record.contents.language = detect_language(record.text)
        record.extra["language_detected"] = True
    if record.original_language is None and record.contents.kind in ("transcription",
                                                                     "original"):
        record.original_language = record.contents.language
