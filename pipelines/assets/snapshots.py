"""The current snapshots: the catalogue as it stands, per portal and for all, at stable paths."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from catalog.snapshots import ALL, current_manifests, refresh_snapshots
from pipelines.automation import AFTER_UPSTREAM_UPDATES
from pipelines.metadata import markdown_table
from pipelines.resources import LakeResource

SHOWN_TABLES = ("datasets", "distributions", "publishers")


@asset(
    group_name="analysis",
    kinds={"parquet", "csv"},
    deps=["catalog_tables", "link_checks"],
    automation_condition=AFTER_UPSTREAM_UPDATES,
)
def current_snapshots(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
    """`<lake>/current/all/` and `<lake>/current/portals/<portal>/`: every main table as Parquet and CSV
    with a manifest, rebuilt where a harvest changed them, swapped in whole (catalog/snapshots.py)."""
    the_lake = lake.lake()
    rebuilt = refresh_snapshots(the_lake)
    manifests = current_manifests(the_lake)
    context.log.info("%d snapshots rebuilt of %d", len(rebuilt), len(manifests))
    rows = [
        [manifest["snapshot"], manifest["harvested_at"]]
        + [next(t["rows"] for t in manifest["tables"] if t["table"] == table) for table in SHOWN_TABLES]
        for manifest in manifests
    ]
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(the_lake.current_file(ALL, "")),
            "snapshots": len(manifests),
            "rebuilt": MetadataValue.json([manifest["snapshot"] for manifest in rebuilt]),
            "datasets": rows[0][2] if rows else 0,
            "by_snapshot": MetadataValue.md(markdown_table(["snapshot", "harvested_at", *SHOWN_TABLES], rows)),
        }
    )
