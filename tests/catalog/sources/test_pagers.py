"""The pagers (`catalog.sources.pagers`) as the clients drive them, against the loopback servers the
clients' own tests serve: where each asks next, and each way it stops (an empty page, a page served
before, a count reached, an offset limit, a missing link)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

import catalog.http
from catalog.errors import HarvestError
from catalog.http import HttpSettings
from catalog.sources.arcgis.client import ArcGisHubClient
from catalog.sources.base import (
    FIRST_PAGE_ROWS,
    PAGE_TARGET_BYTES,
    PAGE_TARGET_BYTES_RATE_BOUND,
    ReceivedRecords,
    page_budget,
    rate_bound_target,
    rows_for_bytes,
)
from catalog.sources.ckan.client import CkanClient
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
from tests.conftest import FAST, SHIPPED, fixture_bytes, real_packages
from tests.recorded import multiplied
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
        assert [len(page.records) for page in pages] == [FIRST_PAGE_ROWS, 100, 100, 30, 0]
        assert [query["offset"] for query in queries(server, LISTING)] == ["0", "20", "120", "220", "250"]
        assert [query["limit"] for query in queries(server, LISTING)] == ["20", "100", "100", "100", "100"]
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
        assert [len(page.records) for page in pages] == [FIRST_PAGE_ROWS, 100, 100, 30]
        assert [query["offset"] for query in queries(server, DATASETS)] == ["0", "20", "120", "220"]  # no empty page
        assert [r["dataset_id"] for page in pages for r in page.records] == [r["dataset_id"] for r in records]


def test_offset_pager_stops_before_the_offset_limit() -> None:
    """Without a count, ODS's 10,000 limit on offset + limit ends the paging: the server refuses past it
    (HTTP 400, which would fail the read). The page before it is asked smaller, to read all 10,000."""
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
        asked = [(int(query["offset"]), int(query["limit"])) for query in queries(server, DATASETS)]
        assert (len(pages), asked[-2:], sum(len(page.records) for page in pages)) == (
            101,
            [(9820, 100), (9920, 80)],
            10_000,
        )


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
        assert [len(page.records) for page in pages] == [FIRST_PAGE_ROWS, 1000, 1000, 480]  # a short page is the last
        cursors = [query.get("scroll_id") for query in queries(server, "/api/catalog/v1")]
        assert cursors == [None, ids[19], ids[1019], ids[2019]]


def test_cursor_pager_stops_on_an_empty_page() -> None:
    results = [socrata_result(n) for n in range(FIRST_PAGE_ROWS + 2000)]
    with serve_routes(discovery_api(results)) as server:
        pages = list(SocrataClient(server.base_url, settings=FAST).iter_dataset_pages())
        assert [len(page.records) for page in pages] == [FIRST_PAGE_ROWS, 1000, 1000, 0]
        assert len(server.requests) == 4


@pytest.mark.parametrize("settings", [SHIPPED, FAST], ids=["shipped", "fast"])
def test_cursor_pager_goes_on_past_a_short_page_while_the_count_says_more_follow(settings: HttpSettings) -> None:
    """A site serving fewer results than asked, not at the end: the pages after are asked that large."""
    results = [socrata_result(n) for n in range(1000)]
    served = discovery_api(results)["/api/catalog/v1"]

    def capped(query: dict[str, str], headers: Any) -> Answer:
        return served(query | {"limit": str(min(int(query["limit"]), 300))}, headers)

    with serve_routes({"/api/catalog/v1": capped}) as server:
        pages = list(SocrataClient(server.base_url, settings=settings).iter_dataset_pages())
        assert [len(page.records) for page in pages] == [FIRST_PAGE_ROWS, 300, 300, 300, 80]
        assert pages[1].notes == ["portal capped limit at 300 (asked 1000)"]
        assert [query["limit"] for query in queries(server, "/api/catalog/v1")] == ["20", "1000", "300", "300", "300"]
        assert sorted(r["resource"]["id"] for page in pages for r in page.records) == sorted(
            r["resource"]["id"] for r in results
        )


def test_cursor_pager_drops_a_page_from_a_site_that_ignores_the_cursor() -> None:
    results = [socrata_result(n) for n in range(1500)]
    first_page = discovery_api(results)["/api/catalog/v1"]
    routes = {"/api/catalog/v1": lambda query, headers: first_page(query | {"scroll_id": ""}, headers)}
    with serve_routes(routes) as server:
        pages = list(SocrataClient(server.base_url, settings=FAST).iter_dataset_pages())
        assert [len(page.records) for page in pages] == [FIRST_PAGE_ROWS, 0]  # the second started as the first
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


def heavy(record: dict[str, Any], into: dict[str, Any], size: int) -> dict[str, Any]:
    """`record` with a description of `size` characters in `into` (its part that has one)."""
    into["description"] = "Lượng mưa theo giờ. " * (size // 20)
    return record


def test_pages_hold_as_many_records_as_make_three_megabytes() -> None:
    """Records of 90 KB, ten times the usual: ODS's usual 100 would be a 9 MB page, past its 8 MB budget
    (the read failed). The first page asks for 20, the next ones as many as weigh 3 MB."""
    records = [ods_record(n) for n in range(150)]
    records = [heavy(record, record["metas"]["default"], 90_000) for record in records]
    with serve_routes(ods_api(records)) as server:
        pages = list(OpenDataSoftClient(server.base_url, settings=FAST).iter_dataset_pages())
        limits = [int(query["limit"]) for query in queries(server, DATASETS)]
    assert [r["dataset_id"] for page in pages for r in page.records] == [r["dataset_id"] for r in records]
    assert limits[0] == FIRST_PAGE_ROWS and set(limits[1:-1]) == {limits[1]}
    weights = [sum(len(json.dumps(record)) for record in page.records) for page in pages]
    assert max(weights[1:]) <= PAGE_TARGET_BYTES < weights[1] + 2 * weights[1] // limits[1]  # as full as fits


def test_pages_grow_while_the_shipped_rate_holds_requests_back_and_shrink_once_the_portal_is_slower(
    serve, monkeypatch
) -> None:
    """At the shipped rate (5 a second: a second's worth at once, then the next held back), a CKAN portal
    that answers at once: after the first request held back, pages are asked larger (records of 87 KB:
    4 MB, half their budget) and the same records come in fewer requests. Once the portal answers slower
    than the rate, no request waits for it (polite without sleeping), and pages go back to 3 MB."""
    monkeypatch.setattr(catalog.http, "_LIMITERS", {})  # no bucket left from an earlier server on this port
    packages = [heavy(package, package, 60_000) for package in multiplied(real_packages(), 1500)]
    answered: list[tuple[float, int]] = []
    slowing_at = 500  # the offset from which the portal answers slower than the rate

    def answer(start: int) -> None:
        if start >= slowing_at:
            time.sleep(0.25)
        answered.append((time.monotonic(), start))

    portal = serve(packages, on_search=[answer])
    client = CkanClient(portal.url, settings=SHIPPED)
    pages = list(client.iter_dataset_pages())
    assert [r["id"] for page in pages for r in page.records] == [p["id"] for p in packages]
    asked = [int(parse_qs(urlsplit(path).query)["rows"][0]) for path, _ in portal.server.log]
    weight = sum(len(orjson.dumps(package)) for package in packages) // len(packages)  # a record as served
    at_three, larger = PAGE_TARGET_BYTES // weight, rate_bound_target(1, weight) // weight
    assert rate_bound_target(1, weight) == 4 * 2**20 and larger > at_three * 1.2
    assert asked[:6] == [FIRST_PAGE_ROWS] + [pytest.approx(at_three, rel=0.1)] * 5  # a second's worth: none held
    assert asked[6] == pytest.approx(larger, rel=0.1)  # the 6th was held back
    assert asked[-2] == pytest.approx(at_three, rel=0.1)  # the last full page: the portal sets the pace again
    slowed = next(at for at, start in answered if start >= slowing_at)  # a limiter's second later, no waits
    assert client.traffic.held_back_at is not None and client.traffic.held_back_at < slowed + 1.1
    assert len(asked) < 2 + 1500 // at_three


@pytest.mark.parametrize("kilobytes", [1, 5, 9, 20, 24, 25, 36, 48, 87, 500, 5_000])
def test_pages_paced_by_our_rate_grow_but_stay_within_half_their_budget(kilobytes) -> None:
    """However heavy the records, a page asked while our rate sets the pace is at most half its budget,
    as a 3 MB page is: one of records heavier than the last still fits. Records of up to 24 KB get 6 MB."""
    weight = kilobytes * 1024
    target = rate_bound_target(10, 10 * weight)
    rows = rows_for_bytes(10, 10 * weight, target)
    assert PAGE_TARGET_BYTES < target <= PAGE_TARGET_BYTES_RATE_BOUND
    assert rows * weight * 2 <= page_budget(rows) or rows == 1
    assert (target == PAGE_TARGET_BYTES_RATE_BOUND) == (kilobytes <= 24)


def test_a_page_the_portal_fails_under_load_is_asked_again_smaller() -> None:
    """A Discovery API that answers 503 to pages of more than 100 results: each failed page is asked again
    with half the rows, said in the page's notes, and every result is read once."""
    results = [socrata_result(n) for n in range(1500)]
    paged = discovery_api(results)["/api/catalog/v1"]

    def struggling(query: dict[str, str], headers: Any) -> Answer:
        return (503, "text/plain", b"busy") if int(query["limit"]) > 100 else paged(query, headers)

    with serve_routes({"/api/catalog/v1": struggling}) as server:
        pages = list(SocrataClient(server.base_url, settings=FAST).iter_dataset_pages())
        limits = [int(query["limit"]) for query in queries(server, "/api/catalog/v1")]
    read = [result["resource"]["id"] for page in pages for result in page.records]
    assert sorted(read) == sorted(result["resource"]["id"] for result in results)
    assert list(dict.fromkeys(limits))[:6] == [FIRST_PAGE_ROWS, 1000, 500, 250, 125, 62]  # each tried twice by HTTP
    assert pages[1].notes[0] == "/api/catalog/v1 failed with limit=1000 (catalog/v1: HTTP 503); retried with limit=500"
    regrown = limits.count(124) // 2  # after a failure, pages grow again only after three good ones
    assert 0 < regrown <= len(pages) // 3


def test_search_pages_travel_in_the_bytes_received() -> None:
    """Socrata, OpenDataSoft and Hub search pages, and DKAN's listing, are surveyed, not parsed: their
    records reach the workers in the page's bytes, to be parsed once there, and read as those served."""
    socrata = [socrata_result(n) for n in range(30)]
    ods = [ods_record(n) for n in range(30)]
    hub = [hub_item(n) for n in range(30)]
    dkan = real_and_copies(30)
    for routes, client, served in (
        (discovery_api(socrata), SocrataClient, sorted(socrata, key=lambda r: r["resource"]["id"])),
        (ods_api(ods), OpenDataSoftClient, ods),
        (hub_search(hub), ArcGisHubClient, hub),
        (dkan_routes(dkan, prefix="/api/3/action/"), DkanClient, dkan),
    ):
        with serve_routes(routes) as server:
            pages = [page for page in client(server.base_url, settings=FAST).iter_dataset_pages() if page.records]
        assert all(isinstance(page.records, ReceivedRecords) for page in pages)
        assert [record for page in pages for record in page.records] == served


def test_a_page_the_survey_declines_is_parsed_with_a_note() -> None:
    """Invalid UTF-8 in one result: simdjson refuses the page, the lenient parser reads it (the bad bytes
    replaced) and says so; every result is kept."""
    results = [socrata_result(n) for n in range(5)]
    paged = discovery_api(results)["/api/catalog/v1"]

    def broken(query: dict[str, str], headers: Any) -> Answer:
        status, content_type, body = paged(query, headers)[:3]
        return status, content_type, body.replace(b"Permits issued", b"Permits \xff issued")

    with serve_routes({"/api/catalog/v1": broken}) as server:
        [page] = list(SocrataClient(server.base_url, settings=FAST).iter_dataset_pages())
    assert isinstance(page.records, list) and len(page.records) == 5
    assert page.records[0]["resource"]["description"].startswith("Permits \ufffd issued")
    assert "catalog/v1: response needed the lenient parser" in page.notes[0]


def test_a_page_without_its_list_of_records_says_so() -> None:
    routes = {"/api/catalog/v1": static(json.dumps({"results": None, "resultSetSize": 3}).encode())}
    with serve_routes(routes) as server, pytest.raises(HarvestError, match="catalog/v1: answer has no list of results"):
        list(SocrataClient(server.base_url, settings=FAST).iter_dataset_pages())
