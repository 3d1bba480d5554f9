"""The Socrata adapter against answers built to the Discovery API documentation
(https://dev.socrata.com/docs/other/discovery: `results`, `resultSetSize`, `scroll_id` paging).
No recorded Discovery API response exists in the fixtures (see their MANIFEST)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.conftest import rows
from tests.routes import Answer

DOMAIN = "127.0.0.1"


def socrata_result(number: int) -> dict[str, Any]:
    """One result in the documented shape (fields as data.cityofchicago.org returns them)."""
    four_by_four = f"ab{number:04d}-cd{number % 100:02d}"
    return {
        "resource": {
            "name": f"Building Permits {number}",
            "id": four_by_four,
            "description": "Permits issued by the Department of Buildings.",
            "attribution": "City of Chicago" if number % 2 else "Department of Buildings",
            "contact_email": "opendata@example.gov",
            "type": "dataset",
            "updatedAt": "2024-03-01T10:15:00.000Z",
            "createdAt": "2015-06-02T18:00:00.000Z",
            "data_updated_at": "2024-03-02T06:00:00.000Z",
            "page_views": {"page_views_total": 1000 + number},
            "download_count": 50 + number,
            "provenance": "official",
        },
        "classification": {
            "categories": ["infrastructure"],
            "tags": ["permits"],
            "domain_category": "Buildings",
            "domain_tags": ["construction", "permits"],
            "domain_metadata": [{"key": "Metadata_Frequency", "value": "Daily"}],
        },
        "metadata": {"domain": DOMAIN, "license": "See Terms of Use"},
        "permalink": f"https://{DOMAIN}/d/{four_by_four}",
        "link": f"https://{DOMAIN}/Buildings/Building-Permits/{four_by_four}",
        "owner": {"id": "abcd-0000", "display_name": "Chicago Data Portal"},
    }


def discovery_api(results: list[dict[str, Any]]):
    """`/api/catalog/v1`, sorted by id, paged by `scroll_id` (ids after it) and `limit`."""
    ordered = sorted(results, key=lambda r: r["resource"]["id"])

    def answer(query: dict[str, str], _headers: Any) -> Answer:
        assert query["only"] == "dataset" and query["domains"] == DOMAIN
        after = query.get("scroll_id", "")
        page = [r for r in ordered if r["resource"]["id"] > after][: int(query["limit"])]
        body = {"results": page, "resultSetSize": len(ordered), "timings": {"serviceMillis": 5}, "warnings": []}
        return 200, "application/json", json.dumps(body).encode()

    return {"/api/catalog/v1": answer}


def test_socrata_catalogue_pages_by_scroll_id(harvest_served, lake) -> None:
    results = [socrata_result(n) for n in range(2500)]
    run = harvest_served(discovery_api(results), "socrata")
    assert (run.status, run.datasets, run.distributions, run.publishers, run.source_count) == (
        "complete",
        2500,
        7500,  # CSV, JSON and the SODA API for each
        2,
        2500,
    )
    assert run.requests == 4  # 20 results, then pages of the most asked for, 1000
    dataset = rows(lake, "SELECT * FROM datasets WHERE dataset_id = 'ab0003-cd03'")[0]
    assert dataset["title"] == "Building Permits 3"
    assert dataset["publisher_name"] == "City of Chicago"
    assert dataset["license_id"] == "See Terms of Use"
    assert dataset["frequency"] == "Daily"
    assert dataset["keywords"] == ["construction", "permits"]
    assert dataset["themes"] == ["Buildings", "infrastructure"]
    assert dataset["modified"] == datetime(2024, 3, 2, 6, tzinfo=UTC)
    assert dataset["landing_page"] == f"https://{DOMAIN}/Buildings/Building-Permits/ab0003-cd03"
    urls = [
        row["access_url"] for row in rows(lake, "SELECT access_url FROM distributions WHERE dataset_id = 'ab0003-cd03'")
    ]
    assert f"https://{DOMAIN}/resource/ab0003-cd03.json" in urls


def test_view_counters_do_not_make_a_new_version(harvest_served, lake) -> None:
    results = [socrata_result(n) for n in range(3)]
    harvest_served(discovery_api(results), "socrata")
    for result in results:
        result["resource"]["page_views"] = {"page_views_total": 999_999}
        result["resource"]["download_count"] = 12345
    second = harvest_served(discovery_api(results), "socrata")
    assert (second.added, second.modified, second.deleted) == (0, 0, 0)
