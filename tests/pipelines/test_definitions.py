"""The Dagster code location loads, with a partition per registered portal and the schedules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from catalog.registry import load_registry
from pipelines.definitions import defs
from pipelines.schedules import HOST_TAG, harvest_run_requests
from tests.conftest import REPO


def test_definitions_load() -> None:
    repository = defs.get_repository_def()
    assert {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()} == {
        "catalog_tables",
        "catalog_views",
        "coverage_report",
        "portal_checks",
    }
    job = defs.resolve_job_def("harvest_job")
    assert job.partitions_def.get_partition_keys() == list(load_registry())
    assert {schedule.name for schedule in repository.schedule_defs} == {
        "daily_harvest",
        "weekly_full_harvest",
        "daily_liveness_check",
    }
    softwares = {portal.software for portal in load_registry().values()}
    assert softwares == {"ckan", "dkan", "datajson"}  # every software has partitions, one per portal


def test_daily_schedule_requests_one_incremental_run_per_daily_portal_tagged_with_its_host() -> None:
    requests = list(harvest_run_requests(("daily",), full=False))
    registry = load_registry()
    assert [r.partition_key for r in requests] == [p.id for p in registry.values() if p.cadence == "daily"]
    assert "vn-sample" not in [r.partition_key for r in requests]
    assert requests[0].tags[HOST_TAG] == "open.data.gov.vn"
    assert requests[0].run_config == {}


def test_weekly_schedule_requests_full_runs_of_every_scheduled_portal() -> None:
    requests = list(harvest_run_requests(("daily", "weekly"), full=True))
    assert {r.partition_key for r in requests} == {p.id for p in load_registry().values() if p.cadence != "manual"}
    assert all(r.run_config == {"ops": {"catalog_tables": {"config": {"full": True}}}} for r in requests)
    assert requests[0].tags["catalog/mode"] == "full"


def test_dagster_definitions_validate(tmp_path) -> None:
    """The CLI check Dagster offers for a code location, as a deploy pipeline would run it."""
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "pipelines.definitions"],
        cwd=REPO,
        env=os.environ | {"DAGSTER_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All code locations passed validation" in result.stderr + result.stdout
