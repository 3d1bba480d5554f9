"""The link check asset, materialised for one portal after its harvest: the link farm's truth through
Dagster, and the shipped resource refusing loopback links."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, materialize

from catalog.lake import Lake
from pipelines.assets.harvest import catalog_tables
from pipelines.assets.links import link_checks
from pipelines.resources import LinkCheckResource, default_resources
from tests.catalog.links.test_links import farm_catalogue
from tests.conftest import rows
from tests.linkfarm import serve_farm
from tests.pipelines.test_harvest_assets import harvest_resources

PORTAL = "gb-birmingham"


@pytest.fixture
def farm():
    with serve_farm(hosts=4) as running:
        yield running


def harvest_and_check(farm, serve, tmp_path, links: LinkCheckResource):
    packages, truth = farm_catalogue(farm)
    portal = serve(packages)
    lake = Lake(tmp_path / "lake")
    resources = harvest_resources(lake, {PORTAL: portal.url}) | {"links": links}
    with DagsterInstance.ephemeral() as instance:
        assert materialize([catalog_tables], partition_key=PORTAL, resources=resources, instance=instance).success
        result = materialize([link_checks], partition_key=PORTAL, resources=resources, instance=instance)
    assert result.success
    [event] = result.get_asset_materialization_events()
    return lake, truth, event.step_materialization_data.materialization.metadata


def test_the_farms_truth_comes_back_through_dagster(farm, serve, tmp_path) -> None:
    lake, truth, metadata = harvest_and_check(
        farm, serve, tmp_path, LinkCheckResource(per_host_rate=0, allow_private=True)
    )
    found = {row["url"]: row for row in rows(lake, "SELECT url, state, status, error FROM link_status")}
    assert {url: (t.state, t.status, t.error) for url, t in truth.items()} == {
        url: (row["state"], row["status"], row["error"]) for url, row in found.items()
    }
    broken = sum(t.state == "broken" for t in truth.values())
    assert (metadata["checked_now"].value, metadata["deferred"].value) == (61, 0)
    assert (metadata["links"].value, metadata["links_checked"].value, metadata["broken"].value) == (61, 61, broken)
    assert "| Birmingham City Council |" in metadata["broken_by_publisher"].value


def test_the_shipped_resource_refuses_loopback_links(farm, serve, tmp_path) -> None:
    shipped = default_resources()["links"]
    assert shipped == LinkCheckResource()
    assert (shipped.allow_private, shipped.per_host_rate, shipped.budget) == (False, 1.0, 20_000)
    lake, truth, metadata = harvest_and_check(farm, serve, tmp_path, shipped)
    states = rows(lake, "SELECT state, error, count(*) AS links FROM link_status GROUP BY ALL ORDER BY ALL")
    assert [(row["state"], row["error"]) for row in states] == [
        ("not_checked", "blocked"),
        ("not_checked", "unsupported_scheme"),
    ]
    assert sum(row["links"] for row in states) == len(truth)
    assert not farm.state.log
    assert metadata["broken"].value == 0
