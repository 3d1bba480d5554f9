"""The offline main job: serve the sample Vietnamese catalogue locally, harvest it through Dagster, summarise.

    python -m pipelines.demo [--size N] [--lake DIR]

Runs on the Dagster instance named by DAGSTER_HOME (the README's command sets it to ./.dagster, so the
runs appear in `dagster dev` afterwards), checks the sample's download links, writes the lake (./lake
by default) with its current snapshots, DuckDB file and report, and prints a coverage summary read
back through DuckDB.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from contextlib import ExitStack

from dagster import DagsterInstance

from catalog.lake import LAKE_ENV, Lake, resolve_lake
from catalog.output import render
from catalog.sample.catalogue import generate
from catalog.sample.server import InMemoryCatalogue, serve_portal
from catalog.views import named_query, query
from pipelines.definitions import defs

SAMPLE_PORTAL = "vn-sample"
SAMPLE_PORT = 8765
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
SAMPLE_LINKS = {"links": {"config": {"allow_private": True, "per_host_rate": 0}}}
"""The sample's files are on our own loopback server: private addresses allowed, and no rate to keep."""
LINKS_SQL = named_query("demo/links")
SUMMARY_SQL = named_query("demo/coverage_by_publisher")
LICENCE_SQL = named_query("demo/licences")
PROVINCES_SQL = named_query("demo/provinces")
THEMES_SQL = named_query("demo/themes")


def sample_port() -> int:
    """The usual port if it is free, else any free one (the catalogue's download URLs name it)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", SAMPLE_PORT))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=500, help="datasets in the sample catalogue")
    parser.add_argument("--lake", help="lake root (default: $CATALOG_LAKE, else ./lake)")
    args = parser.parse_args(argv)
    lake = Lake(resolve_lake(args.lake))
    os.environ[LAKE_ENV] = str(lake.root)
    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()

    port = sample_port()
    packages, organizations = generate(args.size, base_url=f"http://127.0.0.1:{port}")
    with ExitStack() as stack:
        catalogue = InMemoryCatalogue(packages, organizations)
        portal = stack.enter_context(serve_portal(catalogue, port=port))
        print(f"Serving a sample CKAN catalogue of {args.size} datasets at {portal.url}", flush=True)
        run_config = QUIET | {
            "resources": {
                "portals": {"config": {"url_overrides": {SAMPLE_PORTAL: portal.url}}},
                "lake": {"config": {"root": str(lake.root)}},
            }
        }
        harvest = defs.resolve_job_def("harvest_job").execute_in_process(
            run_config=run_config, partition_key=SAMPLE_PORTAL, instance=instance, raise_on_error=False
        )
        if not harvest.success:
            print(f"demo: the Dagster harvest run {harvest.run_id} failed; see `dagster dev`", file=sys.stderr)
            return 1
        links = defs.resolve_job_def("link_check_job").execute_in_process(
            run_config=run_config | {"resources": run_config["resources"] | SAMPLE_LINKS},
            partition_key=SAMPLE_PORTAL,
            instance=instance,
        )
    views = defs.resolve_job_def("views_job").execute_in_process(
        run_config=QUIET | {"resources": {"lake": {"config": {"root": str(lake.root)}}}}, instance=instance
    )
    print(f"\nHarvested {SAMPLE_PORTAL} through Dagster (run {harvest.run_id}) into {lake.root}")
    print(f"DuckDB views written to {lake.root / 'catalog.duckdb'} (run {views.run_id})")
    print(f"Current snapshots (Parquet, CSV, a portable DuckDB file) in {lake.root / 'current'}")
    print(f"Links checked through Dagster (run {links.run_id}) into link_checks")
    print(
        f"Coverage report written to {lake.root / 'report' / 'index.html'} "
        "(Vietnam by province: vietnam.html; dead links: links.html)\n"
    )
    print("Coverage by publisher:")
    sys.stdout.write(render(*query(lake, SUMMARY_SQL, [SAMPLE_PORTAL]), "table"))
    print("\nDatasets by licence:")
    sys.stdout.write(render(*query(lake, LICENCE_SQL, [SAMPLE_PORTAL]), "table"))
    print("\nVietnam by province, on the 34-unit map since 1 July 2025 (publishers placed by the province they name):")
    sys.stdout.write(render(*query(lake, PROVINCES_SQL), "table"))
    print("\nDownload links (link_status; `catalog links` checks them politely, a budget per run):")
    sys.stdout.write(render(*query(lake, LINKS_SQL, [SAMPLE_PORTAL, SAMPLE_PORTAL]), "table"))
    print("\nReference categories covered (titles and tags matched in Vietnamese):")
    sys.stdout.write(render(*query(lake, THEMES_SQL, [SAMPLE_PORTAL]), "table"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
