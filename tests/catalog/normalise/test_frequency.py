"""Declared update frequencies, in the vocabularies the fixtures use and in Vietnamese."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from catalog.normalise.frequency import fold, update_frequency


@pytest.mark.parametrize(
    ("declared", "label", "days"),
    [
        ("R/P1D", "daily", 1),  # DCAT-US accrualPeriodicity (CFPB, FDA, GSA)
        ("R/P3M", "quarterly", 91.3125),
        ("R/P6M", "semiannual", 182.625),
        ("R/P1Y", "annual", 365.25),
        ("R/PT1H", "hourly", 1 / 24),
        ("R/PT1S", "continuous", 1 / 86400),  # GSA's "continuously"
        ("irregular", "irregular", None),
        ("asNeeded", "as needed", None),  # ISO 19115, the DKAN fixture's INSPIRE extra
        ("http://purl.org/cld/freq/daily", "daily", 1),  # the Swedish DCAT-AP example
        ("http://publications.europa.eu/resource/authority/frequency/MONTHLY", "monthly", 30.4375),
        ("Monthly", "monthly", 30.4375),  # data.gov.uk
        ("Hàng tháng", "monthly", 30.4375),
        ("HÀNG NĂM", "annual", 365.25),
        ("hàng quý", "quarterly", 91.3125),
        ("every full moon", "unknown", None),
        (None, None, None),
        ("", None, None),
    ],
)
def test_frequencies(declared, label, days) -> None:
    found_label, found_days = update_frequency(declared)
    assert found_label == label
    assert found_days == pytest.approx(days) if days is not None else found_days is None


def reference_fold(text: str) -> str:
    """`fold` as it was before its fast paths: every character looked up in the Unicode database."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(char for char in decomposed if unicodedata.category(char) != "Mn")


def test_fold_agrees_with_the_reference_on_every_code_point() -> None:
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    assert fold(every) == reference_fold(every)
    assert fold("Hàng Tháng ĐÀ NẴNG") == "hang thang da nang"
