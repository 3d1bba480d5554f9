"""The DuckDB database file holding the views over the lake, for the duckdb CLI, notebooks and BI tools."""

import duckdb
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from catalog.views import DATABASE_FILE, named_query, write_database
from pipelines.automation import AFTER_UPSTREAM_UPDATES
from pipelines.metadata import markdown_table
from pipelines.resources import LakeResource


@asset(
    group_name="analysis",
    kinds={"duckdb"},
    deps=["catalog_tables", "portal_checks", "link_checks"],
    automation_condition=AFTER_UPSTREAM_UPDATES,
)
def catalog_views(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
    """`<lake>/catalog.duckdb`: every view in sql/ over every harvest and check, for use on this machine
    (its views name the lake's files by absolute path; `current/all/catalog.duckdb` is the portable one).
    Its summary is read back from the file just written, whose views need not be built again."""
    the_lake = lake.lake()
    path = the_lake.root / DATABASE_FILE
    views = write_database(the_lake, path)
    with duckdb.connect(str(path), read_only=True) as database:
        cursor = database.execute(named_query("dagster/datasets_by_portal"))
        columns, rows = [column[0] for column in cursor.description], cursor.fetchall()
        publishing, units = database.execute(named_query("dagster/provinces_publishing")).fetchone()
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
