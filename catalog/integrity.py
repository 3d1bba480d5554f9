"""Checks of a published harvest and of the lake's freshness: what Dagster shows as asset checks.

Each check is a plain function returning a `CheckOutcome`, so the CLI, tests and Dagster share them:
- `schema_as_declared`: every file of the harvest has exactly the schema `catalog/schemas.py` declares;
- `unique_keys`: no dataset twice in a harvest, no distribution position twice, no publisher twice;
- `count_reconciled`: a full harvest found as many datasets as the portal reported, within a tolerance
  (a warning beyond it: portals miscount, but a big gap means datasets were missed);
- `deletions_plausible`: the run did not try to delete implausibly much of the portal (it then published
  nothing: see `catalog.harvest.mass_deletion`);
- `harvest_fresh`: each portal's last complete harvest is recent enough for its cadence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.lake import Lake
from catalog.registry import Portal
from catalog.schemas import HARVEST_TABLES

COUNT_TOLERANCE = 0.01
"""Share of the portal's reported count a full harvest may differ by before it is a warning."""
MAX_AGE = {"daily": timedelta(hours=36), "weekly": timedelta(days=8)}
# The key that must be unique in each published table.
KEYS = {"datasets": ("dataset_id",), "distributions": ("dataset_id", "position"), "publishers": ("publisher_id",)}


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    description: str
    warn_only: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


def schema_as_declared(lake: Lake, portal_id: str, harvest_id: str) -> CheckOutcome:
    wrong = {}
    for table, schema in HARVEST_TABLES.items():
        found = pq.read_schema(lake.harvest_file(portal_id, harvest_id, table), filesystem=lake.filesystem)
        if not found.remove_metadata().equals(schema):
            wrong[table] = sorted(set(found.names) ^ set(schema.names)) or "types or nullability differ"
    description = "every table has its declared schema" if not wrong else f"schema differs: {wrong}"
    return CheckOutcome("schema_as_declared", not wrong, description, metadata={"tables": len(HARVEST_TABLES)})


def unique_keys(lake: Lake, portal_id: str, harvest_id: str) -> CheckOutcome:
    duplicates = {}
    for table, key in KEYS.items():
        where = lake.harvest_file(portal_id, harvest_id, table)
        data = pq.read_table(where, columns=list(key), filesystem=lake.filesystem)
        if data.num_rows == 0:
            continue
        joined = pc.binary_join_element_wise(*[pc.cast(data[column], "string") for column in key], "\x1f")
        repeated = data.num_rows - len(pc.unique(joined))
        if repeated:
            duplicates[table] = repeated
    description = "no key appears twice" if not duplicates else f"repeated keys: {duplicates}"
    return CheckOutcome("unique_keys", not duplicates, description, metadata={"repeated": sum(duplicates.values())})


def count_reconciled(run: dict[str, Any], tolerance: float = COUNT_TOLERANCE) -> CheckOutcome:
    """A full harvest's dataset count against the portal's own; incremental runs fetch only changes."""
    reported, harvested = run.get("source_count"), run.get("datasets")
    if run.get("mode") != "full" or reported is None:
        return CheckOutcome("count_reconciled", True, "nothing to reconcile (incremental, or no count reported)")
    gap = abs(harvested - reported) / max(reported, 1)
    description = f"harvested {harvested} of {reported} reported ({gap:.1%} apart; tolerance {tolerance:.0%})"
    metadata = {"harvested": harvested, "reported": reported, "gap": round(gap, 4)}
    return CheckOutcome("count_reconciled", gap <= tolerance, description, warn_only=True, metadata=metadata)


def deletions_plausible(run: dict[str, Any]) -> CheckOutcome:
    """Fails for a run held back as suspicious: it would have deleted more of the portal than plausible."""
    if run.get("status") == "suspicious":
        metadata = {"would_delete": run.get("deleted"), "harvest_id": run.get("harvest_id")}
        return CheckOutcome("deletions_plausible", False, run.get("error") or "suspicious", metadata=metadata)
    description = f"{run.get('deleted') or 0} datasets deleted"
    return CheckOutcome("deletions_plausible", True, description, metadata={"deleted": run.get("deleted") or 0})


def harvest_fresh(lake: Lake, portals: Iterable[Portal], now: datetime | None = None) -> CheckOutcome:
    """Portals whose last complete harvest is older than their cadence allows (manual ones are exempt)."""
    now = now or datetime.now(UTC)
    stale = {}
    for portal in portals:
        limit = MAX_AGE.get(portal.cadence)
        if limit is None:
            continue
        finished = [run["finished_at"] for run in lake.runs(portal.id) if run["status"] == "complete"]
        last = max(finished, default=None)
        if last is None or now - last > limit:
            stale[portal.id] = last.isoformat() if last else "never"
    description = (
        "every scheduled portal was harvested within its cadence"
        if not stale
        else (f"{len(stale)} portals overdue for a harvest")
    )
    return CheckOutcome("harvest_fresh", not stale, description, warn_only=True, metadata={"stale": stale})
