"""Searching the originals' languages: stemming for Russian and German, bigrams for
Chinese, Japanese and Korean, which write no spaces between words.

Both engines index a record's text a second time in a field for its language, and
both turn runs of CJK characters into overlapping bigrams ("김일성은" -> "김일 일성 성은")
so a Korean word is found inside a longer run, the approach Lucene's CJK analyzer
takes. Queries go through the same transformation.
"""

from __future__ import annotations

import re

from opis.model import Record

STEMMED = {"ru": "russian", "de": "german"}
CJK = frozenset({"zh", "ja", "ko"})
_CJK_RUN = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff"
                      r"\uac00-\ud7af\uf900-\ufaff]+")


def has_cjk(text: str) -> bool:
    return _CJK_RUN.search(text) is not None


def cjk_bigrams(text: str) -> str:
    """Every run of CJK characters as overlapping bigrams separated by spaces."""
    out = []
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return " ".join(out)


def language_texts(record: Record) -> dict[str, str]:
    """Text per original-language field: "ru", "de" and "cjk" (empty when none)."""
    parts: dict[str, list[str]] = {"ru": [], "de": [], "cjk": []}
    pairs = [(record.contents.language if record.contents else None, record.text)]
    original = record.extra.get("original_text")
    if isinstance(original, str) and original:
        pairs.append((record.extra.get("original_language") or record.original_language,
                      original))
    for lang, text in pairs:
        if lang in STEMMED:
            parts[lang].append(text)
        if lang in CJK or has_cjk(text):
            parts["cjk"].append(cjk_bigrams(text))
    return {k: "\n".join(v) for k, v in parts.items()}
