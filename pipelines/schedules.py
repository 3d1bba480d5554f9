"""Harvest schedules by registry cadence: one run per portal, tagged with its host.

The `catalog/host` tag lets dagster.yaml allow one run per host at a time, so two portals on one
server never overlap, while different hosts harvest in parallel.
"""

from __future__ import annotations

from collections.abc import Iterator

from dagster import JobDefinition, RunRequest, ScheduleDefinition, ScheduleEvaluationContext

from catalog.registry import load_registry

HOST_TAG = "catalog/host"
CRON_BY_CADENCE = {"daily": "0 2 * * *", "weekly": "0 3 * * 1"}


def harvest_run_requests(cadence: str) -> Iterator[RunRequest]:
    for portal in load_registry().values():
        if portal.cadence == cadence:
            yield RunRequest(partition_key=portal.id, tags={HOST_TAG: portal.host})


def harvest_schedules(job: JobDefinition) -> list[ScheduleDefinition]:
    """A schedule per cadence; portals with cadence `manual` are harvested only on request."""

    def build(cadence: str, cron: str) -> ScheduleDefinition:
        def evaluate(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
            yield from harvest_run_requests(cadence)

        return ScheduleDefinition(
            name=f"{cadence}_harvest",
            cron_schedule=cron,
            job=job,
            execution_fn=evaluate,
            execution_timezone="UTC",
            description=f"Harvest every portal whose registry cadence is {cadence}.",
        )

    return [build(cadence, cron) for cadence, cron in CRON_BY_CADENCE.items()]
