"""Vietnam's provincial-level units on both maps: the 63 before 1 July 2025 and the 34 since.

Resolution 202/2025/QH15 of the National Assembly (12 June 2025, in force 1 July 2025) formed 23
units from 52 and left 11 as they were: 28 provinces and 6 centrally-run cities. Portals registered
before the change keep running under their old names, so the registry keeps the province a portal was
registered under and the current unit is derived from these tables (`catalog/reference/`):

- `vn_units.csv`: the 34 current units. `code` is this project's key, `VN34-` and the unit's two-digit
  code in the national list of administrative units (Decision 19/2025/QĐ-TTg, `gso_code`). It is not
  an ISO 3166-2 code: no ISO 3166-2:VN code for any of the 23 merged units was known to this project
  when the table was made (November 2026), so `iso_3166_2` is empty for them, and holds the old code
  only for the 11 units whose territory did not change. `tile_row`/`tile_col` place each unit on the
  report's tile-grid map, roughly where it lies.
- `vn_units_before_2025.csv`: the 63 units as of 2024 with their ISO 3166-2 codes, their codes in the
  national list of the time (Decision 124/2004/QĐ-TTg and its amendments), and the current unit that
  contains each (Resolution 202/2025/QH15, Article 1), each row naming its sources. Thừa Thiên Huế is
  listed as the province it was until Huế became a centrally-run city on 1 January 2025 (Resolution
  1314/NQ-UBTVQH15).

`other_names` in both are other spellings publishers use (Hanoi, TP.HCM, Sài Gòn, Đăk Lăk, Bắc Cạn).
`place_names()` spells every unit the ways publishers write it, which is the rule `vn_publisher_province`
matches publisher titles with.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from catalog.errors import RegistryError

REFERENCE = Path(__file__).with_name("reference")
CURRENT_FILE = REFERENCE / "vn_units.csv"
FORMER_FILE = REFERENCE / "vn_units_before_2025.csv"
UNIT_TYPES = ("province", "centrally-run city")
PREFIXES = ("tỉnh", "thành phố", "TP")
"""What publishers write before a unit's name: 'Sở Y tế tỉnh Long An', 'UBND thành phố Hải Phòng'."""
SUFFIXES = ("province", "city")
"""What English titles write after it: 'Long An Province', 'Ho Chi Minh City'."""
NAMES_THAT_ARE_ALSO_WORDS = {
    "Hồ Chí Minh": "a person's name, in many organisations' names",
    "Thái Bình": "part of Thái Bình Dương, the Pacific",
    "Hòa Bình": "the word for peace",
}
"""Names that count only with a prefix or suffix ('tỉnh Thái Bình', 'TP Hồ Chí Minh', 'Ho Chi Minh City')."""
NOT_THE_PLACE = {"Bình Dương": "Thái Bình Dương", "Hải Dương": "hải dương học"}
"""Phrases holding a unit's name that mean something else (the Pacific; oceanography, as in Viện Hải dương
học, the Institute of Oceanography in Nha Trang): a title holding one is no match for that name."""
TONE_PLACEMENTS = {
    **{"òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ"},
    **{"òe": "oè", "óe": "oé", "ỏe": "oẻ", "õe": "oẽ", "ọe": "oẹ"},
    **{"ùy": "uỳ", "úy": "uý", "ủy": "uỷ", "ũy": "uỹ", "ụy": "uỵ"},
}
"""The two ways Vietnamese places a tone mark on oa, oe and uy: 'Hòa' (new style) and 'Hoà' (old)."""


@dataclass(frozen=True)
class Unit:
    """A provincial-level unit: one of the 34 current ones, or one of the 63 before 1 July 2025."""

    code: str
    """`VN34-<gso_code>` for a current unit; the ISO 3166-2 code for a former one."""
    gso_code: str
    iso_3166_2: str | None
    name: str
    name_ascii: str
    type: str
    current_code: str
    """The current unit containing it (itself, for a current unit)."""
    other_names: tuple[str, ...] = ()
    tile_row: int | None = None
    tile_col: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class PlaceName:
    """One way of writing a unit's name that `vn_publisher_province` looks for in publisher titles."""

    spelling: str
    current_code: str
    former_code: str | None
    """The pre-2025 unit so named, if any ('Long An': VN-41; 'Huế' names only the current city)."""
    rule: str
    unless: str | None = None
    """A phrase that, found in the title, means the name is not the place."""


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(";") if name.strip())


@cache
def current_units() -> dict[str, Unit]:
    """The 34 units since 1 July 2025, keyed by code, north to south as the file lists them."""
    units = {}
    for row in _rows(CURRENT_FILE):
        units[row["code"]] = Unit(
            code=row["code"],
            gso_code=row["gso_code"],
            iso_3166_2=row["iso_3166_2"] or None,
            name=row["name"],
            name_ascii=row["name_ascii"],
            type=row["type"],
            current_code=row["code"],
            other_names=_names(row["other_names"]),
            tile_row=int(row["tile_row"]),
            tile_col=int(row["tile_col"]),
            source=row["source"],
        )
    _check(units.values(), CURRENT_FILE, 34)
    return units


@cache
def former_units() -> dict[str, Unit]:
    """The 63 units before 1 July 2025, keyed by ISO 3166-2 code, each naming the current unit it is in."""
    current = current_units()
    units = {}
    for row in _rows(FORMER_FILE):
        if row["current_code"] not in current:
            raise RegistryError(f"{FORMER_FILE}: {row['name']}: no current unit {row['current_code']!r}")
        units[row["iso_3166_2"]] = Unit(
            code=row["iso_3166_2"],
            gso_code=row["gso_code"],
            iso_3166_2=row["iso_3166_2"],
            name=row["name"],
            name_ascii=row["name_ascii"],
            type=row["type"],
            current_code=row["current_code"],
            other_names=_names(row["other_names"]),
            source=row["source"],
        )
    _check(units.values(), FORMER_FILE, 63)
    return units


def _check(units: Iterable[Unit], path: Path, expected: int) -> None:
    units = list(units)
    if len(units) != expected or len({unit.code for unit in units}) != expected:
        raise RegistryError(f"{path}: {expected} units with distinct codes expected, found {len(units)}")
    for unit in units:
        if unit.type not in UNIT_TYPES:
            raise RegistryError(f"{path}: {unit.name}: type {unit.type!r} is not one of {UNIT_TYPES}")


def current_unit_of(code: str) -> Unit:
    """The current unit a registry province code denotes: a pre-2025 ISO 3166-2 code or a current `VN34-` code."""
    if code in current_units():
        return current_units()[code]
    if code in former_units():
        return current_units()[former_units()[code].current_code]
    raise RegistryError(
        f"province {code!r} is neither the ISO 3166-2 code of one of Vietnam's 63 pre-2025 provinces"
        " nor the code of one of its 34 current units (catalog/reference/vn_units.csv)"
    )


def tone_variants(name: str) -> set[str]:
    """`name` with its tone marks placed both ways ('Khánh Hòa', 'Khánh Hoà')."""
    variants = {name}
    for new_style, old_style in TONE_PLACEMENTS.items():
        variants |= {variant.replace(new_style, old_style) for variant in variants}
        variants |= {variant.replace(old_style, new_style) for variant in variants}
    return variants


def place_names() -> list[PlaceName]:
    """Every spelling of every unit, old and current, with the rule it is matched under: its name (tone
    marks placed both ways) and its other names; a name that is also a word only after a prefix or
    before a suffix."""
    names: dict[tuple[str, str], PlaceName] = {}
    for unit in [*former_units().values(), *current_units().values()]:
        former_code = None if unit.code == unit.current_code else unit.code
        for spelling, rule in _spellings(unit):
            for variant in tone_variants(spelling):
                key = (variant.casefold(), unit.current_code)
                names.setdefault(
                    key, PlaceName(variant, unit.current_code, former_code, rule, NOT_THE_PLACE.get(unit.name))
                )
    return sorted(names.values(), key=lambda name: (name.current_code, name.spelling))


def _spellings(unit: Unit) -> list[tuple[str, str]]:
    """A unit's names as written in Vietnamese; the view folds them (and titles) to ASCII itself."""
    if reason := NAMES_THAT_ARE_ALSO_WORDS.get(unit.name):
        rule = f"after {' / '.join(PREFIXES)} or before {' / '.join(SUFFIXES)}: alone it is {reason}"
        found = [(f"{prefix} {unit.name}", rule) for prefix in PREFIXES]
        found += [(f"{unit.name} {suffix}", rule) for suffix in SUFFIXES]
    else:
        found = [(unit.name, "name")]
    return found + [(other, "other name") for other in unit.other_names]
