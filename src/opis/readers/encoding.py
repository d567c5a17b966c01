"""Bytes of a text source to text, or a clear refusal naming the line.

UTF-8 is the norm, but curators also bring exports saved by old Windows, Soviet-era
and East Asian tools (cp1251, KOI8-R, EUC-KR, GB18030, Big5, Shift_JIS, latin-1).
A legacy encoding is accepted only when charset-normalizer is confident *and* the
decoded text reads as writing in that encoding's script, line by line: a file is
either read right or refused with its first bad line, never stored garbled.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from opis.readers.base import ReadError

# Codec names charset-normalizer may choose among: the encodings this domain's
# sources were typed in. Supersets come first; _narrowest() names the exact one.
CANDIDATES = ("cp1251", "koi8_r", "cp949", "gb18030", "big5", "shift_jis", "cp1252", "latin_1")
# Fewer non-ASCII bytes than this are too little evidence to tell, say, cp1251 from
# KOI8-R or Big5: such a file is refused rather than guessed.
MIN_EVIDENCE = 8
# charset-normalizer's "mess" ratio (0 clean .. 1 noise) above which a guess is not trusted.
MAX_CHAOS = 0.15
REFUSAL = "not valid UTF-8 and no single encoding fits; re-save as UTF-8"

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


def decode_detected(path: Path | str, data: bytes) -> Decoded:
    """UTF-8 (BOM or not), UTF-16/32 with a BOM, else a confidently detected legacy encoding.

    Raises ReadError for empty files, binary data, files mixing encodings, and files
    whose encoding cannot be told with confidence, naming the first bad line.
    """
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
    guess = None
    for codec in _ranked(data):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        garbled = _implausible_line(text, _FAMILY[codec])
        if garbled is None:
            return _checked(path, Decoded(text, _narrowest(data, codec)))
        guess = guess or f"; read as {_narrowest(data, codec)}, line {garbled} comes out garbled"
    raise ReadError(path, f"{REFUSAL} ({where}{guess or ''})", bad_line)


def _ranked(data: bytes) -> list[str]:
    """Candidate codecs, charset-normalizer's confident guesses first. A match stands
    for every codec that decodes to the same text (cp1251 and cp1252 agree on curly
    quotes), so those come along, to be told apart by the script checks."""
    out: list[str] = []
    for match in from_bytes(data, cp_isolation=list(CANDIDATES), enable_fallback=False):
        if match.chaos > MAX_CHAOS:
            continue
        for codec in (match.encoding, *match.could_be_from_charset):
            if codec in _FAMILY and codec not in out:
                out.append(codec)
    return out


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
        if letters < MIN_SCRIPT_LETTERS:
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
