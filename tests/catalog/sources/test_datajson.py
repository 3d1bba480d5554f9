"""The data.json adapter over real DCAT-US catalogues served on loopback (files in ../shared/fixtures)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from catalog.errors import HarvestError
from tests.conftest import cassette_body, fixture_bytes, rows
from tests.routes import static

FEDERAL = "dcat-us/us-federal-agencies/{}_data.json"
PHILLY = "dcat-us/opendataphilly/dcatus_with_none_data.json"
DATOS_GOB_AR = "dcat-us/datos.gob.ar/vcr_datos.gob.ar_data.json_2017-08-13.yaml"


def expected_counts(document: bytes) -> tuple[int, int, int]:
    """Datasets, distributions and distinct publishers, counted straight from the file."""
    datasets = json.loads(document)["dataset"]
    distributions = sum(len(d.get("distribution") or []) for d in datasets)
    publishers = {d["publisher"]["name"] for d in datasets if d.get("publisher")}
    return len(datasets), distributions, len(publishers)


@pytest.mark.parametrize(
    ("agency", "datasets", "distributions", "publishers"),
    [("consumerfinance", 11, 11, 1), ("opm", 134, 0, 1), ("fda", 86, 86, 8), ("gsa", 339, 466, 12)],
)
def test_federal_catalogues_harvest_whole(harvest_served, agency, datasets, distributions, publishers) -> None:
    document = fixture_bytes(FEDERAL.format(agency))
    assert expected_counts(document) == (datasets, distributions, publishers)  # the numbers below are the file's
    run = harvest_served({"/data.json": static(document)}, "datajson")
    assert (run.status, run.datasets, run.distributions, run.publishers) == (
        "complete",
        datasets,
        distributions,
        publishers,
    )
    assert run.requests == 1  # one document, read once


def test_opm_bare_years_are_kept_as_text_not_invented(harvest_served, lake) -> None:
    harvest_served({"/data.json": static(fixture_bytes(FEDERAL.format("opm")))}, "datajson")
    found = rows(lake, "SELECT modified, modified_text, count(*) AS n FROM datasets GROUP BY ALL ORDER BY n DESC")
    assert found[0]["modified"] is None
    assert all(row["modified_text"].isdigit() and len(row["modified_text"]) == 4 for row in found)
    assert sum(row["n"] for row in found) == 134


def test_fda_fields_and_repeating_intervals(harvest_served, lake) -> None:
    document = fixture_bytes(FEDERAL.format("fda"))
    harvest_served({"/data.json": static(document)}, "datajson")
    source = {d["identifier"]: d for d in json.loads(document)["dataset"]}
    found = rows(lake, "SELECT * FROM datasets ORDER BY dataset_id")
    assert len(found) == 86
    intervals = [row for row in found if (row["modified_text"] or "").startswith("R/")]
    assert intervals and all(row["modified"] is None for row in intervals)
    in_file = {d["modified"] for d in source.values() if d.get("modified", "").startswith("R/")}
    assert {row["modified_text"] for row in intervals} == in_file
    assert {"R/P1D", "R/P1Y", "R/PT1S"} <= in_file  # including a one-second "interval"
    for row in found:
        record = source[row["dataset_id"]]
        assert row["title"] == record["title"].strip()
        assert row["publisher_name"] == record["publisher"]["name"]
        assert row["keywords"] == list(dict.fromkeys(k.strip() for k in record.get("keyword", []) if k.strip()))
        assert row["contact_email"] == record["contactPoint"]["hasEmail"].removeprefix("mailto:")


def test_gsa_distributions_and_licences(harvest_served, lake) -> None:
    document = fixture_bytes(FEDERAL.format("gsa"))
    harvest_served({"/data.json": static(document)}, "datajson")
    licensed = sum(1 for d in json.loads(document)["dataset"] if d.get("license"))
    assert rows(lake, "SELECT count(*) AS n FROM datasets WHERE license_id IS NOT NULL")[0]["n"] == licensed == 311
    with_media = rows(lake, "SELECT count(*) AS n FROM distributions WHERE media_type IS NOT NULL")[0]["n"]
    in_file = sum(1 for d in json.loads(document)["dataset"] for x in d.get("distribution") or [] if x.get("mediaType"))
    assert with_media == in_file


def test_philadelphia_nulls_and_intervals(harvest_served, lake) -> None:
    document = fixture_bytes(PHILLY)
    run = harvest_served({"/data.json": static(document)}, "datajson")
    assert expected_counts(document) == (402, 2841, 51)
    assert (run.datasets, run.distributions, run.publishers) == (402, 2841, 51)
    top = rows(lake, "SELECT publisher_name, count(*) AS n FROM datasets GROUP BY 1 ORDER BY n DESC LIMIT 1")
    assert top == [{"publisher_name": "City of Philadelphia", "n": 295}]
    counts = rows(
        lake,
        "SELECT count(*) FILTER (modified_text IS NULL) AS missing,"
        " count(*) FILTER (modified_text LIKE 'R/%') AS intervals FROM datasets",
    )[0]
    assert counts == {"missing": 391, "intervals": 11}  # as the MANIFEST says


def test_datos_gob_ar_cassette(harvest_served, lake) -> None:
    """The DCAT-AR profile: fractional seconds without a zone, a licence by name, a single distribution object."""
    document = cassette_body(DATOS_GOB_AR)
    datasets = json.loads(document)["dataset"]
    run = harvest_served({"/data.json": static(document, "application/json; charset=UTF-8")}, "datajson")
    assert run.datasets == len(datasets) == 72
    assert run.distributions == sum(len(d.get("distribution") or []) for d in datasets)
    first = datasets[0]
    found = rows(lake, "SELECT * FROM datasets WHERE dataset_id = ?", first["identifier"])[0]
    assert found["issued_text"] == first["issued"]
    assert found["issued"] == datetime.fromisoformat(first["issued"][:26]).replace(tzinfo=UTC)
    assert set(first.get("superTheme", [])) <= set(found["themes"])
    assert found["license_id"] == "Open Data Commons Open Database License (ODbL)"
    assert found["license_url"] is None  # a name, not a URL
    assert found["frequency"] == "R/P1Y"
    assert found["publisher_name"].startswith("Ministerio del Interior")
    distribution = rows(lake, "SELECT * FROM distributions WHERE dataset_id = ?", first["identifier"])[0]
    assert distribution["format"] == "ZIP"
    assert distribution["issued"] == datetime(2017, 7, 27, 16, 1, 28, 310795, tzinfo=UTC)


def test_a_bare_list_document_is_read_too(harvest_served) -> None:
    """Pre-1.1 feeds are a top-level array of datasets."""
    datasets = json.loads(fixture_bytes(FEDERAL.format("consumerfinance")))["dataset"]
    run = harvest_served({"/data.json": static(json.dumps(datasets))}, "datajson")
    assert run.datasets == 11


def test_an_html_page_is_a_clear_error(harvest_served, lake) -> None:
    with pytest.raises(HarvestError, match=r"data.json: HTTP 200, not a JSON document"):
        harvest_served({"/data.json": static("<html>maintenance</html>", "text/html")}, "datajson")
    assert lake.runs("test-portal")[-1]["status"] == "failed"


def test_a_large_document_streams_in_pages(harvest_served) -> None:
    """5,000 datasets arrive as pages of 500 while the document is still being read."""
    template = json.loads(fixture_bytes(FEDERAL.format("consumerfinance")))["dataset"][0]
    datasets = [template | {"identifier": f"id-{n}"} for n in range(5000)]
    run = harvest_served({"/data.json": static(json.dumps({"dataset": datasets}))}, "datajson")
    assert (run.datasets, run.distributions, run.requests) == (5000, 5000, 1)
