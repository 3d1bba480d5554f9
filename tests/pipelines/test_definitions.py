"""The Dagster code location loads, with a partition per registered portal, the schedules (stopped) and
the automation sensor (running); the schedules cover the portals the `portals` resource selects."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import yaml
from dagster import DagsterInstance, DefaultScheduleStatus, DefaultSensorStatus, build_schedule_context

from catalog.errors import RegistryError
from catalog.registry import load_registry
from pipelines.automation import LINK_CHECK_TAG
from pipelines.definitions import defs
from pipelines.resources import COUNTRIES_ENV, PORTALS_ENV, PortalsResource, default_resources
from pipelines.schedules import HOST_TAG, harvest_run_requests
from tests.conftest import REPO

TICK = datetime(2026, 11, 24, 2, tzinfo=UTC)


def test_definitions_load() -> None:
    repository = defs.get_repository_def()
    assert {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()} == {
        "catalog_tables",
        "catalog_views",
        "coverage_report",
        "current_snapshots",
        "link_checks",
        "portal_checks",
    }
    job = defs.resolve_job_def("harvest_job")
    assert job.partitions_def.get_partition_keys() == list(load_registry())
    assert {schedule.name for schedule in repository.schedule_defs} == {
        "daily_harvest",
        "weekly_full_harvest",
        "daily_liveness_check",
    }
    assert {schedule.default_status for schedule in repository.schedule_defs} == {DefaultScheduleStatus.STOPPED}
    sensors = {sensor.name: sensor for sensor in repository.sensor_defs}
    assert {name: sensor.default_status for name, sensor in sensors.items()} == {
        "default_automation_condition_sensor": DefaultSensorStatus.RUNNING,
        "link_check_automation_sensor": DefaultSensorStatus.RUNNING,
    }
    assert sensors["link_check_automation_sensor"].run_tags == {LINK_CHECK_TAG: "true"}
    assert defs.resolve_job_def("link_check_job").tags[LINK_CHECK_TAG] == "true"
    automated = {key.to_user_string() for key, spec in _specs().items() if spec.automation_condition is not None}
    assert automated == {"catalog_views", "current_snapshots", "coverage_report", "link_checks"}
    softwares = {portal.software for portal in load_registry().values()}
    assert softwares == {"ckan", "dkan", "datajson"}  # every software has partitions, one per portal


def _specs() -> dict:
    return {spec.key: spec for spec in defs.resolve_all_asset_specs()}


def test_daily_schedule_requests_one_incremental_run_per_daily_portal_tagged_with_its_host() -> None:
    requests = list(harvest_run_requests(PortalsResource(), ("daily",), full=False, tick=TICK))
    registry = load_registry()
    assert [r.partition_key for r in requests] == [p.id for p in registry.values() if p.cadence == "daily"]
    assert "vn-sample" not in [r.partition_key for r in requests]
    assert requests[0].tags[HOST_TAG] == "open.data.gov.vn"
    assert requests[0].run_config == {}


def test_weekly_schedule_requests_full_runs_of_every_scheduled_portal() -> None:
    requests = list(harvest_run_requests(PortalsResource(), ("daily", "weekly"), full=True, tick=TICK))
    assert {r.partition_key for r in requests} == {p.id for p in load_registry().values() if p.cadence != "manual"}
    assert all(r.run_config == {"ops": {"catalog_tables": {"config": {"full": True}}}} for r in requests)
    assert requests[0].tags["catalog/mode"] == "full"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, None),  # the whole registry
        ({COUNTRIES_ENV: "vn"}, {p.id for p in load_registry().values() if p.country == "VN" and p.cadence == "daily"}),
        ({PORTALS_ENV: "vn-open-data, vn-odm,vn-sample"}, {"vn-open-data", "vn-odm"}),  # vn-sample: manual cadence
    ],
)
def test_the_schedules_request_the_portals_the_environment_selects(monkeypatch, environment, expected) -> None:
    for name in (COUNTRIES_ENV, PORTALS_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    resources = default_resources()
    schedule = defs.resolve_schedule_def("daily_harvest")
    repository = defs.get_repository_def()
    with build_schedule_context(
        resources=resources, scheduled_execution_time=TICK, repository_def=repository
    ) as context:
        requests = schedule.evaluate_tick(context).run_requests
    requested = {request.partition_key for request in requests}
    assert len({request.run_key for request in requests}) == len(requests)  # the daemon requires distinct keys
    daily = {p.id for p in load_registry().values() if p.cadence == "daily"}
    assert requested == (expected if expected is not None else daily)


def test_a_selected_id_that_is_not_registered_is_an_error() -> None:
    with pytest.raises(RegistryError, match="not in the registry: vn-opendata"):
        PortalsResource(only=["vn-open-data", "vn-opendata"]).scheduled()


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


@pytest.mark.parametrize("config", ["dagster.yaml", "deploy/postgres/dagster.yaml"])
def test_one_link_check_run_at_a_time(config: str) -> None:
    """Both instance configurations queue link check runs one at a time (the sensor and job tag them)."""
    limits = yaml.safe_load((REPO / config).read_text())["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": LINK_CHECK_TAG, "limit": 1} in limits


def test_the_shipped_instance_reads_the_link_check_limit(tmp_path, monkeypatch) -> None:
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with DagsterInstance.get() as instance:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": LINK_CHECK_TAG, "limit": 1} in limits
