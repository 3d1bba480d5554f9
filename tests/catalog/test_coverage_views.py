"""Golden tests of the coverage, quality, freshness, theme and duplicate views, over a lake harvested
from every recorded portal in ../shared/fixtures (`fixture_lake`). The expected rows were worked out
by hand from the recorded files; comments say from what."""

from __future__ import annotations

import pytest

from catalog.harvest import Progress, harvest_portal
from tests.conftest import FAST, fixture_bytes, portal_at, real_packages, rows
from tests.routes import serve_routes, static


def test_coverage_by_portal(fixture_lake) -> None:
    found = {
        row["portal_id"]: row for row in rows(fixture_lake, "SELECT * EXCLUDE (last_modified) FROM coverage_by_portal")
    }
    # Birmingham: 10 purchase-card datasets, 54 XLS resources, all uk-ogl, one organisation.
    assert found["gb-birmingham"] == {
        "portal_id": "gb-birmingham",
        "datasets": 10,
        "distributions": 54,
        "publishers": 1,
        "share_open_licensed": 1.0,
        "share_licence_stated": 1.0,
        "share_machine_readable": 1.0,
        "share_open_format": 0.0,  # XLS is proprietary
    }
    # OPM: 134 datasets, no distributions, all under the US public-domain label.
    assert (found["us-opm"]["datasets"], found["us-opm"]["distributions"]) == (134, 0)
    assert (found["us-opm"]["share_open_licensed"], found["us-opm"]["share_machine_readable"]) == (1.0, 0.0)
    # CFPB: 11 datasets, no licence stated on any.
    assert (found["us-cfpb"]["datasets"], found["us-cfpb"]["share_licence_stated"]) == (11, 0.0)
    # Philadelphia: 402 datasets from 51 publishers; one CC-BY-4.0, the rest the city's own terms.
    assert (found["us-philadelphia"]["publishers"], found["us-philadelphia"]["share_open_licensed"]) == (51, 0.002)


def test_coverage_by_license(fixture_lake) -> None:
    found = rows(fixture_lake, "SELECT license, is_open, datasets FROM coverage_by_license WHERE portal_id = 'us-gsa'")
    # GSA's data.json: 294 CC0 (three spellings of the URL), 28 without `license`, 15 under the US
    # public-domain label, one MIT-0, one pointing at a project page.
    assert found == [
        {"license": "CC0-1.0", "is_open": True, "datasets": 294},
        {"license": "not-stated", "is_open": False, "datasets": 28},
        {"license": "public-domain", "is_open": True, "datasets": 15},
        {"license": "MIT-0", "is_open": True, "datasets": 1},
        {"license": "unrecognised", "is_open": None, "datasets": 1},
    ]


def test_coverage_by_format(fixture_lake) -> None:
    found = rows(
        fixture_lake,
        "SELECT format, distributions, datasets, machine_readable FROM coverage_by_format"
        " WHERE portal_id = 'us-philadelphia' LIMIT 5",
    )
    # Philadelphia's 2,841 distributions, counted in the file by declared format: HTML 715 (+1 `APPLICATION`
    # served as text/html, +1 `CSV, JSON` whose URL is a web page), CSV 641, SHP 504, API 447
    # (+5 `GEOSERVICE`), GEOJSON 371; datasets counted the same way.
    assert found == [
        {"format": "HTML", "distributions": 717, "datasets": 362, "machine_readable": False},
        {"format": "CSV", "distributions": 641, "datasets": 281, "machine_readable": True},
        {"format": "SHP", "distributions": 504, "datasets": 277, "machine_readable": True},
        {"format": "API", "distributions": 452, "datasets": 280, "machine_readable": True},
        {"format": "GeoJSON", "distributions": 371, "datasets": 256, "machine_readable": True},
    ]


def test_coverage_by_publisher_shares(fixture_lake) -> None:
    found = rows(
        fixture_lake,
        "SELECT publisher_name, datasets, formats, share_open_licensed, share_machine_readable"
        " FROM coverage_by_publisher WHERE portal_id = 'gb-data-gov-uk'",
    )
    # data.gov.uk's five recorded packages, one per publisher; HMRC's "Aggregates levy" has no
    # resources and no licence id; the Land Registry service carries PSMA terms as free text.
    assert found == [
        {
            "publisher_name": "City of York Council",
            "datasets": 1,
            "formats": ["XLS"],
            "share_open_licensed": 1.0,
            "share_machine_readable": 1.0,
        },
        {
            "publisher_name": "Durham County Council",
            "datasets": 1,
            "formats": ["CSV", "HTML"],
            "share_open_licensed": 1.0,
            "share_machine_readable": 1.0,
        },
        {
            "publisher_name": "Environment Agency",
            "datasets": 1,
            "formats": ["WMS"],
            "share_open_licensed": 1.0,
            "share_machine_readable": 1.0,
        },
        {
            "publisher_name": "Her Majesty's Revenue and Customs",
            "datasets": 1,
            "formats": [],
            "share_open_licensed": 0.0,
            "share_machine_readable": 0.0,
        },
        {
            "publisher_name": "Second publisher",
            "datasets": 1,
            "formats": ["WMS"],
            "share_open_licensed": 0.0,
            "share_machine_readable": 1.0,
        },
    ]


def test_dataset_categories_and_theme_coverage(fixture_lake) -> None:
    # Birmingham: all ten are purchase-card spending.
    assert rows(
        fixture_lake,
        "SELECT category, count(*) AS n FROM dataset_categories WHERE portal_id = 'gb-birmingham' GROUP BY 1",
    ) == [{"category": "spending", "n": 10}]
    matrix = rows(
        fixture_lake, "SELECT category, datasets, covered FROM theme_coverage WHERE portal_id = 'gb-birmingham'"
    )
    assert len(matrix) == 21  # every reference category, covered or not
    assert [row["category"] for row in matrix if row["covered"]] == ["spending"]
    # data.gov.uk: the flood map (environment, water), Ford Crossings (tagged with water and roads),
    # the Land Registry service (land).
    covered = rows(
        fixture_lake,
        "SELECT category, datasets FROM theme_coverage WHERE portal_id = 'gb-data-gov-uk' AND covered",
    )
    assert covered == [
        {"category": "land", "datasets": 1},
        {"category": "environment", "datasets": 2},
        {"category": "water", "datasets": 2},
        {"category": "transport", "datasets": 1},
    ]
    by_theme = rows(fixture_lake, "SELECT * FROM coverage_by_theme WHERE portal_id = 'gb-birmingham'")
    assert by_theme == [
        {
            "portal_id": "gb-birmingham",
            "category": "spending",
            "datasets": 10,
            "distributions": 54,
            "share_open_licensed": 1.0,
            "share_machine_readable": 1.0,
        }
    ]


def test_dataset_quality(fixture_lake) -> None:
    found = rows(
        fixture_lake,
        "SELECT * EXCLUDE (portal_id, dataset_id, publisher_id) FROM dataset_quality"
        " WHERE portal_id = 'gb-birmingham' AND title = 'Purchase Card Transactions'",
    )
    # 2 tags and a group (findability 30 + 30), all 45 resources with URLs and uploads among them, none
    # checked yet (0 + 20 + 0: `catalog links` has not been run on this lake), 43 of 45 with a format,
    # none with a media type, all recognisable as XLS (from the URL where the format is ""), XLS
    # machine-readable but proprietary (0 + 0 + 10 + 0 + 20), uk-ogl with a maintainer and an
    # organisation (20 + 10 + 20 + 10), no sizes, created and modified (5 + 5).
    assert found == [
        {
            "title": "Purchase Card Transactions",
            "publisher_name": "Birmingham City Council",
            "findability": 60,
            "accessibility": 20,
            "interoperability": 30,
            "reusability": 60,
            "contextuality": 10,
            "points": 180,
            "max_points": 365,
            "links_checked": 0,
            "existence": 1.0,
            "conformance": 1.0,  # e-mail, URLs, licence, every format given and the dates all well-formed
            "openness": 0.667,
            "rating": "sufficient",  # 180 of 365: the MQA's "good" starts at 221 of 405, 199 of 365
        }
    ]


def test_quality_by_portal_and_publisher(fixture_lake) -> None:
    portals = {row["portal_id"]: row for row in rows(fixture_lake, "SELECT * FROM quality_by_portal")}
    # OPM: no distributions, no keywords beyond some, public domain, a contact and a publisher.
    opm = portals["us-opm"]
    assert (opm["datasets"], opm["accessibility"], opm["interoperability"], opm["reusability"]) == (134, 0.0, 0.0, 70.0)
    assert opm["excellent"] + opm["good"] + opm["sufficient"] + opm["bad"] == 134
    publishers = rows(
        fixture_lake, "SELECT publisher_name, datasets FROM quality_by_publisher WHERE portal_id = 'us-fda'"
    )
    assert sum(row["datasets"] for row in publishers) == 86
    assert len(publishers) == 8


def test_freshness(fixture_lake) -> None:
    found = rows(
        fixture_lake,
        "SELECT title, modified_text, update_frequency, update_interval_days, overdue FROM freshness"
        " WHERE portal_id = 'gb-data-gov-uk' AND update_frequency IS NOT NULL ORDER BY title",
    )
    # Declared in extras: York "UpdateFrequency: Monthly", the flood map "frequency-of-update: quarterly",
    # the Land Registry service "frequency-of-update: monthly"; none modified since 2018.
    assert found == [
        {
            "title": "Datasets' List",
            "modified_text": "2018-05-02T19:27:59.746105",
            "update_frequency": "monthly",
            "update_interval_days": 30.4375,
            "overdue": True,
        },
        {
            "title": "Flood Map for Planning (Rivers and Sea)- Flood Zone 2",
            "modified_text": "2018-06-05T12:40:12.239474",
            "update_frequency": "quarterly",
            "update_interval_days": 91.3125,
            "overdue": True,
        },
        {
            "title": "HM Land Registry INSPIRE View Service Metadata",
            "modified_text": "2018-11-16T09:57:09.158830",
            "update_frequency": "monthly",
            "update_interval_days": 30.4375,
            "overdue": True,
        },
    ]
    # Philadelphia: 391 datasets without `modified`, 11 with `R/P1D` there: age unknown, never guessed.
    unknown = rows(
        fixture_lake, "SELECT count(*) AS n FROM freshness WHERE portal_id = 'us-philadelphia' AND age_days IS NULL"
    )
    assert unknown == [{"n": 402}]
    by_publisher = rows(
        fixture_lake,
        "SELECT publisher_name, datasets, with_schedule, overdue, share_overdue FROM freshness_by_publisher"
        " WHERE portal_id = 'us-cfpb'",
    )
    # CFPB: all 11 declare an accrualPeriodicity (R/P1D to R/P1Y); the latest `modified` is 2024-09-14.
    assert by_publisher == [
        {
            "publisher_name": "Consumer Financial Protection Bureau",
            "datasets": 11,
            "with_schedule": 11,
            "overdue": 11,
            "share_overdue": 1.0,
        }
    ]


@pytest.fixture
def republished(lake):
    """CFPB's data.json harvested twice: by the agency's portal and by an aggregator re-publishing it."""
    document = fixture_bytes("dcat-us/us-federal-agencies/consumerfinance_data.json")
    for portal_id in ("us-cfpb", "us-aggregator"):
        with serve_routes({"/data.json": static(document)}) as server:
            portal = portal_at(server.base_url, portal_id, software="datajson", country="US")
            harvest_portal(portal, lake, settings=FAST, progress=Progress(portal_id, enabled=False))
    return lake


def test_cross_portal_duplicates(republished) -> None:
    found = rows(
        republished,
        "SELECT matched_by, count(*) AS n, min(portals) AS portals FROM cross_portal_duplicates GROUP BY 1 ORDER BY 1",
    )
    # All 11 datasets match by landing page and by title + publisher. By identifier only the three long
    # enough to be distinctive do (`hmda_lar`, `hmda_snapshot`, a UUID): `CCDB` or `TCCP` alone could
    # name anything on another portal.
    assert found == [
        {"matched_by": "identifier", "n": 6, "portals": 2},
        {"matched_by": "landing_page", "n": 22, "portals": 2},
        {"matched_by": "title_and_publisher", "n": 22, "portals": 2},
    ]


def test_no_duplicates_among_unrelated_portals(fixture_lake) -> None:
    assert rows(fixture_lake, "SELECT count(*) AS n FROM cross_portal_duplicates") == [{"n": 0}]


def test_a_distribution_stating_no_format_is_not_stated_not_unrecognised(serve, lake) -> None:
    package = dict(real_packages()[0])
    stated = {"format": "FOO-9", "mimetype": None, "url": "https://example.org/files/1"}
    silent = {"format": "", "mimetype": None, "url": "https://example.org/download?id=2"}
    package["resources"] = [
        dict(package["resources"][0], id=f"r{n}", **fields) for n, fields in enumerate((stated, silent))
    ]
    harvest_portal(portal_at(serve([package]).url), lake, settings=FAST)
    found = rows(lake, "SELECT format, distributions FROM coverage_by_format ORDER BY format")
    assert found == [{"format": "not-stated", "distributions": 1}, {"format": "unrecognised", "distributions": 1}]
