"""Change detection: which fetched datasets are new, changed or gone, against the lake's current state.

The previous state is only ids and content hashes (about 70 bytes a dataset), read once through
DuckDB from the portal's own published files, never through the analytics views: another portal's
files, damaged or not, cannot disturb a harvest. Each normalised batch is classified against it with
Arrow compute, so the raw records pass through memory once, a batch at a time, and only changed ones
are written. A harvest's `datasets`
file thus holds one row per added or modified dataset (the new version) and one tombstone per
deleted dataset (`change = 'deleted'`).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from catalog.lake import Lake
from catalog.schemas import DATASETS
from catalog.views import parquet_files_sql

PREVIOUS_STATE = """
SELECT dataset_id, content_hash FROM (
    SELECT dataset_id, arg_max(content_hash, harvest_id) AS content_hash, arg_max(change, harvest_id) AS change
    FROM read_parquet({files})
    GROUP BY dataset_id
)
WHERE change <> 'deleted'
"""
EMPTY_STATE = pa.table({"dataset_id": pa.array([], pa.string()), "content_hash": pa.array([], pa.string())})


def previous_state(lake: Lake, portal_id: str) -> pa.Table:
    """The portal's current datasets: the latest version of each in its complete harvests, tombstones
    left out (as the `datasets` view has them); ids and content hashes."""
    complete = {run["harvest_id"] for run in lake.runs(portal_id) if run["status"] == "complete"}
    files = [
        location
        for location in lake.inventory(portal_id).files.get("datasets", [])
        if location.rsplit("harvest_id=", 1)[1].split("/", 1)[0] in complete
    ]
    if not files:
        return EMPTY_STATE
    connection = duckdb.connect()
    try:
        if lake.remote:
            connection.register_filesystem(lake.filesystem)
            files = [f"s3://{location}" for location in files]
        return connection.sql(PREVIOUS_STATE.format(files=parquet_files_sql(files))).to_arrow_table()
    finally:
        connection.close()


def changed_datasets(batch: pa.Table, previous: pa.Table) -> pa.Table:
    """The batch's datasets that are new ('added') or changed ('modified'); unchanged ones are dropped."""
    position = pc.index_in(batch["dataset_id"], value_set=previous["dataset_id"])
    known = pc.is_valid(position)
    old_hash = pc.take(previous["content_hash"], position)
    changed = pc.or_kleene(pc.invert(known), pc.not_equal(old_hash, batch["content_hash"]))
    change = pc.if_else(known, "modified", "added")
    batch = batch.set_column(batch.schema.get_field_index("change"), DATASETS.field("change"), change)
    return batch.filter(changed)


def tombstones(
    previous: pa.Table, listed: pa.Array, *, portal_id: str, harvest_id: str, harvested_at: datetime
) -> pa.Table:
    """A 'deleted' row for every previously current dataset the portal no longer lists."""
    gone = previous["dataset_id"].filter(pc.invert(pc.is_in(previous["dataset_id"], value_set=listed)))
    rows = len(gone)
    columns = {
        "portal_id": pa.array([portal_id] * rows, pa.string()),
        "harvest_id": pa.array([harvest_id] * rows, pa.string()),
        "dataset_id": gone.combine_chunks() if isinstance(gone, pa.ChunkedArray) else gone,
        "change": pa.array(["deleted"] * rows, pa.string()),
        "harvested_at": pa.array([harvested_at] * rows, DATASETS.field("harvested_at").type),
    }
    return pa.table({field.name: columns.get(field.name, pa.nulls(rows, field.type)) for field in DATASETS}, DATASETS)
