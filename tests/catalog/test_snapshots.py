"""Current snapshots and `catalog export`: the catalogue as it stands, per portal and for all, as files
that agree with `catalog sql`, at paths that never change, replaced whole."""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from catalog import snapshots
from catalog.cli import main
from catalog.errors import HarvestError
from catalog.harvest import harvest_portal
from catalog.lake import Lake
from catalog.snapshots import ALL, MANIFEST, PORTAL_TABLES, SNAPSHOT_TABLES, current_manifests, refresh_snapshots
from tests.conftest import FAST, birmingham_packages, data_gov_uk_packages, portal_at, rows

PORTALS = {"gb-birmingham": birmingham_packages, "gb-data-gov-uk": data_gov_uk_packages}


@pytest.fixture
def two_portals(serve, lake):
    """A lake with a harvest of two portals served from real recordings; the running portals by id."""
    running = {}
    for portal_id, packages in PORTALS.items():
        running[portal_id] = serve(packages())
        harvest_portal(portal_at(running[portal_id].url, portal_id), lake, settings=FAST)
    return running


def current(lake: Lake, name: str) -> Path:
    return lake.root / "current" / name


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_table_of_every_snapshot_agrees_with_catalog_sql(two_portals, lake) -> None:
    rebuilt = refresh_snapshots(lake)
    assert [manifest["snapshot"] for manifest in rebuilt] == ["portals/gb-birmingham", "portals/gb-data-gov-uk", ALL]
    for manifest in current_manifests(lake):
        folder = current(lake, manifest["snapshot"])
        where = "" if manifest["snapshot"] == ALL else f" WHERE portal_id = '{manifest['portals'][0]}'"
        tables = list(SNAPSHOT_TABLES) if manifest["snapshot"] == ALL else list(PORTAL_TABLES)
        assert [table["table"] for table in manifest["tables"]] == tables
        for table in manifest["tables"]:
            expected = rows(lake, f"SELECT count(*) AS n FROM {table['table']}{where}")[0]["n"]
            parquet, text = folder / f"{table['table']}.parquet", folder / f"{table['table']}.csv"
            assert table["rows"] == expected == pq.read_metadata(parquet).num_rows
            with text.open(newline="", encoding="utf-8") as file:
                assert sum(1 for _ in csv.DictReader(file)) == expected
            for file_format, entry in table["files"].items():
                path = folder / entry["file"]
                assert (entry["bytes"], entry["sha256"]) == (path.stat().st_size, sha256(path)), file_format
            assert "raw" not in [column["name"] for column in table["schema"]]
    datasets = rows(lake, "SELECT count(*) AS n FROM datasets")[0]["n"]
    assert datasets == 15  # 10 from Birmingham, 5 from data.gov.uk
    assert pq.read_table(current(lake, "portals/gb-birmingham") / "datasets.parquet").num_rows == 10


def test_the_files_hold_what_the_views_hold_value_for_value(two_portals, lake) -> None:
    refresh_snapshots(lake)
    folder = current(lake, ALL)
    columns = "portal_id, dataset_id, title, license_key, modified, keywords"
    expected = rows(lake, f"SELECT {columns} FROM datasets ORDER BY portal_id, dataset_id")
    table = pq.read_table(folder / "datasets.parquet", columns=[c.strip() for c in columns.split(",")])
    assert table.to_pylist() == expected
    with (folder / "datasets.csv").open(newline="", encoding="utf-8") as file:
        written = list(csv.DictReader(file))
    assert [json.loads(row["keywords"]) for row in written] == [row["keywords"] for row in expected]
    assert [row["title"] for row in written] == [row["title"] for row in expected]


def test_the_portable_database_opens_anywhere_and_answers_the_same(two_portals, lake, tmp_path) -> None:
    refresh_snapshots(lake)
    elsewhere = tmp_path / "elsewhere" / "copy.duckdb"
    elsewhere.parent.mkdir()
    shutil.copy(current(lake, ALL) / "catalog.duckdb", elsewhere)
    shutil.rmtree(lake.root)  # nothing of the lake left to point to
    with duckdb.connect(str(elsewhere), read_only=True) as database:
        assert database.execute("SELECT count(*) FROM datasets").fetchone() == (15,)
        by_portal = database.execute("SELECT portal_id, datasets FROM coverage_by_portal ORDER BY 1").fetchall()
    assert by_portal == [("gb-birmingham", 10), ("gb-data-gov-uk", 5)]


def test_only_what_a_harvest_changed_is_rebuilt_and_swapped_in_whole(two_portals, lake, monkeypatch) -> None:
    refresh_snapshots(lake)
    assert refresh_snapshots(lake) == []  # nothing changed, nothing rebuilt
    untouched = current(lake, "portals/gb-data-gov-uk").resolve()
    before = current(lake, ALL).resolve()
    portal = two_portals["gb-birmingham"]
    changed = copy.deepcopy(birmingham_packages()[0]) | {"title": "Renamed", "metadata_modified": "2030-01-01T00:00:00"}
    portal.catalogue.update(changed)
    harvest_portal(portal_at(portal.url, "gb-birmingham"), lake, settings=FAST)
    rebuilt = refresh_snapshots(lake)
    assert [manifest["snapshot"] for manifest in rebuilt] == ["portals/gb-birmingham", ALL]
    assert current(lake, "portals/gb-data-gov-uk").resolve() == untouched
    assert current(lake, ALL).resolve() != before and before.is_dir()  # a reader of the old build still has it
    titles = pq.read_table(current(lake, "portals/gb-birmingham") / "datasets.parquet", columns=["title"])
    assert "Renamed" in titles.column("title").to_pylist()
    for version in ("changed-sql-1", "changed-sql-2"):  # a view's SQL changed: every snapshot is rebuilt
        monkeypatch.setattr(snapshots, "views_version", lambda version=version: version)
        assert len(refresh_snapshots(lake)) == 3
    assert not before.exists()  # builds beyond the last two are removed
    assert len(list((lake.root / "current" / ".builds" / ALL).iterdir())) == 2


def test_a_failed_rebuild_leaves_the_snapshots_in_place(two_portals, lake, monkeypatch) -> None:
    refresh_snapshots(lake)
    files = {path: sha256(path) for path in (lake.root / "current").rglob("*") if path.is_file()}
    portal = two_portals["gb-data-gov-uk"]
    portal.catalogue.remove(data_gov_uk_packages()[0]["id"])
    harvest_portal(portal_at(portal.url, "gb-data-gov-uk"), lake, settings=FAST)

    def broken(folder, tables):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(snapshots, "write_portable_database", broken)
    with pytest.raises(OSError, match="No space left"):
        refresh_snapshots(lake)
    assert {path: sha256(path) for path in (lake.root / "current").rglob("*") if path.is_file()} == files
    monkeypatch.undo()
    refresh_snapshots(lake)
    assert json.loads((current(lake, "portals/gb-data-gov-uk") / MANIFEST).read_text())["tables"][0]["rows"] == 4


def test_a_harvest_by_the_cli_keeps_existing_snapshots_current(two_portals, lake, capsys) -> None:
    refresh_snapshots(lake)
    portal = two_portals["gb-data-gov-uk"]
    portal.catalogue.remove(data_gov_uk_packages()[0]["id"])
    command = ["harvest", portal.url, "--portal", "gb-data-gov-uk", "--software", "ckan", "--lake", str(lake.root)]
    assert main([*command, "--rate", "0"]) == 0
    manifest = json.loads((current(lake, ALL) / MANIFEST).read_text())
    assert manifest["tables"][0] == manifest["tables"][0] | {"table": "datasets", "rows": 14}
    latest = rows(lake, "SELECT harvest_id FROM latest_harvests WHERE portal_id = 'gb-data-gov-uk'")[0]
    assert latest["harvest_id"] in [harvest["harvest_id"] for harvest in manifest["harvests"]]


@pytest.mark.parametrize("file_format", ["parquet", "csv", "jsonl"])
def test_export_writes_one_file_per_table_named_after_it(two_portals, lake, tmp_path, file_format, capsys) -> None:
    out = tmp_path / "dump"
    command = ["export", "--portal", "gb-data-gov-uk", "--format", file_format, "--out", str(out)]
    assert main([*command, "--lake", str(lake.root)]) == 0
    assert sorted(path.name for path in out.iterdir()) == sorted(
        [f"{table}.{file_format}" for table in PORTAL_TABLES] + [MANIFEST]
    )
    count = duckdb.sql(f"SELECT count(*) FROM '{out / f'datasets.{file_format}'}'").fetchall()[0][0]
    assert count == 5
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["portals"] == ["gb-data-gov-uk"]
    assert "5 rows" in capsys.readouterr().err


def test_export_refuses_what_it_cannot_do_in_one_line(two_portals, lake, tmp_path, capsys) -> None:
    base = ["export", "--lake", str(lake.root)]
    assert main([*base, "--portal", "nowhere", "--out", str(tmp_path / "a")]) == 1
    assert capsys.readouterr().err.strip() == f"catalog export: no complete harvest of nowhere in {lake.uri}"
    assert main([*base, "--out", str(lake.root / "current" / "mine")]) == 1
    assert "export to a folder outside the lake" in capsys.readouterr().err
    assert main(["export", "--lake", str(tmp_path / "typo"), "--out", str(tmp_path / "b")]) == 1
    assert capsys.readouterr().err.startswith("catalog export: no lake at")


def test_a_portal_without_harvests_loses_its_snapshot(two_portals, lake) -> None:
    refresh_snapshots(lake)
    shutil.rmtree(lake.root / "harvests" / "portal_id=gb-data-gov-uk")
    shutil.rmtree(lake.root / "harvest_runs" / "portal_id=gb-data-gov-uk")
    refresh_snapshots(lake)
    assert [manifest["snapshot"] for manifest in current_manifests(lake)] == [ALL, "portals/gb-birmingham"]
    assert not current(lake, "portals/gb-data-gov-uk").exists()


def test_a_failed_harvest_shows_in_the_snapshots_and_changes_no_dataset(two_portals, lake) -> None:
    refresh_snapshots(lake)
    folder = current(lake, "portals/gb-data-gov-uk")
    datasets_before = sha256(folder / "datasets.parquet")
    portal = two_portals["gb-data-gov-uk"]
    portal.options.intercept = lambda action, params: (503, b"down", "text/plain")
    with pytest.raises(HarvestError):
        harvest_portal(portal_at(portal.url, "gb-data-gov-uk"), lake, settings=FAST)
    assert [manifest["snapshot"] for manifest in refresh_snapshots(lake)] == ["portals/gb-data-gov-uk", ALL]
    statuses = pq.read_table(folder / "harvest_runs.parquet", columns=["status"]).column("status").to_pylist()
    assert (
        sorted(statuses)
        == ["complete", "failed"]
        == sorted(
            row["status"] for row in rows(lake, "SELECT status FROM harvest_runs WHERE portal_id = 'gb-data-gov-uk'")
        )
    )
    assert sha256(folder / "datasets.parquet") == datasets_before


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"snapshot": "portals/gb-birmingham"}'])
def test_a_manifest_not_of_the_shape_written_is_rebuilt(two_portals, lake, text) -> None:
    refresh_snapshots(lake)
    (current(lake, "portals/gb-birmingham") / MANIFEST).write_text(text)
    assert [manifest["snapshot"] for manifest in refresh_snapshots(lake)] == ["portals/gb-birmingham", ALL]
    assert json.loads((current(lake, "portals/gb-birmingham") / MANIFEST).read_text())["tables"][0]["rows"] == 10
