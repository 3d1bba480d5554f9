"""A week of unattended operation, fast-forwarded: each day the schedules' ticks are evaluated and their
runs executed on one SQLite-backed Dagster instance (the liveness check at 01:00, the incremental harvest
at 02:00, on Sunday the full harvest at 03:00), then declarative automation is evaluated and what it
requests is run (each harvested portal's link check, the views, snapshots and report, which then follow
the link checks once more). Three registry portals stand in locally: a CKAN portal that changes every day, a CKAN
portal that is down on Wednesday and Thursday (and changes meanwhile), and a data.json catalogue.

Each day, as a user would: the current snapshots are downloaded over HTTP from the links of the report's
downloads page, their sha256 checked against the manifest, the portable DuckDB file opened from another
folder, and both compared with `catalog sql` and with what each portal held that day (for the portal that
is down, what it held at its last good harvest). Waits are shortened (HTTP retries, Dagster's retry
wait); everything else is as shipped.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import http.server
import io
import json
import re
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import duckdb
import orjson
import pytest
import requests
from dagster import AssetKey, build_schedule_context, evaluate_automation_conditions, instance_for_test

from catalog.cli import main
from catalog.lake import Lake
from catalog.sample.catalogue import generate
from catalog.sample.server import InMemoryCatalogue, organizations_of, serve_portal
from pipelines.definitions import defs
from pipelines.resources import PortalsResource
from tests.conftest import birmingham_packages, fixture_bytes
from tests.routes import serve_routes

CHANGING, FLAKY, DOCUMENT = "vn-open-data", "vn-monre", "id-data-kalselprov"
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
DOWN_ON = {2, 3}  # Wednesday and Thursday
FAST_RETRIES = {"ops": {"catalog_tables": {"config": {"transient_retries": 1, "retry_wait_s": 0.1}}}}
AUTOMATED = {AssetKey("catalog_views"), AssetKey("current_snapshots"), AssetKey("coverage_report")}


def stamp() -> str:
    """A CKAN metadata_modified for a change made now."""
    return datetime.now(UTC).replace(tzinfo=None).isoformat()


class Portals:
    """The three portals, what each holds, and the day's changes to them."""

    def __init__(self, changing: Any, flaky: Any, document: dict[str, Any]) -> None:
        self.changing, self.flaky, self.document = changing, flaky, document
        self.last_good: dict[str, set[tuple[str, str]]] = {}

    def holds(self, portal_id: str) -> set[tuple[str, str]]:
        """(dataset id, title) of every dataset the portal publishes now."""
        if portal_id == DOCUMENT:
            return {(entry["identifier"], entry["title"]) for entry in self.document["dataset"]}
        catalogue = (self.changing if portal_id == CHANGING else self.flaky).catalogue
        return {(package["id"], package["title"]) for package in catalogue.packages}

    def change(self, day: int) -> None:
        """Every day the Vietnamese portal adds two datasets, edits one and withdraws one; the flaky one is
        edited while it is down; the data.json catalogue gains a dataset on Tuesday and loses one on Friday."""
        catalogue = self.changing.catalogue
        for number in range(2):
            added = copy.deepcopy(catalogue.packages[0])
            added |= {"id": f"day-{day}-new-{number}", "name": f"day-{day}-new-{number}"}
            added |= {"title": f"Bộ dữ liệu mới ngày {day} số {number}", "metadata_modified": stamp()}
            catalogue.add(added)
        edited = copy.deepcopy(catalogue.packages[1 + day])
        catalogue.update(edited | {"title": f"{edited['title']} (sửa ngày {day})", "metadata_modified": stamp()})
        catalogue.remove(catalogue.packages[-5]["id"])
        if day == 2:
            edited = copy.deepcopy(self.flaky.catalogue.packages[0])
            self.flaky.catalogue.update(edited | {"title": "Edited while down", "metadata_modified": stamp()})
        self.flaky.options.intercept = (lambda action, params: (503, b"down", "text/plain")) if day in DOWN_ON else None
        if day == 1:
            entry = copy.deepcopy(self.document["dataset"][0])
            self.document["dataset"].append(entry | {"identifier": "tuesday-addition", "title": "Added on Tuesday"})
        if day == 4:
            self.document["dataset"].pop(0)

    def expected(self, day: int) -> dict[str, set[tuple[str, str]]]:
        """What the lake should show after the day's harvests: each portal's contents, or for the one
        that is down, its contents at its last good harvest."""
        for portal_id in (CHANGING, FLAKY, DOCUMENT):
            if not (portal_id == FLAKY and day in DOWN_ON):
                self.last_good[portal_id] = self.holds(portal_id)
        return dict(self.last_good)


@pytest.fixture
def portals() -> Iterator[tuple[Portals, dict[str, str]]]:
    packages, organizations = generate(120, base_url="http://127.0.0.1")
    recorded = birmingham_packages()
    document = json.loads(fixture_bytes("dcat-us/us-federal-agencies/consumerfinance_data.json"))
    with (
        serve_portal(InMemoryCatalogue(packages, organizations)) as changing,
        serve_portal(InMemoryCatalogue(recorded, organizations_of(recorded))) as flaky,
        serve_routes({"/data.json": lambda q, h: (200, "application/json", orjson.dumps(document))}) as catalogue,
    ):
        yield (
            Portals(changing, flaky, document),
            {CHANGING: changing.url, FLAKY: flaky.url, DOCUMENT: catalogue.base_url},
        )


@pytest.fixture
def lake_over_http(tmp_path) -> Iterator[tuple[Lake, str]]:
    """The lake, served as a web server would serve it (the report and the files it links)."""
    lake = Lake(tmp_path / "lake")
    lake.root.mkdir()
    handler = partial(QuietHandler, directory=str(lake.root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield lake, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the stdlib
        pass


def tick(name: str, when: datetime, portals: PortalsResource) -> list:
    """The run requests of one tick of a schedule, evaluated as the daemon does."""
    schedule = defs.resolve_schedule_def(name)
    with build_schedule_context(
        scheduled_execution_time=when, resources={"portals": portals}, repository_def=defs.get_repository_def()
    ) as context:
        return list(schedule.evaluate_tick(context).run_requests or [])


def download_snapshots(site: str, into: Path) -> dict[str, Path]:
    """Follow the downloads page's links to the all-portals snapshot and each portal's datasets.csv."""
    page_url = urljoin(site, "report/downloads.html")
    page = requests.get(page_url, timeout=10).text
    wanted = re.compile(r'href="([^"]*current/(?:all/[^"/]+|portals/[^"/]+/datasets\.csv))"')
    files = {}
    for href in sorted(set(wanted.findall(page))):
        name = href.split("current/", 1)[1].replace("/", "__")
        response = requests.get(urljoin(page_url, href), timeout=10)
        response.raise_for_status()
        (into / name).write_bytes(response.content)
        files[href.split("current/", 1)[1]] = into / name
    return files


def catalog_sql(lake: Lake, sql: str, capsys: pytest.CaptureFixture) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["sql", sql, "--format", "json", "--lake", str(lake.root)]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.timeout(1200)  # seven days of Dagster runs, two rebuilds a day: minutes, not the default 300 s
def test_a_week_of_scheduled_harvests_checks_and_automation(portals, lake_over_http, tmp_path, capsys) -> None:
    world, urls = portals
    lake, site = lake_over_http
    selection = PortalsResource(only=list(urls), url_overrides=urls)
    resources = {
        "lake": {"config": {"root": str(lake.root)}},
        "portals": {"config": {"only": list(urls), "url_overrides": urls}},
        "http": {"config": {"retries": 1}},
    }
    harvest_job, views_job = defs.resolve_job_def("harvest_job"), defs.resolve_job_def("views_job")
    link_check_job = defs.resolve_job_def("link_check_job")
    liveness_job = defs.resolve_job_def("liveness_job")
    assert defs.resolve_schedule_def("weekly_full_harvest").cron_schedule == "0 3 * * 0"  # Sundays: day 6
    (tmp_path / "dagster-home").mkdir()
    with instance_for_test(temp_dir=str(tmp_path / "dagster-home")) as instance:
        cursor = evaluate_automation_conditions(defs=defs, instance=instance).cursor  # the sensor's first tick
        flaky_datasets_before = None
        for day in range(7):
            midnight = MONDAY + timedelta(days=day)
            world.change(day)
            assert liveness_job.execute_in_process(run_config={"resources": resources}, instance=instance).success
            runs = tick("daily_harvest", midnight + timedelta(hours=2), selection)
            if day == 6:
                runs += tick("weekly_full_harvest", midnight + timedelta(hours=3), selection)
            assert sorted(run.partition_key for run in runs) == sorted(list(urls) * (2 if day == 6 else 1))
            for run in runs:
                result = harvest_job.execute_in_process(
                    partition_key=run.partition_key,
                    run_config=FAST_RETRIES | run.run_config | {"resources": resources},
                    tags=run.tags,
                    instance=instance,
                    raise_on_error=False,
                )
                assert result.success == (run.partition_key != FLAKY or day not in DOWN_ON), (day, run.partition_key)

            automation = evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
            requested = {key for key in AUTOMATED if automation.get_num_requested(key)}
            assert requested == AUTOMATED, day  # what follows the harvests and the check, on its own
            harvested = {run.partition_key for run in runs if run.partition_key != FLAKY or day not in DOWN_ON}
            checked = automation.get_requested_partitions(AssetKey("link_checks"))
            assert checked == harvested, day  # each portal's links after each harvest of it, once a day
            for portal_id in sorted(checked):  # as shipped: their links are on loopback, so refused unasked
                link_run = link_check_job.execute_in_process(
                    partition_key=portal_id, run_config={"resources": resources}, instance=instance
                )
                assert link_run.success
            result = views_job.execute_in_process(
                asset_selection=sorted(requested), run_config={"resources": resources}, instance=instance
            )
            assert result.success
            again = evaluate_automation_conditions(defs=defs, instance=instance, cursor=automation.cursor)
            # the link checks landed after the rebuild was requested: one more rebuild shows them, and no more
            assert {key for key in AUTOMATED if again.get_num_requested(key)} == AUTOMATED, day
            assert not again.get_num_requested(AssetKey("link_checks")), day
            assert views_job.execute_in_process(
                asset_selection=sorted(AUTOMATED), run_config={"resources": resources}, instance=instance
            ).success
            settled = evaluate_automation_conditions(defs=defs, instance=instance, cursor=again.cursor)
            assert settled.total_requested == 0, day  # built, not again and again
            cursor = settled.cursor
            blocked = catalog_sql(lake, "SELECT count(*) AS links FROM link_status WHERE error = 'blocked'", capsys)
            assert blocked[0]["links"] > 0

            expected = world.expected(day)
            check_the_day(lake, site, tmp_path / f"day-{day}", expected, capsys)
            runs_table = catalog_sql(lake, f"SELECT status FROM harvest_runs WHERE portal_id = '{FLAKY}'", capsys)
            statuses = [row["status"] for row in runs_table]
            attempts = 1 + FAST_RETRIES["ops"]["catalog_tables"]["config"]["transient_retries"]
            assert statuses.count("failed") == attempts * len(DOWN_ON & set(range(day + 1)))  # each one recorded
            flaky = json.loads((lake.root / "current" / "portals" / FLAKY / "manifest.json").read_text())
            flaky_tables = {table["table"]: table for table in flaky["tables"]}
            flaky_datasets = flaky_tables["datasets"]["files"]["parquet"]["sha256"]
            if day in DOWN_ON:  # its datasets as at its last good harvest, and its failed runs shown
                assert flaky_datasets == flaky_datasets_before
            assert flaky_tables["harvest_runs"]["rows"] == len(statuses)
            flaky_datasets_before = flaky_datasets
        counted = "SELECT portal_id, count(*) AS runs FROM harvest_runs WHERE status = 'complete' AND mode = 'full'"
        full_runs = {row["portal_id"]: row["runs"] for row in catalog_sql(lake, f"{counted} GROUP BY 1", capsys)}
        # an API portal: its first harvest and Sunday's; a catalogue document is read whole every time
        assert full_runs == {CHANGING: 2, FLAKY: 2, DOCUMENT: 7 + 1}
    assert expected[FLAKY] >= {(birmingham_packages()[0]["id"], "Edited while down")}


def check_the_day(lake: Lake, site: str, into: Path, expected: dict[str, set], capsys) -> None:
    """Download the snapshots, open the portable database elsewhere, and compare with `catalog sql` and
    with what the portals hold."""
    into.mkdir()
    files = download_snapshots(site, into)
    manifest = json.loads(files["all/manifest.json"].read_text())
    for table in manifest["tables"]:
        for entry in table["files"].values():
            if f"all/{entry['file']}" in files:
                assert hashlib.sha256(files[f"all/{entry['file']}"].read_bytes()).hexdigest() == entry["sha256"]
    assert sorted(manifest["portals"]) == sorted(expected)

    elsewhere = into / "elsewhere"
    elsewhere.mkdir()
    copy_of_database = shutil.copy(files["all/catalog.duckdb"], elsewhere / "catalog.duckdb")
    listing = "SELECT portal_id, dataset_id, title FROM datasets ORDER BY ALL"
    downloaded, live = (listed(database, listing) for database in (copy_of_database, lake.root / "catalog.duckdb"))
    answered = catalog_sql(lake, listing, capsys)
    assert downloaded == answered == live
    assert duckdb.sql(f"SELECT count(*) FROM '{files['all/datasets.parquet']}'").fetchall()[0][0] == len(answered)

    for portal_id, contents in expected.items():
        shown = {(row["dataset_id"], row["title"]) for row in answered if row["portal_id"] == portal_id}
        assert shown == contents, portal_id
        text = files[f"portals/{portal_id}/datasets.csv"].read_text(encoding="utf-8")
        assert {(row["dataset_id"], row["title"]) for row in csv.DictReader(io.StringIO(text))} == contents


def listed(database: Path, sql: str) -> list[dict[str, Any]]:
    """A query's rows as dicts, from a DuckDB file opened read-only where it is."""
    with duckdb.connect(str(database), read_only=True) as connection:
        cursor = connection.execute(sql)
        columns = [description[0] for description in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
