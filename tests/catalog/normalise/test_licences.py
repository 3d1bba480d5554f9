"""Canonical licences: every entry of the published vocabularies, every spelling of a Creative Commons URL,
and the ids, titles and URLs found in the fixtures."""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from catalog.normalise.licences import VOCABULARY_FILE, canonical_licence, spelling_key

with VOCABULARY_FILE.open(encoding="utf-8", newline="") as _file:
    VOCABULARY = list(csv.DictReader(_file))
OPENNESS = {"true": True, "false": False, "": None}


def _ambiguous(column: str) -> set[str]:
    keys = defaultdict(set)
    for row in VOCABULARY:
        keys[spelling_key(row[column])].add(row["key"])
    return {spelling for spelling, found in keys.items() if len(found) > 1}


AMBIGUOUS_IDENTIFIERS = _ambiguous("identifier")
AMBIGUOUS_LABELS = _ambiguous("label")


def test_the_vocabulary_is_consistent_and_says_where_each_entry_comes_from() -> None:
    assert len(VOCABULARY) > 1000
    sources = {row["source"] for row in VOCABULARY}
    assert {"eu-authority", "okfn", "opendefinition-url", "dcat-ap-de", "spdx", "ckan"} <= sources
    assert all(row["provenance"] and row["key"] for row in VOCABULARY)
    openness = defaultdict(set)
    for row in VOCABULARY:
        openness[row["key"]].add(row["is_open"])
    assert {key: found for key, found in openness.items() if len(found) > 1} == {}
    # the one identifier two licences share (EUPL 1.1 and 1.2 point at one joinup page) is left unresolved
    assert {"joinup.ec.europa.eu/collection/eupl/eupl-text-11-12"} == AMBIGUOUS_IDENTIFIERS


@pytest.mark.parametrize(
    "row",
    [row for row in VOCABULARY if spelling_key(row["identifier"]) not in AMBIGUOUS_IDENTIFIERS],
    ids=lambda row: f"{row['source']}:{row['identifier']}",
)
def test_every_vocabulary_identifier(row) -> None:
    licence = canonical_licence(row["identifier"], None, None)
    assert (licence.key, licence.is_open) == (row["key"], OPENNESS[row["is_open"]])


@pytest.mark.parametrize(
    "row",
    [row for row in VOCABULARY if row["label"].strip() and spelling_key(row["label"]) not in AMBIGUOUS_LABELS],
    ids=lambda row: f"{row['source']}:{row['label']}",
)
def test_every_unambiguous_vocabulary_label_as_a_title(row) -> None:
    """A label names its licence unless an identifier of another licence is spelt the same."""
    licence = canonical_licence(None, None, row["label"])
    by_identifier = {spelling_key(r["identifier"]): r["key"] for r in VOCABULARY}
    assert licence.key == by_identifier.get(spelling_key(row["label"]), row["key"])


@pytest.mark.parametrize(
    ("url", "key", "is_open"),
    [
        ("http://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0", True),
        ("https://creativecommons.org/licenses/by/4.0", "CC-BY-4.0", True),
        ("https://www.creativecommons.org/licenses/by/4.0/", "CC-BY-4.0", True),
        ("https://creativecommons.org/licenses/by/4.0/legalcode", "CC-BY-4.0", True),
        ("https://creativecommons.org/licenses/by/4.0/legalcode.fr", "CC-BY-4.0", True),
        ("https://creativecommons.org/licenses/by/4.0/deed.vi", "CC-BY-4.0", True),
        ("https://creativecommons.org/licenses/by/4.0/deed.zh_TW", "CC-BY-4.0", True),
        ("HTTPS://CREATIVECOMMONS.ORG/LICENSES/BY-SA/4.0/", "CC-BY-SA-4.0", True),
        ("http://creativecommons.org/licenses/by/3.0/de/", "CC-BY-3.0-DE", True),
        ("http://creativecommons.org/licenses/by/3.0/vn/deed.vi", "CC-BY-3.0-VN", True),
        ("https://creativecommons.org/licenses/by/2.5/au/", "CC-BY-2.5-AU", True),
        ("https://creativecommons.org/licenses/by-nd/4.0/", "CC-BY-ND-4.0", False),
        ("https://creativecommons.org/licenses/by-nc/2.0/legalcode", "CC-BY-NC-2.0", False),
        ("https://creativecommons.org/licenses/by-nc-sa/4.0/deed.en", "CC-BY-NC-SA-4.0", False),
        ("https://creativecommons.org/licenses/by-nc-nd/3.0/igo/", "CC-BY-NC-ND-3.0-IGO", False),
        ("https://creativecommons.org/licenses/by-nc-nd/4.0/", "CC-BY-NC-ND-4.0", False),  # known, not open
        ("https://creativecommons.org/publicdomain/zero/1.0/legalcode", "CC0-1.0", True),
        ("http://creativecommons.org/publicdomain/mark/1.0/", "CC-PDM-1.0", True),
        ("https://spdx.org/licenses/CC-BY-4.0.html", "CC-BY-4.0", True),
        ("https://spdx.org/licenses/CC-BY-NC-ND-4.0", "CC-BY-NC-ND-4.0", False),
        ("CC-BY-SA-4.0", "CC-BY-SA-4.0", True),
        ("ODbL-1.0", "ODbL-1.0", True),
        ("http://publications.europa.eu/resource/authority/licence/CC_BY_4_0", "CC-BY-4.0", True),
        ("https://publications.europa.eu/resource/authority/licence/CC0/", "CC0-1.0", True),
        ("http://publications.europa.eu/resource/authority/licence/CC_BYNCND_4_0", "CC-BY-NC-ND-4.0", False),
        ("http://www.opendefinition.org/licenses/cc-by", "CC-BY", True),
        ("http://www.opendefinition.org/licenses/cc-zero", "CC0-1.0", True),
        ("http://opendefinition.org/licenses/odc-by/", "ODC-By-1.0", True),
        ("http://www.opendefinition.org/licenses/odc-pddl", "PDDL-1.0", True),
        ("https://www.dcat-ap.de/def/licenses/dl-by-de/2.0", "DL-DE-BY-2.0", True),
        ("http://dcat-ap.de/def/licenses/dl-zero-de/2.0", "DL-DE-ZERO-2.0", True),
        ("http://dcat-ap.de/def/licenses/cc-by-nc/4.0", "CC-BY-NC-4.0", False),
    ],
)
def test_licence_urls_in_every_spelling(url, key, is_open) -> None:
    licence = canonical_licence(url, None, None)
    assert (licence.key, licence.is_open) == (key, is_open)


@pytest.mark.parametrize(
    ("license_id", "url", "title", "key", "is_open"),
    [
        ("uk-ogl", None, "UK Open Government Licence (OGL)", "OGL-UK", True),  # Birmingham
        ("https://creativecommons.org/publicdomain/zero/1.0/", None, None, "CC0-1.0", True),  # GSA
        ("http://www.usa.gov/publicdomain/label/1.0/", None, None, "public-domain", True),  # OPM
        ("https://creativecommons.org/licenses/by/4.0/", None, None, "CC-BY-4.0", True),  # Philadelphia
        ("http://creativecommons.org/licenses/by-nc/3.0/", None, None, "CC-BY-NC-3.0", False),  # Sweden RDF
        ("Open Data Commons Open Database License (ODbL)", None, None, "ODbL-1.0", True),  # datos.gob.ar
        (
            None,
            None,
            "http://www.etalab.gouv.fr/pages/Licence_ouverte_Open_licence-5899923.html",
            "Licence-Ouverte",
            True,
        ),
        ("Licence ouverte / Open Licence", None, None, "Licence-Ouverte", True),  # sig.oreme
        ("cc-by", "http://www.opendefinition.org/licenses/cc-by", "Creative Commons Attribution", "CC-BY", True),
        ("odc-by", None, "Open Data Commons Attribution License", "ODC-By-1.0", True),
        ("other-closed", None, "Other (Not Open)", "other-closed", False),
        ("notspecified", None, "License not specified", "not-stated", False),
        (None, None, None, "not-stated", False),
        ("  ", "", None, "not-stated", False),
        ("https://metadata.phila.gov/#help/help-faqs/what-are-the-terms-of-use/", None, None, "unrecognised", None),
    ],
)
def test_licences_found_in_the_fixtures(license_id, url, title, key, is_open) -> None:
    licence = canonical_licence(license_id, url, title)
    assert (licence.key, licence.is_open) == (key, is_open)
