"""Change detection: which fetched datasets are new, changed or gone, against the lake's current state.

Done in DuckDB, streaming, so a 300,000-dataset portal never has to fit in Python memory. The result
is the harvest's `datasets` file: one row per added or modified dataset (the new version) and one
tombstone per deleted dataset; `distributions` keeps only those of the new versions.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.lake import PARQUET_OPTIONS, Lake
from catalog.schemas import DATASETS, DISTRIBUTIONS
from catalog.views import connect

BATCH_ROWS = 10_000

CHANGED = """
WITH previous AS (SELECT dataset_id, content_hash FROM datasets WHERE portal_id = $portal),
fetched AS (SELECT * FROM read_parquet($fetched))
SELECT f.* REPLACE (CASE WHEN p.dataset_id IS NULL THEN 'added' ELSE 'modified' END AS change)
FROM fetched AS f LEFT JOIN previous AS p USING (dataset_id)
WHERE p.dataset_id IS NULL OR p.content_hash IS DISTINCT FROM f.content_hash
"""
DELETED = """
UNION ALL BY NAME
SELECT $portal AS portal_id, $harvest AS harvest_id, p.dataset_id, 'deleted' AS change, $harvested_at AS harvested_at
FROM datasets AS p
WHERE p.portal_id = $portal AND p.dataset_id NOT IN (SELECT dataset_id FROM read_parquet($listing))
"""
DISTRIBUTIONS_OF_CHANGED = """
SELECT x.* FROM read_parquet($fetched) AS x
SEMI JOIN (SELECT dataset_id FROM read_parquet($changed) WHERE change <> 'deleted') USING (dataset_id)
"""


def write_changes(
    lake: Lake,
    *,
    portal_id: str,
    harvest_id: str,
    harvested_at: object,
    fetched_datasets: Path,
    fetched_distributions: Path,
    listing: Path | None,
    datasets_out: Path,
    distributions_out: Path,
) -> tuple[Counter[str], int]:
    """Write the harvest's dataset versions and their distributions; returns counts by change, distributions.

    `listing` holds every dataset id the portal has now. Without one (the listing was incomplete, or
    impossible) nothing is marked deleted: a partial listing must never delete.
    """
    connection = connect(lake)
    try:
        parameters = {"portal": portal_id, "fetched": str(fetched_datasets)}
        sql = CHANGED
        if listing is not None:
            sql += DELETED
            parameters |= {"harvest": harvest_id, "harvested_at": harvested_at, "listing": str(listing)}
        changes = _copy(connection, sql, parameters, DATASETS, datasets_out, count_column="change")
        distributions = _copy(
            connection,
            DISTRIBUTIONS_OF_CHANGED,
            {"fetched": str(fetched_distributions), "changed": str(datasets_out)},
            DISTRIBUTIONS,
            distributions_out,
        )
    finally:
        connection.close()
    return changes, sum(distributions.values())


def _copy(
    connection: duckdb.DuckDBPyConnection,
    sql: str,
    parameters: dict[str, object],
    schema: pa.Schema,
    target: Path,
    *,
    count_column: str | None = None,
) -> Counter[str]:
    """Stream a query's rows into a Parquet file with the table's explicit schema; count rows (by a column)."""
    counts: Counter[str] = Counter()
    reader = connection.sql(sql, params=parameters).to_arrow_reader(BATCH_ROWS)
    with pq.ParquetWriter(target, schema, **PARQUET_OPTIONS) as writer:
        for batch in reader:
            table = pa.Table.from_batches([batch]).select(schema.names).cast(schema)
            writer.write_table(table)
            if count_column:
                counts.update(table.column(count_column).to_pylist())
            else:
                counts["rows"] += table.num_rows
    return counts
