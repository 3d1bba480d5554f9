"""The `catalog` command: a thin layer over the library.

    catalog harvest [URL] --portal ID [--lake DIR]    harvest a portal (by URL, or from the registry)
    catalog detect URL                                 which software a portal runs, and its API
    catalog check [--portal ID ...] [--country CC]     probe registered portals into portal_checks
    catalog sql "SELECT ..." [--format table|csv|json] query the views
    catalog duckdb FILE                                write a DuckDB file holding the views
    catalog report [--out DIR]                         a static HTML coverage report and downloads page
    catalog portals [--country CC] [--software S]      list the registry
    catalog sample-portal [--port N]                   serve the offline sample catalogue

Errors are one line on stderr naming what failed and where; the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from catalog import __version__
from catalog.detect import base_of, detect, is_document_url
from catalog.errors import CatalogError
from catalog.harvest import harvest_portal
from catalog.http import HttpSettings
from catalog.lake import Lake, resolve_lake, use_compact_memory_pool
from catalog.liveness import MAX_WORKERS, check_portals
from catalog.output import FORMATS, render
from catalog.registry import SUPPORTED_SOFTWARE, Portal, get_portal, load_registry, validate_portal_id
from catalog.report import write_report
from catalog.sample.catalogue import generate
from catalog.sample.server import InMemoryCatalogue, serve_portal
from catalog.views import query, write_database

PROG = "catalog"
log = logging.getLogger(__name__)


def _lake(args: argparse.Namespace) -> Lake:
    return Lake(resolve_lake(args.lake))


def _timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _portal_at(args: argparse.Namespace) -> Portal:
    """A portal given by URL: its software named with --software, or found by detection.

    A URL naming a document (`.../data.json`, `.../catalog.ttl`) is that catalogue's endpoint.
    """
    portal_id = validate_portal_id(args.portal)
    if args.software:
        software = args.software
        api_url = args.url if is_document_url(args.url) else None
    else:
        detection = detect(args.url)
        log.info("%s", detection.summary)
        if detection.software is None:
            raise CatalogError(f"{detection.summary}; name the software with --software")
        software, api_url = detection.software, detection.api_url
    url = base_of(args.url)
    return Portal(
        id=portal_id,
        title=args.url,
        url=url,
        software=software,
        api_url=api_url if api_url != url else None,
        filter=args.fq,
    )


def cmd_harvest(args: argparse.Namespace) -> int:
    portal = _portal_at(args) if args.url else get_portal(args.portal)
    if args.rate is not None:  # this portal's rate, for this run: it outranks the registry's
        portal = dataclasses.replace(portal, requests_per_second=args.rate)
    settings = HttpSettings(retries=args.retries, read_timeout=args.timeout)
    run = harvest_portal(portal, _lake(args), full=args.full, since=args.since, settings=settings)
    difference = ""
    if run.source_count is not None and run.source_count != run.datasets:
        difference = f" (portal reported {run.source_count})"
    print(
        f"{portal.id}: {run.mode} harvest {run.harvest_id}: {run.datasets} datasets fetched{difference}; "
        f"{run.added} added, {run.modified} modified, {run.deleted} deleted; "
        f"{run.distributions} distributions, {run.publishers} publishers; "
        f"{run.requests} requests in {run.duration_s:.1f}s; {run.warning_count} warnings"
    )
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    detection = detect(args.url, HttpSettings(retries=0, read_timeout=args.timeout))
    print(detection.summary)
    if args.probes:
        columns = ["software", "found", "status", "latency_ms", "detail", "url"]
        rows = [[getattr(probe, column) for column in columns] for probe in detection.probes]
        sys.stdout.write(render(columns, rows, "table"))
    return 0 if detection.software else 1


def _selected_portals(args: argparse.Namespace) -> list[Portal]:
    if getattr(args, "portal", None):
        return [get_portal(portal_id) for portal_id in args.portal]
    return [
        portal
        for portal in load_registry().values()
        if (not args.country or portal.country == args.country.upper())
        and (not args.software or portal.software == args.software)
    ]


def cmd_check(args: argparse.Namespace) -> int:
    portals = [portal for portal in _selected_portals(args) if portal.cadence != "manual" or args.portal]
    started = time.monotonic()
    rows = check_portals(portals, _lake(args), workers=args.workers)
    reachable = sum(1 for row in rows if row["reachable"])
    columns = ["portal_id", "reachable", "status", "detected_software", "latency_ms", "detail"]
    sys.stdout.write(render(columns, [[row[c] for c in columns] for row in rows], args.format))
    print(
        f"{len(rows)} portals checked in {time.monotonic() - started:.1f}s: {reachable} reachable; "
        f"written to portal_checks",
        file=sys.stderr,
    )
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    columns, rows = query(_lake(args), args.query)
    sys.stdout.write(render(columns, rows, args.format))
    return 0


def cmd_duckdb(args: argparse.Namespace) -> int:
    path = Path(args.file).expanduser().resolve()
    names = write_database(_lake(args), path)
    print(f"{path}: {len(names)} views over {resolve_lake(args.lake)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    report = write_report(_lake(args), Path(args.out).expanduser() if args.out else None)
    print(
        f"{report.out / 'index.html'}: {report.portals} portals, {report.datasets} datasets, {len(report.pages)} pages"
    )
    return 0


def cmd_portals(args: argparse.Namespace) -> int:
    columns = ["id", "software", "country", "province", "city", "ascn_pilot_city", "cadence", "url", "filter", "title"]
    rows = [[getattr(p, c) for c in columns] for p in _selected_portals(args)]
    sys.stdout.write(render(columns, rows, args.format))
    return 0


def cmd_sample_portal(args: argparse.Namespace) -> int:
    base_url = f"http://{args.host}:{args.port}"
    packages, organizations = generate(args.size, base_url=base_url)
    with serve_portal(InMemoryCatalogue(packages, organizations), host=args.host, port=args.port) as portal:
        print(f"sample CKAN portal with {args.size} datasets at {portal.url} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Harvest open data portal catalogues into a Parquet lake.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True)

    def lake_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--lake", help="lake root (default: $CATALOG_LAKE, else ./lake)")

    harvest = commands.add_parser("harvest", help="harvest a portal's catalogue into the lake")
    harvest.add_argument("url", nargs="?", help="a portal's URL (omit to use the registry's)")
    harvest.add_argument("--portal", required=True, help="portal id: a registry id, or a new slug for URL")
    harvest.add_argument("--software", choices=sorted(SUPPORTED_SOFTWARE), help="with URL: skip detection")
    harvest.add_argument("--fq", help="with URL: a CKAN filter query applied to every search")
    harvest.add_argument("--full", action="store_true", help="re-read everything (default: incremental)")
    harvest.add_argument(
        "--since", type=_timestamp, help="incremental from this ISO 8601 time instead of the watermark"
    )
    defaults = HttpSettings()
    harvest.add_argument("--retries", type=int, default=defaults.retries, help="retries per request (%(default)s)")
    harvest.add_argument("--timeout", type=float, default=defaults.read_timeout, help="read timeout in s (%(default)s)")
    harvest.add_argument("--rate", type=float, help=f"requests/s per host, 0: no cap ({defaults.requests_per_second})")
    lake_option(harvest)
    harvest.set_defaults(handler=cmd_harvest)

    detect_command = commands.add_parser("detect", help="find which portal software a URL runs, and its API")
    detect_command.add_argument("url")
    detect_command.add_argument("--probes", action="store_true", help="also list every probe made")
    detect_command.add_argument("--timeout", type=float, default=20.0, help="read timeout in s (%(default)s)")
    detect_command.set_defaults(handler=cmd_detect)

    def selection_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--country", help="only portals of this ISO 3166-1 country (e.g. VN)")
        command.add_argument("--software", choices=sorted(SUPPORTED_SOFTWARE), help="only portals running it")
        command.add_argument("--format", choices=FORMATS, default="table")

    check = commands.add_parser("check", help="probe registered portals' liveness into portal_checks")
    check.add_argument("--portal", action="append", help="a registry id (repeatable; default: all)")
    check.add_argument("--workers", type=int, default=MAX_WORKERS, help="portals probed at once (%(default)s)")
    selection_options(check)
    lake_option(check)
    check.set_defaults(handler=cmd_check)

    sql = commands.add_parser("sql", help="run a SQL query against the views")
    sql.add_argument("query")
    sql.add_argument("--format", choices=FORMATS, default="table")
    lake_option(sql)
    sql.set_defaults(handler=cmd_sql)

    database = commands.add_parser("duckdb", help="write a DuckDB database file holding the views")
    database.add_argument("file")
    lake_option(database)
    database.set_defaults(handler=cmd_duckdb)

    report = commands.add_parser("report", help="write a static HTML coverage report with a downloads page")
    report.add_argument("--out", help="output folder (default: <lake>/report)")
    lake_option(report)
    report.set_defaults(handler=cmd_report)

    portals = commands.add_parser("portals", help="list the registered portals")
    selection_options(portals)
    portals.set_defaults(handler=cmd_portals)

    sample = commands.add_parser("sample-portal", help="serve the generated sample catalogue over the CKAN API")
    sample.add_argument("--host", default="127.0.0.1")
    sample.add_argument("--port", type=int, default=8765)
    sample.add_argument("--size", type=int, default=500, help="number of datasets")
    sample.set_defaults(handler=cmd_sample_portal)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use_compact_memory_pool()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        return args.handler(args)
    except CatalogError as exc:
        print(f"{PROG} {args.command}: {exc}", file=sys.stderr)
    except duckdb.Error as exc:
        print(f"{PROG} {args.command}: {str(exc).splitlines()[0]}", file=sys.stderr)
    except OSError as exc:
        print(f"{PROG} {args.command}: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
