"""The ArcGIS Hub adapter: a site's DCAT-US feed (a real data.json from the fixtures standing in), and
the Hub search API where a site has none, with answers built to its documentation (OGC API - Records,
https://developers.arcgis.com/rest/hub/: a GeoJSON FeatureCollection with `numberMatched` and
`links` rel=next). No recorded Hub search response exists in the fixtures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.conftest import fixture_bytes, rows
from tests.routes import Answer, static

SEARCH = "/api/search/v1/collections/dataset/items"


def hub_item(number: int) -> dict[str, Any]:
    return {
        "id": f"{number:032x}",
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[106.6, 10.7], [106.8, 10.7], [106.8, 10.9], [106.6, 10.7]]]},
        "properties": {
            "id": f"{number:032x}",
            "title": f"Trạm quan trắc không khí {number}",
            "type": "Feature Service" if number % 2 else "CSV",
            "description": "Vị trí các trạm quan trắc chất lượng không khí.",
            "tags": ["môi trường", "không khí"],
            "categories": ["/Categories/Environment"],
            "created": 1609459200000,  # 2021-01-01T00:00:00Z, epoch milliseconds
            "modified": 1704067200000,  # 2024-01-01T00:00:00Z
            "owner": "hcmgis_admin",
            "orgName": "HCMGIS",
            "url": f"https://services.arcgis.com/x/arcgis/rest/services/air_{number}/FeatureServer",
            "licenseInfo": "CC BY 4.0",
            "access": "public",
        },
    }


def hub_search(items: list[dict[str, Any]]) -> dict:
    def answer(query: dict[str, str], _headers: Any) -> Answer:
        limit, start = int(query.get("limit", 10)), int(query.get("startindex", 1))
        page = items[start - 1 : start - 1 + limit]
        links = [{"rel": "self", "href": f"{SEARCH}?limit={limit}&startindex={start}"}]
        if start - 1 + limit < len(items):
            links.append({"rel": "next", "href": f"{SEARCH}?limit={limit}&startindex={start + limit}"})
        body = {"type": "FeatureCollection", "features": page, "numberMatched": len(items), "links": links}
        return 200, "application/geo+json", json.dumps(body).encode()

    return {SEARCH: answer}


def test_hub_without_a_feed_is_read_through_the_search_api(harvest_served, lake) -> None:
    items = [hub_item(n) for n in range(230)]
    run = harvest_served(hub_search(items), "arcgis")
    assert (run.status, run.datasets, run.distributions, run.publishers, run.source_count) == (
        "complete",
        230,
        230,
        1,
        230,
    )
    assert any("search API" in note for note in run.notes)
    dataset = rows(lake, "SELECT * FROM datasets WHERE title = 'Trạm quan trắc không khí 7'")[0]
    assert dataset["issued"] == datetime(2021, 1, 1, tzinfo=UTC)
    assert dataset["modified"] == datetime(2024, 1, 1, tzinfo=UTC)
    assert dataset["keywords"] == ["môi trường", "không khí"]
    assert dataset["license_id"] == "CC BY 4.0"
    formats = rows(lake, "SELECT format, count(*) AS n FROM distributions GROUP BY 1 ORDER BY 1")
    assert formats == [{"format": "CSV", "n": 115}, {"format": "Esri REST", "n": 115}]


def test_hub_feed_is_preferred(harvest_served) -> None:
    feed = fixture_bytes("dcat-us/us-federal-agencies/consumerfinance_data.json")
    routes = {"/api/feed/dcat-us/1.1.json": static(feed)} | hub_search([hub_item(1)])
    run = harvest_served(routes, "arcgis")
    assert (run.datasets, run.distributions, run.requests) == (11, 11, 1)


def test_only_the_search_api_calls_for_a_catch_up_pass(harvest_served) -> None:
    """A dataset listed twice means offsets shifted under a paged read, but not under the feed, one document
    read once: the harvest learns which from the pages themselves."""
    feed = json.loads(fixture_bytes("dcat-us/us-federal-agencies/consumerfinance_data.json"))
    feed["dataset"].append(feed["dataset"][0])
    from_feed = harvest_served({"/api/feed/dcat-us/1.1.json": static(json.dumps(feed))}, "arcgis")
    assert (from_feed.datasets, from_feed.duplicates_dropped, from_feed.requests) == (11, 1, 1)
    assert not any("catch-up" in note for note in from_feed.notes)
    searched = harvest_served(hub_search([hub_item(n) for n in range(150)] + [hub_item(5)]), "arcgis")
    assert (searched.datasets, searched.duplicates_dropped) == (150, 1)
    assert searched.requests == 6  # the feed's 404 and two pages, once more for the catch-up pass
    assert "catch-up pass found 0 datasets the first pass missed" in searched.notes
