"""Declarative automation: what is built from the harvests follows them on its own.

The DuckDB file of views, the current snapshots and the report are rebuilt after every harvest (and
the views after every liveness and link check) by the default automation condition sensor, which is on
from the first `dagster dev`: it only ever reacts to harvests, which the schedules or a person start. A rebuild
waits for the one in progress, then one more covers every harvest that landed meanwhile, so a batch of
400 scheduled harvests causes a few rebuilds, not 400. Portals never harvested hold nothing back.

A portal's links are checked after each harvest of that portal, by a sensor of their own that tags
its runs, so that dagster.yaml can let one link check run at a time.
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

LINK_CHECK_TAG = "catalog/link_check"
"""Tags every link check run; dagster.yaml lets one such run go at a time (queued runs hold no slot)."""

automation_sensor = AutomationConditionSensorDefinition(
    "default_automation_condition_sensor",
    target=AssetSelection.all() - AssetSelection.assets("link_checks"),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=EVALUATION_INTERVAL_S,
    description="Rebuilds the views, the current snapshots and the report after harvests and checks.",
)

link_check_sensor = AutomationConditionSensorDefinition(
    "link_check_automation_sensor",
    target=AssetSelection.assets("link_checks"),
    run_tags={LINK_CHECK_TAG: "true"},
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=EVALUATION_INTERVAL_S,
    description="Checks a portal's due links after each harvest of it, one link check run at a time.",
)
