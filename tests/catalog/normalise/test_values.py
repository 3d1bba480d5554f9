"""The shared value coercions, on the date and number shapes the fixtures' MANIFEST lists."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from types import MappingProxyType

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.normalise.values import Warnings, integer, is_object, json_bytes, json_text, text, timestamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-01-15T10:25:28.638659", datetime(2021, 1, 15, 10, 25, 28, 638659, tzinfo=UTC)),  # CKAN, naive = UTC
        ("2017-08-13T12:00:00.1234567", datetime(2017, 8, 13, 12, 0, 0, 123456, tzinfo=UTC)),  # 7 digits
        ("2019-06-01", datetime(2019, 6, 1, tzinfo=UTC)),
        ("2020-01-01T07:00:00+07:00", datetime(2020, 1, 1, tzinfo=UTC)),  # Vietnam time to UTC
        ("2020-01-01T00:00:00Z", datetime(2020, 1, 1, tzinfo=UTC)),
        ("2020-01-01T00:00:00.000Z", datetime(2020, 1, 1, tzinfo=UTC)),
        ("2019-09-30 22:00:00", datetime(2019, 9, 30, 22, tzinfo=UTC)),  # DKAN fixture, space separator
        ("jeu, 19/12/2019 - 03:00", datetime(2019, 12, 19, 3, tzinfo=UTC)),  # DKAN fixture, French Drupal date
        ("Date changed  jeu, 19/12/2019 - 03:00", datetime(2019, 12, 19, 3, tzinfo=UTC)),  # DKAN resource
        ("12/31/2019", datetime(2019, 12, 31, tzinfo=UTC)),  # US order, unambiguous
        ("Tue, 10 Dec 2019 09:23:00 GMT", datetime(2019, 12, 10, 9, 23, tzinfo=UTC)),  # RFC 2822
    ],
)
def test_timestamps_parse_to_utc(value: str, expected: datetime) -> None:
    warnings = Warnings("d")
    assert timestamp(value, "modified", warnings) == expected
    assert warnings == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2019", "is not a date"),  # OPM's data.json: a bare year
        ("R/P1D", "is not a date"),  # FDA and Philadelphia: a repeating interval in `modified`
        ("R/P1M", "is not a date"),
        ("yesterday", "is not a date"),
        ("2019-13-45", "is not an ISO 8601 date"),
        ("mar, 10/12/2019 - 09:23", "has day and month in an ambiguous order"),  # DKAN fixture: Oct or Dec?
    ],
)
def test_what_is_not_a_date_is_not_invented(value: str, problem: str) -> None:
    warnings = Warnings("d")
    assert timestamp(value, "modified", warnings) is None
    assert warnings == [f"d: modified {value!r} {problem}; dropped"]


def test_missing_values_are_null_without_warnings() -> None:
    warnings = Warnings("d")
    assert timestamp(None, "f", warnings) is None
    assert timestamp("", "f", warnings) is None
    assert text("   ", "f", warnings) is None
    assert integer("", "f", warnings) is None
    assert warnings == []


def test_integers() -> None:
    warnings = Warnings("d")
    assert integer("1,199", "size", warnings) == 1199
    assert integer(12.0, "size", warnings) == 12
    assert integer(True, "size", warnings) is None
    assert integer(1.5, "size", warnings) is None
    assert len(warnings) == 2


def test_long_values_are_shortened_in_warnings() -> None:
    warnings = Warnings("d")
    text({"x": "y" * 500}, "title", warnings)
    assert len(warnings[0]) < 120


def test_json_objects_are_told_from_every_other_value() -> None:
    assert all(is_object(value) for value in ({}, {"a": 1}, OrderedDict(a=1), MappingProxyType({"a": 1})))
    assert not any(is_object(value) for value in ("", "{}", b"{}", [], [{}], (), None, 0, 1.5, True, {"a"}))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_parsed_json_is_written_as_orjson_writes_any_keys(value) -> None:
    """`json_bytes` leaves orjson's option for keys that are not text to what needs it: lakes hold digests
    of these bytes, so with text keys they must be the bytes the option gives."""
    try:
        expected = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # lone surrogates, integers past 64 bits: the standard library's
        return
    assert json_bytes(value) == expected
    assert json_text(value) == expected.decode()


def test_keys_that_are_not_text_are_written_as_text() -> None:
    # orjson's, not the standard library's (which would write "\u00e9")
    assert json_bytes({1: "é", None: [{2.5: True}]}) == '{"1":"é","null":[{"2.5":true}]}'.encode()
    assert json_text({"\ud800": 1}) == '{"\\ud800":1}'  # orjson refuses a lone surrogate
