"""Bytes of a text source to text, or a clear refusal naming the line.

UTF-8 is the norm, but curators also bring exports saved by old Windows, Soviet-era
and East Asian tools (cp1251, KOI8-R, EUC-KR, GB18030, Big5, Shift_JIS, latin-1).
A legacy encoding is judged by what it produces, never by byte statistics alone:
every candidate that decodes the file is read, and a reading is plausible only when its
words are each in one script, its letters are the common ones of that script (GB2312
level 1 for simplified Chinese, Big5's frequent characters, JIS level 1 with kana for
Japanese, the letter frequencies of Russian for Cyrillic) and it reads as writing in
that script line by line. Exactly one plausible reading is accepted; none, or several
that differ (EUC-KR and GBK can both read a few bytes as common characters), and the
file is refused with a message naming the candidates and what each makes of the first
word, so the curator can say which with ``opis ingest --encoding``. A file is either
read right or refused, never stored garbled.
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass
from pathlib import Path

from opis.readers.base import ReadError

# The encodings this domain's sources were typed in, each read and judged by what it
# makes of the file. Supersets come first; _narrowest() names the exact one.
CANDIDATES = ("cp1251", "koi8_r", "cp949", "gb18030", "big5", "shift_jis", "cp1252", "latin_1")
# Fewer non-ASCII bytes than this are too little evidence to tell anything: refused.
MIN_EVIDENCE = 2
REFUSAL = "not valid UTF-8 and no single encoding fits; re-save as UTF-8"
# Share of a reading's CJK characters that must be the script's common ones, and how
# likely, letter by letter, a Cyrillic reading must be as Russian.
MIN_COMMON = 0.8
MIN_COMMON_HANGUL = 0.7  # CP949's extra syllables are rare, not absent ("똠방각하")
MIN_RUSSIAN = -3.6

# Control bytes that never occur in text in any candidate encoding (multi-byte
# encodings use only bytes >= 0x40 as trail bytes). Tab, LF, VT, FF, CR are text;
# a Ctrl-Z (0x1a) is tolerated only as the DOS end-of-file mark at the very end.
_CONTROL_BYTE = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]|\x1a(?=[\s\x1a]*[^\s\x1a])")
_HIGH_BYTES = bytes(range(0x80, 0x100))
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")

_CYR = "\u0400-\u052f"
_HANGUL = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_KANA = "\u3040-\u30ff\u31f0-\u31ff"
_BOPOMOFO = "\u3100-\u312f"
_LATIN = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
_FULLWIDTH = "\uff01-\uff60\uffe0-\uffee"  # fullwidth ASCII and signs, used in CJK text

# Letters each encoding family is for. Non-ASCII letters outside its set, C1 control
# characters and private-use characters mark a line as mis-decoded.
_FAMILY = {
    "cp1251": "cyrillic", "koi8_r": "cyrillic",
    "cp949": "korean", "euc_kr": "korean",
    "gb18030": "chinese", "gbk": "chinese", "gb2312": "chinese", "big5": "chinese",
    "shift_jis": "japanese",
    "cp1252": "latin", "latin_1": "latin",
}
_LETTERS = {
    "cyrillic": _CYR,
    "korean": _HANGUL + _HAN + _FULLWIDTH,
    "chinese": _HAN + _BOPOMOFO + _FULLWIDTH + _LATIN,  # pinyin with tone marks
    "japanese": _HAN + _KANA + _FULLWIDTH,
    "latin": _LATIN,
}
_FOREIGN = {
    family: re.compile(rf"(?![{letters}])[^\W\d_\x00-\x7f]|[\x80-\x9f\ue000-\uf8ff]")
    for family, letters in _LETTERS.items()
}
# A Cyrillic letter glued to a Latin one ("Gesprдch", "Cafй"): German or French
# read as cp1251. Counted with lookahead so both sides of an inner letter count.
_CYR_LATIN = re.compile(rf"(?=[a-zA-Z][{_CYR}]|[{_CYR}][a-zA-Z])")
# Lower case followed by upper case inside a word ("уПЧЕТЫЕ"): KOI8-R read as cp1251
# or the reverse; natural Russian capitalizes only at a word's start.
_CYR_WORD = re.compile(rf"[{_CYR}]{{2,}}")
_LOWER_UPPER = re.compile(r"[а-яёђ-џ][А-ЯЁЀ-Џ]")
# A CJK character between Latin letters ("Ausw갋tige"): Latin-1 read as a CJK encoding.
_CJK_IN_LATIN = {
    family: re.compile(rf"[a-zA-Z][{letters}]+[a-zA-Z]")
    for family, letters in (
        ("korean", _HANGUL + _HAN), ("chinese", _HAN + _BOPOMOFO), ("japanese", _HAN + _KANA),
    )
}
# A word of 3+ letters all from Latin-1's upper half ("Ñîâåðøåííî"): Cyrillic read as cp1252.
_ALL_HIGH_LATIN = re.compile(rf"(?<![a-zA-Z{_LATIN}])[{_LATIN}]{{3,}}(?![a-zA-Z{_LATIN}])")
_LATIN_HIGH = re.compile(rf"[{_LATIN}]")
_ASCII_LETTER = re.compile(r"[a-zA-Z]")
_KANA_CHAR = re.compile(rf"[{_KANA}]")
# The letters that prove a non-Latin family: a cp1251 reading of a few stray bytes
# yields isolated letters ("Ѓ", "Ў"), not words.
_SCRIPT = {
    "cyrillic": re.compile(rf"[{_CYR}]"),
    "korean": re.compile(rf"[{_HANGUL}{_HAN}]"),
    "chinese": re.compile(rf"[{_HAN}]"),
    "japanese": re.compile(rf"[{_HAN}{_KANA}]"),
}
_CYR_LONG_WORD = re.compile(rf"[{_CYR}]{{3,}}")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
MIN_SCRIPT_LETTERS = 4


@dataclass(frozen=True)
class Decoded:
    """Text and the encoding it was read in ("utf-8", "cp1251", "euc-kr", ...)."""

    text: str
    encoding: str


def decode_text(path: Path | str, data: bytes) -> str:
    """The text of a source file's bytes; see decode_detected for what is refused."""
    return decode_detected(path, data).text


def detect_encoding(path: Path | str, data: bytes) -> str:
    """Just the encoding name, for readers that record it beside their own decoding."""
    return decode_detected(path, data).encoding


def decode_detected(path: Path | str, data: bytes, encoding: str | None = None) -> Decoded:
    """UTF-8 (BOM or not), UTF-16/32 with a BOM, else the one legacy encoding whose
    reading is plausible; ``encoding``, when given, is used instead (decode_as).

    Raises ReadError for empty files, binary data, files mixing encodings, and files
    whose encoding cannot be told with confidence, naming the first bad line.
    """
    if encoding:
        return decode_as(path, data, encoding)
    if not data.strip():
        raise ReadError(path, "empty file", 1)
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return _decode_with_bom(path, data, codec)
    m = _CONTROL_BYTE.search(data)
    if m:
        raise ReadError(path, _binary_message(m.group()[0]), _line_of(data, m.start()))
    if b"\x1a" in data:  # only white space follows it (checked above): cut the DOS EOF mark
        data = data[: data.index(b"\x1a")]
    try:
        return _checked(path, Decoded(data.decode("utf-8"), "utf-8"))
    except UnicodeDecodeError as e:
        bad_at = e.start
    bad_line = _line_of(data, bad_at)
    where = f"byte 0x{data[bad_at]:02x}"
    utf8_line = _first_utf8_line(data)
    if utf8_line is not None:
        raise ReadError(
            path,
            f"{REFUSAL} (line {utf8_line} is UTF-8 but this line is not: {where})",
            bad_line,
        )
    if len(data) - len(data.translate(None, _HIGH_BYTES)) < MIN_EVIDENCE:
        raise ReadError(
            path,
            f"not valid UTF-8 ({where}) and too little non-ASCII text to tell its "
            "encoding; re-save as UTF-8",
            bad_line,
        )
    readings: dict[str, str] = {}  # text -> codec
    garbled: list[str] = []
    for codec in CANDIDATES:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if _implausible_line(text, _FAMILY[codec]) is None and _plausible(text, codec):
            readings.setdefault(text, codec)
        else:
            garbled.append(codec)
    readings = _preferred(readings, data)
    if len(readings) == 1:
        [(text, codec)] = readings.items()
        return _checked(path, Decoded(text, _narrowest(data, codec)))
    if len(readings) > 1:
        names = "; ".join(f"{_narrowest(data, c)} reads {_first_word(t)!r}"
                          for t, c in readings.items())
        raise ReadError(path, f"not valid UTF-8, and more than one encoding reads it as "
                              f"plausible text ({names}); say which with --encoding, or "
                              "re-save as UTF-8", bad_line)
    tried = ", ".join(_narrowest(data, c) for c in garbled) or "none decodes it"
    raise ReadError(path, f"{REFUSAL} ({where}; tried {tried}: each comes out garbled)",
                    bad_line)


def decode_as(path: Path | str, data: bytes, encoding: str) -> Decoded:
    """The text in the encoding the curator named (``opis ingest --encoding``): strict,
    so a wrong name is refused with the line, never stored garbled."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise ReadError(path, f"unknown encoding {encoding!r}") from None
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as e:
        raise ReadError(path, f"not valid {encoding} (byte 0x{data[e.start]:02x})",
                        _line_of(data, e.start)) from None
    return _checked(path, Decoded(text.removeprefix("\ufeff"), encoding.lower()))


# Russian letter frequencies (per mille, of letters): a Cyrillic reading of the wrong
# Cyrillic code page swaps case and shuffles letters into rare ones ("ЯЕЙПЕРМН").
_RUSSIAN = dict(zip("оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё",
                    (110, 85, 80, 73, 67, 63, 55, 47, 45, 44, 35, 32, 30, 28, 26, 20, 19, 17,
                     17, 16, 16, 14, 12, 10, 9, 7, 6, 5, 4, 3, 3, 0.4, 0.4), strict=True))
_NON_ASCII_WORD = re.compile(r"[^\W\d_]*[^\x00-\x7f][^\W\d_]*")
_HAN_CHAR = re.compile(f"[{_HAN}]")
_HANGUL_CHAR = re.compile(f"[{_HANGUL}]")
_CYR_CHAR = re.compile(f"[{_CYR}]")
_CYR_VOWEL = re.compile("[аеёиоуыэюя]")
_TYPOGRAPHY = "’‘“”«»–—…€£§°\u00a0\u2009\u202f"
_HIGH_SIGN = re.compile(rf"(?<=\S)(?![{_TYPOGRAPHY}])[^\x00-\x7f\w](?=\S)")


def _sign_inside_word(text: str) -> bool:
    """A sign of the upper half (not a letter, not typography) between two non-spaces."""
    return _HIGH_SIGN.search(text) is not None


def _preferred(readings: dict[str, str], raw: bytes) -> dict[str, str]:
    """Readings left once the weaker of a known confusion is dropped: of two Cyrillic
    readings the one in natural case (cp1251 lower case is KOI8-R upper case, so the
    wrong one shouts); and Hangul over Han when every character of the Han reading
    falls in the part of GB2312/Big5 that EUC-KR's Hangul bytes cover (lead bytes
    B0–C8: by chance, 0.6 to the n for n Chinese characters), from five on."""
    by_family: dict[str, list[str]] = {}
    for text, codec in readings.items():
        by_family.setdefault(_FAMILY[codec], []).append(text)
    cyrillic = by_family.get("cyrillic", [])
    if len(cyrillic) == 2:
        lower = [_lower_share(t) for t in cyrillic]
        if abs(lower[0] - lower[1]) > 0.5:
            weaker = cyrillic[0] if lower[0] < lower[1] else cyrillic[1]
            readings = {t: c for t, c in readings.items() if t != weaker}
    # Cyrillic letters are bytes C0–FF in both code pages; Chinese text keeps all its
    # bytes there by chance about 0.2 to the n: a plausible Cyrillic reading wins.
    left = [c for c in readings.values() if _FAMILY[c] == "cyrillic"]
    if len(left) == 1 and len(high := [b for b in raw if b >= 0x80]) >= 6 and \
            sum(b >= 0xC0 or b in (0xA8, 0xB8, 0xA3, 0xB3) for b in high) >= 0.9 * len(high):
        readings = {t: c for t, c in readings.items() if _FAMILY[c] != "chinese"}
    korean = by_family.get("korean", [])
    if len(korean) == 1 and len(_HANGUL_CHAR.findall(korean[0])) >= 5:
        readings = {t: c for t, c in readings.items() if _FAMILY[c] != "chinese"}
    return readings


def _lower_share(text: str) -> float:
    letters = [c for c in text if _CYR_CHAR.match(c)]
    return sum(c.islower() for c in letters) / len(letters) if letters else 0.0


def _plausible(text: str, codec: str) -> bool:
    """Whether the words a reading makes are plausible writing for its family: one
    script per word, and the script's common letters."""
    family = _FAMILY[codec]
    words = [w for w in _NON_ASCII_WORD.findall(text) if any(c.isalpha() for c in w)]
    if family == "cyrillic":
        letters = [c for w in words for c in w.lower() if c in _RUSSIAN]
        if not letters:
            return False
        score = sum(math.log(_RUSSIAN[c] / 1000) for c in letters) / len(letters)
        # A Russian word in lower case has a vowel; only abbreviations ("КПСС") do not,
        # and they are in capitals.
        lower = [w for w in words if len(w) > 1 and w.islower()]
        voiceless = sum(1 for w in lower if not _CYR_VOWEL.search(w))
        return score >= MIN_RUSSIAN and voiceless <= 0.2 * len(lower)
    if family == "latin":
        # Accented letters sit inside words of plain ones ("Gespräch", "Grüße"), or
        # stand short ("à", "où"); a long word of them only is Cyrillic ("îåäíîå").
        # Signs of the upper half run into letters only in a CJK file read as Latin
        # ("‚Å‚·‚©", "“Œ‹ž"); typography (’ « » – …) does not count.
        if _sign_inside_word(text):
            return False
        return all(_ASCII_LETTER.search(w) or len(w) < 3 for w in words)
    han = [c for w in words for c in w if _HAN_CHAR.match(c)]
    for w in words:
        if family == "korean" and _HAN_CHAR.search(w) and _HANGUL_CHAR.search(w):
            return False  # Hangul and Hanja in one word: a Chinese file read as Korean
        if family != "japanese" and _KANA_CHAR.search(w):
            return False
    if family == "korean":  # modern Korean is written in Hangul, mostly KS X 1001's
        hangul = _HANGUL_CHAR.findall(text)
        common = sum(1 for c in hangul if _in_ks_x_1001(c))
        return not han and common >= MIN_COMMON_HANGUL * len(hangul)
    if not han:
        return family == "japanese"
    common = sum(1 for c in han if _common_han(c, codec))
    return common >= MIN_COMMON * len(han)


def _in_ks_x_1001(char: str) -> bool:
    """One of the 2,350 common syllables EUC-KR encodes in two bytes (Python's codec
    spells the other syllables as eight-byte jamo sequences)."""
    try:
        return len(char.encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False


def _common_han(char: str, codec: str) -> bool:
    """A character among the most used of its encoding's repertoire: GB2312 level 1
    (lead bytes B0–D7), Big5's frequent block (A4–C6), JIS X 0208 level 1 (88–9F)."""
    try:
        if codec == "gb18030":
            return 0xB0 <= char.encode("gb2312")[0] <= 0xD7
        if codec == "big5":
            return 0xA4 <= char.encode("big5")[0] <= 0xC6
        if codec == "shift_jis":
            return 0x88 <= char.encode("shift_jis")[0] <= 0x9F
    except UnicodeEncodeError:
        return False
    return True


def _first_word(text: str) -> str:
    m = _NON_ASCII_WORD.search(text)
    return m.group() if m else ""


def _decode_with_bom(path: Path | str, data: bytes, codec: str) -> Decoded:
    """A byte-order mark names the encoding: decode strictly or refuse."""
    try:
        text = data.decode(codec if codec != "utf-8" else "utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].decode(codec, errors="replace").count("\n") + 1
        raise ReadError(
            path, f"starts with a {codec.upper()} byte-order mark but is not valid {codec.upper()}",
            line,
        ) from None
    text = text.removeprefix("\ufeff")
    if "\x1a" in text and not text[text.index("\x1a") :].strip("\x1a \t\r\n"):
        text = text[: text.index("\x1a")]
    if not text.strip():
        raise ReadError(path, "empty file", 1)
    m = _CONTROL_CHAR.search(text)
    if m:
        raise ReadError(path, _binary_message(ord(m.group())), text.count("\n", 0, m.start()) + 1)
    return Decoded(text, codec)


def _checked(path: Path | str, decoded: Decoded) -> Decoded:
    if not decoded.text.strip():
        raise ReadError(path, "empty file", 1)
    return decoded


def _binary_message(byte: int) -> str:
    what = "NUL byte" if byte == 0 else f"control byte 0x{byte:02x}"
    return f"binary data ({what}), not a text file"


def _line_of(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def _first_utf8_line(data: bytes) -> int | None:
    """The first line holding non-ASCII text that is valid UTF-8, in a file that is not:
    such a file mixes UTF-8 with another encoding."""
    for n, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return n
    return None


def _implausible_line(text: str, family: str) -> int | None:
    """The first line that does not read as text in the family's script, if any.

    Whole-file checks come first and answer the line of the first non-ASCII character:
    a non-Latin script must show real words of its letters; Japanese always has kana;
    Western European text has far fewer accented letters than plain ones. (A Latin
    reading may show no letters at all: English typed in Word has only curly quotes.)
    """
    first = _NON_ASCII.search(text)
    first_line = text.count("\n", 0, first.start()) + 1 if first else 1
    if family in _SCRIPT:
        letters = len(_SCRIPT[family].findall(text))
        if letters < (MIN_SCRIPT_LETTERS if family == "cyrillic" else 2):
            return first_line
        if family == "cyrillic" and sum(map(len, _CYR_LONG_WORD.findall(text))) < letters / 2:
            return first_line
    if family == "japanese" and not _KANA_CHAR.search(text):
        return first_line
    if family == "latin":
        high = len(_LATIN_HIGH.findall(text))
        if high > 0.3 * (high + len(_ASCII_LETTER.findall(text))):
            return first_line
    foreign = _FOREIGN[family]
    for n, line in enumerate(text.split("\n"), start=1):
        if line.isascii():
            continue
        if foreign.search(line):
            return n
        if family == "cyrillic":
            if len(_CYR_LATIN.findall(line)) >= 2:
                return n
            words = _CYR_WORD.findall(line)
            odd = sum(1 for w in words if _LOWER_UPPER.search(w))
            if odd >= 2 and odd >= 0.1 * len(words):
                return n
        elif family == "latin":
            if len(_ALL_HIGH_LATIN.findall(line)) >= 2:
                return n
        elif _CJK_IN_LATIN[family].search(line):
            return n
    return None


def _narrowest(data: bytes, codec: str) -> str:
    """The plainest standard name that still decodes the file ("euc-kr" over "cp949")."""
    narrower = {
        "cp949": ("euc_kr",), "gb18030": ("gb2312", "gbk"), "cp1252": ("latin_1",),
    }.get(codec, ())
    for name in narrower:
        if name == "latin_1" and re.search(rb"[\x80-\x9f]", data):
            continue
        try:
            data.decode(name)
        except UnicodeDecodeError:
            continue
        codec = name
        break
    return {"latin_1": "latin-1", "koi8_r": "koi8-r", "euc_kr": "euc-kr"}.get(codec, codec)
