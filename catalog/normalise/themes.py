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
from collections.abc import Callable, Iterable, Mapping

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
_SEPARATORS = re.compile(r"[_\-]+")
_WORD_EDGE = re.compile(r"\w\W|\W\w")


def categories_matcher(categories: Mapping[str, Iterable[str]]) -> Callable[[str], set[str]]:
    """A function giving the categories one of whose terms appears in a text as whole words.

    It reads the text once, whatever the number of terms: at every word boundary, one regex finds the
    longest term ending on a word boundary, and that term stands for its own categories and for those
    of every shorter term that matches there too (a prefix of it ending on a word boundary: "land" in
    "land use"). The lookahead consumes nothing, so overlapping terms ("chi ngan sach" and "ngan sach")
    are all found.
    """
    own: dict[str, set[str]] = {}
    for category, terms in categories.items():
        for term in terms:
            own.setdefault(term, set()).add(category)

    def matches_within(prefix: str, term: str) -> bool:
        end = len(prefix)
        return term == prefix or (term.startswith(prefix) and _WORD_EDGE.fullmatch(term[end - 1 : end + 1]) is not None)

    by_term = {term: set().union(*(own[prefix] for prefix in own if matches_within(prefix, term))) for term in own}
    longest_term = re.compile(r"\b(?=(" + _prefix_tree_pattern(by_term) + r")\b)")

    def matched(text: str) -> set[str]:
        return set().union(*(by_term[term] for term in longest_term.findall(text)))

    return matched


def _prefix_tree_pattern(terms: Iterable[str]) -> str:
    """A regex matching any of `terms`, factored by their shared prefixes: `re` tries the branches of an
    alternation one by one, and a factored pattern gives up on a position after a character or two. At
    each step it tries the longer continuation first, so it matches the longest term it can."""
    tree: dict[str, dict] = {}
    for term in terms:
        node = tree
        for char in term:
            node = node.setdefault(char, {})
        node[""] = {}  # a term ends here

    def pattern(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in node.items() if char]
        if not branches:
            return ""
        group = "(?:" + "|".join(branches) + ")"
        return group + "?" if "" in node else group

    return pattern(tree)


_matched_categories = categories_matcher(CATEGORIES)


def categories_of(title: str | None, keywords: Iterable[str] = (), themes: Iterable[str] = ()) -> list[str]:
    """The reference categories a dataset covers, in `CATEGORIES` order."""
    themes = list(themes)
    coded = {
        EU_DATA_THEMES.get(theme.removeprefix(EU_DATA_THEME)) for theme in themes if theme.startswith(EU_DATA_THEME)
    }
    text = fold(" | ".join([title or "", *keywords, *(theme.rsplit("/", 1)[-1] for theme in themes)]))
    found = coded | _matched_categories(_SEPARATORS.sub(" ", text))
    return [category for category in CATEGORIES if category in found]
