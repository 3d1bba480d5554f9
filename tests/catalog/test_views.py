"""The DuckDB views over a lake harvested from the real fixture records; expected rows written by hand."""

from __future__ import annotations

import threading

import duckdb
import pytest

from catalog.errors import HarvestError, LakeError
from catalog.harvest import harvest_portal
from catalog.lake import Lake
from catalog.normalise.formats import FORMATS
from catalog.registry import ASCN_PILOT_CITIES, load_registry
from catalog.views import (
    DATABASE_FILE,
    QUERIES_FOLDER,
    connect,
    named_query,
    query,
    sql_dir,
    view_definitions,
    write_database,
)
from tests.conftest import FAST, portal_at, real_packages


@pytest.fixture
def harvested(serve, lake):
    portal = serve(real_packages())
    run = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    return lake, portal, run


def test_coverage_by_publisher_golden(harvested) -> None:
    lake, _, _ = harvested
    columns, rows = query(lake, "SELECT publisher_name, datasets, distributions, formats FROM coverage_by_publisher")
    assert columns == ["publisher_name", "datasets", "distributions", "formats"]
    # From the recordings: Birmingham's 10 purchase-card datasets (45 + 9 x 1 XLS resources, two with
    # format ""), and one dataset each from five data.gov.uk publishers.
    assert rows == [
        ("Birmingham City Council", 10, 54, ["XLS"]),
        ("City of York Council", 1, 1, ["XLS"]),
        ("Durham County Council", 1, 2, ["CSV", "HTML"]),
        ("Environment Agency", 1, 3, ["WMS"]),
        ("Her Majesty's Revenue and Customs", 1, 0, []),
        ("Second publisher", 1, 1, ["WMS"]),
    ]


def test_views_show_only_the_latest_complete_harvest(harvested) -> None:
    lake, portal, first = harvested
    portal.options.intercept = lambda action, params: (503, b"down", "text/plain")
    with pytest.raises(HarvestError):
        harvest_portal(portal_at(portal.url), lake, settings=FAST)
    portal.options.intercept = None
    second = harvest_portal(portal_at(portal.url), lake, settings=FAST)

    # nothing changed between the two good harvests: the current versions are the first harvest's,
    # and the second stored no dataset rows at all
    _, rows = query(lake, "SELECT harvest_id, count(*) FROM datasets GROUP BY ALL")
    assert rows == [(first.harvest_id, 15)]
    _, rows = query(lake, "SELECT count(*), count(DISTINCT harvest_id) FROM lake_datasets")
    assert rows == [(15, 1)]
    assert (second.mode, second.datasets, second.added, second.modified, second.deleted) == ("incremental", 0, 0, 0, 0)
    _, rows = query(lake, "SELECT status, error FROM harvest_runs ORDER BY started_at")
    host = portal.url.removeprefix("http://")
    assert rows == [
        ("complete", None),
        ("failed", f"{host}: package_search: HTTP 503"),
        ("complete", None),
    ]
    assert first.harvest_id < second.harvest_id


REFERENCE_ROWS = {
    # views that list reference data whatever the lake holds
    "vn_province_coverage": 34,  # every current Vietnamese unit, with nothing harvested yet
    "vn_portals": sum(portal.country == "VN" for portal in load_registry().values()),
    "vn_registered_portals": sum(portal.country == "VN" for portal in load_registry().values()),
    "ascn_pilot_city_portals": sum(  # a row per city and portal; one for a city without any
        max(1, sum(p.country == country and p.city == city for p in load_registry().values()))
        for country, cities in ASCN_PILOT_CITIES.items()
        for city in cities
    ),
}


def test_an_empty_lake_has_every_view_and_no_rows_but_its_reference_data(lake) -> None:
    connection = connect(lake)
    for name, sql in view_definitions().items():
        relation = f"{name}(now())" if "MACRO" in sql else name
        expected = REFERENCE_ROWS.get(name, 0)
        assert connection.execute(f"SELECT count(*) FROM {relation}").fetchone() == (expected,), name


def test_coverage_by_publisher_rolls_up_dataset_formats(harvested) -> None:
    """coverage_by_publisher reads each version's distributions, not dataset_formats: both say the same."""
    lake, _, _ = harvested
    rolled_up = """
        SELECT d.portal_id, d.publisher_id, count(*), CAST(sum(f.distributions) AS BIGINT),
            list_sort(list_distinct(flatten(list(f.formats)))), round(avg(f.machine_readable::INT), 3)
        FROM datasets AS d JOIN dataset_formats AS f USING (portal_id, dataset_id)
        GROUP BY ALL ORDER BY ALL
    """
    _, expected = query(lake, rolled_up)
    _, rows = query(
        lake,
        "SELECT portal_id, publisher_id, datasets, distributions, formats, share_machine_readable"
        " FROM coverage_by_publisher ORDER BY ALL",
    )
    assert rows == expected
    assert len(rows) == 6 and sum(row[3] for row in rows) == 61


def test_no_canonical_format_has_the_comma_dataset_version_formats_joins_them_with() -> None:
    assert [key for key in FORMATS if "," in key] == []


def test_every_named_query_runs_over_the_views(harvested) -> None:
    lake, _, _ = harvested
    folder = sql_dir() / QUERIES_FOLDER
    names = sorted(str(path.relative_to(folder).with_suffix("")) for path in folder.rglob("*.sql"))
    assert len(names) >= 30 and "report/portal_publishers" in names
    connection = connect(lake)
    for name in names:
        sql = named_query(name)
        parameters = [None] * len(duckdb.extract_statements(sql)[0].named_parameters)
        connection.execute(sql, parameters).fetchall()
    portal_id = "test-portal"
    found = connection.execute(named_query("report/portal_publishers"), [portal_id, 2]).fetchall()
    assert [(row[2], row[3]) for row in found] == [("Birmingham City Council", 10), ("City of York Council", 1)]
    with pytest.raises(LakeError, match="no query 'report/nothing'"):
        named_query("report/nothing")


def test_database_file_for_other_tools(harvested, tmp_path) -> None:
    lake, _, _ = harvested
    path = tmp_path / "catalog.duckdb"
    names = write_database(lake, path)
    assert {"datasets", "distributions", "publishers", "harvest_runs", "coverage_by_publisher"} <= set(names)
    connection = duckdb.connect(str(path), read_only=True)
    assert connection.execute("SELECT count(*) FROM distributions").fetchone() == (61,)
    assert connection.execute("SELECT title FROM datasets WHERE name = 'aggregates-levy'").fetchone() == (
        "Aggregates levy",
    )


def test_harvests_ending_together_rebuild_the_database_file_each(tmp_path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.root.mkdir()
    path = lake.root / DATABASE_FILE
    failures = []

    def rebuild() -> None:
        try:
            write_database(lake, path)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=rebuild) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and path.is_file()
    assert not list(lake.root.glob(".*.partial*"))
