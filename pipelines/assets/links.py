"""Link checking, one partition per portal: after each harvest, the portal's due links are checked.

Runs follow the harvests on their own (a sensor of their own, `pipelines.automation`), one at a time:
many portals link to the same hosts, and the limits per host hold within one run.
"""

import contextlib

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from catalog.links.run import check_links
from catalog.views import connect, named_query
from pipelines.automation import AFTER_UPSTREAM_UPDATES
from pipelines.metadata import markdown_table
from pipelines.partitions import portal_partitions
from pipelines.resources import LakeResource, LinkCheckResource


@asset(
    partitions_def=portal_partitions,
    group_name="links",
    kinds={"python", "parquet"},
    deps=["catalog_tables"],
    automation_condition=AFTER_UPSTREAM_UPDATES,
)
def link_checks(context: AssetExecutionContext, lake: LakeResource, links: LinkCheckResource) -> MaterializeResult:
    """Do the portal's download links answer? Its due links (never checked first, then the longest
    unchecked), up to the budget, checked politely per host into `link_checks` (`catalog links`)."""
    the_lake = lake.lake()
    run = check_links(
        the_lake, portals=[context.partition_key], budget=links.budget, minutes=links.minutes, settings=links.settings()
    )
    context.log.info("%d links checked, %d deferred: %s", run.checked, run.deferred, dict(run.outcomes))
    with contextlib.closing(connect(the_lake)) as connection:
        found = connection.execute(named_query("dagster/broken_links"), [context.partition_key]).fetchall()
        [(total, checked, broken, share, datasets)] = found or [(0, 0, 0, None, 0)]
        cursor = connection.execute(named_query("dagster/broken_links_by_publisher"), [context.partition_key])
        columns, publishers = [column[0] for column in cursor.description], cursor.fetchall()
    return MaterializeResult(
        metadata={
            "checked_now": run.checked,
            "deferred": run.deferred,
            "outcomes": MetadataValue.json(dict(run.outcomes)),
            "hosts_left_alone": MetadataValue.json(run.hosts_left_alone),
            "links": total,
            "links_checked": checked,
            "broken": broken,
            "share_broken": share,
            "datasets_with_broken_links": datasets,
            "broken_by_publisher": MetadataValue.md(markdown_table(columns, publishers)),
        }
    )
