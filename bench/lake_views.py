"""DuckDB view latency over a large lake: 1,000,000 current datasets and 5,000,000 distributions.

    python bench/lake_views.py [--datasets 1000000] [--portals 20] [--keep DIR]

Builds the lake in the real layout (20 of the registry's Vietnamese portals, their publishers named
after the 63 pre-2025 provinces; per portal a full harvest and an incremental one that modified 10 %
of datasets and deleted 1 %), with every table's real schema, then times the coverage, current-state
and Vietnam views (median of 3, after one warm-up), then the current snapshots: all of them built, and
a refresh with nothing changed. `raw` holds short JSON here: views that do not select it never read it
(Parquet is columnar), and a 9 KB `raw` would make the lake 9 GB. The canonical licence and formats (and
their flags) are worked out by the harvest's own functions, so the coverage views have them to group.
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from catalog.lake import Lake, new_harvest_id
from catalog.normalise.formats import canonical_format
from catalog.normalise.licences import canonical_licence
from catalog.registry import load_registry
from catalog.snapshots import refresh_snapshots
from catalog.vietnam import former_units
from catalog.views import connect, sql_literal

QUERIES = {
    "datasets: count": "SELECT count(*) FROM datasets",
    "datasets: per portal": "SELECT portal_id, count(*) FROM datasets GROUP BY ALL",
    "distributions: count": "SELECT count(*) FROM distributions",
    "coverage_by_publisher: all rows": "SELECT * FROM coverage_by_publisher",
    "coverage_by_publisher: one portal": "SELECT * FROM coverage_by_publisher WHERE portal_id = 'vn-ninh-binh'",
    "changes: one portal, last week": """SELECT change, count(*) FROM changes
        WHERE portal_id = 'vn-ninh-binh' AND detected_at >= now() - INTERVAL 7 DAY GROUP BY ALL""",
    "datasets_as_of: a week ago": "SELECT count(*) FROM datasets_as_of(now() - INTERVAL 7 DAY)",
    "harvest_runs: all": "SELECT * FROM harvest_runs",
    "vn_publisher_province: all rows": "SELECT * FROM vn_publisher_province",
    "vn_province_coverage: all 34 rows": "SELECT * FROM vn_province_coverage",
}
PORTAL_IDS = [portal.id for portal in load_registry().values() if portal.country == "VN"]
"""The lake's portals are Vietnam's registered ones (their provinces place them) and its publishers are
provincial departments of the 63 pre-2025 provinces, so the Vietnam views have all their work to do."""
PROVINCES = "[" + ", ".join(sql_literal(unit.name) for unit in former_units().values()) + "]"
LICENCE_IDS = ["cc-by", "odc-by", "notspecified", None]
FORMATS = ["CSV", "XLSX", "PDF", "JSON", "SHP"]


def sql_list(values: list[object]) -> str:
    """A DuckDB list literal of strings, booleans and nulls."""
    shown = ("NULL" if v is None else str(v).lower() if isinstance(v, bool) else sql_literal(str(v)) for v in values)
    return "[" + ", ".join(shown) + "]"


LICENCES = [canonical_licence(licence_id, None, None) for licence_id in LICENCE_IDS]
KNOWN_FORMATS = [canonical_format(name, None, None) for name in FORMATS]
DERIVED = {
    "license_ids": sql_list(LICENCE_IDS),
    "license_keys": sql_list([licence.key for licence in LICENCES]),
    "license_open": sql_list([licence.is_open for licence in LICENCES]),
    "formats": sql_list(FORMATS),
    "format_keys": sql_list([known.key for known in KNOWN_FORMATS]),
    "format_media_types": sql_list([known.media_type for known in KNOWN_FORMATS]),
    "machine_readable": sql_list([known.machine_readable for known in KNOWN_FORMATS]),
    "open_format": sql_list([known.open_format for known in KNOWN_FORMATS]),
}
"""What the harvest derives from the declared licence and formats, by the harvest's own functions."""

DATASETS_SQL = """
SELECT
    {portal} AS portal_id, {harvest} AS harvest_id,
    printf('%s-%08d', {portal}, i) AS dataset_id,
    {change} AS change,
    md5(printf('%d-%s', i, {harvest})) AS content_hash,
    printf('dataset-%d', i) AS name,
    printf('Dataset %d: %s', i, ['Ngân sách', 'Giao thông', 'Y tế', 'Giáo dục', 'Dân số'][1 + i % 5]) AS title,
    'A description of moderate length, as most portals write them.' AS description,
    printf('%s-pub-%03d', {portal}, i % 150) AS publisher_id,
    printf('Sở %03d tỉnh %s', i % 150, {provinces}[1 + i % 150 % 63]) AS publisher_name,
    NULL::VARCHAR AS landing_page, printf('https://portal/dataset/%d', i) AS dataset_url,
    NULL::VARCHAR AS contact_name, NULL::VARCHAR AS contact_email,
    TIMESTAMPTZ '2019-01-01 00:00:00+00' + to_seconds(i) AS issued,
    TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS modified,
    {license_ids}[1 + i % 4] AS license_id,
    NULL::VARCHAR AS license_title, NULL::VARCHAR AS license_url,
    {license_keys}[1 + i % 4] AS license_key, {license_open}[1 + i % 4] AS license_open,
    ['tag-a', 'tag-b'] AS keywords, ['theme-' || (i % 12)::VARCHAR] AS themes,
    NULL::VARCHAR AS version, 'active' AS state,
    5::INTEGER AS num_distributions,
    MAP {{'frequency': 'monthly'}} AS extras,
    '{{"id": "short"}}' AS raw,
    {harvested_at} AS harvested_at
FROM range({start}, {stop}) AS t(i)
WHERE {where}
"""

DISTRIBUTIONS_SQL = """
SELECT
    d.portal_id, d.harvest_id, d.dataset_id, printf('%s-r%d', d.dataset_id, k) AS distribution_id,
    k::INTEGER AS position, printf('File %d', k) AS title, NULL::VARCHAR AS description,
    {formats}[1 + k] AS format, NULL::VARCHAR AS media_type,
    printf('https://portal/files/%s/%d', d.dataset_id, k) AS access_url, NULL::VARCHAR AS download_url,
    1000::BIGINT AS byte_size, NULL::VARCHAR AS checksum,
    d.issued, d.modified, d.license_id,
    {format_keys}[1 + k] AS format_key, {format_media_types}[1 + k] AS format_media_type,
    {machine_readable}[1 + k] AS machine_readable, {open_format}[1 + k] AS open_format
FROM read_parquet({datasets}) AS d, range(5) AS r(k)
WHERE d.change <> 'deleted'
"""


def build(lake: Lake, datasets: int, portals: int) -> None:
    per_portal = datasets // portals
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    now = datetime.now(UTC)
    for number in range(portals):
        portal = PORTAL_IDS[number]
        full_at, incremental_at = now - timedelta(days=10), now - timedelta(days=2)
        harvests = [
            (new_harvest_id(full_at), full_at, "'added'", "true"),
            # 10 % modified (every 10th), 1 % deleted (every 100th, as tombstones)
            (new_harvest_id(incremental_at), incremental_at,
             "CASE WHEN i % 100 = 1 THEN 'deleted' ELSE 'modified' END", "i % 10 = 1"),
        ]  # fmt: skip
        for harvest_id, at, change, where in harvests:
            folder = lake.harvest_path(portal, harvest_id)
            folder.mkdir(parents=True)
            query = DATASETS_SQL.format(
                portal=sql_literal(portal), harvest=sql_literal(harvest_id), change=change, where=where,
                harvested_at=f"TIMESTAMPTZ {sql_literal(at.isoformat())}", start=0, stop=per_portal,
                provinces=PROVINCES, **DERIVED,
            )  # fmt: skip
            connection.execute(f"COPY ({query}) TO {sql_literal(str(folder / 'datasets.parquet'))} (FORMAT parquet)")
            distributions = DISTRIBUTIONS_SQL.format(datasets=sql_literal(str(folder / "datasets.parquet")), **DERIVED)
            connection.execute(
                f"COPY ({distributions}) TO {sql_literal(str(folder / 'distributions.parquet'))} (FORMAT parquet)"
            )
            connection.execute(
                f"COPY (SELECT {sql_literal(portal)} AS portal_id, {sql_literal(harvest_id)} AS harvest_id, "
                "'x' AS publisher_id, 'x' AS name, 'X' AS title, NULL::VARCHAR AS description, "
                "NULL::VARCHAR AS image_url, NULL::TIMESTAMPTZ AS issued, 1::BIGINT AS dataset_count, '{}' AS raw) "
                f"TO {sql_literal(str(folder / 'publishers.parquet'))} (FORMAT parquet)"
            )
            lake.write_run({
                "portal_id": portal, "harvest_id": harvest_id, "base_url": "https://portal", "software": "ckan",
                "status": "complete", "mode": "full" if change == "'added'" else "incremental", "since": None,
                "started_at": at, "finished_at": at + timedelta(minutes=5), "datasets": per_portal,
                "distributions": None, "publishers": 1, "added": None, "modified": None, "deleted": None,
                "listed": per_portal, "source_count": per_portal, "duplicates_dropped": 0, "requests": 0,
                "bytes_received": 0, "warning_count": 0, "warnings": [], "notes": [], "error": None,
            })  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=1_000_000)
    parser.add_argument("--portals", type=int, default=20, choices=range(1, len(PORTAL_IDS) + 1), metavar="N")
    parser.add_argument("--keep", type=Path, help="build the lake here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-lake-") as folder:
        lake = Lake(args.keep or Path(folder))
        started = time.perf_counter()
        build(lake, args.datasets, args.portals)
        connection = connect(lake)
        current = connection.execute("SELECT count(*) FROM datasets").fetchone()[0]
        files = connection.execute("SELECT count(*) FROM lake_distributions").fetchone()[0]
        print(f"lake: {current:,} current datasets, {files:,} distribution rows, "
              f"built in {time.perf_counter() - started:.0f}s", flush=True)  # fmt: skip
        for label, sql in QUERIES.items():
            connection.execute(sql).fetchall()
            times = []
            for _ in range(3):
                started = time.perf_counter()
                connection.execute(sql).fetchall()
                times.append(time.perf_counter() - started)
            print(f"{label:>36}  {statistics.median(times) * 1000:8.0f} ms", flush=True)
        connection.close()
        started = time.perf_counter()
        built = refresh_snapshots(lake)
        elapsed = time.perf_counter() - started
        size = sum(path.stat().st_size for path in (lake.root / "current").rglob("*") if path.is_file())
        started = time.perf_counter()
        refresh_snapshots(lake)
        print(f"current snapshots: {len(built)} built in {elapsed:.1f}s ({size / 2**20:,.0f} MB); "
              f"a refresh with nothing changed {time.perf_counter() - started:.1f}s", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
