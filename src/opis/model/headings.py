"""Name headings as catalogues print them, and the names people read in running text.

Archives and FRUS index people under an inverted heading ("Nehru, Jawaharlal",
"Chiang, Ching-kuo (Jiang Jingguo)"); pages and search want the name as a reader
writes it. Kept here, pure and small, because readers and the enrichment layer both
need the same answer.

The rule for name order (see :func:`split_heading`):

- Western names are written given name first: "Nehru, Jawaharlal" -> "Jawaharlal Nehru".
- Chinese, Korean, Japanese and Vietnamese names are written surname first, without
  a comma: "Chiang, Ching-kuo" -> "Chiang Ching-kuo". A heading is taken as East
  Asian when its given name has no initial ("Robert B."), opens with no title
  ("Dr.", "General"), and one of these holds: the given name is a hyphenated
  syllable pair ("Ching-kuo", "Chung-hwan"), the heading carries a Hepburn macron
  ("Satō, Eisaku"), or the surname is in :data:`EAST_ASIAN_SURNAMES`.
- Surnames common in the West too ("Lee", "Park", "Moon", "Young") are left out of
  that table on purpose: a wrong reordering is worse than none, and
  "Park, Chung-hee" is still caught by its hyphen.
"""

from __future__ import annotations

import re

# Common romanized surnames (Pinyin, Wade-Giles, McCune-Reischauer/Revised, Hepburn,
# Vietnamese). Lowercase, macrons kept where Hepburn writes them.
_SURNAMES = """
    bai cai cao chang chao chen cheng chiang chien chou chu chuang deng ding dong du duan
    fan fang feng fu gao gong gu guan guo han hao he hou hsu hsueh hu hua huang ji jia
    jiang jin kang kao kuo kung li liang liao lin liu lo lu luo ma mao meng pan peng qian
    qiao qin qiu ren shen sheng shi song soong su sun tan tang tao teng tian tsai tseng
    wan wang wei wen wu xi xia xiao xie xu xue yan yang yao ye yeh yin yu yuan zeng zhang zhao
    zheng zhou zhu zhuang
    ahn bae baek chae cho choe choi chon chough chun chung ha heo hong hwang im jang jeon
    jeong jo ju kim ko kwak kwon min mun nam noh oh pae paek pak pyun rhee ro
    roh ryu seo shin sin so son suh sung um won yi yoo yoon yun
    abe aichi fujiyama fukuda hatoyama ikeda inoue ishii ishibashi ito itō kato katō
    kawase kishi kobayashi kono kōno matsumoto miki miyazawa nakajima nakasone nishimura
    ohira ōhira saito saitō sasaki sato satō shigemitsu shiina suzuki takahashi takeshita
    tanaka ushiba watanabe yamada yamamoto yoshida
    ngo nguyen pham tran vo vu
"""
EAST_ASIAN_SURNAMES: frozenset[str] = frozenset(_SURNAMES.split())

_PAREN = re.compile(r"\s*\(([^()]*)\)")
_MACRON = re.compile(r"[āēīōūĀĒĪŌŪ]")
_SYLLABLE_PAIR = re.compile(r"^[A-Z][a-z]+-[a-z]+$")  # Ching-kuo, Chung-hwan, Kai-shek
_INITIAL = re.compile(r"(?:^|\s)[A-Z]\.")
_SUFFIXES = frozenset({"jr.", "jr", "sr.", "sr", "ii", "iii", "iv"})
# A given part that opens with a title or rank is written Western style: "Dr. Yang".
_TITLE_WORDS = (
    "dr. dr mr. mr mrs. mrs ms. ms sir dame lady lord general admiral colonel major captain"
    " lieutenant commander marshal ambassador president prince princess king queen rev."
    " reverend father madame mme. mme"
)
_TITLES = frozenset(_TITLE_WORDS.split())


def is_personal_heading(heading: str) -> bool:
    """True for an inverted personal heading ("Surname, Given"), False for a corporate one.

    Corporate headings use full stops between levels ("Japan. Foreign Ministry") and
    rarely a comma; a short comma-separated surname part is taken as a person.
    """
    base = _PAREN.sub("", heading).strip()
    if "," not in base:
        return False
    surname, _, given = base.partition(",")
    surname, given = surname.strip(), given.strip().strip(",").strip()
    if not surname or not given or "." in surname:
        return False
    return len(surname.split()) <= 3 and given[0].isalpha()


def _is_east_asian(surname: str, given: str) -> bool:
    first_given = given.split()[0] if given.split() else ""
    if _INITIAL.search(given) or first_given.lower() in _TITLES:
        return False
    return bool(
        _SYLLABLE_PAIR.match(first_given)
        or _MACRON.search(surname + given)
        or surname.lower() in EAST_ASIAN_SURNAMES
    )


def _natural(heading: str) -> str:
    """One inverted personal heading (no parentheses) in reading order."""
    parts = [p.strip() for p in heading.split(",") if p.strip()]
    if len(parts) < 2:
        return heading.strip()
    surname, given, rest = parts[0], parts[1], parts[2:]
    suffix = " ".join(p for p in rest if p.lower() in _SUFFIXES)
    east_asian = _is_east_asian(surname, given)
    name = f"{surname} {given}" if east_asian else f"{given} {surname}"
    return f"{name} {suffix}".strip()


def split_heading(heading: str) -> tuple[str, list[str]]:
    """The display name of a heading and the variant names its parentheses carry.

    "Chiang, Ching-kuo (Jiang Jingguo)" -> ("Chiang Ching-kuo", ["Jiang Jingguo"]);
    'Blair, Anthony Charles Lynton ("Tony")' -> ("Anthony Charles Lynton Blair",
    ["Tony Blair"]); corporate headings come back unchanged with no variants.
    """
    heading = " ".join(heading.split())
    if not is_personal_heading(heading):
        return heading, []
    inner = [m.strip() for m in _PAREN.findall(heading) if m.strip()]
    base = _PAREN.sub("", heading).strip().rstrip(",").strip()
    surname = base.split(",")[0].strip()
    display = _natural(base)
    variants: list[str] = []
    for v in inner:
        if v[0] in "\"'“‘" and v[-1] in "\"'”’":  # a nickname: "Tony" -> "Tony Blair"
            nick = v.strip("\"'“”‘’ ")
            v = f"{nick} {surname}" if nick else ""
        elif "," in v:  # an inverted variant such as "Cho, Chung W."
            v = _natural(v)
        if v and v != display and v not in variants:
            variants.append(v)
    return display, variants


def display_name(heading: str) -> str:
    """The name as running text writes it (see :func:`split_heading`)."""
    return split_heading(heading)[0]
