"""Portal liveness: every scheduled portal probed, a row each in the lake's `portal_checks`."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from catalog.liveness import check_portals
from pipelines.metadata import markdown_table
from pipelines.resources import LakeResource, PortalsResource

SHOWN_UNREACHABLE = 20


@asset(group_name="registry", kinds={"parquet"})
def portal_checks(context: AssetExecutionContext, lake: LakeResource, portals: PortalsResource) -> MaterializeResult:
    """Is each selected portal up, and which software does it answer as? (`catalog check`)."""
    rows = check_portals(portals.scheduled(), lake.lake())
    down = [row for row in rows if not row["reachable"]]
    changed = [row for row in rows if row["matches_registry"] is False]
    context.log.info("%d portals checked: %d unreachable", len(rows), len(down))
    return MaterializeResult(
        metadata={
            "portals": len(rows),
            "reachable": len(rows) - len(down),
            "unreachable": len(down),
            "software_differs_from_registry": len(changed),
            "unreachable_portals": MetadataValue.md(
                markdown_table(
                    ["portal", "detail"], [[row["portal_id"], row["detail"]] for row in down[:SHOWN_UNREACHABLE]]
                )
            ),
        }
    )
