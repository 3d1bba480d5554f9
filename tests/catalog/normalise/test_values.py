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
