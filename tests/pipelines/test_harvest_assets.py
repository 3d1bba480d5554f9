"""Materialising the harvest assets for one partition, against a local portal serving real records."""

from __future__ import annotations

import logging
import multiprocessing

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from catalog.errors import LakeError
from catalog.lake import Lake
from catalog.sources.base import FIRST_PAGE_ROWS, MIN_ROWS
from catalog.views import query
from pipelines.assets.harvest import catalog_tables
from pipelines.assets.liveness import portal_checks
from pipelines.assets.views import catalog_views
from pipelines.resources import HttpResource, LakeResource, PortalsResource, default_resources
from tests.catalog.sources.test_dkan import dkan_routes, real_and_copies
from tests.conftest import real_packages
from tests.recorded import multiplied
from tests.routes import serve_routes


def harvest_resources(lake: Lake, url_overrides: dict[str, str]) -> dict:
    """The harvest assets' resources: this lake, no HTTP retries, registry portals pointed at local ones."""
    return {
        "lake": LakeResource(root=str(lake.root)),
        "http": HttpResource(retries=0),
        "portals": PortalsResource(url_overrides=url_overrides),
    }


def test_materialise_one_portal_partition(serve, tmp_path) -> None:
    portal = serve(real_packages())
    lake = Lake(tmp_path / "lake")
    resources = harvest_resources(lake, {"gb-birmingham": portal.url})
    with DagsterInstance.ephemeral() as instance:
        result = materialize([catalog_tables], partition_key="gb-birmingham", resources=resources, instance=instance)
        assert result.success
        metadata = {
            event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
            for event in result.get_asset_materialization_events()
        }
        tables = metadata["catalog_tables"]
        assert tables["datasets"].value == 15
        assert tables["distributions"].value == 61
        assert tables["publishers"].value == 6
        assert tables["requests"].value == 3  # one search page, the organisations, an empty page
        assert (tables["mode"].value, tables["added"].value, tables["deleted"].value) == ("full", 15, 0)
        assert "| Birmingham City Council | 10 | 54 | XLS |" in tables["top_publishers"].value
        assert tables["portal_url"].value == portal.url
        checks = {(e.check_name, e.partition, e.passed) for e in result.get_asset_check_evaluations()}
        assert checks == {  # each result belongs to the portal's partition, not "Partition —"
            (name, "gb-birmingham", True)
            for name in ("schema_as_declared", "unique_keys", "count_reconciled", "deletions_plausible")
        }

        views = materialize([catalog_views], resources={"lake": resources["lake"]}, instance=instance)
        assert views.success
        [event] = views.get_asset_materialization_events()
        shown = event.step_materialization_data.materialization.metadata
        assert shown["vietnam_provinces_publishing"].value == "0 of 34 (vn_province_coverage)"
    assert (lake.root / "catalog.duckdb").is_file()
    _, rows = query(lake, "SELECT portal_id, count(*) FROM datasets GROUP BY ALL")
    assert rows == [("gb-birmingham", 15)]


@pytest.mark.parametrize(
    "failure",
    [LakeError("sql/coverage_by_publisher.sql: Binder Error: column x not found"), duckdb.IOException("bad footer")],
)
def test_a_view_that_cannot_be_read_costs_the_metadata_not_the_harvest(serve, tmp_path, monkeypatch, failure) -> None:
    """The top publishers are read through the views once the harvest is published: a view that fails then
    (a broken sql/ file, another portal's damaged file) must not fail a materialisation whose data is in."""
    portal = serve(real_packages())
    lake = Lake(tmp_path / "lake")

    def failing(*_: object) -> None:
        raise failure

    monkeypatch.setattr("pipelines.assets.harvest.query", failing)
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [catalog_tables],
            partition_key="gb-birmingham",
            resources=harvest_resources(lake, {"gb-birmingham": portal.url}),
            instance=instance,
        )
    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = event.step_materialization_data.materialization.metadata
    assert metadata["datasets"].value == 15
    assert metadata["top_publishers"].value == f"not read: {failure}"
    assert [run["status"] for run in lake.runs("gb-birmingham")] == ["complete"]


NO_RETRIES = {"ops": {"catalog_tables": {"config": {"transient_retries": 0}}}}


def test_the_shipped_resources_ride_out_a_rate_limit(serve, tmp_path) -> None:
    """The resources as `default_resources()` makes them (rate limit on, 4 retries), against a portal that
    answers its first request with 429, Retry-After: 1 and a JSON body that is not the Action API."""
    portal = serve(real_packages())
    answers = iter([(429, b'{"error": "slow down"}', "application/json", {"Retry-After": "1"})])
    portal.options.intercept = lambda action, params: next(answers, None)
    lake = Lake(tmp_path / "lake")
    shipped = default_resources() | {
        "lake": LakeResource(root=str(lake.root)),
        "portals": PortalsResource(url_overrides={"gb-birmingham": portal.url}),
    }
    assert shipped["http"] == HttpResource()
    with DagsterInstance.ephemeral() as instance:
        result = materialize([catalog_tables], partition_key="gb-birmingham", resources=shipped, instance=instance)
    assert result.success
    assert [(run["status"], run["datasets"]) for run in lake.runs("gb-birmingham")] == [("complete", 15)]


def test_the_shipped_resources_normalise_a_large_portal_in_worker_processes(serve, tmp_path, caplog) -> None:
    """A portal past 500 datasets is normalised in processes forked from the one running the asset, with
    Dagster's threads alive in it: they finish, and none is left behind."""
    portal = serve(multiplied(real_packages(), 1_200))
    lake = Lake(tmp_path / "lake")
    shipped = default_resources() | {
        "lake": LakeResource(root=str(lake.root)),
        "portals": PortalsResource(url_overrides={"gb-birmingham": portal.url}),
    }
    with (
        caplog.at_level(logging.INFO, logger="catalog.harvest.workers"),
        DagsterInstance.ephemeral() as instance,
    ):
        result = materialize([catalog_tables], partition_key="gb-birmingham", resources=shipped, instance=instance)
    assert result.success
    assert "gb-birmingham: 1,200 datasets or more, normalising in 2 worker processes" in caplog.messages
    assert [(run["status"], run["datasets"]) for run in lake.runs("gb-birmingham")] == [("complete", 1_200)]
    assert multiprocessing.active_children() == []


def test_one_portal_failing_does_not_fail_another(serve, tmp_path) -> None:
    good, bad = serve(real_packages()), serve([])
    bad.options.intercept = lambda action, params: (503, b"down for maintenance", "text/plain")
    lake = Lake(tmp_path / "lake")
    resources = harvest_resources(lake, {"gb-birmingham": good.url, "vn-sample": bad.url})
    with DagsterInstance.ephemeral() as instance:
        results = {
            partition: materialize(
                [catalog_tables],
                partition_key=partition,
                resources=resources,
                instance=instance,
                raise_on_error=False,
                run_config=NO_RETRIES,
            )
            for partition in ("vn-sample", "gb-birmingham")
        }
    assert not results["vn-sample"].success
    assert results["gb-birmingham"].success
    _, rows = query(lake, "SELECT portal_id, status FROM harvest_runs ORDER BY portal_id")
    assert rows == [("gb-birmingham", "complete"), ("vn-sample", "failed")]
    assert query(lake, "SELECT portal_id, count(*) FROM datasets GROUP BY ALL")[1] == [("gb-birmingham", 15)]


def test_a_dkan_partition_materialises_like_a_ckan_one(tmp_path) -> None:
    """Ho Chi Minh City's DKAN partition, pointed at a local DKAN serving the recorded DKAN package."""
    lake = Lake(tmp_path / "lake")
    with serve_routes(dkan_routes(real_and_copies(3))) as server:
        resources = harvest_resources(lake, {"vn-opendata-hochiminhcity": server.base_url})
        with DagsterInstance.ephemeral() as instance:
            result = materialize(
                [catalog_tables],
                partition_key="vn-opendata-hochiminhcity",
                resources=resources,
                instance=instance,
            )
    assert result.success
    assert lake.runs("vn-opendata-hochiminhcity")[0]["software"] == "dkan"
    _, found = query(lake, "SELECT count(*), sum(num_distributions) FROM datasets")
    assert found == [(3, 6)]


def test_portal_checks_asset_probes_the_selected_scheduled_portals(serve, tmp_path) -> None:
    live = serve(real_packages())
    selected = ["vn-open-data", "vn-sample"]  # vn-sample's cadence is manual: harvested on request only
    portals = PortalsResource(only=selected, url_overrides=dict.fromkeys(selected, live.url))
    lake = Lake(tmp_path / "lake")
    result = materialize([portal_checks], resources={"lake": LakeResource(root=str(lake.root)), "portals": portals})
    assert result.success
    metadata = result.get_asset_materialization_events()[0].step_materialization_data.materialization.metadata
    assert (metadata["portals"].value, metadata["reachable"].value) == (1, 1)
    _, found = query(lake, "SELECT portal_id, detected_software FROM portal_checks")
    assert found == [("vn-open-data", "ckan")]


def test_a_transient_failure_is_retried_by_dagster_and_a_permanent_one_is_not(serve, tmp_path) -> None:
    flaky, gone = serve(real_packages()), serve([])
    # 503s enough to defeat the client's own page halving (its first page's rows down to the fewest), and one
    # more for Dagster's retry, which passes on its second page size
    page_sizes = len({max(MIN_ROWS, FIRST_PAGE_ROWS >> halvings) for halvings in range(10)})
    failures = iter([True] * (page_sizes + 1))
    flaky.options.intercept = lambda action, params: (503, b"busy", "text/plain") if next(failures, False) else None
    gone.options.intercept = lambda action, params: (404, b"<h1>Not found</h1>", "text/html")
    lake = Lake(tmp_path / "lake")
    resources = harvest_resources(lake, {"gb-birmingham": flaky.url, "vn-sample": gone.url})
    quick = {"ops": {"catalog_tables": {"config": {"transient_retries": 2, "retry_wait_s": 0}}}}
    with DagsterInstance.ephemeral() as instance:
        flaky_result = materialize(
            [catalog_tables],
            partition_key="gb-birmingham",
            resources=resources,
            instance=instance,
            run_config=quick,
        )
        gone_result = materialize(
            [catalog_tables],
            partition_key="vn-sample",
            resources=resources,
            instance=instance,
            run_config=quick,
            raise_on_error=False,
        )
    assert flaky_result.success  # the 503 once, then the harvest on Dagster's retry
    assert [run["status"] for run in sorted(lake.runs("gb-birmingham"), key=lambda r: r["started_at"])] == [
        "failed",
        "complete",
    ]
    assert not gone_result.success
    assert [run["status"] for run in lake.runs("vn-sample")] == ["failed"]  # a 404 is not retried
    checks = {evaluation.check_name: evaluation.passed for evaluation in flaky_result.get_asset_check_evaluations()}
    assert checks == {
        "schema_as_declared": True,
        "unique_keys": True,
        "count_reconciled": True,
        "deletions_plausible": True,
    }
