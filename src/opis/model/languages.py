"""Language names as archives print them, to ISO 639-1 codes (639-3 where no 639-1 exists)."""

from __future__ import annotations

LANGUAGE_CODES: dict[str, str] = {
    "english": "en", "russian": "ru", "korean": "ko", "chinese": "zh", "japanese": "ja",
    "german": "de", "french": "fr", "polish": "pl", "czech": "cs", "slovak": "sk",
    "hungarian": "hu", "romanian": "ro", "bulgarian": "bg", "serbian": "sr",
    "croatian": "hr", "serbo-croatian": "sh", "albanian": "sq", "mongolian": "mn",
    "vietnamese": "vi", "spanish": "es", "portuguese": "pt", "italian": "it",
    "arabic": "ar", "persian": "fa", "farsi": "fa", "hebrew": "he", "turkish": "tr",
    "hindi": "hi", "urdu": "ur", "ukrainian": "uk", "belarusian": "be", "georgian": "ka",
    "armenian": "hy", "latvian": "lv", "lithuanian": "lt", "estonian": "et",
    "finnish": "fi", "swedish": "sv", "norwegian": "no", "danish": "da", "dutch": "nl",
    "greek": "el", "indonesian": "id", "thai": "th", "khmer": "km", "lao": "lo",
    "burmese": "my", "tagalog": "tl", "swahili": "sw", "amharic": "am", "yiddish": "yi",
}
LANGUAGE_NAMES: dict[str, str] = {code: name.title() for name, code in LANGUAGE_CODES.items()}
LANGUAGE_NAMES.update({"fa": "Persian", "sh": "Serbo-Croatian"})


def language_code(name: str | None) -> str | None:
    """ISO code for a printed language name ("Russian" -> "ru"); codes pass through."""
    if not name:
        return None
    key = name.strip().lower()
    if key in LANGUAGE_CODES:
        return LANGUAGE_CODES[key]
    if key in LANGUAGE_NAMES:
        return key
    return None


def language_name(code: str | None) -> str | None:
    if not code:
        return None
    return LANGUAGE_NAMES.get(code, code)
