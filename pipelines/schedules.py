"""Harvest schedules: one run per portal, tagged with its host.

- `daily_harvest` (02:00 UTC): an incremental harvest of every selected portal whose registry cadence
  is daily.
- `weekly_full_harvest` (Sunday 03:00 UTC): a full harvest of every selected portal (daily and weekly
  cadence): it re-reads everything, so whatever an incremental run cannot see (a portal that edits
  without touching metadata_modified) is caught within a week.
- `daily_liveness_check` (01:00 UTC): probes every selected portal into `portal_checks`.

Portals with cadence `manual` are harvested only on request. Which portals are selected is the
`portals` resource's choice (`CATALOG_COUNTRIES`, `CATALOG_PORTALS`; default: the whole registry).

Every schedule starts STOPPED: the whole registry is some 400 portals on the internet, and a first
`dagster dev` should not start harvesting them all unasked. The operator chooses the portals, then
turns the schedules on (the UI's Automation page, or `dagster schedule start`). What follows a harvest
(the views, the snapshots, the report) needs no schedule: declarative automation runs it (see
`pipelines/automation.py`).

The `catalog/host` tag lets dagster.yaml allow one run per host at a time, so two portals on one
server never overlap, while different hosts harvest in parallel.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from dagster import (
    DefaultScheduleStatus,
    JobDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from pipelines.resources import PortalsResource

HOST_TAG = "catalog/host"
FULL_RUN_CONFIG = {"ops": {"catalog_tables": {"config": {"full": True}}}}
STARTS_STOPPED = " Starts stopped: turn it on once the portals resource selects the portals you want."


def harvest_run_requests(
    portals: PortalsResource, cadences: tuple[str, ...], *, full: bool, tick: datetime
) -> Iterator[RunRequest]:
    """A run per selected portal; its run key (portal and tick) makes a re-evaluated tick launch nothing twice."""
    for portal in portals.scheduled(cadences):
        yield RunRequest(
            run_key=f"{portal.id}@{tick.isoformat()}",
            partition_key=portal.id,
            tags={HOST_TAG: portal.host, "catalog/mode": "full" if full else "incremental"},
            run_config=FULL_RUN_CONFIG if full else {},
        )


def _harvest_schedule(
    job: JobDefinition, name: str, cron: str, cadences: tuple[str, ...], *, full: bool
) -> ScheduleDefinition:
    kind = "full" if full else "incremental"

    @schedule(
        name=name,
        cron_schedule=cron,
        job=job,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.STOPPED,
        description=f"A {kind} harvest of every selected portal whose registry cadence is {' or '.join(cadences)}."
        + STARTS_STOPPED,
    )
    def evaluate(context: ScheduleEvaluationContext, portals: PortalsResource) -> Iterator[RunRequest]:
        yield from harvest_run_requests(portals, cadences, full=full, tick=context.scheduled_execution_time)

    return evaluate


def harvest_schedules(job: JobDefinition) -> list[ScheduleDefinition]:
    return [
        _harvest_schedule(job, "daily_harvest", "0 2 * * *", ("daily",), full=False),
        _harvest_schedule(job, "weekly_full_harvest", "0 3 * * 0", ("daily", "weekly"), full=True),
    ]


def liveness_schedule(job: JobDefinition) -> ScheduleDefinition:
    return ScheduleDefinition(
        name="daily_liveness_check",
        cron_schedule="0 1 * * *",
        job=job,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.STOPPED,
        description="Probe every selected portal (reachable, status, software, latency) into portal_checks, and "
        "check every portal's harvests are fresh." + STARTS_STOPPED,
    )
