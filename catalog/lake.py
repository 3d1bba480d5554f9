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
import hashlib
import io
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Mapping
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
S3_SCHEME = "s3://"
WORK_DIR_ENV = "CATALOG_WORK_DIR"


def use_compact_memory_pool() -> None:
    """Arrow on jemalloc, which hands freed memory back; the default (mimalloc) keeps it, and a harvest's
    peak RSS grows by about a third. Called by the entry points (CLI, Dagster), not on import."""
    with contextlib.suppress(NotImplementedError):  # a pyarrow build without jemalloc keeps its default
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def resolve_lake(option: str | os.PathLike[str] | None) -> str:
    """The lake root: the option given, else $CATALOG_LAKE, else ./lake; an absolute path or an s3:// URI."""
    chosen = os.fspath(option or os.environ.get(LAKE_ENV) or DEFAULT_LAKE)
    return chosen if chosen.startswith(S3_SCHEME) else str(Path(chosen).expanduser().resolve())


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


def _table_pattern(table: str) -> str:
    """Where a table's files are, relative to the lake root."""
    if table == "harvest_runs":
        return f"{HARVEST_RUNS_DIR}/portal_id=*/*.parquet"
    if table == "portal_checks":
        return f"{PORTAL_CHECKS_DIR}/*.parquet"
    return f"{HARVESTS}/portal_id=*/harvest_id=*/{table}.parquet"


class Lake:
    """A lake root: a local folder, or an `s3://bucket/prefix` URI on any S3-compatible store.

    On object storage there is no rename, so a harvest is staged in a local working folder (`root`),
    uploaded when complete, and becomes visible when its run record says `complete` (views read only
    complete harvests). The endpoint and credentials come from the usual AWS variables
    (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...).
    """

    def __init__(self, root: str | os.PathLike[str], *, work_dir: str | os.PathLike[str] | None = None) -> None:
        location = os.fspath(root)
        self.filesystem: Any = None
        if location.startswith(S3_SCHEME):
            import s3fs  # noqa: PLC0415 - only object-storage lakes need it (and its slow botocore import)

            self.uri = location.rstrip("/")
            self.filesystem = s3fs.S3FileSystem(use_listings_cache=False)  # other writers change the listing
            self._base = self.uri.removeprefix(S3_SCHEME)
            digest = hashlib.blake2b(self.uri.encode(), digest_size=6).hexdigest()
            default = Path(os.environ.get(WORK_DIR_ENV) or tempfile.gettempdir()) / "catalog-lake" / digest
            self.root = Path(work_dir) if work_dir else default
        else:
            self.root = Path(location)
            self.uri = str(self.root)

    @property
    def remote(self) -> bool:
        return self.filesystem is not None

    def location(self, relative: str) -> str:
        """Where a file of the lake is: a local path, or the object's key on the store."""
        return f"{self._base}/{relative}" if self.remote else str(self.root / relative)

    def harvest_path(self, portal_id: str, harvest_id: str) -> Path:
        validate_portal_id(portal_id)
        validate_harvest_id(harvest_id)
        return self.root / HARVESTS / f"portal_id={portal_id}" / f"harvest_id={harvest_id}"

    def harvest_file(self, portal_id: str, harvest_id: str, table: str) -> str:
        """A published table of one harvest, for `pyarrow.parquet` with `filesystem=self.filesystem`."""
        validate_portal_id(portal_id)
        validate_harvest_id(harvest_id)
        return self.location(f"{HARVESTS}/portal_id={portal_id}/harvest_id={harvest_id}/{table}.parquet")

    def stage(self, portal_id: str, harvest_id: str) -> StagedHarvest:
        """A fresh staging folder for a new harvest."""
        path = self.root / STAGING / validate_portal_id(portal_id) / validate_harvest_id(harvest_id)
        path.mkdir(parents=True, exist_ok=False)
        return StagedHarvest(portal_id, harvest_id, path)

    def publish(self, staged: StagedHarvest) -> str:
        """Put a complete harvest in place: one rename on a filesystem, an upload per file on a store."""
        if self.remote:
            folder = f"{HARVESTS}/portal_id={staged.portal_id}/harvest_id={staged.harvest_id}"
            for path in sorted(staged.path.iterdir()):
                self.filesystem.put_file(str(path), self.location(f"{folder}/{path.name}"))
            self.discard(staged)
            return self.location(folder)
        target = self.harvest_path(staged.portal_id, staged.harvest_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.path.rename(target)
        self._remove_if_empty(staged.path.parent)
        return str(target)

    def discard(self, staged: StagedHarvest) -> None:
        shutil.rmtree(staged.path, ignore_errors=True)
        self._remove_if_empty(staged.path.parent)

    @staticmethod
    def _remove_if_empty(folder: Path) -> None:
        with contextlib.suppress(OSError):  # not empty: another harvest of the portal is being staged
            folder.rmdir()

    def _write_atomically(self, table: pa.Table, relative: str) -> str:
        """Readers see the old file or the new one: a rename locally, one PUT on a store."""
        if self.remote:
            buffer = io.BytesIO()
            pq.write_table(table, buffer, **PARQUET_OPTIONS)
            self.filesystem.pipe_file(self.location(relative), buffer.getvalue())
            return self.location(relative)
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        pq.write_table(table, partial, **PARQUET_OPTIONS)
        partial.replace(target)
        return str(target)

    def write_run(self, run: Mapping[str, Any]) -> str:
        """Write (or replace) a run's record atomically."""
        relative = f"{HARVEST_RUNS_DIR}/portal_id={validate_portal_id(run['portal_id'])}"
        relative += f"/{validate_harvest_id(run['harvest_id'])}.parquet"
        return self._write_atomically(pa.Table.from_pylist([dict(run)], schema=HARVEST_RUNS), relative)

    def write_checks(self, check_id: str, rows: list[Mapping[str, Any]]) -> str:
        """Write one liveness check of many portals, atomically."""
        table = pa.Table.from_pylist([dict(row) for row in rows], schema=PORTAL_CHECKS)
        return self._write_atomically(table, f"{PORTAL_CHECKS_DIR}/{validate_harvest_id(check_id)}.parquet")

    def runs(self, portal_id: str) -> list[dict[str, Any]]:
        """Every run record of one portal."""
        pattern = f"{HARVEST_RUNS_DIR}/portal_id={validate_portal_id(portal_id)}/*.parquet"
        return [
            row
            for location in self._glob(pattern)
            for row in pq.read_table(location, filesystem=self.filesystem).to_pylist()
        ]

    def _glob(self, pattern: str) -> list[str]:
        if self.remote:
            return sorted(self.filesystem.glob(self.location(pattern)))
        return [str(path) for path in sorted(self.root.glob(pattern))]

    def table_files(self, table: str) -> list[str]:
        """Every published file of a table, across portals and harvests."""
        return self._glob(_table_pattern(table))

    def table_glob(self, table: str) -> str:
        """The glob DuckDB reads a table through (absolute, so a database file works from anywhere)."""
        if self.remote:
            return f"{S3_SCHEME}{self.location(_table_pattern(table))}"
        return str(self.root.resolve() / _table_pattern(table))
