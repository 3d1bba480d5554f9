"""Datasets -> reference categories, from their title, keywords and themes, in English and Vietnamese.

The categories are those of the EU High-Value Datasets (Implementing Regulation 2023/138: geospatial,
earth observation and environment, meteorological, statistics, companies, mobility) and of the Open
Data Charter / Global Open Data Index key datasets (budget, spending, procurement, land, legislation,
health, education, ...). A dataset belongs to every category one of whose terms appears in it as
whole words; text is folded (lower case, no diacritics, `đ` to `d`) so "Giao thông", "giao thong" and
"GIAO THÔNG" match alike. Terms are multi-word where a single Vietnamese syllable would be ambiguous
("dat dai" for land, never "dat").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from catalog.normalise.frequency import fold

CATEGORIES: dict[str, tuple[str, ...]] = {
    "budget": ("budget", "budgets", "fiscal", "public finance", "ngan sach", "tai chinh cong", "du toan"),
    "spending": (
        "spending",
        "expenditure",
        "expenditures",
        "purchase card",
        "payments over",
        "chi tieu",
        "chi ngan sach",
    ),
    "procurement": ("procurement", "tender", "tenders", "contracts", "public contracts", "dau thau", "mua sam cong"),
    "statistics": ("statistics", "statistical", "census", "indicators", "thong ke", "nien giam", "chi so", "chi tieu"),
    "population": ("population", "demographic", "demographics", "births", "deaths", "dan so", "dan cu", "ho gia dinh"),
    "maps and boundaries": (
        "boundaries",
        "boundary",
        "administrative units",
        "address",
        "addresses",
        "gazetteer",
        "topographic",
        "ranh gioi",
        "dia gioi",
        "ban do",
        "dia chi",
        "don vi hanh chinh",
    ),
    "land": ("land", "cadastre", "cadastral", "land use", "parcels", "zoning", "dat dai", "su dung dat", "quy hoach"),
    "companies": (
        "companies",
        "company register",
        "business register",
        "businesses",
        "enterprises",
        "doanh nghiep",
        "dang ky kinh doanh",
    ),
    "legislation": ("legislation", "laws", "regulations", "legal documents", "van ban phap luat", "luat", "nghi dinh"),
    "environment": (
        "environment",
        "environmental",
        "air quality",
        "pollution",
        "emissions",
        "biodiversity",
        "waste",
        "moi truong",
        "chat luong khong khi",
        "o nhiem",
        "chat thai",
        "quan trac",
    ),
    "weather and climate": (
        "weather",
        "meteorological",
        "meteorology",
        "climate",
        "rainfall",
        "temperature",
        "forecast",
        "thoi tiet",
        "khi tuong",
        "khi hau",
        "luong mua",
        "nhiet do",
    ),
    # not "nuoc" alone: "nha nuoc" is "the state"
    "water": (
        "water",
        "hydrology",
        "rivers",
        "flood",
        "flooding",
        "cap nuoc",
        "nuoc sach",
        "tai nguyen nuoc",
        "thuy van",
        "lu lut",
    ),
    "transport": (
        "transport",
        "transportation",
        "traffic",
        "mobility",
        "roads",
        "public transport",
        "bus",
        "railway",
        "parking",
        "giao thong",
        "van tai",
        "duong bo",
        "xe buyt",
    ),
    "health": (
        "health",
        "hospital",
        "hospitals",
        "disease",
        "covid",
        "influenza",
        "medical",
        "drug",
        "drugs",
        "medicines",
        "vaccines",
        "food safety",
        "y te",
        "benh vien",
        "dich benh",
        "thuoc",
        "an toan thuc pham",
    ),
    "education": ("education", "schools", "school", "students", "university", "giao duc", "truong hoc", "hoc sinh"),
    "agriculture": (
        "agriculture",
        "farming",
        "crops",
        "fisheries",
        "livestock",
        "nong nghiep",
        "thuy san",
        "cay trong",
    ),
    "energy": ("energy", "electricity", "power", "renewable", "nang luong", "dien luc", "dien nang"),
    "tourism and culture": ("tourism", "tourist", "culture", "heritage", "museums", "du lich", "van hoa", "di tich"),
    "public safety": ("crime", "police", "public safety", "fire", "emergency", "an ninh", "trat tu", "phong chay"),
    "elections": ("elections", "election", "voting", "bau cu"),
    "housing": ("housing", "dwellings", "construction permits", "building permits", "nha o", "xay dung"),
}
# The EU data-theme vocabulary (http://publications.europa.eu/resource/authority/data-theme/), by code.
EU_DATA_THEMES = {
    "AGRI": "agriculture",
    "EDUC": "education",
    "ENER": "energy",
    "ENVI": "environment",
    "GOVE": "legislation",
    "HEAL": "health",
    "JUST": "legislation",
    "REGI": "maps and boundaries",
    "SOCI": "population",
    "TRAN": "transport",
}
EU_DATA_THEME = "http://publications.europa.eu/resource/authority/data-theme/"
_PATTERNS = {
    category: re.compile(r"\b(?:" + "|".join(re.escape(term) for term in terms) + r")\b")
    for category, terms in CATEGORIES.items()
}


def classify(title: str | None, keywords: Iterable[str] = (), themes: Iterable[str] = ()) -> list[str]:
    """The reference categories a dataset covers, in `CATEGORIES` order."""
    themes = list(themes)
    coded = {
        EU_DATA_THEMES.get(theme.removeprefix(EU_DATA_THEME)) for theme in themes if theme.startswith(EU_DATA_THEME)
    }
    text = fold(" | ".join([title or "", *keywords, *(theme.rsplit("/", 1)[-1] for theme in themes)]))
    text = re.sub(r"[_\-]+", " ", text)
    return [category for category, pattern in _PATTERNS.items() if category in coded or pattern.search(text)]
