"""Incremental harvests against a local portal whose catalogue changes between (and during) runs."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.harvest import harvest_portal, watermark
from catalog.versions import previous_state
from catalog.views import query
from tests.conftest import FAST, portal_at, real_packages
from tests.recorded import multiplied


def now_ckan() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def edited(package: dict, title: str) -> dict:
    package = copy.deepcopy(package)
    package["title"] = title
    package["metadata_modified"] = now_ckan()
    return package


@pytest.fixture
def changing_portal(serve):
    packages = multiplied(real_packages(), 100)
    return serve(packages, rows_max=25), packages


def test_adds_edits_and_deletes_between_runs(changing_portal, lake) -> None:
    portal, packages = changing_portal
    first = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (first.mode, first.added, first.modified, first.deleted) == ("full", 100, 0, 0)

    added = [dict(p, metadata_modified=now_ckan()) for p in multiplied(real_packages(), 102)[100:]]
    for package in added:
        portal.catalogue.add(package)
    for index in (5, 6, 7):
        portal.catalogue.update(edited(packages[index], f"Edited {index}"))
    for index in (50, 51):
        portal.catalogue.remove(packages[index]["id"])

    second = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert second.mode == "incremental" and second.since == first.started_at - timedelta(hours=1)
    assert (second.datasets, second.added, second.modified, second.deleted, second.listed) == (5, 2, 3, 2, 100)

    _, rows = query(lake, "SELECT change, count(*) FROM changes WHERE harvest_id = ? GROUP BY ALL ORDER BY 1",
                    [second.harvest_id])  # fmt: skip
    assert rows == [("added", 2), ("deleted", 2), ("modified", 3)]
    _, rows = query(lake, "SELECT count(*) FROM datasets")
    assert rows == [(100,)]
    _, rows = query(lake, "SELECT title FROM datasets WHERE dataset_id = ?", [packages[5]["id"]])
    assert rows == [("Edited 5",)]
    _, rows = query(
        lake,
        "SELECT change, title, valid_to IS NULL FROM dataset_history WHERE dataset_id = ? ORDER BY valid_from",
        [packages[5]["id"]],
    )
    assert rows == [("added", packages[5]["title"], False), ("modified", "Edited 5", True)]
    _, rows = query(lake, "SELECT count(*) FROM distributions WHERE dataset_id = ?", [packages[50]["id"]])
    assert rows == [(0,)]

    # the catalogue as it was after the first harvest
    _, rows = query(lake, "SELECT count(*), count(*) FILTER (title LIKE 'Edited%') FROM datasets_as_of(?)",
                    [first.finished_at])  # fmt: skip
    assert rows == [(100, 0)]
    # what changed on this portal in the last week
    _, rows = query(lake, """SELECT count(*) FROM changes WHERE portal_id = 'test-portal'
                             AND detected_at >= now() - INTERVAL 7 DAY AND change <> 'added'""")  # fmt: skip
    assert rows == [(5,)]


def test_storage_grows_with_change_not_with_runs(changing_portal, lake) -> None:
    portal, _ = changing_portal
    first = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    files_before = sorted(path.name for path in lake.root.rglob("*.parquet"))
    again = harvest_portal(portal_at(portal.url), lake, full=True, settings=FAST)
    assert (again.mode, again.datasets, again.added, again.modified, again.deleted) == ("full", 100, 0, 0, 0)
    _, rows = query(lake, "SELECT harvest_id, count(*) FROM lake_datasets GROUP BY ALL")
    assert rows == [(first.harvest_id, 100)]
    _, rows = query(lake, "SELECT count(*) FROM lake_distributions WHERE harvest_id = ?", [again.harvest_id])
    assert rows == [(0,)]
    assert len(sorted(path.name for path in lake.root.rglob("*.parquet"))) == len(files_before) + 4  # 3 tables + run


def test_a_deleted_dataset_that_comes_back_is_current_again(changing_portal, lake) -> None:
    """The previous state reads harvests newest first: the version after the tombstone is the current one,
    and the next full harvest finds nothing changed."""
    portal, packages = changing_portal
    harvest_portal(portal_at(portal.url), lake, settings=FAST)
    portal.catalogue.remove(packages[3]["id"])
    assert harvest_portal(portal_at(portal.url), lake, settings=FAST).deleted == 1
    portal.catalogue.add(edited(packages[3], "Back again"))
    back = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (back.added, back.modified, back.deleted) == (1, 0, 0)
    assert previous_state(lake, "test-portal").num_rows == 100
    again = harvest_portal(portal_at(portal.url), lake, full=True, settings=FAST)
    assert (again.added, again.modified, again.deleted) == (0, 0, 0)
    _, rows = query(lake, "SELECT title FROM datasets WHERE dataset_id = ?", [packages[3]["id"]])
    assert rows == [("Back again",)]


def test_the_previous_state_reads_files_whose_types_another_writer_chose(changing_portal, lake) -> None:
    """A harvest's datasets rewritten with large strings (as Polars or DuckDB write them) beside one of
    ours: the same current state, and the next full harvest finds nothing changed."""
    portal, packages = changing_portal
    first = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    portal.catalogue.add(edited(packages[5], "Edited"))
    harvest_portal(portal_at(portal.url), lake, settings=FAST)
    expected = previous_state(lake, "test-portal")
    path = lake.harvest_path("test-portal", first.harvest_id) / "datasets.parquet"
    table = pq.read_table(path)
    large = pa.schema(
        [field.with_type(pa.large_string()) if field.type == pa.string() else field for field in table.schema]
    )
    pq.write_table(table.cast(large), path)
    assert previous_state(lake, "test-portal").sort_by("dataset_id").equals(expected.sort_by("dataset_id"))
    again = harvest_portal(portal_at(portal.url), lake, full=True, settings=FAST)
    assert (again.added, again.modified, again.deleted) == (0, 0, 0)


def test_a_dataset_edited_during_a_run_is_caught_by_the_next(changing_portal, lake) -> None:
    portal, packages = changing_portal
    harvest_portal(portal_at(portal.url), lake, settings=FAST)

    def edit_behind_us(start: int) -> None:
        if start >= 75:  # packages[10] was read on the first page of this run
            portal.catalogue.update(edited(packages[10], "Edited mid-run"))
            portal.options.on_search.clear()

    portal.options.on_search.append(edit_behind_us)
    during = harvest_portal(portal_at(portal.url), lake, full=True, settings=FAST)
    assert during.modified == 0
    after = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (after.mode, after.modified) == ("incremental", 1)
    _, rows = query(lake, "SELECT title FROM datasets WHERE dataset_id = ?", [packages[10]["id"]])
    assert rows == [("Edited mid-run",)]


def test_a_partial_listing_never_deletes(changing_portal, lake) -> None:
    portal, packages = changing_portal
    harvest_portal(portal_at(portal.url), lake, settings=FAST)
    portal.catalogue.remove(packages[0]["id"])
    # the id listing loses its last page: the portal reports more ids than it lists
    portal.options.intercept = lambda action, params: (
        (200, b'{"success": true, "result": {"count": 99, "results": []}}', "application/json")
        if params.get("fl") == "id" and int(params["start"]) >= 75
        else None
    )
    run = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (run.listed, run.deleted) == (None, 0)
    assert "the listing of ids was incomplete or impossible: no deletions recorded this run" in run.notes
    assert query(lake, "SELECT count(*) FROM datasets")[1] == [(100,)]


def test_view_counters_are_not_changes(changing_portal, lake) -> None:
    portal, packages = changing_portal
    harvest_portal(portal_at(portal.url), lake, settings=FAST)
    portal.catalogue.update(dict(packages[1], tracking_summary={"total": 999, "recent": 12}))
    run = harvest_portal(portal_at(portal.url), lake, full=True, settings=FAST)
    assert run.modified == 0


def test_an_incremental_run_after_one_percent_changed_is_cheap(serve, lake) -> None:
    packages = multiplied(real_packages(), 1000)
    portal = serve(packages)
    full = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    for index in range(0, 1000, 100):
        portal.catalogue.update(edited(packages[index], f"Edited {index}"))
    incremental = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (incremental.datasets, incremental.modified) == (10, 10)
    assert incremental.bytes_received < 0.05 * full.bytes_received


def test_first_harvest_is_full_then_the_watermark_follows_complete_runs(changing_portal, lake) -> None:
    portal, _ = changing_portal
    assert watermark(lake, "test-portal") is None
    first = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert watermark(lake, "test-portal") == first.started_at - timedelta(hours=1)
    assert watermark(lake, "test-portal", margin=timedelta(0)) == first.started_at
