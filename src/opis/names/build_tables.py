"""Generate the romanization tables that ``opis.names.romanize`` loads at run time.

Run ``python -m opis.names.build_tables`` after installing the ``tables`` extra
(``pip install -e '.[tables]'``). The syllable inventories come from libraries that
romanize native script, so nobody types a syllable table by hand:

* Chinese: every reading in ``pypinyin``'s character dictionary gives a Pinyin syllable,
  and ``pypinyin``'s Wade-Giles converter gives its Wade-Giles spelling.
* Korean: ``korean_romanizer`` gives the Revised Romanization of each of the 11,172
  Hangul syllables; McCune-Reischauer and the 1992 DPRK system are composed here from
  the per-letter (jamo) values of those systems; ``hanja`` tells which syllables are
  Sino-Korean readings, i.e. the ones names are made of.
* Russian: ``iuliia`` gives the Cyrillic letter table used at run time and the outputs of
  several schemes, against which the runtime folding rules are checked.

The runtime module imports none of these libraries; it only reads the JSON written here.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

TABLES_DIR = Path(__file__).with_name("tables")

_HANGUL_BASE = 0xAC00
_HANGUL_COUNT = 11172
_N_MEDIALS = 21
_N_FINALS = 28

# Per-letter values of McCune-Reischauer (1939), in Unicode jamo order. These are the
# scheme's alphabet (68 letters), not a syllable table; syllables are composed from them.
_MR_INITIALS = (
    "k", "kk", "n", "t", "tt", "r", "m", "p", "pp", "s",
    "ss", "", "ch", "tch", "ch'", "k'", "t'", "p'", "h",
)  # fmt: skip
_MR_MEDIALS = (
    "a", "ae", "ya", "yae", "ŏ", "e", "yŏ", "ye", "o", "wa", "wae",
    "oe", "yo", "u", "wŏ", "we", "wi", "yu", "ŭ", "ŭi", "i",
)  # fmt: skip
_MR_FINALS = (
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l",
    "p", "l", "m", "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t",
)  # fmt: skip
# The 1992 DPRK system differs from MR only in marking aspiration with h.
_DPRK_INITIALS = _MR_INITIALS[:14] + ("ch", "kh", "th", "ph", "h")
# MR voices plain stops between voiced sounds (Tubong, Ilsŏng but Kŏn-gŏn); a name's
# second syllable then starts with g, d, b or j.
_MR_VOICED = {"k": "g", "t": "d", "p": "b", "ch": "j"}

# Chinese syllables without a vowel (interjections) would let segmentation eat consonants.
_VOWELS = set("aeiouv")


def fold_class(canonical: str) -> str:
    """Map a canonical Pinyin or Revised Romanization syllable to its sound class.

    The class forgets what romanizations disagree about: voicing and aspiration
    (k/g, t/d, p/b), the affricates (j, ch, zh, q, z, c), the sibilants (s, sh, x),
    r/l, and the Korean vowel spellings eo/ŏ/o and eu/ŭ/u, which informal Korean
    spellings mix (Sung for 성 and 승). It is lossy on purpose.
    """
    s = canonical.replace("v", "u").replace("ü", "u")
    s = re.sub(r"^(?:zh|ch|jj|j|q|z|c)", "ch", s)
    s = re.sub(r"^(?:sh|ss|x|s)", "s", s)
    s = re.sub(r"^(?:kk|g|k)", "k", s)
    s = re.sub(r"^(?:tt|d|t)", "t", s)
    s = re.sub(r"^(?:pp|b|p)", "p", s)
    s = re.sub(r"^[rl]", "l", s)
    s = re.sub(r"^yi", "i", s)
    s = re.sub(r"^wu", "u", s)
    s = s.replace("eo", "o").replace("eu", "u").replace("u", "o")
    return re.sub(r"o+", "o", s)


def ascii_spelling(text: str) -> str:
    """Lowercase ASCII form of a romanized syllable: no diacritics, no apostrophes."""
    text = text.replace("ü", "u").replace("Ü", "u")
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", "", plain.lower())


def _version(dist: str) -> str:
    return importlib.metadata.version(dist)


# --------------------------------------------------------------------------- Chinese


def _pinyin_syllables() -> list[str]:
    """All toneless Pinyin syllables that pypinyin's dictionary uses."""
    from pypinyin import Style
    from pypinyin.pinyin_dict import pinyin_dict
    from pypinyin.style import convert

    found: set[str] = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            plain = convert(reading, Style.NORMAL, strict=True)
            if plain and set(plain) & _VOWELS:
                found.add(plain)
    return sorted(found)


def _wade_giles(pinyin: str) -> str:
    """Wade-Giles for a toneless Pinyin syllable, via pypinyin.

    pypinyin's converter ignores table rows whose two sides are equal (lai -> lai) and
    then rebuilds them from initial + final rules, which turns -ai into -ei; reading the
    whole-syllable tables first avoids that.
    """
    from pypinyin import Style
    from pypinyin.style import convert
    from pypinyin.style import wadegiles as wg

    key = pinyin.replace("v", "ü")
    for table in (wg._except_table, wg._convert_table):
        for source, target in table:
            if source == key:
                return target
    return convert(pinyin, Style.WADEGILES, strict=True)


def chinese_sources() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(spelling, class) pairs: Pinyin, then Wade-Giles and common Pinyin variants."""
    pinyin_pairs: list[tuple[str, str]] = []
    variant_pairs: list[tuple[str, str]] = []
    for syllable in _pinyin_syllables():
        cls = fold_class(syllable)
        pinyin_pairs.append((ascii_spelling(syllable.replace("v", "ü")), cls))
        if syllable.startswith(("lv", "nv")):
            variant_pairs.append((syllable.replace("v", "yu"), cls))
        wade = ascii_spelling(_wade_giles(syllable).replace("v", "ü"))
        variant_pairs.append((wade, cls))
        if wade == "ssu":
            variant_pairs.append(("szu", cls))
        if re.fullmatch(r"[a-z]*[^aeiouy]e", wade):  # ê is often written eh: Chu Teh
            variant_pairs.append((wade + "h", cls))
    return pinyin_pairs, variant_pairs


# --------------------------------------------------------------------------- Korean


def _jamo(index: int) -> tuple[int, int, int]:
    return index // (_N_MEDIALS * _N_FINALS), (index // _N_FINALS) % _N_MEDIALS, index % _N_FINALS


# Surname readings that the hanja table lacks because it keeps one reading per character
# (金 is 금 there; as the commonest Korean surname it is 김).
_EXTRA_NAME_SYLLABLES = "김"


def _sino_korean() -> set[str]:
    """Hangul syllables that are readings of some Hanja: the stuff of Korean names."""
    from hanja.table import hanja_table

    readings = {
        reading
        for reading in hanja_table.values()
        if len(reading) == 1 and 0 <= ord(reading) - _HANGUL_BASE < _HANGUL_COUNT
    }
    return readings | set(_EXTRA_NAME_SYLLABLES)


def _informal(rr: str, initial: int, medial: int, final: int) -> Iterator[str]:
    """Spellings Koreans use in passports and the press that no scheme gives."""
    if medial == 13:  # ㅜ: Koo, Moon, Woo
        yield rr.replace("u", "oo", 1) if initial != 11 else "woo" + rr[1:]
    if medial == 17:  # ㅠ: Yoo, Yoon
        yield rr.replace("yu", "yoo", 1)
    if medial == 6:  # ㅕ: Young, Youn
        yield rr.replace("yeo", "you", 1)
    if medial == 20:  # ㅣ: Lee, Kee
        yield rr.replace("i", "ee", 1)
    if medial == 19:  # ㅢ: Eui
        yield rr.replace("ui", "eui", 1)
    if medial == 11:  # ㅚ: Choi
        yield rr.replace("oe", "oi", 1)
    if final == 0 and medial == 4:  # ㅓ: Suh, Huh
        yield rr[:-2] + "uh"
    if final == 0 and medial == 8:  # ㅗ: Oh, Roh, Koh
        yield rr + "h"
    if initial == 9 and medial in (16, 20):  # ㅅ + ㅟ/ㅣ: Shin, Shim, Shwi
        yield "sh" + rr[1:]


def korean_sources() -> tuple[list[tuple[str, str]], ...]:
    """(spelling, class) pairs for Sino-Korean syllables and for the rest, by scheme."""
    from korean_romanizer.romanizer import Romanizer

    sino = _sino_korean()
    common: dict[str, list[tuple[str, str]]] = {"rr": [], "mr": [], "informal": []}
    rare: list[tuple[str, str]] = []
    special: list[tuple[str, str]] = []
    for index in range(_HANGUL_COUNT):
        char = chr(_HANGUL_BASE + index)
        initial, medial, final = _jamo(index)
        rr = Romanizer(char).romanize()
        cls = fold_class(rr)
        mr = ascii_spelling(_MR_INITIALS[initial] + _MR_MEDIALS[medial] + _MR_FINALS[final])
        if initial == 9 and medial == 16:  # MR writes 쉬 as shwi
            mr = "sh" + mr[1:]
        dprk = ascii_spelling(_DPRK_INITIALS[initial] + _MR_MEDIALS[medial] + _MR_FINALS[final])
        voiced = _MR_VOICED.get(_MR_INITIALS[initial])
        mr_voiced = (
            ascii_spelling(voiced + _MR_MEDIALS[medial] + _MR_FINALS[final]) if voiced else ""
        )
        informal = [(s, cls) for s in _informal(rr, initial, medial, final)]
        if char in sino:
            common["rr"].append((rr, cls))
            common["mr"].extend([(mr, cls), (dprk, cls), (mr_voiced, cls)])
            common["informal"].extend(informal)
            if initial == 18 and medial == 19:  # 희 is "Hee" in names, not 히
                special.append(("hee", cls))
        else:
            rare.append((rr, cls))
    return common["rr"], common["mr"], special, common["informal"], rare


def hangul_letters() -> dict[str, list[str]]:
    """Revised Romanization per jamo, read off korean_romanizer and checked syllable-wise."""
    from korean_romanizer.romanizer import Romanizer

    def rr(index: int) -> str:
        return Romanizer(chr(_HANGUL_BASE + index)).romanize()

    silent = 11 * _N_MEDIALS * _N_FINALS  # ㅇ initial: the syllable starts with its vowel
    initials = [rr(i * _N_MEDIALS * _N_FINALS)[:-1] for i in range(19)]  # initial + ㅏ
    medials = [rr(silent + m * _N_FINALS) for m in range(_N_MEDIALS)]
    finals = [rr(silent + f)[1:] for f in range(_N_FINALS)]  # ㅏ + final
    mismatches = []
    for index in range(_HANGUL_COUNT):
        i, m, f = _jamo(index)
        if initials[i] + medials[m] + finals[f] != rr(index):
            mismatches.append(chr(_HANGUL_BASE + index))
    if mismatches:
        raise SystemExit(f"jamo composition disagrees with korean_romanizer: {mismatches[:20]}")
    return {"initials": initials, "medials": medials, "finals": finals}


# --------------------------------------------------------------------------- merging


def merge(
    sources: Iterable[tuple[str, list[tuple[str, str]]]],
) -> tuple[dict[str, str], list[str]]:
    """First source wins a spelling; later disagreeing claims are reported, not kept."""
    table: dict[str, str] = {}
    origin: dict[str, str] = {}
    conflicts: list[str] = []
    for name, pairs in sources:
        for spelling, cls in pairs:
            if not spelling or not set(spelling) & set("aeiouy"):
                continue
            if spelling not in table:
                table[spelling] = cls
                origin[spelling] = name
            elif table[spelling] != cls:
                conflicts.append(
                    f"{spelling}: {origin[spelling]}={table[spelling]} beats {name}={cls}"
                )
    return table, sorted(set(conflicts))


def build_cjk() -> tuple[dict[str, Any], list[str]]:
    pinyin_pairs, chinese_variants = chinese_sources()
    rr_pairs, mr_pairs, special, informal, rare = korean_sources()
    table, conflicts = merge(
        [
            ("pinyin", pinyin_pairs),
            ("rr", rr_pairs),
            ("mr/dprk", mr_pairs),
            ("korean-name", special),
            ("wade-giles", chinese_variants),
            ("korean-informal", informal),
        ]
    )
    # Syllables that are no Hanja reading hardly occur in names; letting them into the
    # segmentation table would make European words split (Mik-o-yan). They are kept
    # apart, only for keying text written in Hangul.
    hangul_only = {rr: cls for rr, cls in rare if rr not in table}
    by_class: dict[str, list[str]] = {}
    for spelling, cls in table.items():
        by_class.setdefault(cls, []).append(spelling)
    rare_by_class: dict[str, list[str]] = {}
    for spelling, cls in hangul_only.items():
        rare_by_class.setdefault(cls, []).append(spelling)
    payload = {
        "about": "romanized CJK syllable spelling -> sound class; see docs/romanization.md",
        "generated_by": "python -m opis.names.build_tables",
        "sources": {
            "pypinyin": _version("pypinyin"),
            "korean_romanizer": _version("korean_romanizer"),
            "hanja": _version("hanja"),
        },
        "classes": {cls: " ".join(sorted(s)) for cls, s in sorted(by_class.items())},
        "hangul_only": {cls: " ".join(sorted(s)) for cls, s in sorted(rare_by_class.items())},
    }
    return payload, conflicts


def build_cyrillic() -> dict[str, object]:
    """Cyrillic letter -> Latin, from iuliia's Wikipedia scheme (plain ASCII output)."""
    import iuliia

    letters = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў"
    mapping = {c: iuliia.WIKIPEDIA.translate("б" + c)[1:] for c in letters}
    return {
        "about": "Cyrillic letter -> Latin, iuliia WIKIPEDIA scheme, non-initial position",
        "generated_by": "python -m opis.names.build_tables",
        "sources": {"iuliia": _version("iuliia")},
        "letters": mapping,
    }


# --------------------------------------------------------------------------- checks

# Russian surnames (Cyrillic) whose scheme outputs must all fold to one key.
RUSSIAN_CHECK = (
    "Хрущёв", "Беляев", "Пономарёв", "Брежнев", "Жуков", "Маленков", "Молотов", "Громыко",
    "Ворошилов", "Шепилов", "Мухитдинов", "Фурцева", "Микоян", "Зиновьев", "Ельцин",
    "Горький", "Щербаков", "Суслов", "Косыгин", "Андропов", "Черненко", "Горбачёв", "Громов",
    "Шелепин", "Семёнов", "Фёдор", "Пётр", "Юрий", "Яковлев", "Ежов", "Берия", "Дзержинский",
    "Троцкий", "Каганович", "Булганин", "Первухин", "Сабуров", "Козлов", "Устинов", "Кузнецов",
)  # fmt: skip
RUSSIAN_SCHEMES = ("ALA_LC", "ALA_LC_ALT", "BGN_PCGN", "BS_2979", "ICAO_DOC_9303", "WIKIPEDIA")

# German (Duden) letter values, only to check the runtime rules against German spellings.
_DUDEN = {
    "а": "a", "б": "b", "в": "w", "г": "g", "д": "d", "е": "e", "ё": "jo", "ж": "sch",
    "з": "s", "и": "i", "й": "j", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "ch", "ц": "z", "ч": "tsch",
    "ш": "sch", "щ": "schtsch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "ju", "я": "ja",
}  # fmt: skip


def _duden(word: str) -> str:
    out = "".join(_DUDEN.get(c, c) for c in word.lower())
    return re.sub(r"^e", "je", out)


def check_russian() -> list[str]:
    """Words whose scheme outputs the runtime folding fails to unite."""
    import iuliia

    from opis.names import romanize

    failures = []
    for word in RUSSIAN_CHECK:
        spellings = {getattr(iuliia, s).translate(word).replace("ё", "ë") for s in RUSSIAN_SCHEMES}
        spellings.add(_duden(word))
        keys = {romanize.name_key(s) for s in spellings}
        if len(keys) > 1:
            failures.append(
                f"{word}: " + ", ".join(sorted(f"{s}->{romanize.name_key(s)}" for s in spellings))
            )
    return failures


def main() -> int:
    TABLES_DIR.mkdir(exist_ok=True)
    cjk, conflicts = build_cjk()
    outputs = {
        "cjk.json": cjk,
        "hangul.json": {
            "about": "Revised Romanization per jamo (initials, medials, finals)",
            "generated_by": "python -m opis.names.build_tables",
            "sources": {"korean_romanizer": _version("korean_romanizer")},
            **hangul_letters(),
        },
        "cyrillic.json": build_cyrillic(),
    }
    for name, payload in outputs.items():
        path = TABLES_DIR / name
        path.write_text(
            json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n",
            encoding="utf-8",
        )
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    print(f"{len(cjk['classes'])} syllable classes; {len(conflicts)} spelling conflicts")
    for line in conflicts:
        print("  conflict", line)

    from opis.names import romanize

    romanize._reset_caches()
    failures = check_russian()
    print(f"Russian scheme check: {len(RUSSIAN_CHECK) - len(failures)}/{len(RUSSIAN_CHECK)} agree")
    for line in failures:
        print("  differs", line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
