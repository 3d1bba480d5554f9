"""Reference categories from titles, keywords and themes, in English and Vietnamese."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
import rdflib
from defusedxml import ElementTree
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.normalise.frequency import fold
from catalog.normalise.themes import CATEGORIES, EU_DATA_THEME, EU_DATA_THEMES, categories_matcher, categories_of
from tests.conftest import FIXTURES, cassette_body, load_fixture


@pytest.mark.parametrize(
    ("title", "keywords", "categories"),
    [
        ("January 2021 Purchase Card Transactions", [], ["spending"]),  # Birmingham
        ("Flood Map for Planning (Rivers and Sea)- Flood Zone 2", [], ["water"]),  # data.gov.uk
        ("Dự toán ngân sách nhà nước năm 2024", [], ["budget"]),  # "nhà nước" (the state) is not water
        ("Danh sách trường học trên địa bàn thành phố", [], ["education"]),
        ("Số liệu giao thông vận tải", ["xe buýt"], ["transport"]),
        ("DAN SO VA LAO DONG", [], ["population"]),  # no diacritics, upper case
        ("Quan trắc chất lượng không khí", [], ["environment"]),
        ("Kết quả lựa chọn nhà thầu", ["đấu thầu"], ["procurement"]),
        ("Bản đồ ranh giới hành chính", [], ["maps and boundaries"]),
        ("Giá đất", ["đất đai"], ["land"]),
        ("Niên giám thống kê 2023", [], ["statistics"]),
        ("Danh sách doanh nghiệp đăng ký kinh doanh", [], ["companies"]),
        ("Datos", [], []),
        ("Mortgage data", ["weather-forecast"], ["weather and climate"]),  # keywords count, hyphens split
    ],
)
def test_categories(title, keywords, categories) -> None:
    assert categories_of(title, keywords) == categories


def test_theme_iris_count() -> None:
    assert categories_of("x", themes=["http://publications.europa.eu/resource/authority/data-theme/TRAN"]) == [
        "transport"
    ]
    assert categories_of("x", themes=["http://eurovoc.europa.eu/transport"]) == ["transport"]


# The classifier before it became one pass: one pattern per category, each searched in turn. Kept here only
# as the reference the one-pass classifier must agree with on every input.
def reference_patterns(categories: Mapping[str, Iterable[str]]) -> dict[str, re.Pattern[str]]:
    return {
        category: re.compile(r"\b(?:" + "|".join(re.escape(term) for term in terms) + r")\b")
        for category, terms in categories.items()
    }


REFERENCE_PATTERNS = reference_patterns(CATEGORIES)


def reference_classify(title: str | None, keywords: Iterable[str] = (), themes: Iterable[str] = ()) -> list[str]:
    themes = list(themes)
    coded = {
        EU_DATA_THEMES.get(theme.removeprefix(EU_DATA_THEME)) for theme in themes if theme.startswith(EU_DATA_THEME)
    }
    text = fold(" | ".join([title or "", *keywords, *(theme.rsplit("/", 1)[-1] for theme in themes)]))
    text = re.sub(r"[_\-]+", " ", text)
    return [category for category, pattern in REFERENCE_PATTERNS.items() if category in coded or pattern.search(text)]


PHRASE_KEY = re.compile(r"title|keyword|tag|theme|group|subject", re.IGNORECASE)
"""Keys (JSON) and element names (RDF) whose text says what a dataset is about."""


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _json_phrases(value: Any) -> Iterator[str]:
    """Every string under a title/keyword/tag/theme/group key, CKAN extras (`{"key": .., "value": ..}`) included."""
    if isinstance(value, dict):
        if isinstance(value.get("key"), str) and PHRASE_KEY.search(value["key"]):
            yield from _strings(value.get("value"))
        for key, item in value.items():
            yield from _strings(item) if PHRASE_KEY.search(key) else _json_phrases(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_phrases(item)


def _xml_phrases(path: Path) -> Iterator[str]:
    for element in ElementTree.parse(path).iter():
        if isinstance(element.tag, str) and PHRASE_KEY.search(element.tag.rsplit("}", 1)[-1]):
            yield from (element.text or "", *element.attrib.values())


def _turtle_phrases(path: Path) -> Iterator[str]:
    for _, predicate, value in rdflib.Graph().parse(path, format="turtle"):
        if PHRASE_KEY.search(str(predicate).rsplit("/", 1)[-1].rsplit("#", 1)[-1]):
            yield str(value)


def fixture_phrases() -> dict[str, list[str]]:
    """Titles, keywords and themes (and a little more) of every recorded fixture that has some, by file."""
    phrases = {}
    for path in sorted(FIXTURES.rglob("*")):
        relative = str(path.relative_to(FIXTURES))
        if path.name == "manifest.json":
            continue
        if path.suffix in (".json", ".jsonld"):
            found = _json_phrases(load_fixture(relative))
        elif path.suffix == ".yaml":
            found = _json_phrases(orjson.loads(cassette_body(relative)))
        elif path.suffix in (".rdf", ".xml"):
            found = _xml_phrases(path)
        elif path.suffix == ".ttl":
            found = _turtle_phrases(path)
        else:
            continue
        if unique := list(dict.fromkeys(phrase for phrase in found if phrase.strip())):
            phrases[relative] = unique
    return phrases


FIXTURE_PHRASES = fixture_phrases()
TERMS = sorted({term for terms in CATEGORIES.values() for term in terms})
AFFIXES = ["", " ", "x", "s", "1", "_", "-", "--", ".", ",", "(", ")", "/", "|", "'", "đ", "é", "ß", "中", "chi ",
           " cong"]  # fmt: skip
"""Around a term: nothing, word characters (which must stop it matching), separators, folded letters."""


def test_the_fixtures_give_phrases_in_every_software_and_many_categories() -> None:
    softwares = {relative.split("/", 1)[0] for relative in FIXTURE_PHRASES}
    assert softwares == {"ckan", "dcat-ap", "dcat-us", "dkan"}
    every = [phrase for phrases in FIXTURE_PHRASES.values() for phrase in phrases]
    assert len(every) > 3000
    assert len({category for phrase in every for category in categories_of(phrase)}) >= 15


@pytest.mark.parametrize("relative", sorted(FIXTURE_PHRASES))
def test_one_pass_agrees_with_one_pattern_per_category_on_the_fixtures(relative: str) -> None:
    phrases = FIXTURE_PHRASES[relative]
    for phrase in phrases:
        assert categories_of(phrase) == reference_classify(phrase), phrase
        assert categories_of(None, [phrase]) == reference_classify(None, [phrase]), phrase
        assert categories_of(None, themes=[phrase]) == reference_classify(None, themes=[phrase]), phrase
    assert categories_of(None, phrases, phrases) == reference_classify(None, phrases, phrases)


def test_one_pass_agrees_on_every_term_between_prefixes_suffixes_and_punctuation() -> None:
    for term in TERMS:
        for spelled in (term, term.upper(), term.replace(" ", "-"), term.replace(" ", "_"), term.replace(" ", "  ")):
            for affix in AFFIXES:
                for text in (affix + spelled, spelled + affix, affix + spelled + affix):
                    assert categories_of(text) == reference_classify(text), text


def test_one_pass_agrees_on_every_pair_of_terms() -> None:
    """Terms side by side overlap ("chi ngan sach" holds "ngan sach") or share words ("chi tieu" is in two
    categories): every category of each must still be found."""
    for first in TERMS:
        for second in TERMS:
            text = f"{first} {second}"
            assert categories_of(text) == reference_classify(text), text


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TERMS) | st.sampled_from(AFFIXES) | st.text(max_size=4), max_size=8).map("".join))
def test_one_pass_agrees_on_terms_among_any_text(text: str) -> None:
    assert categories_of(text) == reference_classify(text)
    assert categories_of(None, [text, text[::-1]], [text]) == reference_classify(None, [text, text[::-1]], [text])


# No two categories share a prefix term today; this vocabulary has every way terms of different categories
# can meet: one inside another ("water" in "water quality"), one term in two categories, overlaps.
OVERLAPPING = {
    "water": ("water", "rivers"),
    "environment": ("water quality", "air quality", "quality"),
    "transport": ("bus", "bus stops"),
    "companies": ("business", "business register"),
    "statistics": ("chi tieu", "chi so"),
    "spending": ("chi tieu", "chi ngan sach"),
    "budget": ("ngan sach",),
}


def test_terms_of_other_categories_inside_a_longer_term_are_found_too() -> None:
    matched = categories_matcher(OVERLAPPING)
    assert matched("water quality") == {"water", "environment"}
    assert matched("bus stops") == {"transport"}
    assert matched("business register") == {"companies"}  # "bus" is not a whole word there
    assert matched("chi ngan sach") == {"spending", "budget"}
    assert matched("chi tieu") == {"statistics", "spending"}
    assert matched("waterquality") == set()


def test_the_matcher_agrees_with_one_pattern_per_category_on_overlapping_terms() -> None:
    matched, patterns = categories_matcher(OVERLAPPING), reference_patterns(OVERLAPPING)
    terms = sorted({term for terms in OVERLAPPING.values() for term in terms})
    for first in terms:
        for second in terms:
            for joined in (f"{first} {second}", f"{first}{second}", f"{first}-{second}", f"{first} x {second}"):
                assert matched(joined) == {category for category, pattern in patterns.items() if pattern.search(joined)}
