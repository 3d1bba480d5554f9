"""Declared update frequencies -> one label and an interval in days.

Sources say it many ways: the EU frequency vocabulary (`.../authority/frequency/MONTHLY`), Dublin Core
Collection frequencies (`http://purl.org/cld/freq/daily`), ISO 8601 repeating durations (`R/P1M`,
`R/PT1H`: DCAT-US `accrualPeriodicity`), ISO 19115 maintenance codes (`asNeeded`, `biannually`),
and free text in English or Vietnamese ("Monthly", "hàng tháng"). `update_frequency` gives the label
and the interval (None for irregular, as-needed, never or unknown: those have no due date).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# label -> interval in days (None: no schedule to be late against)
INTERVALS: dict[str, float | None] = {
    "continuous": 1 / 24,
    "hourly": 1 / 24,
    "daily": 1,
    "twice weekly": 3.5,
    "weekly": 7,
    "fortnightly": 14,
    "twice monthly": 15,
    "monthly": 30.4375,
    "bimonthly": 60.875,
    "quarterly": 91.3125,
    "semiannual": 182.625,
    "annual": 365.25,
    "biennial": 730.5,
    "triennial": 1095.75,
    "irregular": None,
    "as needed": None,
    "never": None,
    "unknown": None,
}

# Folded spellings (lower case, no diacritics, EU/Dublin Core IRIs reduced to their last segment).
SPELLINGS: dict[str, str] = {
    "cont": "continuous",
    "continual": "continuous",
    "continuous": "continuous",
    "realtime": "continuous",
    "real-time": "continuous",
    "hourly": "hourly",
    "daily": "daily",
    "day": "daily",
    "hang ngay": "daily",
    "weekly": "weekly",
    "week": "weekly",
    "hang tuan": "weekly",
    "biweekly": "fortnightly",
    "fortnightly": "fortnightly",
    "semiweekly": "twice weekly",
    "monthly": "monthly",
    "month": "monthly",
    "hang thang": "monthly",
    "semimonthly": "twice monthly",
    "bimonthly": "bimonthly",
    "quarterly": "quarterly",
    "hang quy": "quarterly",
    "annual": "annual",
    "annually": "annual",
    "yearly": "annual",
    "year": "annual",
    "hang nam": "annual",
    "biannually": "semiannual",
    "semiannual": "semiannual",
    "annual_2": "semiannual",
    "6 thang": "semiannual",
    "biennial": "biennial",
    "triennial": "triennial",
    "irreg": "irregular",
    "irregular": "irregular",
    "khong thuong xuyen": "irregular",
    "asneeded": "as needed",
    "as needed": "as needed",
    "as_needed": "as needed",
    "never": "never",
    "notplanned": "never",
    "not planned": "never",
    "unknown": "unknown",
    "other": "unknown",
}
REMEMBERED_SPELLINGS = 1024
REMEMBERED_LENGTH = 200
"""Declared frequencies up to this length are remembered: a portal writes the same few on every record.
Longer text is rare, and not kept, so that hostile records cannot fill memory through the cache."""
DURATION = re.compile(
    r"^(?:r\d*/)?p(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)w)?(?:(\d+)d)?(?:t(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?)?$"
)


class _WithoutMarks(dict[int, int | None]):
    """A `str.translate` table dropping combining marks (category Mn), filled as characters are met, so
    a character is looked up in the Unicode database once rather than at every use. It remembers at
    most `REMEMBERED` characters: a record made of every code point cannot grow it without bound."""

    REMEMBERED = 1 << 16

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.category(chr(code)) == "Mn" else code
        if len(self) < self.REMEMBERED:
            self[code] = kept
        return kept


_WITHOUT_MARKS = _WithoutMarks()


def fold(text: str) -> str:
    """Lower case without diacritics (Vietnamese đ included), for matching free text."""
    lowered = text.lower()
    if lowered.isascii():  # nothing to decompose, no marks: most titles and keywords
        return lowered
    return unicodedata.normalize("NFD", lowered.replace("đ", "d")).translate(_WITHOUT_MARKS)


def update_frequency(declared: str | None) -> tuple[str | None, float | None]:
    """(label, interval in days) for a declared frequency; (None, None) when nothing is declared."""
    if type(declared) is str and len(declared) <= REMEMBERED_LENGTH:
        return _remembered_frequency(declared)
    return _frequency_of(declared)


def _frequency_of(declared: str | None) -> tuple[str | None, float | None]:
    if not declared or not declared.strip():
        return None, None
    text = fold(declared.strip()).rstrip("/").rsplit("/", 1)[-1] if "://" in declared else fold(declared.strip())
    label = SPELLINGS.get(text) or SPELLINGS.get(text.replace("-", " ").replace("_", " "))
    if label is not None:
        return label, INTERVALS[label]
    match = DURATION.match(text.replace(" ", ""))
    if match and any(match.groups()):
        years, months, weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
        interval = years * 365.25 + months * 30.4375 + weeks * 7 + days + hours / 24 + minutes / 1440 + seconds / 86400
        return _nearest_label(interval), interval
    return "unknown", None


_remembered_frequency = lru_cache(maxsize=REMEMBERED_SPELLINGS)(_frequency_of)


def _nearest_label(interval: float) -> str:
    if interval < INTERVALS["hourly"]:
        return "continuous"
    scheduled = {label: days for label, days in INTERVALS.items() if days is not None and label != "continuous"}
    return min(scheduled, key=lambda label: abs(scheduled[label] - interval))
