"""Authority decisions, independent of storage and of the web.

Which entity a spelling belongs to is decided on its romanization key plus context:
two people may share a key, so when several entities match, the one already named
in the same record wins, then the one named most often. "Kim Il" and "Kim Il Sung"
have different keys and never merge.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from opis.names.romanize import name_key

HONORIFIC_PREFIX = re.compile(
    r"^(?:(?:Cdes?\.|Comrades?|Tov\.|Mr\.|Mrs\.|Ms\.|Dr\.|Messrs\.|President|Premier|"
    r"Ambassador|Minister|Marshal|General(?:-(?:Lieutenant|Major|Colonel))?|Admiral|"
    r"Colonel|Chairman|Secretary)\s+)+")
POSSESSIVE = re.compile(r"['’]s$")


@lru_cache(maxsize=65536)
def clean_name(text: str) -> str:
    """A mention's words without honorific, rank or possessive ending."""
    name = " ".join(text.split())
    name = POSSESSIVE.sub("", HONORIFIC_PREFIX.sub("", name)).strip(" ,;:")
    if name.endswith(".") and not re.search(r"(?:^|\s)[A-Z]\.$", name):
        name = name[:-1]  # a sentence's full stop, not an initial
    return name


@lru_cache(maxsize=65536)
def key(text: str) -> str:
    return name_key(clean_name(text))


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return s[:80] or "x"


def new_entity_id(kind: str, preferred: str, exists: Callable[[str], bool]) -> str:
    """``kind/slug``, with a number when the slug is taken by another entity."""
    base = f"{kind}/{slug(preferred)}"
    candidate, n = base, 2
    while exists(candidate):
        candidate = f"{base}-{n}"
        n += 1
    return candidate


def choose(candidates: list[str], in_record: set[str], counts: dict[str, int]) -> str | None:
    """Pick among entities sharing a key: same record first, then the most named."""
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    local = [c for c in candidates if c in in_record]
    pool = local or candidates
    return max(pool, key=lambda c: (counts.get(c, 0), c == pool[0]))
