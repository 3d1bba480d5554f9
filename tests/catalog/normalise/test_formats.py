"""Canonical formats, on spellings found in the fixtures (GSA, FDA, Philadelphia, data.gov.uk, DCAT-AP)."""

from __future__ import annotations

import pytest

from catalog.normalise.formats import canonical_format


@pytest.mark.parametrize(
    ("fmt", "media_type", "url", "key"),
    [
        ("csv", "application/csv", None, "CSV"),  # GSA
        ("text/csv", "text/csv", None, "CSV"),
        (".CSV", None, None, "CSV"),
        ("Excel", "application/vnd.ms-excel", None, "XLS"),  # FDA: the media type decides
        ("xlsw", "application/vnd.ms-excel", None, "XLS"),  # a typo; the media type still knows
        ("XSLX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None, "XLSX"),  # Philadelphia
        ("GEOJSON", "application/octet-stream", None, "GeoJSON"),
        ("SHP", "application/zip", None, "SHP"),
        ("GDB", "application/zip", None, "FileGDB"),
        ("GEOSERVICE", "application/octet-stream", None, "API"),
        ("Esri REST", "application/json", None, "API"),  # ArcGIS Hub item
        ("WWW:LINK-1.0-http--link", None, None, "HTML"),  # GeoNetwork (sig.oreme)
        ("http://publications.europa.eu/resource/authority/file-type/CSV", None, None, "CSV"),
        ("http://www.iana.org/assignments/media-types/text/csv", None, None, "CSV"),
        ("application/json", None, None, "JSON"),
        ("RSS", "application/rss+xml", None, "RSS"),
        (None, None, "https://example.org/files/report.PDF", "PDF"),  # only the URL says
        (None, "text/csv; charset=utf-8", None, "CSV"),
        ("", "", "https://example.org/data", None),
        ("HT ML", "application/octet-stream", None, None),  # Philadelphia: unrecognised stays so
    ],
)
def test_spellings(fmt, media_type, url, key) -> None:
    found = canonical_format(fmt, media_type, url)
    assert (found.key if found else None) == key


def test_flags_follow_the_five_star_scheme() -> None:
    csv, xlsx, pdf, zipped = (canonical_format(name, None, None) for name in ("csv", "xlsx", "pdf", "zip"))
    assert (csv.machine_readable, csv.open_format) == (True, True)
    assert (xlsx.machine_readable, xlsx.open_format) == (True, False)  # proprietary
    assert (pdf.machine_readable, pdf.open_format) == (False, True)
    assert (zipped.machine_readable, zipped.open_format) == (None, None)  # says nothing about its content
    assert xlsx.media_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
