"""The automation condition of what follows the harvests, evaluated as the sensor does, on a toy graph of
the same shape (an asset partitioned by portal, an unpartitioned one after it), so runs can be held
`in progress` at will."""

from __future__ import annotations

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    StaticPartitionsDefinition,
    asset,
    evaluate_automation_conditions,
    materialize,
)

from pipelines.automation import AFTER_UPSTREAM_UPDATES

portals = StaticPartitionsDefinition(["portal-a", "portal-b", "never-harvested"])


@asset(partitions_def=portals)
def harvested() -> None:
    """Stands for catalog_tables."""


@asset(deps=[harvested], automation_condition=AFTER_UPSTREAM_UPDATES)
def rebuilt() -> None:
    """Stands for catalog_views, current_snapshots and coverage_report."""


@asset(partitions_def=portals, deps=[harvested], automation_condition=AFTER_UPSTREAM_UPDATES)
def checked() -> None:
    """Stands for link_checks: partitioned like the harvest, and following it partition by partition."""


DEFS = Definitions(assets=[harvested, rebuilt, checked])


class Sensor:
    """evaluate_automation_conditions with its cursor carried from tick to tick, as the daemon does."""

    def __init__(self, instance: DagsterInstance) -> None:
        self.instance, self.cursor = instance, None

    def requests(self, asset: str = "rebuilt") -> int:
        return len(self.requested(asset))

    def requested(self, asset: str) -> list[str | None]:
        """The partitions of `asset` this tick requests ([None] for an unpartitioned asset)."""
        result = evaluate_automation_conditions(defs=DEFS, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        return sorted(result.get_requested_partitions(AssetKey(asset)), key=str)


@pytest.mark.parametrize("tick_while_running", [True, False], ids=["ticked-before-it-landed", "landed-before-the-tick"])
def test_a_harvest_landing_during_a_rebuild_gets_a_rebuild_of_its_own(tick_while_running) -> None:
    with DagsterInstance.ephemeral() as instance:
        sensor = Sensor(instance)
        assert (
            sensor.requests() == 0
        )  # nothing harvested, nothing to build; a portal never harvested holds nothing back
        materialize([harvested], partition_key="portal-a", instance=instance)
        assert sensor.requests() == 1
        job = DEFS.resolve_implicit_global_asset_job_def()
        running = instance.create_run_for_job(
            job_def=job, asset_selection=frozenset({AssetKey("rebuilt")}), status=DagsterRunStatus.STARTED
        )
        if tick_while_running:
            assert sensor.requests() == 0
        materialize([harvested], partition_key="portal-b", instance=instance)  # lands while the rebuild runs
        assert sensor.requests() == 0  # not while one is being built
        materialize([rebuilt], instance=instance, selection=[rebuilt])  # the rebuild ends (it read the lake before b)
        instance.delete_run(running.run_id)
        assert sensor.requests() == 1  # portal-b is still owed a rebuild
        materialize([rebuilt], instance=instance, selection=[rebuilt])
        assert [sensor.requests() for _ in range(3)] == [0, 0, 0]  # and then it settles


def test_a_portals_links_are_checked_after_each_harvest_of_that_portal_only() -> None:
    with DagsterInstance.ephemeral() as instance:
        sensor = Sensor(instance)
        assert sensor.requested("checked") == []
        materialize([harvested], partition_key="portal-a", instance=instance)
        assert sensor.requested("checked") == ["portal-a"]
        materialize([checked], partition_key="portal-a", instance=instance)
        assert sensor.requested("checked") == []
        materialize([harvested], partition_key="portal-b", instance=instance)
        materialize([harvested], partition_key="portal-a", instance=instance)
        assert sensor.requested("checked") == ["portal-a", "portal-b"]
