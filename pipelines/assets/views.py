"""The DuckDB database file holding the views over the lake, for the duckdb CLI, notebooks and BI tools."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from catalog.views import DATABASE_FILE, query, write_database
from pipelines.automation import AFTER_UPSTREAM_UPDATES
from pipelines.metadata import markdown_table
from pipelines.resources import LakeResource

SUMMARY_SQL = """
SELECT portal_id, count(*) AS datasets, sum(num_distributions) AS distributions,
       count(DISTINCT publisher_id) AS publishers
FROM datasets GROUP BY portal_id ORDER BY datasets DESC
"""
PROVINCES_SQL = "SELECT count(*) FILTER (WHERE datasets > 0), count(*) FROM vn_province_coverage"


@asset(
    group_name="analysis",
    kinds={"duckdb"},
    deps=["catalog_tables", "portal_checks", "link_checks"],
    automation_condition=AFTER_UPSTREAM_UPDATES,
)
def catalog_views(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
    """`<lake>/catalog.duckdb`: every view in sql/ over every harvest and check, for use on this machine
    (its views name the lake's files by absolute path; `current/all/catalog.duckdb` is the portable one)."""
    the_lake = lake.lake()
    path = the_lake.root / DATABASE_FILE
    views = write_database(the_lake, path)
    columns, rows = query(the_lake, SUMMARY_SQL)
    [(publishing, units)] = query(the_lake, PROVINCES_SQL)[1]
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(path)),
            "views": MetadataValue.json(views),
            "portals": len(rows),
            "datasets": sum(row[1] for row in rows),
            "by_portal": MetadataValue.md(markdown_table(columns, rows)),
            "vietnam_provinces_publishing": MetadataValue.text(f"{publishing} of {units} (vn_province_coverage)"),
        }
    )
