"""The harvest, as one partitioned asset: a portal's catalogue fetched, normalised and published.

One asset, one step: the harvest holds the portal's lock in the lake from the first request to the
publishing rename, so a Dagster run and a `catalog harvest` of the same portal never interleave, and
re-materialising the asset is simply harvesting again. It claims a slot of the `portal_fetch` pool
(dagster.yaml). Transient portal failures, and a portal busy with another harvest, are retried by
Dagster on top of the HTTP layer's own retries. Asset checks are computed on the harvest just
published; `deletions_plausible` fails loudly when a run would have deleted implausibly much and so
published nothing. The `harvest_fresh` check looks across every selected portal.
"""

import warnings
from dataclasses import asdict

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    PreviewWarning,
    RetryRequested,
    asset,
    asset_check,
)

from catalog.errors import HarvestError, LakeError, SuspiciousHarvestError
from catalog.harvest import HarvestRun, Progress, harvest_portal
from catalog.integrity import (
    CheckOutcome,
    count_reconciled,
    deletions_plausible,
    harvest_fresh,
    schema_as_declared,
    unique_keys,
)
from catalog.lake import Lake, PortalBusyError
from catalog.views import named_query, query
from pipelines.metadata import markdown_table, run_metadata
from pipelines.partitions import portal_partitions
from pipelines.resources import HttpResource, LakeResource, PortalsResource

TOP_PUBLISHERS_SQL = named_query("dagster/top_publishers")

TRANSIENT_RETRIES = 3
TRANSIENT_WAIT_S = 60
"""A portal that failed transiently (5xx, timeouts, HTML instead of JSON) after the HTTP layer's own
retries, or that another harvest holds, is tried again by Dagster after 1, 2, then 4 minutes; a
permanent failure (404, an answer that is not the API) fails at once."""
with warnings.catch_warnings():  # partitioned checks are a Dagster preview, and exactly what a portal needs
    warnings.filterwarnings("ignore", category=PreviewWarning)
    CHECKS = [
        AssetCheckSpec(name, asset="catalog_tables", description=description, partitions_def=portal_partitions)
        for name, description in (
            ("schema_as_declared", "Each table has its declared schema."),
            ("unique_keys", "No dataset, distribution or publisher twice."),
            ("count_reconciled", "A full harvest matches the portal's count."),
            (
                "deletions_plausible",
                "The harvest did not try to delete more of the portal than plausible (an empty or broken answer).",
            ),
        )
    ]
"""Checked on each harvest just published, so each result belongs to the portal's partition."""


class HarvestConfig(Config):
    """Incremental from the watermark unless `full` (the weekly schedule sets it); whether deletions past
    the portal's share are accepted; how often and how patiently a failing or busy portal is tried again."""

    full: bool = False
    allow_mass_deletion: bool = False
    transient_retries: int = TRANSIENT_RETRIES
    retry_wait_s: float = TRANSIENT_WAIT_S


@asset(
    partitions_def=portal_partitions,
    group_name="harvest",
    kinds={"python", "parquet"},
    pool="portal_fetch",
    check_specs=CHECKS,
)
def catalog_tables(
    context: AssetExecutionContext,
    config: HarvestConfig,
    lake: LakeResource,
    http: HttpResource,
    portals: PortalsResource,
) -> MaterializeResult:
    """The portal's datasets, distributions and publishers: fetched (all of them on a full harvest, those
    changed since the watermark plus every id on an incremental one), normalised, published atomically."""
    portal = portals.portal(context.partition_key)
    the_lake = lake.lake()
    try:
        run = harvest_portal(
            portal,
            the_lake,
            full=config.full,
            settings=http.settings(portal),
            progress=Progress(portal.id, enabled=False),
            allow_mass_deletion=config.allow_mass_deletion,
        )
    except SuspiciousHarvestError as exc:
        context.log.error("%s: nothing published: %s", portal.id, exc)
        return suspicious_result(the_lake.runs(portal.id), str(exc))
    except (HarvestError, PortalBusyError) as exc:
        if isinstance(exc, PortalBusyError) or exc.transient or exc.overloaded:
            wait = config.retry_wait_s * 2**context.retry_number
            raise RetryRequested(max_retries=config.transient_retries, seconds_to_wait=wait) from exc
        raise
    outcomes = [
        schema_as_declared(the_lake, portal.id, run.harvest_id),
        unique_keys(the_lake, portal.id, run.harvest_id),
        count_reconciled(asdict(run)),
        deletions_plausible(asdict(run)),
    ]
    return MaterializeResult(
        check_results=[check_result(outcome) for outcome in outcomes],
        metadata=run_metadata(run)
        | {
            "portal_url": MetadataValue.url(portal.url),
            "path": MetadataValue.path(the_lake.harvest_file(portal.id, run.harvest_id, "datasets")),
            "top_publishers": MetadataValue.md(top_publishers(context, the_lake, portal.id)),
        },
    )


def top_publishers(context: AssetExecutionContext, lake: Lake, portal_id: str) -> str:
    """The portal's largest publishers as a markdown table, read through the views. The harvest is published
    by then: a view that cannot be read (a broken sql/ file, another portal's damaged file) costs this
    table, with a warning, not the materialisation."""
    try:
        columns, rows = query(lake, TOP_PUBLISHERS_SQL, [portal_id])
    except (LakeError, duckdb.Error) as exc:
        context.log.warning("%s: top publishers not read: %s", portal_id, str(exc).splitlines()[0])
        return f"not read: {str(exc).splitlines()[0]}"
    return markdown_table(columns, rows)


def suspicious_result(runs: list[dict], reason: str) -> MaterializeResult:
    """A run that published nothing: the deletions check fails, the others had nothing to look at."""
    run = HarvestRun(**max(runs, key=lambda row: row["harvest_id"]))
    skipped = "nothing was published, so there was nothing to check"
    outcomes = [CheckOutcome(name, True, skipped) for name in ("schema_as_declared", "unique_keys", "count_reconciled")]
    outcomes.append(deletions_plausible(asdict(run)))
    return MaterializeResult(
        check_results=[check_result(outcome) for outcome in outcomes],
        metadata=run_metadata(run) | {"status": run.status, "reason": reason},
    )


def check_result(outcome: CheckOutcome) -> AssetCheckResult:
    severity = AssetCheckSeverity.WARN if outcome.warn_only else AssetCheckSeverity.ERROR
    metadata = {"description": outcome.description} | {
        key: MetadataValue.json(value) if isinstance(value, dict) else value for key, value in outcome.metadata.items()
    }
    return AssetCheckResult(
        check_name=outcome.name, asset_key="catalog_tables", passed=outcome.passed, severity=severity, metadata=metadata
    )


@asset_check(
    asset=catalog_tables,
    name="harvest_fresh",
    description="Every selected portal was harvested completely within its cadence.",
)
def harvest_fresh_check(
    context: AssetCheckExecutionContext, lake: LakeResource, portals: PortalsResource
) -> AssetCheckResult:
    """Runs with the daily liveness check, across portals: those whose harvests keep failing show up here."""
    outcome = harvest_fresh(lake.lake(), portals.scheduled())
    return check_result(outcome)
