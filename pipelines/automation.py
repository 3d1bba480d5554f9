"""Declarative automation: what is built from the harvests follows them on its own.

The DuckDB file of views, the current snapshots and the report are rebuilt after every harvest (and
the views after every liveness check) by the default automation condition sensor, which is on from the
first `dagster dev`: it only ever reacts to harvests, which the schedules or a person start. A rebuild
waits for the one in progress, then one more covers every harvest that landed meanwhile, so a batch of
400 scheduled harvests causes a few rebuilds, not 400. Portals never harvested hold nothing back.
"""

from dagster import AssetSelection, AutomationCondition, AutomationConditionSensorDefinition, DefaultSensorStatus

HANDLED = (
    AutomationCondition.newly_requested() & ~AutomationCondition.any_deps_updated()
) | AutomationCondition.initial_evaluation()
"""The tick after a request, unless an upstream update arrived by then too: the requested run may have
read the lake before that update, so it still counts."""

AFTER_UPSTREAM_UPDATES = (
    AutomationCondition.any_deps_updated().since(HANDLED) & ~AutomationCondition.in_progress()
).with_label("after_upstream_updates")
"""Requested once any upstream asset (any partition) was updated since this one was last requested, and
not while it is being built. The end of a build resets nothing: a harvest that lands while a rebuild
runs is still owed a rebuild when that one ends."""

EVALUATION_INTERVAL_S = 30

automation_sensor = AutomationConditionSensorDefinition(
    "default_automation_condition_sensor",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=EVALUATION_INTERVAL_S,
    description="Rebuilds the views, the current snapshots and the report after harvests and checks.",
)
