"""`catalog detect` and `catalog check`: every software told apart on loopback, ambiguity resolved and
said, and unreachable portals recorded quickly."""

from __future__ import annotations

import socket
import time

from catalog.cli import main
from catalog.detect import detect
from catalog.http import HttpSettings
from catalog.liveness import check_portals
from tests.catalog.sources.test_arcgis import hub_item, hub_search
from tests.catalog.sources.test_dkan import dkan_routes, real_and_copies
from tests.catalog.sources.test_opendatasoft import ods_api, ods_record
from tests.catalog.sources.test_socrata import discovery_api, socrata_result
from tests.conftest import FAST, fixture_bytes, portal_at, real_packages, rows
from tests.routes import serve_routes, static

QUICK = HttpSettings(retries=0, connect_timeout=2, read_timeout=5, requests_per_second=0)
DATA_JSON = "dcat-us/us-federal-agencies/consumerfinance_data.json"
TURTLE = "dcat-ap/ckanext-dcat-examples/dataset_gob_es.ttl"
CKAN_STATUS = b'{"success": true, "result": {"ckan_version": "2.10.4", "site_title": "Demo"}}'


def test_ckan_is_detected(serve) -> None:
    portal = serve(real_packages())
    detection = detect(portal.url, QUICK)
    assert (detection.software, detection.api_url) == ("ckan", portal.url)
    assert detection.detail.startswith("CKAN ")


def test_ckan_that_also_serves_dcat_picks_ckan_and_says_so() -> None:
    routes = {
        "/api/3/action/status_show": static(CKAN_STATUS),
        "/catalog.ttl": static(fixture_bytes(TURTLE), "text/turtle"),
        "/data.json": static(fixture_bytes(DATA_JSON)),
    }
    with serve_routes(routes) as server:
        detection = detect(server.base_url, QUICK)
    assert detection.software == "ckan"
    assert detection.also == ["dcat", "datajson"]
    assert "also serves dcat, datajson: chose ckan, the richer API" in detection.summary


def test_each_other_software_is_named() -> None:
    cases = {
        "dkan": dkan_routes(real_and_copies(1), prefix="/api/3/action/")
        | {"/api/3/action/site_read": static(b'{"help": "x", "success": true, "result": true}')},
        "socrata": discovery_api([socrata_result(1)]),
        "opendatasoft": ods_api([ods_record(1)]),
        "arcgis": hub_search([hub_item(1)]) | {"/data.json": static(fixture_bytes(DATA_JSON))},
        "dcat": {"/catalog.ttl": static(fixture_bytes(TURTLE), "text/turtle")},
        "datajson": {"/data.json": static(fixture_bytes(DATA_JSON))},
    }
    for software, routes in cases.items():
        with serve_routes(routes) as server:
            detection = detect(server.base_url, QUICK)
        assert detection.software == software, detection.summary
    # the Hub also serves data.json: the search API is the richer one
    assert detection.api_url.endswith("/data.json")


def test_a_document_url_is_taken_as_named() -> None:
    with serve_routes({"/feeds/catalog.json": static(fixture_bytes(DATA_JSON))}) as server:
        detection = detect(server.base_url + "/feeds/catalog.json", QUICK)
    assert (detection.software, detection.api_url) == ("datajson", server.base_url + "/feeds/catalog.json")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_portal_stops_at_the_first_probe() -> None:
    started = time.monotonic()
    detection = detect(f"http://127.0.0.1:{closed_port()}", QUICK)
    assert not detection.reachable
    assert len(detection.probes) == 1
    assert detection.summary.endswith("unreachable (connection refused)")
    assert time.monotonic() - started < 2


def test_harvest_by_url_uses_detection(lake, capsys) -> None:
    with serve_routes({"/data.json": static(fixture_bytes(DATA_JSON))}) as server:
        assert main(["harvest", server.base_url, "--portal", "cfpb", "--lake", str(lake.root)]) == 0
    assert "cfpb: full harvest" in capsys.readouterr().out
    assert lake.runs("cfpb")[0]["software"] == "datajson"


def test_check_records_live_and_dead_portals(serve, lake) -> None:
    live = serve(real_packages())
    portals = [
        portal_at(live.url, "live-ckan", city="Da Nang", country="VN"),
        portal_at(f"http://127.0.0.1:{closed_port()}", "dead-ckan", country="VN"),
        portal_at("http://portal.invalid", "no-such-host", software="datajson"),
    ]
    check_portals(portals, lake, settings=FAST)
    check_portals(portals[:1], lake, settings=FAST)
    found = {row["portal_id"]: row for row in rows(lake, "SELECT * FROM portal_availability")}
    expected = {
        "reachable_now": True,
        "detected_software": "ckan",
        "ascn_pilot_city": True,  # Da Nang is an ASEAN Smart Cities Network pilot city
        "checks": 2,
        "share_reachable": 1.0,
        "last_status": 200,
        "software_changed": False,
    }
    assert {key: found["live-ckan"][key] for key in expected} == expected
    assert found["dead-ckan"]["reachable_now"] is False
    assert found["dead-ckan"]["last_detail"].endswith("(connection refused)")
    assert found["no-such-host"]["last_detail"].endswith("(host name does not resolve)")
    assert rows(lake, "SELECT count(*) AS n FROM portal_checks") == [{"n": 4}]


def test_harvest_of_a_named_document_url(lake, capsys) -> None:
    with serve_routes({"/feeds/catalog.json": static(fixture_bytes(DATA_JSON))}) as server:
        url = server.base_url + "/feeds/catalog.json"
        assert main(["harvest", url, "--software", "datajson", "--portal", "doc", "--lake", str(lake.root)]) == 0
    assert "11 datasets fetched" in capsys.readouterr().out


CSW_PATH = "/geonetwork/srv/eng/csw"
CSW_QUERY = "service=CSW&request=GetRecords&outputSchema=http://www.w3.org/ns/dcat%23&resultType=results"


def csw_first_page(query, _headers):
    """The recorded GeoNetwork answer, but only to the GetRecords request the user wrote."""
    if query.get("request") != "GetRecords":
        return 400, "application/xml", b"<ows:ExceptionReport/>"
    page = f"geonetwork-dcat-page-{query.get('startPosition', '1')}.xml"
    return 200, "application/xml", fixture_bytes("dcat-ap/udata-harvest-tests/" + page)


def test_a_url_given_with_its_software_is_the_endpoint_query_string_and_all(lake, capsys) -> None:
    with serve_routes({CSW_PATH: csw_first_page}) as server:
        url = f"{server.base_url}{CSW_PATH}?{CSW_QUERY}"
        assert main(["harvest", url, "--portal", "geo", "--software", "dcat", "--lake", str(lake.root)]) == 0
    assert "6 datasets fetched" in capsys.readouterr().out
    assert server.paths() == [CSW_PATH] * 3  # the real sequence: startPosition 1, 3, 5
    assert all((query["request"], query["service"]) == ("GetRecords", "CSW") for _, query, _ in server.requests)


def test_an_unusual_suffix_is_the_document_as_named(lake, capsys) -> None:
    routes = {"/export/catalogue.rdf.php": static(fixture_bytes(TURTLE), "text/turtle")}
    with serve_routes(routes) as server:
        url = f"{server.base_url}/export/catalogue.rdf.php?lang=es"
        assert main(["harvest", url, "--portal", "madrid", "--software", "dcat", "--lake", str(lake.root)]) == 0
        assert server.paths() == ["/export/catalogue.rdf.php"]
        assert all(query == {"lang": "es"} for _, query, _ in server.requests)
        detection = detect(url, QUICK)  # without --software: the URL itself is tried first
    assert (detection.software, detection.api_url) == ("dcat", url)
    assert detection.probes[0].url == url
