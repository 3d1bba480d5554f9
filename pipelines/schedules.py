"""Harvest schedules: one run per portal, tagged with its host.

- `daily_harvest`: an incremental harvest of every portal whose registry cadence is daily.
- `weekly_full_harvest`: a full harvest of every scheduled portal (daily and weekly cadence): it
  re-reads everything, so whatever an incremental run cannot see (a portal that edits without
  touching metadata_modified) is caught within a week.
Portals with cadence `manual` are harvested only on request.
- `daily_liveness_check`: probes every scheduled portal into `portal_checks`, before the harvests.

The `catalog/host` tag lets dagster.yaml allow one run per host at a time, so two portals on one
server never overlap, while different hosts harvest in parallel.
"""

from __future__ import annotations

from collections.abc import Iterator

from dagster import JobDefinition, RunRequest, ScheduleDefinition, ScheduleEvaluationContext

from catalog.registry import load_registry

HOST_TAG = "catalog/host"
FULL_RUN_CONFIG = {"ops": {"catalog_tables": {"config": {"full": True}}}}


def harvest_run_requests(cadences: tuple[str, ...], *, full: bool) -> Iterator[RunRequest]:
    for portal in load_registry().values():
        if portal.cadence in cadences:
            yield RunRequest(
                partition_key=portal.id,
                tags={HOST_TAG: portal.host, "catalog/mode": "full" if full else "incremental"},
                run_config=FULL_RUN_CONFIG if full else {},
            )


def _schedule(job: JobDefinition, name: str, cron: str, cadences: tuple[str, ...], *, full: bool) -> ScheduleDefinition:
    def evaluate(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
        yield from harvest_run_requests(cadences, full=full)

    kind = "full" if full else "incremental"
    return ScheduleDefinition(
        name=name,
        cron_schedule=cron,
        job=job,
        execution_fn=evaluate,
        execution_timezone="UTC",
        description=f"A {kind} harvest of every portal whose registry cadence is {' or '.join(cadences)}.",
    )


def harvest_schedules(job: JobDefinition) -> list[ScheduleDefinition]:
    return [
        _schedule(job, "daily_harvest", "0 2 * * *", ("daily",), full=False),
        _schedule(job, "weekly_full_harvest", "0 3 * * 0", ("daily", "weekly"), full=True),
    ]


def liveness_schedule(job: JobDefinition) -> ScheduleDefinition:
    return ScheduleDefinition(
        name="daily_liveness_check",
        cron_schedule="0 1 * * *",
        job=job,
        execution_timezone="UTC",
        description="Probe every scheduled portal (reachable, status, software, latency) into portal_checks.",
    )
