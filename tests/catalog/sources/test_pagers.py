"""The pagers (`catalog.sources.pagers`) as the clients drive them, against the loopback servers the
clients' own tests serve: where each asks next, and each way it stops (an empty page, a page served
before, a count reached, an offset limit, a missing link)."""

from __future__ import annotations

import json
from typing import Any

from catalog.sources.arcgis.client import ArcGisHubClient
from catalog.sources.datajson.client import DataJsonClient
from catalog.sources.dcat.client import DcatClient
from catalog.sources.dkan.client import DkanClient
from catalog.sources.opendatasoft.client import OpenDataSoftClient
from catalog.sources.socrata.client import SocrataClient
from tests.catalog.sources.test_arcgis import SEARCH, hub_item, hub_search
from tests.catalog.sources.test_dcat import paged_catalogue
from tests.catalog.sources.test_dkan import dkan_routes, envelope, real_and_copies
from tests.catalog.sources.test_opendatasoft import ods_api, ods_record
from tests.catalog.sources.test_socrata import discovery_api, socrata_result
from tests.conftest import FAST, fixture_bytes
from tests.routes import Answer, serve_routes, static

LISTING = "/api/3/action/current_package_list_with_resources"
DATASETS = "/api/explore/v2.1/catalog/datasets"


def queries(server: Any, path: str) -> list[dict[str, str]]:
    return [query for served, query, _ in server.requests if served == path]


def test_offset_pager_moves_by_what_each_page_held_until_an_empty_page() -> None:
    """DKAN reports a count (package_list) but its listing is read until a page comes back empty."""
    with serve_routes(dkan_routes(real_and_copies(250), prefix="/api/3/action/")) as server:
        client = DkanClient(server.base_url, settings=FAST, rows=100)
        pages = list(client.iter_dataset_pages())
        assert [len(page.records) for page in pages] == [100, 100, 50, 0]
        assert [query["offset"] for query in queries(server, LISTING)] == ["0", "100", "200", "250"]
        assert {query["limit"] for query in queries(server, LISTING)} == {"100"}
        assert not any(page.one_document for page in pages)


def test_offset_pager_drops_a_page_that_repeats_the_first() -> None:
    packages = real_and_copies(5)
    routes = dkan_routes(packages, prefix="/api/3/action/")
    routes[LISTING] = lambda _query, _headers: envelope(packages)  # offset ignored
    with serve_routes(routes) as server:
        pages = list(DkanClient(server.base_url, settings=FAST).iter_dataset_pages())
        assert [len(page.records) for page in pages] == [5, 0]
        assert pages[1].notes == ["current_package_list_with_resources ignores offset: one page read"]
        assert len(queries(server, LISTING)) == 2


def test_offset_pager_stops_at_the_reported_count() -> None:
    records = [ods_record(n) for n in range(250)]
    with serve_routes(ods_api(records)) as server:
        pages = list(OpenDataSoftClient(server.base_url, settings=FAST).iter_dataset_pages())
        assert [len(page.records) for page in pages] == [100, 100, 50]
        assert [query["offset"] for query in queries(server, DATASETS)] == ["0", "100", "200"]  # no empty page asked
        assert [r["dataset_id"] for page in pages for r in page.records] == [r["dataset_id"] for r in records]


def test_offset_pager_stops_before_the_offset_limit() -> None:
    """Without a count, ODS's 10,000 limit on offset + limit ends the paging: the server refuses past it
    (HTTP 400, which would fail the read)."""
    records = [ods_record(n) for n in range(10_500)]
    uncounted = ods_api(records)
    counted = uncounted[DATASETS]

    def datasets(query: dict[str, str], headers: Any) -> Answer:
        status, content_type, body = counted(query, headers)[:3]
        answer = json.loads(body)
        answer.pop("total_count", None)
        return status, content_type, json.dumps(answer).encode()

    uncounted[DATASETS] = datasets
    with serve_routes(uncounted) as server:
        pages = list(OpenDataSoftClient(server.base_url, settings=FAST).iter_dataset_pages())
        offsets = [int(query["offset"]) for query in queries(server, DATASETS)]
        assert (len(pages), offsets[-1], sum(len(page.records) for page in pages)) == (100, 9_900, 10_000)


def test_a_catalogue_past_the_offset_limit_is_one_document() -> None:
    records = [ods_record(n) for n in range(10_050)]
    with serve_routes(ods_api(records)) as server:
        pages = list(OpenDataSoftClient(server.base_url, settings=FAST).iter_dataset_pages())
        assert sum(len(page.records) for page in pages) == 10_050
        assert all(page.one_document for page in pages)
        assert "exceed the 10000-record paging limit" in pages[0].notes[0]


def test_cursor_pager_asks_after_the_last_id_read() -> None:
    results = [socrata_result(n) for n in range(2500)]
    ids = sorted(result["resource"]["id"] for result in results)
    with serve_routes(discovery_api(results)) as server:
        pages = list(SocrataClient(server.base_url, settings=FAST).iter_dataset_pages())
        assert [len(page.records) for page in pages] == [1000, 1000, 500]  # a short page is the last
        cursors = [query.get("scroll_id") for query in queries(server, "/api/catalog/v1")]
        assert cursors == [None, ids[999], ids[1999]]


def test_cursor_pager_stops_on_an_empty_page() -> None:
    results = [socrata_result(n) for n in range(2000)]
    with serve_routes(discovery_api(results)) as server:
        pages = list(SocrataClient(server.base_url, settings=FAST).iter_dataset_pages())
        assert [len(page.records) for page in pages] == [1000, 1000, 0]
        assert len(server.requests) == 3


def test_cursor_pager_drops_a_page_from_a_site_that_ignores_the_cursor() -> None:
    results = [socrata_result(n) for n in range(1500)]
    first_page = discovery_api(results)["/api/catalog/v1"]
    routes = {"/api/catalog/v1": lambda query, headers: first_page(query | {"scroll_id": ""}, headers)}
    with serve_routes(routes) as server:
        pages = list(SocrataClient(server.base_url, settings=FAST).iter_dataset_pages())
        assert [len(page.records) for page in pages] == [1000, 0]
        assert pages[1].notes == ["/api/catalog/v1 ignores scroll_id: one page read"]
        assert len(server.requests) == 2


def test_link_pager_follows_next_links_and_stops_where_there_is_none() -> None:
    with serve_routes(hub_search([hub_item(n) for n in range(230)])) as server:
        pages = list(ArcGisHubClient(server.base_url, settings=FAST).iter_dataset_pages())
        assert [len(page.records) for page in pages] == [100, 100, 30]
        assert pages[0].notes == ["no DCAT-US feed (HTTP 404): read the Hub search API"]
        starts = [query["startindex"] for query in queries(server, SEARCH)]
        assert starts == ["1", "101", "201"]
        assert not any(page.one_document for page in pages)


def test_link_pager_stops_on_a_link_to_a_page_read_before() -> None:
    items = [hub_item(n) for n in range(200)]
    paged = hub_search(items)[SEARCH]

    def looping(query: dict[str, str], headers: Any) -> Answer:
        status, content_type, body = paged(query, headers)[:3]
        answer = json.loads(body)
        if query["startindex"] == "101":  # the last page links back to the second
            answer["links"].append({"rel": "next", "href": f"{SEARCH}?limit=100&startindex=101"})
        return status, content_type, json.dumps(answer).encode()

    with serve_routes({SEARCH: looping}) as server:
        pages = list(ArcGisHubClient(server.base_url, settings=FAST).iter_dataset_pages())
        assert [len(page.records) for page in pages] == [100, 100]
        looped = f"{server.base_url}{SEARCH}?limit=100&startindex=101"
        assert pages[1].notes == [f"page {looped} was served before (a paging loop): stopped there"]
        assert len(queries(server, SEARCH)) == 2


def test_link_pager_goes_on_past_a_page_without_datasets_where_told_to() -> None:
    """A DCAT page may hold no dataset (a CSW page of services) and still link to more."""
    pages = paged_catalogue()
    pages[2] = b"""@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
        </catalog.ttl?page=2> a hydra:PagedCollection ; hydra:nextPage "/catalog.ttl?page=3" ; hydra:totalItems 2 ."""
    routes = {"/catalog.ttl": lambda query, _headers: (200, "text/turtle", pages[int(query.get("page", 1))])}
    with serve_routes(routes) as server:
        read = list(DcatClient(server.base_url + "/catalog.ttl", settings=FAST).iter_dataset_pages())
        assert [len(page.records) for page in read] == [1, 0, 1]
        assert [query.get("page") for query in queries(server, "/catalog.ttl")] == [None, "2", "3"]


def test_pages_of_a_document_say_offsets_cannot_shift() -> None:
    """A data.json, and a Hub's feed, are read once: what the harvest needs to skip a catch-up pass."""
    feed = fixture_bytes("dcat-us/us-federal-agencies/gsa_data.json")
    routes = {"/data.json": static(feed), "/api/feed/dcat-us/1.1.json": static(feed)}
    with serve_routes(routes) as server:
        document = list(
            DataJsonClient(server.base_url + "/data.json", settings=FAST, page_size=100).iter_dataset_pages()
        )
        hub = list(ArcGisHubClient(server.base_url, settings=FAST).iter_dataset_pages())
        assert [len(page.records) for page in document] == [100, 100, 100, 39]
        assert sum(len(page.records) for page in hub) == 339
        assert all(page.one_document for page in document + hub)
