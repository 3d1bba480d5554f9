"""The content hash of real records, pinned: lakes already hold these digests, and a harvest reports a
dataset as modified when its digest differs, so a change to how it is computed would report every
dataset of every portal as modified. The values were computed before the hash path was made cheaper."""

from __future__ import annotations

import copy
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson
import pytest

from catalog.normalise.rows import VOLATILE_KEYS, content_hash
from catalog.normalise.values import json_bytes
from tests.conftest import birmingham_packages, load_fixture

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
SOCRATA_CATALOG = CORPUS / "socrata" / "sodapy-test-catalog-v1-get-datasets.json"


def socrata_results() -> list[dict[str, Any]]:
    return orjson.loads(SOCRATA_CATALOG.read_bytes())["results"]


def data_gov_uk(name: str) -> dict[str, Any]:
    return load_fixture(f"ckan/data.gov.uk/{name}.json")["result"]


PINNED = [
    # no counter: the raw text is hashed as it is
    pytest.param(lambda: birmingham_packages()[0], "46e2ce86a4a97e9f378f75b59dd8cff4", id="birmingham first"),
    pytest.param(lambda: birmingham_packages()[9], "e1171e68d4023106864c048d8edf51f5", id="birmingham last"),
    # CKAN's tracking_summary at the top: left out
    pytest.param(lambda: data_gov_uk("v26_package_show_inspire"), "65d56a145bfa2018588851d0ad155e6a", id="inspire"),
    pytest.param(lambda: data_gov_uk("v26_package_show_empty"), "9b8ab214313f7f8ffef66b1cc7ae3cce", id="empty"),
    # Socrata's page_views one level down, in `resource`: left out
    pytest.param(lambda: socrata_results()[0], "214ebbf6e683aebff0d957f9bcffe981", id="socrata msk6-43c6"),
    pytest.param(lambda: socrata_results()[6], "4d197bfbb065cdf08caeb42a419d5cb9", id="socrata xvpn-2pnt"),
]


@pytest.mark.parametrize(("load", "digest"), PINNED)
def test_the_digest_of_real_records_does_not_change(load, digest) -> None:
    record = load()
    assert content_hash(record, json_bytes(record)) == digest


def test_the_pinned_records_cover_each_place_a_counter_sits() -> None:
    birmingham, inspire, socrata = (
        birmingham_packages()[0],
        data_gov_uk("v26_package_show_inspire"),
        socrata_results()[0],
    )
    assert not any(key in birmingham or key in birmingham.get("organization", {}) for key in VOLATILE_KEYS)
    assert "tracking_summary" in inspire
    assert "page_views" in socrata["resource"]


def test_counters_move_without_moving_the_pinned_digest() -> None:
    inspire = copy.deepcopy(data_gov_uk("v26_package_show_inspire"))
    inspire["tracking_summary"] = {"total": 10**6, "recent": 17}
    socrata = copy.deepcopy(socrata_results()[0])
    socrata["resource"]["page_views"]["page_views_total"] += 1
    assert content_hash(inspire, json_bytes(inspire)) == "65d56a145bfa2018588851d0ad155e6a"
    assert content_hash(socrata, json_bytes(socrata)) == "214ebbf6e683aebff0d957f9bcffe981"


def test_a_counter_inside_a_mapping_that_is_not_a_dict_is_left_out_too() -> None:
    """Counters are looked for in every value that can be an object, not only in dicts."""
    socrata = socrata_results()[0]
    viewed = dict(socrata, resource=MappingProxyType(socrata["resource"]))
    assert content_hash(viewed, json_bytes(socrata)) == "214ebbf6e683aebff0d957f9bcffe981"
