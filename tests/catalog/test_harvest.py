"""Harvesting through the real HTTP path into a lake: counts and fields match the portal's records."""

from __future__ import annotations

import logging
import math
import re
import time
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from catalog import harvest
from catalog.errors import HarvestError
from catalog.harvest import Progress, harvest_portal, prefetched
from catalog.lake import Lake
from catalog.sources.base import FIRST_PAGE_ROWS
from catalog.views import query
from tests.conftest import FAST, portal_at, published_files, real_packages
from tests.recorded import multiplied


def read(lake: Lake, run, table: str) -> list[dict]:
    return pq.read_table(lake.harvest_path(run.portal_id, run.harvest_id) / f"{table}.parquet").to_pylist()


def test_real_records_harvested_exactly(serve, lake) -> None:
    packages = real_packages()
    portal = serve(packages)
    run = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (run.status, run.datasets, run.distributions, run.publishers) == ("complete", 15, 61, 6)
    assert (run.source_count, run.duplicates_dropped, run.warning_count) == (15, 0, 0)
    assert run.requests == 3  # one search page; the organisations, then an empty page after them

    datasets = {row["dataset_id"]: row for row in read(lake, run, "datasets")}
    assert set(datasets) == {p["id"] for p in packages}
    for package in packages:
        row = datasets[package["id"]]
        assert row["name"] == package["name"]
        assert row["title"] == package["title"]
        assert row["num_distributions"] == len(package["resources"])
        assert row["modified"] == datetime.fromisoformat(package["metadata_modified"]).replace(tzinfo=UTC)
        assert row["portal_id"] == "test-portal" and row["harvest_id"] == run.harvest_id

    distributions = read(lake, run, "distributions")
    assert sorted(d["distribution_id"] for d in distributions) == sorted(
        r["id"] for p in packages for r in p["resources"]
    )
    publishers = {row["name"]: row for row in read(lake, run, "publishers")}
    assert publishers["birmingham-city-council"]["title"] == "Birmingham City Council"
    assert publishers["environment-agency"]["publisher_id"] == "11c51f05-a8bf-4f58-9b95-7ab55f9546d7"
    assert not (lake.root / "_staging").exists() or not any((lake.root / "_staging").iterdir())


def test_many_pages_with_a_capped_portal(serve, lake) -> None:
    packages = multiplied(real_packages(), 2345)
    portal = serve(packages, rows_max=150)
    run = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert run.datasets == 2345
    # the first page asks 20 rows; the next as many as make ~3 MB of these records: more than 150
    assert len(run.notes) == 1 and re.fullmatch(r"portal capped rows at 150 \(asked \d+\)", run.notes[0])
    # a first page, pages of 150 for the rest, the organisations
    assert run.requests == 1 + math.ceil((2345 - FIRST_PAGE_ROWS) / 150) + 2
    ids = [row["dataset_id"] for row in read(lake, run, "datasets")]
    assert sorted(ids) == sorted(p["id"] for p in packages)


def test_count_mismatch_is_recorded(serve, lake) -> None:
    portal = serve(multiplied(real_packages(), 40), count_offset=3)
    run = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (run.datasets, run.source_count) == (40, 43)
    assert "portal reported 43 datasets, harvested 40" in run.notes


def test_a_shift_mid_run_is_deduplicated_then_caught_up(serve, lake) -> None:
    """A dataset inserted early in the sort order mid-run shifts offsets: the next page repeats one
    dataset and the inserted one is behind us. Duplicates are dropped; a catch-up pass finds it."""
    packages = multiplied(real_packages(), 30)
    portal = serve(packages, rows_max=10)
    early = dict(packages[0], id="inserted-early", name="inserted-early", metadata_created="2019-01-01T00:00:00")

    def insert_once(start: int) -> None:
        if start == 10:
            portal.catalogue.add(early)
            portal.options.on_search.clear()

    portal.options.on_search.append(insert_once)
    run = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert run.duplicates_dropped == 1
    assert "catch-up pass found 1 datasets the first pass missed" in run.notes
    ids = [row["dataset_id"] for row in read(lake, run, "datasets")]
    assert len(ids) == len(set(ids)) == 31
    assert set(ids) == {p["id"] for p in packages} | {"inserted-early"}


def test_datasets_added_during_the_run_are_harvested_once(serve, lake) -> None:
    packages = multiplied(real_packages(), 30)
    portal = serve(packages, rows_max=10)
    added = multiplied(real_packages(), 33)[30:]
    for package in added:
        package["metadata_created"] = "2030-01-01T00:00:00"

    def add_during_run(start: int) -> None:
        if start == 10:
            for package in added:
                portal.catalogue.add(package)

    portal.options.on_search.append(add_during_run)
    run = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    ids = [row["dataset_id"] for row in read(lake, run, "datasets")]
    assert sorted(ids) == sorted(p["id"] for p in packages + added)
    assert run.duplicates_dropped == 0


def test_filtered_portal_keeps_its_own_datasets_and_publishers(serve, lake) -> None:
    packages = real_packages()
    for package in packages:
        country = "vn" if package["organization"]["title"] == "Birmingham City Council" else "kh"
        package.setdefault("extras", []).append({"key": "odm_spatial_range", "value": country})
    portal = serve(packages)
    run = harvest_portal(portal_at(portal.url, filter="extras_odm_spatial_range:vn"), lake, settings=FAST)
    assert (run.datasets, run.publishers) == (10, 1)


def test_a_failed_harvest_leaves_the_last_good_one_untouched(serve, lake) -> None:
    packages = multiplied(real_packages(), 50)
    portal = serve(packages, rows_max=10)
    good = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    before = published_files(lake)

    portal.options.on_search.append(lambda start: None)
    portal.options.intercept = lambda action, params: (
        (500, b"<html>Internal Server Error</html>", "text/html") if params.get("start") == "30" else None
    )
    with pytest.raises(HarvestError) as caught:
        harvest_portal(portal_at(portal.url), lake, full=True, settings=FAST)
    host = portal.url.removeprefix("http://")
    assert str(caught.value) == f"{host}: package_search: HTTP 500, an HTML page instead of JSON"

    assert published_files(lake) == before
    assert not any((lake.root / "_staging").glob("*/*"))
    runs = {row["harvest_id"]: row for row in pq.read_table(lake.root / "harvest_runs", partitioning=None).to_pylist()}
    failed = next(row for row in runs.values() if row["status"] == "failed")
    assert failed["error"] == str(caught.value)
    assert failed["datasets"] == 30 and failed["requests"] == 4
    assert runs[good.harvest_id]["status"] == "complete"


class RunTerminated(BaseException):
    """What a scheduler raises in a run it terminates (Dagster: DagsterExecutionInterruptedError, no message)."""


def test_a_harvest_stopped_from_outside_is_recorded_as_interrupted(serve, lake, monkeypatch) -> None:
    """Not as "RunTerminated: " (its empty message after its name): harvest_runs says what happened."""

    def terminated(*_args, **_kwargs) -> None:
        raise RunTerminated

    monkeypatch.setattr(harvest, "fetch_publishers", terminated)  # after every dataset page was read
    with pytest.raises(RunTerminated):
        harvest_portal(portal_at(serve(real_packages()).url), lake, settings=FAST)
    [run] = lake.runs("test-portal")
    assert (run["status"], run["error"]) == ("failed", "interrupted (RunTerminated)")
    assert (run["datasets"], run["distributions"]) == (15, 61)  # what it had read, as a finished run says
    assert not any((lake.root / "_staging").glob("*/*"))


def test_a_failure_that_cannot_be_recorded_still_raises_its_own_cause(serve, lake, monkeypatch, caplog) -> None:
    """A full disk refuses the failure's record too: the harvest says why it failed, not why recording
    that failed, and the run left `running` is the next harvest's to mark abandoned."""
    portal = serve(real_packages())
    portal.options.intercept = lambda action, _: (500, b"down", "text/plain") if action == "package_search" else None
    write_run = lake.write_run

    def refusing_failures(run: dict) -> None:
        if run["status"] == "failed":
            raise OSError(28, "No space left on device")
        write_run(run)

    monkeypatch.setattr(lake, "write_run", refusing_failures)
    with pytest.raises(HarvestError, match="package_search: HTTP 500"):
        harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (
        "test-portal: its failure could not be recorded ([Errno 28] No space left on device); "
        "the next harvest marks it abandoned"
    ) in caplog.messages
    assert [run["status"] for run in lake.runs("test-portal")] == ["running"]
    assert not any((lake.root / "_staging").glob("*/*"))


def test_progress_is_logged_away_from_a_terminal(serve, lake, caplog) -> None:
    portal = serve(multiplied(real_packages(), 25), rows_max=10)
    with caplog.at_level(logging.INFO, logger="catalog.harvest"):
        harvest_portal(
            portal_at(portal.url), lake, settings=FAST, progress=Progress("test-portal", enabled=False, log_every=1)
        )
    lines = [record.getMessage() for record in caplog.records]
    assert [line.split(", ")[:2] for line in lines] == [
        ["test-portal: page 1", "10/25 datasets"],
        ["test-portal: page 2", "20/25 datasets"],
        ["test-portal: page 3", "25/25 datasets"],
    ]
    assert "ETA" in lines[0] and "ETA" not in lines[2]


def test_invalid_utf8_in_a_page_is_repaired_and_noted(serve, lake) -> None:
    packages = multiplied(real_packages(), 3)
    packages[1]["title"] = "@@BROKEN@@"
    portal = serve(packages)

    def broken_bytes(action, params):
        if action != "package_search":
            return None
        status, body = portal.server.action_package_search(params)
        return status, body.replace(b"@@BROKEN@@", b"Caf\xe9 \\ud800 data"), "application/json"

    portal.options.intercept = broken_bytes
    run = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert run.notes == [
        "package_search: response needed the lenient parser (invalid UTF-8, lone surrogates or deep nesting)"
    ]
    titles = {row["dataset_id"]: row["title"] for row in read(lake, run, "datasets")}
    assert titles[packages[1]["id"]] == "Caf\ufffd \ufffd data"


def test_a_lake_path_with_quotes_is_not_sql(serve, tmp_path) -> None:
    lake = Lake(tmp_path / "it's a lake; DROP VIEW datasets; --")
    harvest_portal(portal_at(serve(real_packages()).url), lake, settings=FAST)
    assert query(lake, "SELECT count(*) FROM datasets")[1] == [(15,)]


def test_prefetching_stops_when_the_consumer_does() -> None:
    produced = []

    def numbers():
        for number in range(1000):
            produced.append(number)
            yield number

    for number in prefetched(numbers(), depth=1):
        if number == 3:
            break
    time.sleep(0.3)  # give the producer time to notice
    assert len(produced) <= 6  # it stopped a step or two ahead, not at 1000


def test_prefetching_hands_errors_to_the_consumer() -> None:
    def failing():
        yield 1
        raise HarvestError("portal.example", "package_search: HTTP 500")

    with pytest.raises(HarvestError, match="HTTP 500"):
        list(prefetched(failing()))
