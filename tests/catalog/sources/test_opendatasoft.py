"""The OpenDataSoft adapter against answers built to the Explore API v2.1 documentation
(https://help.opendatasoft.com/apis/ods-explore-v2/: `total_count`, `results`, `limit` <= 100, offset +
limit <= 10,000, and `/catalog/exports/json` for whole catalogues). No recorded ODS response exists in
the fixtures (see their MANIFEST)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.conftest import rows
from tests.routes import Answer


def ods_record(number: int) -> dict[str, Any]:
    """One catalogue record in the documented v2.1 shape."""
    geo = number % 3 == 0
    return {
        "dataset_id": f"comptages-velo-{number:05d}",
        "dataset_uid": f"da_{number:06x}",
        "attachments": [
            {"id": "notice", "title": "Notice", "mimetype": "application/pdf", "href": "https://x/notice.pdf"}
        ]
        if number == 0
        else [],
        "has_records": True,
        "data_visible": True,
        "features": ["analyze", "geo"] if geo else ["analyze"],
        "metas": {
            "default": {
                "title": f"Comptages vélo {number}",
                "description": "<p>Données de comptage des vélos.</p>",
                "theme": ["Mobilité, Transport"],
                "keyword": ["vélo", "comptage"],
                "license": "Open Database License (ODbL)",
                "license_url": "http://opendatacommons.org/licenses/odbl/",
                "language": "fr",
                "modified": "2024-05-06T08:00:00+00:00",
                "data_processed": "2024-05-06T08:05:00+00:00",
                "publisher": "Direction de la Voirie" if number % 2 else "Ville de Paris",
                "records_count": 1000 + number,
                "territory": ["Paris"],
            },
            "dcat": {
                "issued": "2019-01-10",
                "contact_name": "Open data team",
                "contact_email": "opendata@example.org",
                "accrualperiodicity": "http://publications.europa.eu/resource/authority/frequency/DAILY",
            },
        },
        "fields": [{"name": "date", "type": "datetime"}],
    }


def ods_api(records: list[dict[str, Any]]) -> dict:
    def datasets(query: dict[str, str], _headers: Any) -> Answer:
        limit, offset = int(query.get("limit", 10)), int(query.get("offset", 0))
        if limit > 100 or offset + limit > 10_000:
            return 400, "application/json", b'{"error_code": "InvalidRESTParameterError"}'
        page = records[offset : offset + limit]
        return 200, "application/json", json.dumps({"total_count": len(records), "results": page}).encode()

    def export(_query: dict[str, str], _headers: Any) -> Answer:
        return 200, "application/json", json.dumps(records).encode()

    return {"/api/explore/v2.1/catalog/datasets": datasets, "/api/explore/v2.1/catalog/exports/json": export}


def test_ods_catalogue_pages_by_offset(harvest_served, lake) -> None:
    records = [ods_record(n) for n in range(250)]
    run = harvest_served(ods_api(records), "opendatasoft")
    geo = sum(1 for r in records if "geo" in r["features"])
    assert (run.status, run.datasets, run.publishers) == ("complete", 250, 2)
    assert run.requests == 4  # 20 records, then pages of the most ODS allows, 100, to the count
    assert run.distributions == 250 * 3 + geo * 2 + 1  # CSV, JSON, XLSX; GeoJSON and SHP if geo; one attachment
    dataset = rows(lake, "SELECT * FROM datasets WHERE dataset_id = 'comptages-velo-00000'")[0]
    assert dataset["title"] == "Comptages vélo 0"
    assert dataset["license_url"] == "http://opendatacommons.org/licenses/odbl/"
    assert dataset["frequency"] == "http://publications.europa.eu/resource/authority/frequency/DAILY"
    assert dataset["issued"] == datetime(2019, 1, 10, tzinfo=UTC)
    assert dataset["modified"] == datetime(2024, 5, 6, 8, tzinfo=UTC)
    assert dataset["publisher_name"] == "Ville de Paris"
    assert dataset["extras"]["territory"] == '["Paris"]'


def test_a_catalogue_past_the_offset_limit_is_read_from_the_export(harvest_served) -> None:
    records = [ods_record(n) for n in range(10_050)]
    run = harvest_served(ods_api(records), "opendatasoft")
    assert (run.status, run.datasets, run.requests) == ("complete", 10_050, 2)  # one probe page, one export
    assert any("exports/json" in note for note in run.notes)
