"""The harvest, as two partitioned assets: raw records fetched, then normalised tables published.

`catalog_tables` carries asset checks computed on the harvest it just published; `harvest_fresh_check`
looks across every portal. `raw_catalog` claims a slot of the `portal_fetch` pool (dagster.yaml), and
transient portal failures are retried by Dagster on top of the HTTP layer's own retries.
"""

from dataclasses import asdict

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    RetryRequested,
    asset,
    asset_check,
)

from catalog.errors import HarvestError
from catalog.harvest import Progress, RawHarvest, fetch_raw, normalise_and_publish, watermark
from catalog.integrity import CheckOutcome, count_reconciled, harvest_fresh, schema_as_declared, unique_keys
from catalog.portals import client_for
from catalog.registry import load_registry
from catalog.views import query
from pipelines.metadata import markdown_table, run_metadata
from pipelines.partitions import portal_partitions
from pipelines.resources import HttpResource, LakeResource, PortalsResource

TOP_PUBLISHERS_SQL = """
SELECT publisher_name AS publisher, datasets, distributions, array_to_string(formats, ', ') AS formats
FROM coverage_by_publisher WHERE portal_id = ? ORDER BY datasets DESC LIMIT 10
"""


TRANSIENT_RETRIES = 3
TRANSIENT_WAIT_S = 60
"""A portal that failed transiently (5xx, timeouts, HTML instead of JSON) after the HTTP layer's own
retries is tried again by Dagster after 1, 2, then 4 minutes; a permanent failure (404, an answer
that is not the API) fails at once."""
CHECKS = [
    AssetCheckSpec("schema_as_declared", asset="catalog_tables", description="Each table has its declared schema."),
    AssetCheckSpec("unique_keys", asset="catalog_tables", description="No dataset, distribution or publisher twice."),
    AssetCheckSpec(
        "count_reconciled", asset="catalog_tables", description="A full harvest matches the portal's count."
    ),
]


class HarvestConfig(Config):
    """Incremental from the watermark unless `full` (the weekly schedule sets it); how often and how
    patiently a transiently failing portal is tried again."""

    full: bool = False
    transient_retries: int = TRANSIENT_RETRIES
    retry_wait_s: float = TRANSIENT_WAIT_S


@asset(partitions_def=portal_partitions, group_name="harvest", kinds={"python", "parquet"}, pool="portal_fetch")
def raw_catalog(
    context: AssetExecutionContext,
    config: HarvestConfig,
    lake: LakeResource,
    http: HttpResource,
    portals: PortalsResource,
) -> RawHarvest:
    """The portal's dataset and publisher records, exactly as its API returned them (staged): all of them
    on a full harvest, those changed since the watermark plus every id on an incremental one."""
    portal = portals.portal(context.partition_key)
    the_lake = lake.lake()
    since = None if config.full else watermark(the_lake, portal.id)
    client = client_for(portal, http.settings(portal))
    try:
        raw = fetch_raw(portal, the_lake, client, since=since, progress=Progress(portal.id, enabled=False))
    except HarvestError as exc:
        if exc.transient or exc.overloaded:
            wait = config.retry_wait_s * 2**context.retry_number
            raise RetryRequested(max_retries=config.transient_retries, seconds_to_wait=wait) from exc
        raise
    finally:
        client.close()
    context.add_output_metadata(run_metadata(raw.run) | {"portal_url": MetadataValue.url(portal.url)})
    return raw


@asset(partitions_def=portal_partitions, group_name="harvest", kinds={"python", "parquet"}, check_specs=CHECKS)
def catalog_tables(
    context: AssetExecutionContext, raw_catalog: RawHarvest, lake: LakeResource, portals: PortalsResource
) -> MaterializeResult:
    """The portal's datasets, distributions and publishers, normalised and published atomically."""
    portal = portals.portal(context.partition_key)
    the_lake = lake.lake()
    run = normalise_and_publish(raw_catalog, the_lake, portal)
    columns, rows = query(the_lake, TOP_PUBLISHERS_SQL, [portal.id])
    outcomes = [
        schema_as_declared(the_lake, portal.id, run.harvest_id),
        unique_keys(the_lake, portal.id, run.harvest_id),
        count_reconciled(asdict(run)),
    ]
    return MaterializeResult(
        check_results=[check_result(outcome) for outcome in outcomes],
        metadata=run_metadata(run)
        | {
            "path": MetadataValue.path(the_lake.harvest_file(portal.id, run.harvest_id, "datasets")),
            "top_publishers": MetadataValue.md(markdown_table(columns, rows)),
        },
    )


def check_result(outcome: CheckOutcome) -> AssetCheckResult:
    severity = AssetCheckSeverity.WARN if outcome.warn_only else AssetCheckSeverity.ERROR
    metadata = {"description": outcome.description} | {
        key: MetadataValue.json(value) if isinstance(value, dict) else value for key, value in outcome.metadata.items()
    }
    return AssetCheckResult(
        check_name=outcome.name, asset_key="catalog_tables", passed=outcome.passed, severity=severity, metadata=metadata
    )


@asset_check(asset=catalog_tables, description="Every scheduled portal was harvested completely within its cadence.")
def harvest_fresh_check(context: AssetCheckExecutionContext, lake: LakeResource) -> AssetCheckResult:
    """Runs with the daily liveness check: portals whose harvests keep failing show up here."""
    outcome = harvest_fresh(lake.lake(), load_registry().values())
    return check_result(outcome)
