"""The Parquet lake: where harvests are written aside, published atomically, and found again.

Layout under the lake root:

    harvests/portal_id=<portal>/harvest_id=<harvest>/<table>.parquet   one immutable folder per harvest
    harvest_runs/portal_id=<portal>/<harvest>.parquet                  one single-row file per run
    portal_checks/<check>.parquet                                       one file per liveness check
    link_checks/<check>-<part>.parquet                                  link checks, a file per batch
    current/all/, current/portals/<portal>/                            the current snapshots (stable paths)
    current/.builds/...                                                what those paths point to
    _staging/<portal>/<harvest>/                                       harvests being written
    _locks/<portal>.lock, _locks/_current.lock, _locks/_links.lock     held while a portal is harvested,
                                                                       snapshots are rebuilt, links checked
    _quarantine/<when>/...                                             what `catalog doctor --fix` set aside

A harvest is written in `_staging`, its files and folder fsynced, and moved into `harvests/` with one
rename when complete; the views only ever read harvests whose run record says `complete`. So a crash,
kill, power loss or error half-way leaves the previous snapshot as the one users see. A current
snapshot is a folder built aside and put in place by swapping a symbolic link, so its stable path always
names one whole build. A file that is damaged all the same (a disk that lied) is skipped by every
reader, with a warning naming it, and `catalog doctor` lists and quarantines it. This module knows
tables and files, not portals.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from catalog.errors import LakeError
from catalog.ids import validate_portal_id
from catalog.redaction import redact
from catalog.schemas import HARVEST_RUNS, LINK_CHECKS, PORTAL_CHECKS

PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "compression_level": 3}
HARVESTS = "harvests"
HARVEST_RUNS_DIR = "harvest_runs"
PORTAL_CHECKS_DIR = "portal_checks"
LINK_CHECKS_DIR = "link_checks"
STAGING = "_staging"
TABLE_FOLDERS = (HARVESTS, HARVEST_RUNS_DIR, PORTAL_CHECKS_DIR, LINK_CHECKS_DIR)
"""The lake's folders of published tables (readers need nothing else)."""
LOCKS = "_locks"
LOCK_GRACE_S = 1.0
QUARANTINE = "_quarantine"
CURRENT = "current"
BUILDS = ".builds"
KEPT_BUILDS = 2
"""Builds kept per snapshot: the current one, and the one before for readers that opened it just before a swap."""
PARQUET_MAGIC = b"PAR1"
ABANDONED = "abandoned: the process running this harvest ended without finishing it (killed or crashed)"
LAKE_ENV = "CATALOG_LAKE"
DEFAULT_LAKE = "lake"
S3_SCHEME = "s3://"
WORK_DIR_ENV = "CATALOG_WORK_DIR"


log = logging.getLogger(__name__)


class PortalBusyError(LakeError):
    """Another process is harvesting the same portal into the same lake."""


M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's <malloc.h>
MMAP_THRESHOLD_BYTES = 128 * 1024


def use_compact_memory() -> None:
    """Hand freed memory back to the system. Called by the entry points (CLI, Dagster), not on import.

    Arrow goes on jemalloc: its default (mimalloc) keeps what it frees, and a harvest's peak RSS grew by
    about a third. glibc's malloc keeps its threshold for serving a block from its own mapping at 128 KiB:
    by default that threshold rises to the largest block freed, so once the first page body (megabytes)
    is freed every later one is carved from the heap, and a harvest's heap grew 40-60 MB in holes.
    """
    with contextlib.suppress(NotImplementedError):  # a pyarrow build without jemalloc keeps its default
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    with contextlib.suppress(OSError, AttributeError):  # not glibc: its own allocator's behaviour stands
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def resolve_lake(option: str | os.PathLike[str] | None) -> str:
    """The lake root: the option given, else $CATALOG_LAKE, else ./lake; an absolute path or an s3:// URI."""
    chosen = os.fspath(option or os.environ.get(LAKE_ENV) or DEFAULT_LAKE)
    return chosen if chosen.startswith(S3_SCHEME) else str(Path(chosen).expanduser().resolve())


HIVE_KEY = re.compile(r"(portal_id|harvest_id)=([^/]+)")


def location_keys(location: str) -> dict[str, str]:
    """The keys a lake file's path carries: `portal_id` (harvests, run records), `harvest_id` (a harvest's files)."""
    return dict(HIVE_KEY.findall(location))


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


GROUP_BYTES = 8 * 2**20
"""The most a row group holds in memory before it is written (records ten times the usual size), and
the size of its data pages: a column's chunks (one per batch written) fill pages across their
boundaries, so each group's `raw` is compressed as one page, as one chunk was, without first copying
the chunks into one (per 100k datasets, 0.45 s less CPU on the writing thread; files of the same size)."""


class TableWriter:
    """Streams rows into one Parquet file, a row group at a time, so memory stays flat.

    Rows (dicts) and Arrow tables alike wait until `rows_per_group` rows or `group_bytes` of them are
    waiting, then go out as one row group: small groups compress badly (each `raw` group is compressed
    on its own), huge ones hold memory. As a context manager, it finishes the file when the block ends
    normally and abandons it unfinished on an error (files are written in a staging folder, discarded
    then).
    """

    def __init__(self, path: Path, schema: pa.Schema, rows_per_group: int, group_bytes: int = GROUP_BYTES) -> None:
        self.path = path
        self.schema = schema
        self.rows_per_group = rows_per_group
        self.group_bytes = group_bytes
        self.rows_written = 0
        self._rows: list[Mapping[str, Any]] = []
        self._tables: list[pa.Table] = []
        self._waiting_rows = 0
        self._waiting_bytes = 0
        # Raw JSON gets neither min/max statistics (useless for pruning, and kept in memory per row group)
        # nor a dictionary: no two records are alike, so every group's attempt at one was wasted (a fifth
        # of the time spent writing a harvest's datasets, and the file came out larger)
        others = [name for name in schema.names if name != "raw"]
        with self._naming_the_file():
            self._writer = pq.ParquetWriter(
                path,
                schema,
                write_statistics=others,
                use_dictionary=others,
                data_page_size=group_bytes,
                **PARQUET_OPTIONS,
            )

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._rows.extend(rows)
        if len(self._rows) >= self.rows_per_group:
            self._wait(self._rows_table())
            self._flush()

    def write_table(self, table: pa.Table) -> None:
        """Add an Arrow table of this file's schema (after any rows written before it)."""
        if self._rows:
            self._wait(self._rows_table())
        if table.num_rows:  # normalised batches already have the schema: cast only what does not
            self._wait(table if table.schema.equals(self.schema) else table.cast(self.schema))
        if self._waiting_rows >= self.rows_per_group or self._waiting_bytes >= self.group_bytes:
            self._flush()

    def _rows_table(self) -> pa.Table:
        table = pa.Table.from_pylist(self._rows, schema=self.schema)
        self._rows = []
        return table

    def _wait(self, table: pa.Table) -> None:
        self._tables.append(table)
        self._waiting_rows += table.num_rows
        self._waiting_bytes += table.nbytes

    def _flush(self) -> None:
        if self._rows:
            self._wait(self._rows_table())
        if self._tables:
            # with pages of the default 1 MB, each chunk of `raw` closed a page of its own: compressed apart,
            # a harvest of heavy records wrote its raw JSON 1.5 to 2.7 times larger (see GROUP_BYTES)
            group = pa.concat_tables(self._tables)
            with self._naming_the_file():
                self._writer.write_table(group, row_group_size=max(group.num_rows, 1))
            self.rows_written += group.num_rows
            self._tables, self._waiting_rows, self._waiting_bytes = [], 0, 0

    @property
    def rows_taken(self) -> int:
        """Rows given to the writer so far: written, or waiting to be."""
        return self.rows_written + self._waiting_rows + len(self._rows)

    def close(self) -> None:
        """Write what is waiting and the footer; an empty table still gets a file with its schema. A
        failure abandons the file (see `abandon`) before it is raised."""
        try:
            self._flush()
            with self._naming_the_file():
                self._writer.close()
                fsync_path(self.path)
        except BaseException:
            self.abandon()
            raise

    def abandon(self) -> None:
        """Close the file, writing nothing more, whatever state a failed write left the writer in: the
        file is about to be discarded, and an error closing it would hide the one that failed the write."""
        self._rows, self._tables, self._waiting_rows, self._waiting_bytes = [], [], 0, 0
        with contextlib.suppress(Exception):
            self._writer.close()

    @contextlib.contextmanager
    def _naming_the_file(self) -> Iterator[None]:
        """An OS error writing (a full disk, a capped file size) as a lake error naming the file: Arrow's
        own message names neither the file nor the folder."""
        try:
            yield
        except OSError as exc:
            raise LakeError(f"{self.path}: {exc}") from exc

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()


def fsync_path(path: Path) -> None:
    """Force a file's (or a folder's entries') bytes to disk: a rename after it publishes only what is there."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def parquet_problem(path: Path) -> str | None:
    """Why a local file is not a whole Parquet file (empty, truncated, not Parquet), or None if it looks whole.

    Cheap: the magic bytes at both ends and the footer length, which a truncated file gets wrong.
    """
    try:
        size = path.stat().st_size
        if size == 0:
            return "empty file"
        with path.open("rb") as file:
            head = file.read(4)
            if size < 12:
                return f"truncated ({size} bytes)"
            file.seek(-8, os.SEEK_END)
            tail = file.read(8)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if head != PARQUET_MAGIC:
        return "not a Parquet file"
    if tail[4:] != PARQUET_MAGIC or int.from_bytes(tail[:4], "little") > size - 12:
        return "truncated (no Parquet footer)"
    return None


@dataclass(frozen=True)
class Damage:
    """A damaged part of the lake that readers skip: a harvest folder or a run record."""

    path: str
    problem: str


@dataclass
class Inventory:
    """The lake's readable files by table, and what was skipped as damaged."""

    files: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    damaged: list[Damage] = field(default_factory=list)


_warned: set[str] = set()


def warn_damaged(damaged: Iterable[Damage]) -> None:
    """Log each damaged path once per process: readers go on without it."""
    for damage in damaged:
        if damage.path not in _warned:
            _warned.add(damage.path)
            log.warning("skipping %s: %s (see `catalog doctor`)", damage.path, damage.problem)


@dataclass(frozen=True)
class StagedHarvest:
    """A harvest being written aside, invisible to readers until published."""

    portal_id: str
    harvest_id: str
    path: Path

    def table(self, name: str) -> Path:
        return self.path / f"{name}.parquet"


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
        fsync_path(staged.path)
        staged.path.rename(target)
        fsync_path(target.parent)
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
        fsync_path(partial)
        partial.replace(target)
        fsync_path(target.parent)
        return str(target)

    def write_run(self, run: Mapping[str, Any]) -> str:
        """Write (or replace) a run's record atomically, every known secret masked in its text."""
        clean = {key: _redacted(value) for key, value in run.items()}
        relative = _run_record(run["portal_id"], run["harvest_id"])
        return self._write_atomically(pa.Table.from_pylist([clean], schema=HARVEST_RUNS), relative)

    def has_run(self, portal_id: str, harvest_id: str) -> bool:
        """Whether the lake holds a record of this harvest of the portal (one file looked for, none read)."""
        location = self.location(_run_record(portal_id, harvest_id))
        return self.filesystem.exists(location) if self.remote else Path(location).is_file()

    def write_checks(self, check_id: str, rows: list[Mapping[str, Any]]) -> str:
        """Write one liveness check of many portals, atomically."""
        table = pa.Table.from_pylist([dict(row) for row in rows], schema=PORTAL_CHECKS)
        return self._write_atomically(table, f"{PORTAL_CHECKS_DIR}/{validate_harvest_id(check_id)}.parquet")

    def write_link_checks(self, check_id: str, part: int, rows: list[Mapping[str, Any]]) -> str:
        """Write one batch of a link check atomically: a run killed half-way keeps the batches it wrote."""
        table = pa.Table.from_pylist([dict(row) for row in rows], schema=LINK_CHECKS)
        return self._write_atomically(table, f"{LINK_CHECKS_DIR}/{validate_harvest_id(check_id)}-{part:05d}.parquet")

    def runs(self, portal_id: str) -> list[dict[str, Any]]:
        """Every readable run record of one portal (damaged ones are skipped with a warning)."""
        pattern = f"{HARVEST_RUNS_DIR}/portal_id={validate_portal_id(portal_id)}/*.parquet"
        locations, damaged = self._whole(self._glob(pattern))
        warn_damaged(damaged)
        return [
            row for location in locations for row in pq.read_table(location, filesystem=self.filesystem).to_pylist()
        ]

    def _whole(self, locations: list[str]) -> tuple[list[str], list[Damage]]:
        """The files that look whole, and what is wrong with the others (object stores write whole objects:
        their files are not inspected)."""
        if self.remote:
            return locations, []
        problems = {location: problem for location in locations if (problem := parquet_problem(Path(location)))}
        damaged = [Damage(location, problem) for location, problem in problems.items()]
        return [location for location in locations if location not in problems], damaged

    def _glob(self, pattern: str) -> list[str]:
        if self.remote:
            return sorted(self.filesystem.glob(self.location(pattern)))
        return [str(path) for path in sorted(self.root.glob(pattern))]

    def inventory(self, portal_id: str | None = None) -> Inventory:
        """Every readable file of every table (or of one portal's), in one listing.

        A harvest folder with any damaged file is skipped whole, so a reader never sees half a
        harvest; a damaged run record is skipped alone. Object stores write whole objects, so their
        files are not inspected.
        """
        portal = validate_portal_id(portal_id) if portal_id else "*"
        inventory = Inventory()
        folders: dict[str, list[str]] = defaultdict(list)
        for location in self._glob(f"{HARVESTS}/portal_id={portal}/harvest_id=*/*.parquet"):
            folders[location.rsplit("/", 1)[0]].append(location)
        for folder, locations in sorted(folders.items()):
            whole, damaged = self._whole(locations)
            if damaged:
                inventory.damaged.append(Damage(folder, f"{Path(damaged[0].path).name}: {damaged[0].problem}"))
                continue
            for location in whole:
                inventory.files[location.rsplit("/", 1)[1].removesuffix(".parquet")].append(location)
        for table, pattern in (
            ("harvest_runs", f"{HARVEST_RUNS_DIR}/portal_id={portal}/*.parquet"),
            ("portal_checks", f"{PORTAL_CHECKS_DIR}/*.parquet"),
            ("link_checks", f"{LINK_CHECKS_DIR}/*.parquet"),
        ):
            whole, damaged = self._whole(self._glob(pattern))
            inventory.files[table].extend(whole)
            inventory.damaged.extend(damaged)
        warn_damaged(inventory.damaged)
        return inventory

    def table_files(self, table: str) -> list[str]:
        """Every readable published file of a table, across portals and harvests."""
        return self.inventory().files.get(table, [])

    def exists(self) -> bool:
        """Whether the lake root is there at all (a typo in --lake is not an empty lake)."""
        return self.filesystem.exists(self.uri) if self.remote else self.root.is_dir()

    # --- current snapshots: folders at stable paths, replaced whole -------------------------------

    def new_build(self, name: str) -> Path:
        """An empty local folder to build the snapshot `name` (`all`, `portals/<id>`) in, out of readers'
        sight (on a store, in the local working folder)."""
        folder = self.root / CURRENT / BUILDS / name / new_harvest_id()
        folder.mkdir(parents=True)
        return folder

    def publish_build(self, name: str, build: Path, *, last: str) -> str:
        """Make `build` what `current/<name>` shows. Locally a symbolic link is swapped in one rename, so a
        reader sees the old folder or the new one, whole. A store has no links: each file is uploaded in
        one PUT and `last` (the manifest) after the others, so it names files already there."""
        if self.remote:
            files = sorted(build.iterdir(), key=lambda path: path.name == last)
            for path in files:
                self.filesystem.put_file(str(path), self.location(f"{CURRENT}/{name}/{path.name}"))
            shutil.rmtree(build)
            return self.location(f"{CURRENT}/{name}")
        for path in build.iterdir():
            fsync_path(path)
        fsync_path(build)
        link = self.root / CURRENT / name
        link.parent.mkdir(parents=True, exist_ok=True)
        swap = link.with_name(f".{link.name}.{secrets.token_hex(4)}.link")
        swap.symlink_to(os.path.relpath(build, link.parent), target_is_directory=True)
        swap.replace(link)
        fsync_path(link.parent)
        self._prune_builds(build.parent, keep=build)
        return str(link)

    @staticmethod
    def _prune_builds(folder: Path, keep: Path) -> None:
        """Remove all but the newest builds (build names sort by time), never the one just published."""
        builds = sorted(path for path in folder.iterdir() if path.is_dir())
        for old in builds[:-KEPT_BUILDS]:
            if old != keep:
                shutil.rmtree(old, ignore_errors=True)

    def current_file(self, name: str, file: str) -> str:
        """A file of the current snapshot `name`, at its stable path (or object key)."""
        return self.location(f"{CURRENT}/{name}/{file}")

    def read_current(self, name: str, file: str) -> bytes | None:
        """A file of the current snapshot `name`, or None if there is none."""
        location = self.current_file(name, file)
        try:
            if self.remote:
                return self.filesystem.cat_file(location)
            return Path(location).read_bytes()
        except FileNotFoundError:
            return None

    def current_names(self) -> list[str]:
        """The snapshots in place: `all` and `portals/<id>` for each portal that has one."""
        if self.remote:
            found = self.filesystem.glob(self.location(f"{CURRENT}/*/manifest.json"))
            found += self.filesystem.glob(self.location(f"{CURRENT}/portals/*/manifest.json"))
            prefix = self.location(CURRENT) + "/"
            return sorted(location.removeprefix(prefix).rsplit("/", 1)[0] for location in found)
        root = self.root / CURRENT
        found = [*root.glob("*/manifest.json"), *root.glob("portals/*/manifest.json")]
        return sorted(path.parent.relative_to(root).as_posix() for path in found if BUILDS not in path.parts)

    def remove_current(self, name: str) -> None:
        """Take the snapshot `name` down (its portal has no harvest any more)."""
        if self.remote:
            self.filesystem.rm(self.location(f"{CURRENT}/{name}"), recursive=True)
            return
        link = self.root / CURRENT / name
        link.unlink(missing_ok=True)
        shutil.rmtree(self.root / CURRENT / BUILDS / name, ignore_errors=True)

    def snapshot_lock(self) -> contextlib.AbstractContextManager[None]:
        """One rebuild of the snapshots at a time: each builds from what is published once it holds the
        lock, so the last to finish has seen every harvest before it. Waits as long as it takes (a rebuild
        takes seconds)."""
        return self._waiting_lock("_current")

    def link_check_lock(self) -> contextlib.AbstractContextManager[None]:
        """One link check at a time: the limits per host hold within one process, and many portals link
        to the same hosts, so a second check waits for the first rather than doubling each host's load."""
        return self._waiting_lock("_links")

    @contextlib.contextmanager
    def _waiting_lock(self, name: str) -> Iterator[None]:
        """An exclusive lock, waited for; the OS releases it when its process ends, however it ends.
        The leading `_` of `name` keeps it apart from any portal's lock."""
        path = self.root / LOCKS / f"{name}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock_file(path, os.O_RDWR | os.O_CREAT) as descriptor:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield

    # --- one harvest of a portal at a time ---------------------------------------------------------

    def lock_path(self, portal_id: str) -> Path:
        return self.root / LOCKS / f"{validate_portal_id(portal_id)}.lock"

    @contextlib.contextmanager
    def portal_lock(self, portal_id: str, *, holder: Mapping[str, Any], wait: float = 0) -> Iterator[None]:
        """Hold the portal's lock while harvesting it: the OS releases it when this process ends, however
        it ends, so a killed harvest never leaves a portal locked (the processes it forked hold no copy:
        see `_lock_file`). Waits up to `wait` seconds for a harvest already running, then refuses,
        naming it."""
        path = self.lock_path(portal_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock_file(path, os.O_RDWR | os.O_CREAT) as descriptor:
            # a moment's grace even without --wait: `catalog doctor` takes each lock for an instant
            give_up, told = time.monotonic() + max(wait, LOCK_GRACE_S), False
            while not _try_lock(descriptor):
                if time.monotonic() >= give_up:
                    busy = _read_holder(descriptor)
                    raise PortalBusyError(
                        f"portal {portal_id} is being harvested into this lake already ({busy}); "
                        f"two harvests at once would count every change twice. Try again when it ends"
                        + ("" if wait else ", or wait for it with --wait SECONDS")
                    )
                if not told:
                    log.info("portal %s is being harvested already (%s): waiting", portal_id, _read_holder(descriptor))
                    told = True
                time.sleep(min(1.0, max(0.05, give_up - time.monotonic())))
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, json.dumps(dict(holder), default=str).encode(), 0)
            yield

    def is_locked(self, portal_id: str) -> bool:
        """Whether a live process holds the portal's lock now."""
        path = self.lock_path(portal_id)
        if not path.exists():
            return False
        with _lock_file(path, os.O_RDONLY) as descriptor:
            return not _try_lock(descriptor)

    def abandon_orphans(self, portal_id: str, reason: str = ABANDONED) -> list[str]:
        """Mark the portal's runs still `running` as failed and drop its staging folders.

        Only safe under the portal's lock: then no live process can own them.
        """
        abandoned = []
        for run in self.runs(portal_id):
            if run["status"] == "running":
                self.write_run(run | {"status": "failed", "finished_at": datetime.now(UTC), "error": reason})
                abandoned.append(run["harvest_id"])
        staging = self.root / STAGING / validate_portal_id(portal_id)
        if staging.is_dir():
            for leftover in staging.iterdir():
                shutil.rmtree(leftover, ignore_errors=True)
            self._remove_if_empty(staging)
        return abandoned


def _run_record(portal_id: str, harvest_id: str) -> str:
    """Where, under the lake, the record of a portal's harvest is."""
    return f"{HARVEST_RUNS_DIR}/portal_id={validate_portal_id(portal_id)}/{validate_harvest_id(harvest_id)}.parquet"


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


_LOCK_DESCRIPTORS: set[int] = set()
"""This process's open lock files. A flock belongs to the open file, and a forked process gets a copy
of every descriptor: a harvest's normalising workers, outliving their harvest killed with SIGKILL,
kept its portal locked, and every harvest after it was refused. So children let go of these first."""
_LOCK_DESCRIPTORS_GUARD = threading.Lock()
"""Held while a lock file is opened and noted, or forgotten and closed, and across a fork: a thread
forking in between would give its child a descriptor not yet (or no longer) noted."""
_DEV_NULL = os.open(os.devnull, os.O_RDONLY)
"""What a forked child gets in place of each lock file: opened here, so the child needs no descriptor
more than it has (a child of a process at its limit of open files could not open one)."""


@contextlib.contextmanager
def _lock_file(path: Path, flags: int) -> Iterator[int]:
    """A descriptor of a lock file, open for the block; a process forked from Python (`os.fork`,
    multiprocessing) holds no copy of it, and one started with exec never does (close-on-exec).
    Closing it releases whatever lock it took."""
    with _LOCK_DESCRIPTORS_GUARD:
        descriptor = os.open(path, flags, 0o644)
        _LOCK_DESCRIPTORS.add(descriptor)
    try:
        yield descriptor
    finally:
        with _LOCK_DESCRIPTORS_GUARD:
            _LOCK_DESCRIPTORS.discard(descriptor)
            os.close(descriptor)


def _release_inherited_locks() -> None:
    """In a forked child: drop its share of the parent's lock files (the parent's own keeps each lock).
    Each is replaced by /dev/null rather than closed, so that its number stays taken: a child carrying
    on past the parent's `with` block closes it again, and must not close a file of its own opened since."""
    try:
        for descriptor in _LOCK_DESCRIPTORS:
            try:
                os.dup2(_DEV_NULL, descriptor, inheritable=False)
            except OSError:  # not expected of two open descriptors; then at least let go of the lock
                os.close(descriptor)
        _LOCK_DESCRIPTORS.clear()
    finally:
        _LOCK_DESCRIPTORS_GUARD.release()


os.register_at_fork(
    before=_LOCK_DESCRIPTORS_GUARD.acquire,
    after_in_parent=_LOCK_DESCRIPTORS_GUARD.release,
    after_in_child=_release_inherited_locks,
)


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_holder(descriptor: int) -> str:
    """Who holds a portal's lock, as its holder wrote it when it took the lock."""
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0) or b"{}")
    except ValueError:
        holder = {}
    if not holder:
        return "holder unknown"
    return (
        f"pid {holder.get('pid')} on {holder.get('host')}, harvest {holder.get('harvest_id', '?')}, "
        f"started {holder.get('started_at', '?')}"
    )


def lock_holder(harvest_id: str) -> dict[str, Any]:
    """What a harvest writes into the lock it holds, so a refused second harvest can say who holds it."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "harvest_id": harvest_id, "started_at": datetime.now(UTC)}
