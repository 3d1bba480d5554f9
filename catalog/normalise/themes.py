"""Datasets -> reference categories (`catalog.reference.categories`), from their title, keywords and themes.

A dataset belongs to every category one of whose terms appears in it as whole words; text is folded
(lower case, no diacritics, `đ` to `d`) so "Giao thông", "giao thong" and "GIAO THÔNG" match alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from catalog.normalise.frequency import fold
from catalog.reference.categories import CATEGORIES

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
