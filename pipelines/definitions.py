"""Assembles the Dagster code location: assets, jobs, schedules, the automation sensor and resources."""

from dagster import (
    AssetSelection,
    Definitions,
    define_asset_job,
    load_asset_checks_from_modules,
    load_assets_from_modules,
)

from catalog.lake import use_compact_memory
from pipelines.assets import harvest, links, liveness, report, snapshots, views
from pipelines.automation import LINK_CHECK_TAG, automation_sensor, link_check_sensor
from pipelines.resources import default_resources
from pipelines.schedules import harvest_schedules, liveness_schedule

use_compact_memory()

harvest_assets = load_assets_from_modules([harvest])
view_assets = load_assets_from_modules([views, snapshots, report])
liveness_assets = load_assets_from_modules([liveness])
link_assets = load_assets_from_modules([links])

harvest_job = define_asset_job(
    "harvest_job",
    selection=AssetSelection.assets(*harvest_assets) - AssetSelection.checks(harvest.harvest_fresh_check),
    description="Harvest one portal: fetch its catalogue, normalise and publish it.",
)
views_job = define_asset_job(
    "views_job",
    selection=AssetSelection.assets(*view_assets),
    description="Rebuild the DuckDB file of views, the current snapshots and the HTML report over the latest "
    "harvests (automation does it after every harvest; this job is for doing it by hand).",
)

liveness_job = define_asset_job(
    "liveness_job",
    selection=AssetSelection.assets(*liveness_assets) | AssetSelection.checks(harvest.harvest_fresh_check),
    description="Probe every scheduled portal (reachable, HTTP status, software, latency); check harvest freshness.",
)

link_check_job = define_asset_job(
    "link_check_job",
    selection=AssetSelection.assets(*link_assets),
    tags={LINK_CHECK_TAG: "true"},
    description="Check one portal's due download links (automation does it after every harvest of it).",
)

defs = Definitions(
    assets=[*harvest_assets, *view_assets, *liveness_assets, *link_assets],
    asset_checks=load_asset_checks_from_modules([harvest]),
    jobs=[harvest_job, views_job, liveness_job, link_check_job],
    schedules=[*harvest_schedules(harvest_job), liveness_schedule(liveness_job)],
    sensors=[automation_sensor, link_check_sensor],
    resources=default_resources(),
)
