"""Reference categories from titles, keywords and themes, in English and Vietnamese."""

from __future__ import annotations

import pytest

from catalog.normalise.themes import classify


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
    assert classify(title, keywords) == categories


def test_theme_iris_count() -> None:
    assert classify("x", themes=["http://publications.europa.eu/resource/authority/data-theme/TRAN"]) == ["transport"]
    assert classify("x", themes=["http://eurovoc.europa.eu/transport"]) == ["transport"]
