"""The Parquet lake: where harvests are written aside, published atomically, and found again.

Layout under the lake root:

    harvests/portal_id=<portal>/harvest_id=<harvest>/<table>.parquet   one immutable folder per harvest
    harvest_runs/portal_id=<portal>/<harvest>.parquet                  one single-row file per run
    portal_checks/<check>.parquet                                       one file per liveness check
    _staging/<portal>/<harvest>/                                       harvests being written

A harvest is written in `_staging` and moved into `harvests/` with one rename when complete; the
views only ever read harvests whose run record says `complete`. So a crash, kill or error half-way
leaves the previous snapshot as the one users see. This module knows tables and files, not portals.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from catalog.errors import LakeError
from catalog.registry import validate_portal_id
from catalog.schemas import HARVEST_RUNS, PORTAL_CHECKS

PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 3}
HARVESTS = "harvests"
HARVEST_RUNS_DIR = "harvest_runs"
PORTAL_CHECKS_DIR = "portal_checks"
STAGING = "_staging"
LAKE_ENV = "CATALOG_LAKE"
DEFAULT_LAKE = "lake"


def use_compact_memory_pool() -> None:
    """Arrow on jemalloc, which hands freed memory back; the default (mimalloc) keeps it, and a harvest's
    peak RSS grows by about a third. Called by the entry points (CLI, Dagster), not on import."""
    with contextlib.suppress(NotImplementedError):  # a pyarrow build without jemalloc keeps its default
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def resolve_lake(option: str | os.PathLike[str] | None) -> Path:
    """The lake root: the option given, else $CATALOG_LAKE, else ./lake; always absolute."""
    chosen = option or os.environ.get(LAKE_ENV) or DEFAULT_LAKE
    return Path(chosen).expanduser().resolve()


HARVEST_ID_PATTERN = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{4}")


def validate_harvest_id(harvest_id: str) -> str:
    """Return `harvest_id` if it has the shape `new_harvest_id` makes: it becomes a folder name."""
    if not isinstance(harvest_id, str) or not HARVEST_ID_PATTERN.fullmatch(harvest_id):
        raise LakeError(f"invalid harvest id {harvest_id!r}")
    return harvest_id


def new_harvest_id(now: datetime | None = None) -> str:
    """A harvest id that sorts chronologically: UTC time to the microsecond, plus a random tie-breaker."""
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(2)}"


class TableWriter:
    """Streams rows into one Parquet file, a row group at a time, so memory stays flat."""

    def __init__(self, path: Path, schema: pa.Schema, rows_per_group: int) -> None:
        self.path = path
        self.schema = schema
        self.rows_per_group = rows_per_group
        self.rows_written = 0
        self._buffer: list[Mapping[str, Any]] = []
        # no min/max statistics for raw JSON: useless for pruning, and kept in memory per row group
        statistics = [name for name in schema.names if name != "raw"]
        self._writer = pq.ParquetWriter(path, schema, write_statistics=statistics, **PARQUET_OPTIONS)

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._buffer.extend(rows)
        if len(self._buffer) >= self.rows_per_group:
            self._flush()

    def write_table(self, table: pa.Table) -> None:
        """Write an Arrow table of this file's schema as it is (after anything buffered)."""
        self._flush()
        if table.num_rows:
            self._writer.write_table(table.cast(self.schema))
            self.rows_written += table.num_rows

    def _flush(self) -> None:
        if self._buffer:
            self._writer.write_table(pa.Table.from_pylist(self._buffer, schema=self.schema))
            self.rows_written += len(self._buffer)
            self._buffer = []

    def close(self) -> None:
        """Write what is buffered and the footer; an empty table still gets a file with its schema."""
        self._flush()
        self._writer.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class StagedHarvest:
    """A harvest being written aside, invisible to readers until published."""

    portal_id: str
    harvest_id: str
    path: Path

    def table(self, name: str) -> Path:
        return self.path / f"{name}.parquet"


class Lake:
    """A lake root on the local filesystem."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def harvest_path(self, portal_id: str, harvest_id: str) -> Path:
        validate_portal_id(portal_id)
        validate_harvest_id(harvest_id)
        return self.root / HARVESTS / f"portal_id={portal_id}" / f"harvest_id={harvest_id}"

    def stage(self, portal_id: str, harvest_id: str) -> StagedHarvest:
        """A fresh staging folder for a new harvest."""
        path = self.root / STAGING / validate_portal_id(portal_id) / validate_harvest_id(harvest_id)
        path.mkdir(parents=True, exist_ok=False)
        return StagedHarvest(portal_id, harvest_id, path)

    def publish(self, staged: StagedHarvest) -> Path:
        """Move a complete harvest into place with one rename (atomic on one filesystem)."""
        target = self.harvest_path(staged.portal_id, staged.harvest_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.path.rename(target)
        self._remove_if_empty(staged.path.parent)
        return target

    def discard(self, staged: StagedHarvest) -> None:
        shutil.rmtree(staged.path, ignore_errors=True)
        self._remove_if_empty(staged.path.parent)

    @staticmethod
    def _remove_if_empty(folder: Path) -> None:
        with contextlib.suppress(OSError):  # not empty: another harvest of the portal is being staged
            folder.rmdir()

    def write_run(self, run: Mapping[str, Any]) -> Path:
        """Write (or replace) a run's record atomically: readers see the old record or the new one."""
        folder = self.root / HARVEST_RUNS_DIR / f"portal_id={validate_portal_id(run['portal_id'])}"
        folder.mkdir(parents=True, exist_ok=True)
        harvest_id = validate_harvest_id(run["harvest_id"])
        target = folder / f"{harvest_id}.parquet"
        partial = folder / f".{harvest_id}.parquet.partial"
        pq.write_table(pa.Table.from_pylist([dict(run)], schema=HARVEST_RUNS), partial, **PARQUET_OPTIONS)
        partial.replace(target)
        return target

    def write_checks(self, check_id: str, rows: list[Mapping[str, Any]]) -> Path:
        """Write one liveness check of many portals, atomically."""
        folder = self.root / PORTAL_CHECKS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{validate_harvest_id(check_id)}.parquet"
        partial = folder / f".{check_id}.parquet.partial"
        pq.write_table(
            pa.Table.from_pylist([dict(row) for row in rows], schema=PORTAL_CHECKS), partial, **PARQUET_OPTIONS
        )
        partial.replace(target)
        return target

    def runs(self, portal_id: str) -> list[dict[str, Any]]:
        """Every run record of one portal."""
        folder = self.root / HARVEST_RUNS_DIR / f"portal_id={validate_portal_id(portal_id)}"
        return [row for path in sorted(folder.glob("*.parquet")) for row in pq.read_table(path).to_pylist()]

    def table_files(self, table: str) -> Iterator[Path]:
        """Every published file of a table, across portals and harvests."""
        if table == "harvest_runs":
            yield from sorted((self.root / HARVEST_RUNS_DIR).glob("portal_id=*/*.parquet"))
        elif table == "portal_checks":
            yield from sorted((self.root / PORTAL_CHECKS_DIR).glob("*.parquet"))
        else:
            yield from sorted((self.root / HARVESTS).glob(f"portal_id=*/harvest_id=*/{table}.parquet"))

    def table_glob(self, table: str) -> str:
        """The glob DuckDB reads a table through (absolute, so a database file works from anywhere)."""
        root = self.root.resolve()
        if table == "harvest_runs":
            return str(root / HARVEST_RUNS_DIR / "portal_id=*" / "*.parquet")
        if table == "portal_checks":
            return str(root / PORTAL_CHECKS_DIR / "*.parquet")
        return str(root / HARVESTS / "portal_id=*" / "harvest_id=*" / f"{table}.parquet")
