"""Which language a text is in (ISO 639-1), as a pure function of the text: the readers
(choosing a Tesseract pack for a scan) and enrichment (records without a language
field) both need it, so it sits in the model, below both.

Only the languages this domain's sources come in are considered: fewer candidates
is faster and avoids exotic false positives. Long texts use lingua's low-accuracy
(trigram) mode, which is as good there and loads in a fraction of a second; short
ones use the high-accuracy models, loaded on first need (several seconds, ~350 MB).
lingua ships its models in the wheel, so this runs offline.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

LANGUAGES = (
    "en", "ru", "ko", "zh", "ja", "de", "fr", "pl", "cs", "hu", "ro", "bg", "vi", "mn", "es", "it",
)
# lingua's own threshold: below this many characters its high-accuracy mode pays off.
SHORT_TEXT = 120
# Fewer letters than this say nothing about a language ("№ 2", "1956").
MIN_LETTERS = 3
# Long texts are judged on a sample: the start, middle and end, this many characters each.
SAMPLE = 8000

_LETTER = re.compile(r"[^\W\d_]")


@lru_cache(maxsize=2)
def _detector(short: bool) -> LanguageDetector:
    codes = [getattr(IsoCode639_1, code.upper()) for code in LANGUAGES]
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    if not short:
        builder = builder.with_low_accuracy_mode()
    return builder.build()


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the text's language, or None when it cannot be told."""
    if len(_LETTER.findall(text[: SAMPLE * 3])) < MIN_LETTERS:
        return None
    if len(text) > SAMPLE * 3:
        middle = len(text) // 2
        text = "\n".join(
            (text[:SAMPLE], text[middle - SAMPLE // 2 : middle + SAMPLE // 2], text[-SAMPLE:])
        )
    language = _detector(len(text) < SHORT_TEXT).detect_language_of(text)
    return language.iso_code_639_1.name.lower() if language else None
