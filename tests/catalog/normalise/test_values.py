"""The shared value coercions, on the date and number shapes the fixtures' MANIFEST lists."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalog.normalise.values import Warnings, integer, text, timestamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-01-15T10:25:28.638659", datetime(2021, 1, 15, 10, 25, 28, 638659, tzinfo=UTC)),  # CKAN, naive = UTC
        ("2017-08-13T12:00:00.1234567", datetime(2017, 8, 13, 12, 0, 0, 123456, tzinfo=UTC)),  # 7 digits
        ("2019-06-01", datetime(2019, 6, 1, tzinfo=UTC)),
        ("2020-01-01T07:00:00+07:00", datetime(2020, 1, 1, tzinfo=UTC)),  # Vietnam time to UTC
        ("2020-01-01T00:00:00Z", datetime(2020, 1, 1, tzinfo=UTC)),
        ("2020-01-01T00:00:00.000Z", datetime(2020, 1, 1, tzinfo=UTC)),
    ],
)
def test_timestamps_parse_to_utc(value: str, expected: datetime) -> None:
    warnings = Warnings("d")
    assert timestamp(value, "modified", warnings) == expected
    assert warnings == []


@pytest.mark.parametrize("value", ["2019", "R/P1D", "R/P1M", "yesterday", "2019-13-45"])
def test_what_is_not_a_date_is_not_invented(value: str) -> None:
    warnings = Warnings("d")
    assert timestamp(value, "modified", warnings) is None
    assert warnings == [f"d: modified {value!r} is not an ISO 8601 date; dropped"]


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
