"""Hostile input: generated records with anything in any field never crash a normaliser, and what comes
out always fits the table's schema (so it can be written). Bad values are null plus a warning; the raw
record is kept."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.normalise.rows import rows_table
from catalog.normalise.values import Warnings, json_text, loads_lenient, text
from catalog.schemas import DATASETS, DISTRIBUTIONS, PUBLISHERS
from catalog.sources.ckan.mapping import (
    DISTRIBUTION_TEXT,
    HarvestContext,
    _first,
    _set_texts,
    normalise_dataset,
    normalise_publisher,
)

CONTEXT = HarvestContext("hostile", "h1", "https://portal.example", datetime(2026, 1, 1, tzinfo=UTC))

NASTY_TEXT = st.sampled_from([
    "<script>alert('x')</script>",
    "<p onclick=\"steal()\">HTML</p> &quot;entities&quot;",
    "'; DROP TABLE datasets; --",
    "Robert'); SELECT * FROM lake_harvest_runs; --",
    "\x00\x01\x02\x1b[31mcontrol\x7f",
    "\ud800 lone surrogate \udfff",
    "R/P1D",
    "2019-13-45T99:99:99",
    "9" * 400,
    "x" * 200_000,
    "   ",
    "Ngân sách nhà nước năm 2024",
])  # fmt: skip
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50) | NASTY_TEXT
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
RESOURCE_KEYS = ["id", "name", "description", "format", "mimetype", "url", "url_type", "hash", "size", "created",
                 "last_modified", "metadata_modified", "download_url"]  # fmt: skip
RESOURCES = st.lists(st.dictionaries(st.sampled_from(RESOURCE_KEYS), JSON_VALUES) | JSON_VALUES, max_size=4)
EXTRAS = st.lists(st.fixed_dictionaries({"key": st.text(max_size=10) | NASTY_TEXT, "value": JSON_VALUES}) | JSON_VALUES)
DATASET_KEYS = ["id", "name", "title", "notes", "url", "maintainer", "maintainer_email", "author", "author_email",
                "license_id", "license_title", "license_url", "version", "state", "metadata_created",
                "metadata_modified", "owner_org", "theme", "theme-primary"]  # fmt: skip
RECORDS = st.fixed_dictionaries(
    {},
    optional={key: JSON_VALUES for key in DATASET_KEYS}
    | {
        "resources": RESOURCES | JSON_VALUES,
        "extras": EXTRAS | JSON_VALUES,
        "tags": st.lists(st.fixed_dictionaries({"name": JSON_VALUES}) | JSON_VALUES) | JSON_VALUES,
        "groups": st.lists(st.fixed_dictionaries({"name": JSON_VALUES, "title": JSON_VALUES}) | JSON_VALUES),
        "organization": st.fixed_dictionaries({"id": JSON_VALUES, "title": JSON_VALUES, "name": JSON_VALUES})
        | JSON_VALUES,
    },
)

HOSTILE = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example]
)


@HOSTILE
@given(RECORDS)
def test_any_dataset_record_normalises_into_the_schema(record: dict) -> None:
    result = normalise_dataset(record, CONTEXT)
    for rows, schema in (([result.dataset], DATASETS), (result.distributions, DISTRIBUTIONS)):
        assert rows_table(rows, schema).equals(pa.Table.from_pylist(rows, schema=schema))
    assert loads_lenient(result.dataset["raw"])[0] is not None or record == {}
    assert all(isinstance(message, str) and message.startswith("dataset ") for message in result.warnings)


@HOSTILE
@given(st.dictionaries(st.sampled_from(["id", "name", "title", "description", "created", "package_count",
                                        "image_url", "image_display_url"]), JSON_VALUES))  # fmt: skip
def test_any_organisation_record_normalises_into_the_schema(record: dict) -> None:
    row, _ = normalise_publisher(record, CONTEXT)
    pa.Table.from_pylist([row], schema=PUBLISHERS)


@HOSTILE
@given(st.dictionaries(st.sampled_from(RESOURCE_KEYS), JSON_VALUES))
def test_resource_text_columns_read_as_text_reads_the_first_non_empty_value(resource: dict) -> None:
    """The inlined common case changes nothing: same values, same warnings, for anything in any field."""
    inlined, inlined_warnings = {}, Warnings("dataset d")
    _set_texts(inlined, resource, DISTRIBUTION_TEXT, inlined_warnings)
    plain, plain_warnings = {}, Warnings("dataset d")
    for column, key in DISTRIBUTION_TEXT.items():
        plain[column] = text(_first(resource, (key,)), column, plain_warnings)
    assert (inlined, inlined_warnings) == (plain, plain_warnings)


def test_bad_values_become_null_and_a_warning_and_the_raw_record_keeps_them() -> None:
    record = {
        "id": "d1",
        "title": ["a", "list"],
        "metadata_created": "2019-13-45T99:99:99",
        "resources": [{"id": "r1", "size": "huge"}],
        "extras": [{"key": "spatial", "value": {"type": "Point"}}, "not-a-pair"],
    }
    result = normalise_dataset(record, CONTEXT)
    assert (result.dataset["title"], result.dataset["issued"]) == (None, None)
    assert result.distributions[0]["byte_size"] is None
    assert result.dataset["extras"] == {"spatial": '{"type":"Point"}'}
    assert len(result.warnings) == 4
    assert orjson.loads(result.dataset["raw"]) == record


def test_deep_nesting_beyond_orjson_is_kept() -> None:
    deep: object = "bottom"
    for _ in range(400):
        deep = [deep]
    record = {"id": "deep", "extras": [{"key": "nested", "value": deep}]}
    result = normalise_dataset(record, CONTEXT)
    assert result.dataset["extras"]["nested"].startswith("[[[[")
    assert loads_lenient(json_text(record))[0] == record


def test_invalid_utf8_and_lone_surrogates_are_repaired_not_fatal() -> None:
    body = b'{"title": "caf\xe9 \\ud800 ok", "name": "x"}'
    value, repaired = loads_lenient(body)
    assert repaired
    assert value == {"title": "caf\ufffd \ufffd ok", "name": "x"}
    row = normalise_dataset(value, CONTEXT).dataset
    pa.Table.from_pylist([row], schema=DATASETS)
