"""The harvest, as two partitioned assets: raw records fetched, then normalised tables published."""

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from catalog.harvest import Progress, RawHarvest, fetch_raw, normalise_and_publish, watermark
from catalog.portals import client_for
from catalog.views import query
from pipelines.metadata import markdown_table, run_metadata
from pipelines.partitions import portal_partitions
from pipelines.resources import HttpResource, LakeResource, PortalsResource

TOP_PUBLISHERS_SQL = """
SELECT publisher_name AS publisher, datasets, distributions, array_to_string(formats, ', ') AS formats
FROM coverage_by_publisher WHERE portal_id = ? ORDER BY datasets DESC LIMIT 10
"""


class HarvestConfig(Config):
    """Incremental from the watermark unless `full` (the weekly schedule sets it)."""

    full: bool = False


@asset(partitions_def=portal_partitions, group_name="harvest", kinds={"python", "parquet"})
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
    finally:
        client.close()
    context.add_output_metadata(run_metadata(raw.run) | {"portal_url": MetadataValue.url(portal.url)})
    return raw


@asset(partitions_def=portal_partitions, group_name="harvest", kinds={"python", "parquet"})
def catalog_tables(
    context: AssetExecutionContext, raw_catalog: RawHarvest, lake: LakeResource, portals: PortalsResource
) -> MaterializeResult:
    """The portal's datasets, distributions and publishers, normalised and published atomically."""
    portal = portals.portal(context.partition_key)
    the_lake = lake.lake()
    run = normalise_and_publish(raw_catalog, the_lake, portal)
    columns, rows = query(the_lake, TOP_PUBLISHERS_SQL, [portal.id])
    return MaterializeResult(
        metadata=run_metadata(run)
        | {
            "path": MetadataValue.path(str(the_lake.harvest_path(portal.id, run.harvest_id))),
            "top_publishers": MetadataValue.md(markdown_table(columns, rows)),
        }
    )
