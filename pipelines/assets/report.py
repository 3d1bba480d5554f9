"""The static HTML coverage report and downloads page, for people who would rather look than query."""

import contextlib

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from catalog.report import write_report
from catalog.views import connect, named_query
from pipelines.automation import AFTER_UPSTREAM_UPDATES
from pipelines.resources import LakeResource


@asset(
    group_name="analysis",
    kinds={"html"},
    deps=["catalog_views", "current_snapshots"],
    automation_condition=AFTER_UPSTREAM_UPDATES,
)
def coverage_report(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
    """`<lake>/report/`: an overview, a page per portal, and a downloads page offering the current
    snapshots first, then every harvest's files. The totals recorded come from the report's own connection."""
    the_lake = lake.lake()
    with contextlib.closing(connect(the_lake)) as connection:
        report = write_report(the_lake, connection=connection)
        datasets, share_open, avg_points, overdue = connection.execute(named_query("dagster/report_totals")).fetchone()
    context.log.info("report written to %s", report.out)
    return MaterializeResult(
        metadata={
            "index": MetadataValue.path(str(report.out / "index.html")),
            "downloads": MetadataValue.path(str(report.out / "downloads.html")),
            "pages": len(report.pages),
            "portals": report.portals,
            "datasets": datasets,
            "share_open_licensed": share_open,
            "avg_quality_points": avg_points,
            "overdue_datasets": overdue,
        }
    )
