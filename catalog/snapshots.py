"""The catalogue as it stands now, as plain files per table: current snapshots and `catalog export`.

A harvest folder holds only what that harvest changed; someone downloading "the Vietnamese catalogue"
wants its current state. A snapshot is the current rows of the main tables (`SNAPSHOT_TABLES`: the
datasets, distributions and publishers views, the coverage, quality and freshness tables, the harvest
runs, the links' state) for one portal or for all of them, at stable paths:

    <lake>/current/all/<table>.parquet, <table>.csv, manifest.json, catalog.duckdb
    <lake>/current/portals/<portal_id>/<table>.parquet, <table>.csv, manifest.json

`all/catalog.duckdb` holds the same tables as tables (no paths), so a copy opens anywhere.
`manifest.json` names the build, the harvests the snapshot reflects (and when the latest finished) and,
for each table, its rows, schema and each file's size and sha256. A snapshot is rebuilt after every
harvest (the `current_snapshots` asset, `catalog report`, and `catalog harvest` into a lake that has
snapshots) when anything it shows changed (its portals' harvests or runs, or the views' SQL), built
aside and swapped in whole (`Lake.publish_build`). `catalog export` writes the same tables for any set
of portals into a folder of the user's, in Parquet, CSV or JSON lines.

The portal's own JSON (`raw`) is left out: `catalog sql "SELECT raw FROM datasets"` still has it.

Each table is copied by a statement built here from `SNAPSHOT_TABLES` (its columns, sort key, portals and
file format); the one fixed query, which harvests a snapshot reflects, is `sql/queries/snapshots/`'s.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import duckdb
import pyarrow.parquet as pq

from catalog import __version__
from catalog.errors import CatalogError, LakeError
from catalog.lake import Lake, location_keys
from catalog.output import EXPORT_FORMATS
from catalog.views import connect, named_query, reference_views, sql_literal, view_definitions

log = logging.getLogger(__name__)

SNAPSHOT_TABLES: dict[str, tuple[str, ...]] = {
    "datasets": ("portal_id", "dataset_id"),
    "distributions": ("portal_id", "dataset_id", "position"),
    "publishers": ("portal_id", "publisher_id"),
    "coverage_by_portal": ("portal_id",),
    "coverage_by_publisher": ("portal_id", "publisher_id"),
    "coverage_by_format": ("portal_id", "format"),
    "coverage_by_license": ("portal_id", "license"),
    "coverage_by_theme": ("portal_id", "category"),
    "theme_coverage": ("portal_id", "category"),
    "dataset_quality": ("portal_id", "dataset_id"),
    "quality_by_portal": ("portal_id",),
    "quality_by_publisher": ("portal_id", "publisher_id"),
    "freshness": ("portal_id", "dataset_id"),
    "freshness_by_publisher": ("portal_id", "publisher_id"),
    "harvest_runs": ("portal_id", "harvest_id"),
    "vn_publisher_province": ("portal_id", "publisher_id"),
    "vn_province_coverage": ("code",),
    "broken_links_by_portal": ("portal_id",),
    "broken_links_by_publisher": ("portal_id", "publisher_id"),
    "format_mismatch": ("portal_id", "dataset_id", "distribution_id"),
    "link_status": ("url",),
}
"""Each table a snapshot holds, with the columns its rows are sorted by (so files differ only where the
catalogue did). A table not kept by portal (Vietnam's 34 provinces, the links, which many portals may
share) is in the `all` snapshot only."""
PORTAL_TABLES = tuple(table for table, key in SNAPSHOT_TABLES.items() if key[0] == "portal_id")
"""The tables a portal's snapshot holds: its own rows of each table kept by portal."""
CHECKS = "portal_checks"
"""The liveness checks' key in the lake's fingerprints (no portal id has an underscore): the Vietnam
table counts the portals reachable at the latest check."""
LINK_CHECKS = "link_checks"
"""The link checks' files, part of every portal's fingerprint: a check changes any portal's broken links
and the accessibility in its `dataset_quality`."""
LEFT_OUT_COLUMNS = frozenset({"raw"})
ALL = "all"
MANIFEST = "manifest.json"
PORTABLE_DATABASE = "catalog.duckdb"
SNAPSHOT_FORMATS = ("parquet", "csv")
COPY_OPTIONS = {
    "parquet": "FORMAT parquet, COMPRESSION zstd",
    "csv": "FORMAT csv, HEADER",
    "jsonl": "FORMAT json",
}
LAYOUT_VERSION = 1
"""Raised when what a snapshot holds changes shape, so every snapshot is rebuilt once."""


def portal_snapshot(portal_id: str) -> str:
    """The name (and path under `current/`) of a portal's snapshot."""
    return f"portals/{portal_id}"


@cache
def views_version() -> str:
    """What, besides the harvests, decides a snapshot's content: the views' SQL, the reference data they
    read (the registry, Vietnam's units) and this code's version (read once per process, not once per
    snapshot's manifest)."""
    digest = hashlib.sha256(f"{__version__}\n{LAYOUT_VERSION}\n{sorted(SNAPSHOT_TABLES.items())}".encode())
    for name, sql in [*reference_views().items(), *view_definitions().items()]:
        digest.update(f"\n{name}\n{sql}".encode())
    return digest.hexdigest()[:16]


def current_harvests(connection: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Each harvested portal's latest complete harvest: its id and when it finished."""
    cursor = connection.execute(named_query("snapshots/current_harvests"))
    return {
        portal_id: {"portal_id": portal_id, "harvest_id": harvest_id, "finished_at": finished.isoformat(), "mode": mode}
        for portal_id, harvest_id, finished, mode in cursor.fetchall()
    }


def _column_sql(name: str, kind: str, file_format: str) -> str:
    """A column as written: in CSV a list or map is JSON text, which spreadsheets show and tools parse."""
    nested = kind.endswith("]") or kind.startswith(("MAP", "STRUCT"))
    return f'to_json("{name}") AS "{name}"' if nested and file_format == "csv" else f'"{name}"'


def _file_entry(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def write_tables(
    connection: duckdb.DuckDBPyConnection,
    folder: Path,
    portal_ids: Sequence[str] | None,
    formats: Sequence[str],
    sources: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Write every snapshot table, restricted to `portal_ids` (None: every portal), once per format,
    into `folder`; returns each table's manifest entry. A table is read from its view, or from
    `sources[table]` (a portal's snapshot is cut from the `all` one just written, not worked out again)."""
    if portal_ids is None:
        where = ""
    else:
        where = f" WHERE portal_id IN ({', '.join(map(sql_literal, portal_ids))})" if portal_ids else " WHERE false"
    entries = []
    for table in SNAPSHOT_TABLES if portal_ids is None else PORTAL_TABLES:
        key = SNAPSHOT_TABLES[table]
        source = sources[table] if sources else table
        described = connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        columns = [(row[0], row[1]) for row in described if row[0] not in LEFT_OUT_COLUMNS]
        order = ", ".join(f'"{column}"' for column in key)
        files, rows = {}, 0
        for file_format in formats:
            select = ", ".join(_column_sql(name, kind, file_format) for name, kind in columns)
            path = folder / f"{table}.{file_format}"
            statement = f"COPY (SELECT {select} FROM {source}{where} ORDER BY {order}) TO {sql_literal(str(path))}"
            (rows,) = connection.execute(f"{statement} ({COPY_OPTIONS[file_format]})").fetchone()
            files[file_format] = _file_entry(path)
        entries.append(
            {
                "table": table,
                "rows": rows,
                "schema": [{"name": name, "type": kind} for name, kind in columns],
                "files": files,
            }
        )
    return entries


def write_portable_database(folder: Path, tables: list[dict[str, Any]]) -> dict[str, Any]:
    """`catalog.duckdb` holding the snapshot's tables themselves (no paths), so a copy opens anywhere."""
    path = folder / PORTABLE_DATABASE
    with duckdb.connect(str(path)) as database:
        for entry in tables:
            source = sql_literal(str(folder / entry["files"]["parquet"]["file"]))
            database.execute(f'CREATE TABLE "{entry["table"]}" AS SELECT * FROM read_parquet({source})')
    return _file_entry(path)


def _manifest(name: str, harvests: list[dict[str, Any]], tables: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "snapshot": name,
        "built_at": datetime.now(UTC).isoformat(),
        "harvested_at": max((harvest["finished_at"] for harvest in harvests), default=None),
        "portals": [harvest["portal_id"] for harvest in harvests],
        "harvests": harvests,
        "views_version": views_version(),
        "catalog_version": __version__,
        "tables": tables,
    }


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def build_snapshot(
    connection: duckdb.DuckDBPyConnection,
    folder: Path,
    name: str,
    source: Snapshot,
    sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Write the snapshot `name` of `source` into `folder` (files, portable database, manifest last); its
    manifest, which names the build (`folder`) and the fingerprint of what it was built from."""
    tables = write_tables(connection, folder, None if name == ALL else source.portals, SNAPSHOT_FORMATS, sources)
    manifest = _manifest(name, source.harvests, tables) | {"build": folder.name, "fingerprint": source.fingerprint}
    if name == ALL:  # a DuckDB file costs some MB even nearly empty: one for everything, not one per portal
        manifest["database"] = write_portable_database(folder, tables)
    _write_manifest(folder, manifest)
    return manifest


MANIFEST_KEYS = frozenset({"snapshot", "portals", "harvests", "tables", "views_version", "fingerprint"})


def read_manifest(lake: Lake, name: str) -> dict[str, Any] | None:
    """The manifest of the snapshot `name` in place, or None (none, unreadable, or not of the shape this
    version writes: it will be rebuilt)."""
    text = lake.read_current(name, MANIFEST)
    try:
        manifest = json.loads(text) if text else None
    except ValueError:
        return None
    return manifest if isinstance(manifest, dict) and manifest.keys() >= MANIFEST_KEYS else None


def current_manifests(lake: Lake) -> list[dict[str, Any]]:
    """Every snapshot in place, `all` first."""
    manifests = [manifest for name in lake.current_names() if (manifest := read_manifest(lake, name))]
    return sorted(manifests, key=lambda manifest: (manifest["snapshot"] != ALL, manifest["snapshot"]))


@dataclass(frozen=True)
class Snapshot:
    """What a snapshot is made from: its portals, their latest complete harvests (for the manifest), and a
    fingerprint of every harvest folder and run record of those portals, which changes with anything the
    snapshot shows (a new harvest, a failed or abandoned run, a harvest set aside by `catalog doctor`)."""

    portals: list[str]
    harvests: list[dict[str, Any]]
    fingerprint: str


def lake_fingerprints(lake: Lake) -> tuple[dict[str, str], set[str]]:
    """Per portal, a digest of its readable harvest folders, of each run record's id and status and of
    the link checks' files (and, under CHECKS, of the liveness checks' files); and the portals with a
    complete harvest in place (those with a snapshot of their own). Read from the listing and the small
    run records only, before the connection that builds opens, so that whatever is published in between
    makes the next refresh rebuild rather than go unseen."""
    inventory = lake.inventory()
    facts: dict[str, set[str]] = defaultdict(set)
    published: set[tuple[str, str]] = set()
    facts[CHECKS] = {f"check {PurePosixPath(location).name}" for location in inventory.files.get(CHECKS, [])}
    link_checks = {f"links {PurePosixPath(location).name}" for location in inventory.files.get(LINK_CHECKS, [])}
    for location in inventory.files.get("datasets", []):
        keys = location_keys(location)
        facts[keys["portal_id"]].add(f"harvest {keys['harvest_id']}")
        published.add((keys["portal_id"], keys["harvest_id"]))
    complete = set()
    if runs := inventory.files.get("harvest_runs", []):
        records = pq.ParquetDataset(runs, filesystem=lake.filesystem, partitioning=None)
        table = records.read(columns=["portal_id", "harvest_id", "status"])
        for portal_id, harvest_id, status in zip(*(column.to_pylist() for column in table.columns), strict=True):
            facts[portal_id].add(f"run {harvest_id} {status}")
            if status == "complete" and (portal_id, harvest_id) in published:
                complete.add(portal_id)
    for portal_id in list(facts):
        if portal_id != CHECKS:
            facts[portal_id] |= link_checks
    return {portal_id: _digest(sorted(items)) for portal_id, items in facts.items()}, complete


def _digest(items: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


def refresh_snapshots(lake: Lake) -> list[dict[str, Any]]:
    """Bring `current/` up to date with the lake: if anything a snapshot shows changed (its portals'
    harvests or runs, or the views' SQL), rebuild `all` and each such portal's, and take down those of
    portals with no complete harvest any more. Returns the manifests of what was rebuilt, `all` last (it
    is published last)."""
    with lake.snapshot_lock():
        fingerprints, harvested = lake_fingerprints(lake)
        version = views_version()
        wanted = {portal_snapshot(portal_id): fingerprints[portal_id] for portal_id in sorted(harvested)}
        wanted[ALL] = _digest([f"{portal_id} {digest}" for portal_id, digest in sorted(fingerprints.items())])
        stale = {
            name: fingerprint
            for name, fingerprint in wanted.items()
            if not (existing := read_manifest(lake, name))
            or existing["fingerprint"] != fingerprint
            or existing["views_version"] != version
        }
        rebuilt = _rebuild(lake, wanted[ALL], stale) if stale else []
        for name in set(lake.current_names()) - set(wanted):
            lake.remove_current(name)
    return rebuilt


def _rebuild(lake: Lake, whole_fingerprint: str, stale: dict[str, str]) -> list[dict[str, Any]]:
    """Build `all` from the views, cut each stale portal's snapshot from it, publish them, then `all`
    (on a store its local files are the portals' source until then). Manifests, `all` last."""
    whole = lake.new_build(ALL)
    try:
        with connect(lake) as connection:
            harvests = current_harvests(connection)
            everything = Snapshot(list(harvests), list(harvests.values()), whole_fingerprint)
            manifest = build_snapshot(connection, whole, ALL, everything)
            cut_from = {
                table: f"read_parquet({sql_literal(str(whole / f'{table}.parquet'))})" for table in PORTAL_TABLES
            }
            manifests = []
            for name, fingerprint in stale.items():
                portal_id = name.removeprefix(portal_snapshot(""))
                if name == ALL or portal_id not in harvests:
                    continue
                folder = lake.new_build(name)
                try:
                    source = Snapshot([portal_id], [harvests[portal_id]], fingerprint)
                    manifests.append(build_snapshot(connection, folder, name, source, cut_from))
                    lake.publish_build(name, folder, last=MANIFEST)
                except BaseException:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
        lake.publish_build(ALL, whole, last=MANIFEST)
    except BaseException:
        shutil.rmtree(whole, ignore_errors=True)
        raise
    return [*manifests, manifest]


def refresh_or_warn(lake: Lake) -> None:
    """`refresh_snapshots`, where a failure is a warning: the harvest it follows is published already, and
    a report can be written without them."""
    try:
        refresh_snapshots(lake)
    except (duckdb.Error, OSError, CatalogError) as exc:
        log.warning("current snapshots not rebuilt: %s", str(exc).splitlines()[0])


def export(lake: Lake, out: Path, portal_ids: Sequence[str] | None, file_format: str) -> dict[str, Any]:
    """Write the snapshot tables of `portal_ids` (None: every portal) to `out` as `<table>.<format>` and
    a manifest, each file replaced whole; returns the manifest."""
    if file_format not in EXPORT_FORMATS:
        raise CatalogError(f"unknown export format {file_format!r}: choose one of {', '.join(EXPORT_FORMATS)}")
    if not lake.remote and out.resolve().is_relative_to(lake.root.resolve()):
        raise LakeError(f"{out}: export to a folder outside the lake ({lake.root}); its current snapshots are in it")
    out.mkdir(parents=True, exist_ok=True)
    with connect(lake) as connection, tempfile.TemporaryDirectory(prefix=".export-", dir=out) as scratch:
        harvests = current_harvests(connection)
        if portal_ids is not None:
            if missing := sorted(set(portal_ids) - set(harvests)):
                raise LakeError(f"no complete harvest of {', '.join(missing)} in {lake.uri}")
            harvests = {portal_id: harvests[portal_id] for portal_id in sorted(set(portal_ids))}
        build = Path(scratch)
        tables = write_tables(connection, build, list(harvests) if portal_ids is not None else None, [file_format])
        manifest = _manifest(ALL if portal_ids is None else ",".join(harvests), list(harvests.values()), tables)
        _write_manifest(build, manifest)
        for path in sorted(build.iterdir(), key=lambda path: path.name == MANIFEST):
            path.replace(out / path.name)
    return manifest
