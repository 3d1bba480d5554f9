"""The static HTML coverage report and downloads page, for people who would rather look than query."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from catalog.report import write_report
from catalog.views import query
from pipelines.automation import AFTER_UPSTREAM_UPDATES
from pipelines.resources import LakeResource

TOTALS_SQL = """
SELECT count(*) AS datasets,
       round(avg(CASE WHEN license_open THEN 1 ELSE 0 END), 3) AS share_open_licensed,
       (SELECT round(avg(points), 1) FROM dataset_quality) AS avg_quality_points,
       (SELECT count(*) FILTER (WHERE overdue) FROM freshness) AS overdue
FROM datasets
"""


@asset(
    group_name="analysis",
    kinds={"html"},
    deps=["catalog_views", "current_snapshots"],
    automation_condition=AFTER_UPSTREAM_UPDATES,
)
def coverage_report(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
    """`<lake>/report/`: an overview, a page per portal, and a downloads page offering the current
    snapshots first, then every harvest's files."""
    the_lake = lake.lake()
    report = write_report(the_lake)
    _, rows = query(the_lake, TOTALS_SQL)
    datasets, share_open, avg_points, overdue = rows[0]
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
