"""The harvest's output: normalised batches classified against the portal's current state, and only
what changed written, as new versions, to the staged `datasets` and `distributions`; then tombstones
and publishers."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.harvest.workers import NormalisedBatch
from catalog.lake import StagedHarvest, TableWriter
from catalog.normalise.rows import HarvestContext
from catalog.normalise.values import loads_lenient
from catalog.runs import HarvestRun
from catalog.schemas import DATASETS, DISTRIBUTIONS, PUBLISHERS
from catalog.sources.base import Normaliser
from catalog.versions import CurrentState

ROWS_PER_GROUP = 5_000
DATASETS_PER_GROUP = 500
"""Dataset rows carry the record's raw JSON: groups as large as the one-process harvest wrote."""


class ChangeWriter:
    """Takes normalised batches in order: counts added and modified datasets on the run, writes their rows
    (unchanged datasets and their distributions are dropped; most never get here, left out where they were
    normalised, `catalog.harvest.workers.changed_rows`), and keeps the publishers records name."""

    def __init__(self, staged: StagedHarvest, run: HarvestRun, current: CurrentState) -> None:
        self.run = run
        self.current = current
        self.datasets = TableWriter(staged.table("datasets"), DATASETS, rows_per_group=DATASETS_PER_GROUP)
        self.distributions = TableWriter(staged.table("distributions"), DISTRIBUTIONS, rows_per_group=ROWS_PER_GROUP)
        self.publishers: dict[str, dict[str, Any]] = {}

    def take(self, batch: NormalisedBatch) -> None:
        self.run.warn(batch.warnings)
        for publisher_id, record in batch.publishers.items():
            self.publishers.setdefault(publisher_id, record)
        changed, distributions = self.current.written(batch.datasets, batch.distributions)
        self.datasets.write_table(changed)
        self.distributions.write_table(distributions)
        counts = {item["values"]: item["counts"] for item in pc.value_counts(changed["change"]).to_pylist()}
        self.run.added += counts.get("added", 0)
        self.run.modified += counts.get("modified", 0)

    def delete(self, tombstones: pa.Table) -> None:
        """A 'deleted' row for each dataset the portal no longer lists (`catalog.versions.tombstones`)."""
        self.datasets.write_table(tombstones)

    def close(self) -> None:
        """Finish both files; if the first fails, the second is abandoned, so its error is the one raised."""
        try:
            self.datasets.close()
        except BaseException:
            self.distributions.abandon()
            raise
        self.distributions.close()

    def __enter__(self) -> ChangeWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        """Leaving on an error abandons the files (the harvest discards them) rather than finishing them;
        either way the run counts the distributions it read."""
        self.run.distributions = self.distributions.rows_taken
        if kind is None:
            self.close()
        else:
            self.datasets.abandon()
            self.distributions.abandon()


def write_publishers(
    staged: StagedHarvest,
    context: HarvestContext,
    normaliser: Normaliser,
    named: dict[str, dict[str, Any]],
    run: HarvestRun,
    *,
    restrict: bool,
) -> int:
    """Publishers the portal lists, plus any a dataset names that the list lacks.

    For a filtered portal (one country of a shared CKAN) only publishers of harvested datasets count.
    """
    rows: dict[str, dict[str, Any]] = {}
    listed = pq.read_table(staged.table("raw_publishers"), columns=["raw"]).column(0).cast(pa.binary())
    for raw in listed.to_pylist():
        row, warnings = normaliser.publisher(loads_lenient(raw)[0], context, raw)
        run.warn(warnings)
        if row["publisher_id"] and (not restrict or row["publisher_id"] in named):
            rows.setdefault(row["publisher_id"], row)
    for publisher_id, record in named.items():
        if publisher_id not in rows:
            row, warnings = normaliser.publisher(record, context, None)
            run.warn(warnings)
            rows[publisher_id] = row
    with TableWriter(staged.table("publishers"), PUBLISHERS, rows_per_group=ROWS_PER_GROUP) as writer:
        writer.write(rows.values())
    return len(rows)
