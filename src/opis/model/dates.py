"""Dates as archives print them, turned into EDTF (Library of Congress).

Exact dates become plain ISO 8601 (``1956-12-28``); partial and uncertain ones keep
their uncertainty (``1967-11``, ``1957-01-X9``, ``1956?``). The ``edtf`` package
validates every value we produce and gives sortable bounds for range filters.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from functools import lru_cache

import edtf

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
    "apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
    "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10,
    "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
ROMAN_MONTHS = {
    "I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6,
    "VII": 7, "VIII": 8, "IX": 9, "X": 10, "XI": 11, "XII": 12,
}

_DAY = r"(?P<day>[0-9?]{1,2})"
_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
_YEAR = r"(?P<year>[0-9?]{4})"
_PATTERNS = [
    re.compile(rf"^{_MONTH}\s+{_DAY},?\s+{_YEAR}$"),  # December 28, 1956
    re.compile(rf"^{_DAY}\s+{_MONTH},?\s+{_YEAR}$"),  # 28 December 1956, ?9 Jan 1957
    re.compile(rf"^{_MONTH},?\s+{_YEAR}$"),  # November 1967
    re.compile(r"^(?P<day>\d{1,2})\.(?P<roman>[IVX]{1,4})\.(?P<year>\d{2}|\d{4})$"),  # 15.II.57
    re.compile(r"^(?P<year>\d{4})-(?P<month_n>\d{2})(?:-(?P<day>\d{2}))?$"),  # ISO
    re.compile(r"^(?P<year>\d{4})(?P<q>\??)$"),  # 1956, 1956?
]


def _digits(value: str, width: int) -> str:
    """Zero-pad a day or year that may contain '?' for an unreadable digit (EDTF 'X')."""
    return value.replace("?", "X").rjust(width, "0")


def to_edtf(text: str | None) -> str | None:
    """Return the EDTF form of a printed date, or None when it is not a date we know."""
    if not text:
        return None
    s = " ".join(text.strip().strip(".").split())
    for pat in _PATTERNS:
        m = pat.match(s)
        if not m:
            continue
        g = m.groupdict()
        year = g.get("year") or ""
        if len(year) == 2:  # 2.I.57: a two-digit year in a 20th-century endorsement
            year = "19" + year
        year = _digits(year, 4)
        if g.get("roman"):
            month = ROMAN_MONTHS.get(g["roman"])
        elif g.get("month_n"):
            month = int(g["month_n"])
        elif g.get("month"):
            month = MONTHS.get(g["month"].lower())
        else:
            month = None
        if g.get("month") and month is None:
            continue
        result = year
        if month is not None:
            result += f"-{month:02d}"
            if g.get("day"):
                result += "-" + _digits(g["day"], 2)
        if g.get("q"):
            result += "?"
        return result if is_valid(result) else None
    return None


_SIMPLE = re.compile(r"(?:[0-9X]{4})(?:-(?:0[1-9]|1[0-2]|XX))?"
                     r"(?:-(?:0[1-9]|[12][0-9]|3[01]|X[0-9]|[0-3]X|XX))?[?~%]?")


@lru_cache(maxsize=65536)
def is_valid(value: str) -> bool:
    """Valid EDTF? Plain (partial) dates are checked by pattern: the edtf grammar takes
    tens of milliseconds per call, which an ingest of millions cannot afford."""
    if _SIMPLE.fullmatch(value) and (len(value) < 10 or not value[8:10].isdigit()
                                     or _real_day(value)):
        return True
    try:
        edtf.parse_edtf(value)
    except Exception:  # edtf raises its own EDTFParseException and ValueErrors
        return False
    return True


def _real_day(value: str) -> bool:
    try:
        date(int(value[:4].replace("X", "0")) or 1, int(value[5:7]), int(value[8:10]))
    except ValueError:
        return False
    return True


def bounds(value: str | None) -> tuple[date, date] | None:
    """Earliest and latest day an EDTF value may mean: what date-range filters compare.

    Unspecified digits (``1957-01-X9``) are widened by hand: the edtf package cannot
    compute bounds for a partly unspecified day.
    """
    if not value or not is_valid(value):
        return None
    m = re.fullmatch(r"([0-9X]{4})(?:-([0-9X]{2}))?(?:-([0-9X]{2}))?[?~%]?", value)
    if m:
        y, mo, d = m.groups()
        lo_y, hi_y = int(y.replace("X", "0")), int(y.replace("X", "9"))
        lo_m = int(mo.replace("X", "0")) if mo else 1
        hi_m = int(mo.replace("X", "9")) if mo else 12
        lo_m, hi_m = max(1, min(lo_m, 12)), max(1, min(hi_m, 12))
        lo_d = max(1, int(d.replace("X", "0"))) if d else 1
        last = calendar.monthrange(hi_y, hi_m)[1]
        hi_d = min(int(d.replace("X", "9")), last) if d else last
        try:
            return date(lo_y, lo_m, lo_d), date(hi_y, hi_m, hi_d)
        except ValueError:
            return None
    try:
        parsed = edtf.parse_edtf(value)
        lo, hi = parsed.lower_strict(), parsed.upper_strict()
        return date(lo.tm_year, lo.tm_mon, lo.tm_mday), date(hi.tm_year, hi.tm_mon, hi.tm_mday)
    except (ValueError, OverflowError, AttributeError):  # open or unbounded intervals
        return None


MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
_PARTS = re.compile(r"(?P<y>[0-9X]{4})(?:-(?P<m>[0-9X]{2}))?(?:-(?P<d>[0-9X]{2}))?"
                    r"(?P<q>[?~%]?)")


def _parts(value: str) -> tuple[str, str, str] | None:
    """(day, month, year) in words for one plain EDTF date, or None for anything else.
    An unreadable digit stays where it was, as "?" ("?9" for X9)."""
    m = _PARTS.fullmatch(value)
    if not m:
        return None
    y, mo, d = m["y"], m["m"], m["d"]
    if y.endswith("XX") and "X" not in y[:2]:
        year = f"{y[:2]}00s"
    elif y.endswith("X") and "X" not in y[:3]:
        year = f"{y[:3]}0s"
    else:
        year = y.replace("X", "?")
    month = MONTH_NAMES[int(mo) - 1] if mo and mo.isdigit() and 1 <= int(mo) <= 12 else ""
    day = "" if not d or d == "XX" or not month else d.lstrip("0").replace("X", "?") or d
    return day, month, year


def human_date(value: str | None) -> str:
    """An EDTF date as a reader writes it: "28 December 1956", "?9 January 1957" (a day
    whose first digit is unreadable), "December 1956?", "c. 1956", "1950s", and ranges
    "January 1955 – December 1957" or "1–28 December 1956". Anything else is returned as
    given, so nothing is ever hidden; the EDTF stays in the JSON."""
    if not value:
        return ""
    value = value.strip()
    if "/" in value:
        start, _, end = value.partition("/")
        a = None if start in ("", "..") else _parts(start)
        b = None if end in ("", "..") else _parts(end)
        if a and b:
            return _range(a, b, start[-1:] if start[-1:] in "?~%" else "",
                          end[-1:] if end[-1:] in "?~%" else "")
        if a and end in ("", ".."):
            return "from " + human_date(start)
        if b and start in ("", ".."):
            return "until " + human_date(end)
        return value
    parts = _parts(value)
    if parts is None:
        return value
    return _qualified(" ".join(p for p in parts if p), value[-1:])


def _qualified(text: str, mark: str) -> str:
    if mark == "?":
        return text + "?"
    if mark == "~":
        return "c. " + text
    if mark == "%":
        return "c. " + text + "?"
    return text


def _range(a: tuple[str, str, str], b: tuple[str, str, str], qa: str, qb: str) -> str:
    (da, ma, ya), (db, mb, yb) = a, b
    if not (qa or qb or ma or mb):
        return f"{ya}–{yb}"  # 1955–1957
    if not (qa or qb) and ya == yb and da and db:
        if ma == mb:
            return f"{da}–{db} {ma} {ya}"  # 1–28 December 1956
        return f"{da} {ma} – {db} {mb} {ya}"
    if not (qa or qb) and ya == yb and ma and mb and not (da or db):
        return f"{ma} – {mb} {ya}" if ma != mb else f"{ma} {ya}"
    left = _qualified(" ".join(p for p in a if p), qa)
    right = _qualified(" ".join(p for p in b if p), qb)
    return f"{left} – {right}"
