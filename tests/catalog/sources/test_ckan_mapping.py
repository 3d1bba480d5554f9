"""Normalising every real CKAN record in the fixtures: values checked against the recorded files."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pytest

from catalog.normalise.values import json_bytes
from catalog.sources.ckan.mapping import HarvestContext, normalise_dataset, normalise_publisher
from tests.conftest import birmingham_packages, data_gov_uk_packages, load_fixture, real_packages

CONTEXT = HarvestContext("test-portal", "h1", "https://portal.example", datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("record", real_packages(), ids=lambda record: record["name"])
def test_every_real_record_normalises_without_losing_anything(record: dict) -> None:
    result = normalise_dataset(record, CONTEXT)
    row = result.dataset
    assert row["dataset_id"] == record["id"]
    assert row["name"] == record["name"]
    assert row["num_distributions"] == len(record.get("resources") or [])
    assert [d["distribution_id"] for d in result.distributions] == [r["id"] for r in record["resources"]]
    assert json.loads(row["raw"]) == record
    assert row["issued"].tzinfo is UTC and row["modified"].tzinfo is UTC


def read_only(value: Any) -> Any:
    """`value` with every JSON object in it a read-only mapping instead of a dict."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: read_only(item) for key, item in value.items()})
    return [read_only(item) for item in value] if isinstance(value, list) else value


@pytest.mark.parametrize("record", real_packages(), ids=lambda record: record["name"])
def test_objects_of_any_mapping_type_normalise_as_dicts_do(record: dict) -> None:
    """Parsed JSON holds dicts, and the mapping tests for them first (`is_object`): any other mapping
    (the organisation, resources, tags, extras) must still be read, not dropped with a warning."""
    as_dicts = normalise_dataset(record, CONTEXT, json_bytes(record))
    as_mappings = normalise_dataset(read_only(record), CONTEXT, json_bytes(record))
    assert as_dicts.dataset["num_distributions"] == len(record.get("resources") or [])
    if "tracking_summary" not in record:
        assert as_mappings.dataset == as_dicts.dataset
    else:  # its hash is of its JSON without the counter, written again: JSON writers take dicts only
        assert as_mappings.dataset | {"content_hash": None} == as_dicts.dataset | {"content_hash": None}
    assert as_mappings.distributions == as_dicts.distributions
    assert as_mappings.warnings == as_dicts.warnings
    assert as_mappings.publisher == as_dicts.publisher


def test_birmingham_values() -> None:
    record = birmingham_packages()[0]
    result = normalise_dataset(record, CONTEXT)
    row = result.dataset
    assert row["title"] == "Purchase Card Transactions"
    assert row["publisher_name"] == "Birmingham City Council"
    assert row["publisher_id"] == "4eda0082-f593-489e-b66a-8fe8274cfc94"
    assert row["license_id"] == "uk-ogl"
    assert row["license_url"] == "http://reference.data.gov.uk/id/open-government-licence"
    assert row["keywords"] == ["payments", "purchase card"]
    assert row["themes"] == ["council-business"]
    assert row["issued"] == datetime(2014, 12, 1, 10, 29, 19, 414595, tzinfo=UTC)
    assert row["modified"] == datetime(2021, 1, 15, 10, 25, 28, 638659, tzinfo=UTC)
    # trailing space in the recorded maintainer_email is trimmed; an empty `url` is no landing page
    assert row["contact_email"] == "ian.martin@birmingham.gov.uk"
    assert row["landing_page"] is None
    assert row["dataset_url"] == "https://portal.example/dataset/purchase-card-transactions"
    assert row["description"].startswith("Under the Code of Recommended Practice")
    assert len(result.distributions) == 45
    first = result.distributions[0]
    assert first["title"] == "Purchase Card transactions - April 2014"  # trailing space trimmed
    assert first["format"] == "XLS"
    assert first["download_url"] == first["access_url"]  # url_type "upload": the url is the file
    assert first["checksum"] == "43f32bff94876bd377627bf8af89a692"
    # two resources have format "" next to XLS ones: null, not an empty string
    assert sum(1 for d in result.distributions if d["format"] is None) == 2
    assert result.warnings == []


def test_data_gov_uk_inspire_extras_and_themes() -> None:
    inspire = data_gov_uk_packages()[0]
    row = normalise_dataset(inspire, CONTEXT).dataset
    assert row["publisher_name"] == "Environment Agency"
    assert row["themes"] == ["Environment"]  # data.gov.uk's theme-primary
    assert len(row["extras"]) == 26
    assert row["extras"]["temporal_coverage-from"] == "[]"  # JSON-in-a-string kept as the portal sent it
    assert json.loads(row["extras"]["dataset-reference-date"]) == [
        {"type": "creation", "value": "2004-01-01"},
        {"type": "revision", "value": "2018-04-30"},
    ]
    assert json.loads(row["extras"]["spatial"])["type"] == "Polygon"
    assert row["contact_email"] == "data.info@environment-agency.gov.uk"  # from the `contact-email` key


def test_data_gov_uk_dataset_without_resources_and_free_text_licence() -> None:
    empty = data_gov_uk_packages()[3]
    result = normalise_dataset(empty, CONTEXT)
    assert result.dataset["name"] == "aggregates-levy"
    assert result.dataset["num_distributions"] == 0
    assert result.distributions == []
    assert result.dataset["license_id"] is None
    licence_extra = next(e["value"] for e in empty["extras"] if e["key"] == "licence")
    assert result.dataset["license_title"] == licence_extra.strip()
    assert result.dataset["themes"] == ["Business & Economy", "Government"]


def test_bad_values_become_null_with_a_warning_naming_the_field() -> None:
    record = {
        "id": "x1",
        "name": "x",
        "title": {"en": "not text"},
        "metadata_modified": "R/P1D",
        "tags": "not-a-list",
        "resources": [{"id": "r1", "size": "12 MB", "format": 7}],
    }
    result = normalise_dataset(record, CONTEXT)
    assert result.dataset["title"] is None
    assert result.dataset["modified"] is None
    assert result.dataset["keywords"] == []
    assert result.distributions[0]["byte_size"] is None
    assert result.distributions[0]["format"] == "7"
    assert result.warnings == [
        "dataset x1: title {'en': 'not text'} is not text; dropped",
        "dataset x1: modified 'R/P1D' is not a date; dropped",
        "dataset x1: tags 'not-a-list' is not a list; ignored",
        "dataset x1: resources[0].size '12 MB' is not a whole number; dropped",
    ]


def test_real_canadian_organisations_as_publishers() -> None:
    organizations = load_fixture("ckan/open.canada.ca/organization_list_all_fields.json")["result"]
    rows = [normalise_publisher(org, CONTEXT)[0] for org in organizations]
    assert len(rows) == 337
    numbered = next(row for row in rows if row["title"] and row["title"].startswith("2875039 Canada Limited"))
    assert numbered["title"] == "2875039 Canada Limited | 2875039 Canada Limited"
    assert numbered["description"] is None  # recorded as ""
    assert all(row["publisher_id"] for row in rows)
