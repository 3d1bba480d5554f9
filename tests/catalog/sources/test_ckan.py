"""The CKAN adapter against a local CKAN-API server: paging, caps, publishers and every error shape."""

from __future__ import annotations

import dataclasses
import socket
import time

import orjson
import pytest
import simdjson

from catalog.errors import HarvestError
from catalog.http import USER_AGENT, Fetched
from catalog.normalise.values import json_bytes
from catalog.sources.base import ReceivedRecords
from catalog.sources.ckan.client import CkanClient, survey_search_page
from tests.conftest import FAST, fixture_bytes, load_fixture, real_packages, rows
from tests.hostile import ckan_envelope, pages_with_deep_records
from tests.recorded import BIRMINGHAM_SEARCH, multiplied
from tests.routes import static


def test_pages_follow_the_portal_cap_in_stable_order(serve) -> None:
    packages = multiplied(real_packages(), 25)
    portal = serve(packages, rows_max=7)
    client = CkanClient(portal.url, rows=10, settings=FAST)
    pages = list(client.iter_dataset_pages())
    assert [len(page.records) for page in pages] == [7, 7, 7, 4]
    assert pages[0].notes == ["portal capped rows at 7 (asked 10)"]
    assert all(page.reported_count == 25 for page in pages)
    assert [r["id"] for page in pages for r in page.records] == [p["id"] for p in packages]  # metadata_created order
    assert client.traffic.requests == 4


def test_search_pages_leave_their_records_in_the_bytes_received(serve) -> None:
    """The fetch surveys a page (count, where the records are, their ids) and parses none of it: the
    records reach normalisation as the body the portal sent, to be parsed once."""
    packages = multiplied(real_packages(), 12)
    client = CkanClient(serve(packages).url, rows=5, settings=FAST)
    pages = list(client.iter_dataset_pages())
    assert all(isinstance(page.records, ReceivedRecords) for page in pages)
    assert [len(page.records) for page in pages] == [5, 5, 2]
    assert [i for page in pages for i in page.records.ids] == [p["id"] for p in packages]
    assert [r for page in pages for r in page.records] == [orjson.loads(orjson.dumps(p)) for p in packages]
    first = pages[0].records
    assert orjson.loads(first.body)["result"]["results"][0]["id"] == packages[0]["id"]
    assert [r["id"] for r in first.keeping([4, 1])] == [packages[4]["id"], packages[1]["id"]]


def test_a_surveyed_page_cuts_each_record_out_as_sent() -> None:
    """`ReceivedRecords.as_sent`: each record's bytes as the page has them (spacing, escapes, a number's
    spelling, a key repeated inside a record, brackets inside strings); items that are not objects are
    not records."""
    records = [
        b'{"id": "a", "title": "Caf\\u00e9 } ]", "n": 1.50}',
        b'{ "id" : "b", "id": "c",\n "x": [{"y": "\\"{"}] }',
    ]
    body = ckan_envelope(b'{"count": 2, "results": [%s, 7, "s", %s]}' % tuple(records))
    page, count = survey_search_page(simdjson.Parser(), Fetched(200, "application/json", body), lambda r: r.get("id"))
    assert (page.positions, count) == ([0, 3], 2)
    assert page.as_sent() == records
    assert page.keeping([1]).as_sent() == records[1:]
    assert [orjson.loads(record) for record in records] == list(page)


def test_a_real_portals_answer_keeps_each_record_in_its_own_bytes(harvest_served, lake) -> None:
    """data.birmingham.gov.uk's recorded package_search answer, served verbatim but for its count (cut to
    the 10 records it holds): each dataset's `raw` is its record's bytes in that answer, spaced as CKAN
    spaced them, which is not the compact JSON its content hash reads."""
    body = fixture_bytes(BIRMINGHAM_SEARCH).replace(b'"count": 38,', b'"count": 10,', 1)
    empty = static(b'{"help": "", "success": true, "result": []}')
    routes = {"/api/3/action/package_search": static(body), "/api/3/action/organization_list": empty}
    run = harvest_served(routes, "ckan")
    kept = [row["raw"].encode() for row in rows(lake, "SELECT raw FROM datasets")]
    assert run.datasets == len(kept) == 10
    for raw in kept:
        assert raw in body and raw.startswith(b'{"license_title": ') and raw != json_bytes(orjson.loads(raw))


RECORD = b'{"id": "x", "title": "T'


@pytest.mark.parametrize(
    ("body", "title"),
    [
        (ckan_envelope(b'{"count": 1, "results": [' + RECORD + b'\xff"}]}'), "T\ufffd"),  # invalid UTF-8
        (ckan_envelope(b'{"count": 1, "results": [' + RECORD + b'\\ud800"}]}'), "T\ufffd"),  # lone surrogate
        (ckan_envelope(b'{"count": 1, "results": [' + RECORD + b'", "n": 1e400}]}'), "T"),  # past a double
        (ckan_envelope(b'{"count": 1, "results": [' + RECORD + b'", "n": 123456789012345678901234}]}'), "T"),
        (  # the same key twice on the way to the records: parsers disagree on which to keep
            b'{"success": true, "result": {"count": 1, "results": [{"id": "y", "title": "No"}]}, "result": '
            b'{"count": 1, "results": [' + RECORD + b'"}]}}',
            "T",
        ),
    ],
)
def test_pages_the_survey_declines_are_parsed_leniently_as_before(serve, body, title) -> None:
    portal = serve([])
    portal.options.intercept = lambda action, params: (200, body, "application/json")
    client = CkanClient(portal.url, settings=FAST)
    (page,) = list(client.iter_dataset_pages())
    assert isinstance(page.records, list)
    assert [(r["id"], r["title"]) for r in page.records] == [("x", title)]


@pytest.mark.parametrize(("depth", "surveyed"), [(995, True), (1_030, False), (5_000, False)])
def test_simdjson_surveys_pages_up_to_its_depth_limit(depth, surveyed) -> None:
    """The hostile suite's records nested absurdly deep meet both paths: simdjson takes 1,024 levels."""
    _, body, content_type = pages_with_deep_records([], [depth])("package_search", {})
    fetched = Fetched(200, content_type, body)
    page = survey_search_page(simdjson.Parser(), fetched, lambda record: record.get("id"))
    assert (page is not None) is surveyed
    if surveyed:
        assert page[0].ids == [f"deep-{depth}"]


def test_empty_catalogue_is_one_request(serve) -> None:
    client = CkanClient(serve([]).url, settings=FAST)
    pages = list(client.iter_dataset_pages())
    assert [(len(p.records), p.reported_count) for p in pages] == [(0, 0)]


def test_filter_query_is_sent(serve) -> None:
    packages = multiplied(real_packages(), 6)
    for index, package in enumerate(packages):
        package["extras"] = [{"key": "odm_spatial_range", "value": "vn" if index % 3 == 0 else "kh"}]
    client = CkanClient(serve(packages).url, filter_query="extras_odm_spatial_range:vn", settings=FAST)
    ids = [r["id"] for page in client.iter_dataset_pages() for r in page.records]
    assert ids == [packages[0]["id"], packages[3]["id"]]


def test_real_organisations_from_a_ckan_that_ignores_paging(serve) -> None:
    organizations = load_fixture("ckan/open.canada.ca/organization_list_all_fields.json")["result"]
    portal = serve([], organizations, organization_paging=False)
    client = CkanClient(portal.url, settings=FAST)
    publishers = list(client.iter_publishers())
    assert len(publishers) == 337
    assert len({p["id"] for p in publishers}) == 337
    assert client.traffic.requests == 2  # the second, identical page tells us paging is ignored


def test_organisations_paged(serve) -> None:
    organizations = load_fixture("ckan/open.canada.ca/organization_list_all_fields.json")["result"]
    client = CkanClient(serve([], organizations).url, settings=FAST)
    assert [p["id"] for p in client.iter_publishers()] == [o["id"] for o in organizations]
    assert client.traffic.requests == 5  # 100 + 100 + 100 + 37, and an empty page


def test_organisations_past_ckans_cap_of_25_a_page(serve) -> None:
    """CKAN 2.9+ answers at most 25 organisations with all_fields, whatever the limit asked."""
    organizations = load_fixture("ckan/open.canada.ca/organization_list_all_fields.json")["result"]
    portal = serve([], organizations)
    portal.options.organizations_max = 25
    client = CkanClient(portal.url, settings=FAST)
    assert [p["id"] for p in client.iter_publishers()] == [o["id"] for o in organizations]
    assert client.traffic.requests == 15  # 337 / 25 = 13.5 pages, and an empty page


def test_one_dataset_by_id_or_name(serve) -> None:
    packages = real_packages()
    client = CkanClient(serve(packages).url, settings=FAST)
    assert client.fetch_dataset(packages[10]["id"]) == packages[10]
    assert client.fetch_dataset("ford-crossings")["id"] == packages[11]["id"]
    with pytest.raises(HarvestError, match=r"package_show: HTTP 404, success=false \(Not Found Error: Not found\)"):
        client.fetch_dataset("no-such-dataset")


def test_user_agent_names_the_project(serve) -> None:
    seen = []
    portal = serve([])
    portal.options.intercept = lambda action, params: seen.append(action) and None
    client = CkanClient(portal.url, settings=FAST)
    list(client.iter_dataset_pages())
    assert USER_AGENT.startswith("catalog-harvester/")
    assert client.api.session.headers["User-Agent"] == USER_AGENT
    assert seen == ["package_search"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            (200, b"<html><body>Maintenance</body></html>", "text/html"),
            "package_search: HTTP 200, an HTML page instead of JSON",
        ),
        (
            (200, b'{"success": true, "result": {"count": 3, "res', "application/json"),
            "package_search: HTTP 200, body is not valid JSON",
        ),
        (
            (
                409,
                b'{"success": false, "error": {"__type": "Search Query Error", "message": "bad fq"}}',
                "application/json",
            ),
            "package_search: HTTP 409, success=false (Search Query Error: bad fq)",
        ),
        ((200, b'{"success": true, "result": {"results": []}}', "application/json"), "package_search: count None"),
        ((200, b"[1, 2]", "application/json"), "package_search: HTTP 200, JSON is not a CKAN Action API response"),
        ((503, b"Service Unavailable", "text/plain"), "package_search: HTTP 503"),
        ((404, b"<html>Not found</html>", "text/html"), "package_search: HTTP 404, an HTML page instead of JSON"),
    ],
)
def test_bad_responses_are_one_clear_line_naming_the_host(serve, answer, message) -> None:
    portal = serve([])
    portal.options.intercept = lambda action, params: answer
    client = CkanClient(portal.url, settings=FAST)
    with pytest.raises(HarvestError) as caught:
        list(client.iter_dataset_pages())
    host = portal.url.removeprefix("http://")
    assert caught.value.where == host
    assert str(caught.value).startswith(f"{host}: {message}")
    assert "\n" not in str(caught.value)


def test_transient_errors_are_retried(serve) -> None:
    failures = iter([(502, b"Bad Gateway", "text/plain")])
    portal = serve(multiplied(real_packages(), 3))
    portal.options.intercept = lambda action, params: next(failures, None)
    client = CkanClient(portal.url, settings=FAST)
    assert sum(len(page.records) for page in client.iter_dataset_pages()) == 3
    assert portal.requests == 2


def test_unreachable_portal(unused_port) -> None:
    client = CkanClient(f"http://127.0.0.1:{unused_port}", settings=FAST)
    with pytest.raises(HarvestError, match=r"package_search: connection refused$"):
        list(client.iter_dataset_pages())


def test_read_timeout(serve) -> None:
    portal = serve([])
    portal.options.intercept = lambda action, params: time.sleep(1.5)
    client = CkanClient(portal.url, rows=20, settings=dataclasses.replace(FAST, retries=0, read_timeout=0.5))
    with pytest.raises(HarvestError, match="package_search: timed out"):
        list(client.iter_dataset_pages())
    assert portal.requests == 2  # rows=20, then rows=10: the smallest page timed out too


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
