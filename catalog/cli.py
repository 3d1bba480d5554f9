"""The `catalog` command: a thin layer over the library.

    catalog harvest [URL] --portal ID [--lake DIR]    harvest a portal (by URL, or from the registry)
    catalog detect URL                                 which software a portal runs, and its API
    catalog check [--portal ID ...] [--country CC]     probe registered portals into portal_checks
    catalog links [--portal ID ...] [--budget N]       check the due download links into link_checks
    catalog sql "SELECT ..." [--format table|csv|json] query the views (read-only; --out FILE saves)
    catalog export [--portal ID ...] --out DIR        the current tables as files (parquet, csv, jsonl)
    catalog duckdb FILE                                write a DuckDB file holding the views
    catalog report [--out DIR]                         the current snapshots, and an HTML coverage report
    catalog doctor [--fix]                             list (and quarantine) what is damaged or left over
    catalog portals [--country CC] [--software S]      list the registry
    catalog sample-portal [--port N]                   serve the offline sample catalogue

Errors are one line on stderr naming what failed and where; the exit status is 1, or 3 for a harvest
held back as suspicious (it would have deleted too much), or 130 when interrupted (SIGINT, SIGTERM).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import NoReturn
from urllib.parse import urlsplit

import pyarrow.parquet as pq

from catalog import __version__
from catalog.detect import base_of, detect, is_document_url
from catalog.doctor import examine, repair
from catalog.errors import CatalogError, LakeError, SuspiciousHarvestError
from catalog.harvest import HarvestLimits, Parallelism, harvest_portal, record_failure
from catalog.http import HttpSettings
from catalog.ids import validate_portal_id
from catalog.lake import Lake, resolve_lake, use_compact_memory
from catalog.links import DEFAULT_BUDGET, DEFAULT_MINUTES, LinkCheckSettings
from catalog.liveness import MAX_WORKERS, check_portals
from catalog.output import EXPORT_FORMATS, OUTPUT_FORMATS, render
from catalog.redaction import RedactingFilter
from catalog.registry import Portal, get_portal, load_registry
from catalog.sources import SOFTWARE, SOURCES

PROG = "catalog"
SUSPICIOUS_EXIT = 3
QUIET_LOGGERS = ("urllib3", "pyrate_limiter", "requests_ratelimiter", "rdflib", "asyncio", "matplotlib", "fsspec")
log = logging.getLogger(__name__)


def _show(args: argparse.Namespace, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Rows to stdout in the chosen format; a table fits the terminal unless --wide (or stdout is no
    terminal): csv, json and jsonl always carry whole values."""
    fmt = getattr(args, "format", "table")
    width = None if getattr(args, "wide", False) or not sys.stdout.isatty() else shutil.get_terminal_size().columns
    sys.stdout.write(render(columns, rows, fmt, width=width))


def _lake(args: argparse.Namespace) -> Lake:
    return Lake(resolve_lake(args.lake))


def _readable_lake(args: argparse.Namespace) -> Lake:
    """The lake to read: it must exist and hold a harvest or a check (a typo is not an empty lake)."""
    lake = _lake(args)
    if not lake.exists():
        raise LakeError(f"no lake at {lake.uri} (give --lake, or set $CATALOG_LAKE)")
    files = lake.inventory().files
    if not files.get("harvest_runs") and not files.get("portal_checks"):
        raise LakeError(f"{lake.uri} holds no harvest yet: run `catalog harvest` first")
    return lake


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(kind: Callable[[str], float], minimum: float, *, strictly: bool = False) -> Callable[[str], float]:
    """An argparse type: a number of `kind` at least (or, `strictly`, more than) `minimum`."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if value < minimum or (strictly and value == minimum):
            raise argparse.ArgumentTypeError(f"{text} must be {'more than' if strictly else 'at least'} {minimum}")
        return value

    return parse


POSITIVE = _number(float, 0, strictly=True)
NON_NEGATIVE = _number(float, 0)
COUNT = _number(int, 0)


def _portal_at(args: argparse.Namespace) -> Portal:
    """A portal given by URL: its software named with --software, or found by detection.

    With --software the URL is used as given, query string included: for a catalogue document
    (data.json, DCAT RDF, a CSW GetRecords request) it is the endpoint; for an API it is the site.
    """
    portal_id = validate_portal_id(args.portal)
    if args.software:
        software = args.software
        api_url = args.url if SOURCES[software].document or is_document_url(args.url) else None
    else:
        detection = detect(args.url)
        log.info("%s", detection.summary)
        if detection.software is None:
            hint = "" if not detection.reachable else "; name the software with --software"
            record_failure(_lake(args), portal_id, args.url, "unknown", f"detection: {detection.summary}")
            raise CatalogError(detection.summary + hint)
        software, api_url = detection.software, detection.api_url
    url = base_of(args.url)
    return Portal(
        id=portal_id,
        title=args.url,
        url=url,
        software=software,
        api_url=api_url if api_url != url else None,
        filter=args.fq,
        api_key_env=args.api_key_env,
    )


def harvest_settings(args: argparse.Namespace) -> tuple[HttpSettings, HarvestLimits]:
    """The HTTP settings and limits a `catalog harvest` runs with: the library's defaults unless given."""
    settings = HttpSettings(retries=args.retries, read_timeout=args.timeout, request_deadline=args.deadline)
    return settings, HarvestLimits(max_seconds=args.time_budget)


def _one_site(known: str, given: str) -> bool:
    """Whether two URLs name one portal: the same origin, one path within the other (a portal's site and
    its API or catalogue document: `https://host` and `https://host/csw`)."""
    first, second = (urlsplit(url) for url in (known, given))
    if (first.scheme.lower(), first.netloc.lower()) != (second.scheme.lower(), second.netloc.lower()):
        return False
    paths = sorted(url.path.rstrip("/") + "/" for url in (first, second))
    return paths[1].startswith(paths[0])


def _same_portal(portal: Portal, lake: Lake, allowed: bool) -> None:
    """Refuse to harvest a URL under the id of a portal that lives elsewhere (registered, or harvested
    before, at another address): its history would mix two sites. `--same-portal` says it moved."""
    known = {registered.url} if (registered := load_registry().get(portal.id)) else set()
    runs = sorted(lake.runs(portal.id), key=lambda run: run["harvest_id"]) if lake.exists() else []
    known |= {runs[-1]["base_url"]} if runs else set()
    elsewhere = sorted(url for url in known if not _one_site(url, portal.url))
    if elsewhere and not allowed:
        raise CatalogError(
            f"portal {portal.id} lives at {elsewhere[0]}, not {portal.url}: one id for two sites would mix their "
            "histories. Choose another --portal id, or give --same-portal if the portal moved"
        )


def cmd_harvest(args: argparse.Namespace) -> int:
    if args.url:
        portal = _portal_at(args)
        _same_portal(portal, _lake(args), args.same_portal)
    else:
        portal = get_portal(args.portal)
    if args.rate is not None:  # this portal's rate, for this run: it outranks the registry's
        portal = dataclasses.replace(portal, requests_per_second=args.rate)
    settings, limits = harvest_settings(args)
    lake = _lake(args)
    run = harvest_portal(
        portal,
        lake,
        full=args.full,
        since=args.since,
        settings=settings,
        limits=limits,
        allow_mass_deletion=args.allow_mass_deletion,
        wait=args.wait,
        parallelism=Parallelism(workers=args.normalise_workers),
    )
    _refresh_derived(lake)
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
    if args.probes:
        columns = ["software", "found", "status", "latency_ms", "detail", "url"]
        rows = [[getattr(probe, column) for column in columns] for probe in detection.probes]
        _show(args, columns, rows)
    if detection.software is None:
        raise CatalogError(detection.summary)
    print(detection.summary)
    return 0


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
    lake = _lake(args)
    rows = check_portals(portals, lake, workers=args.workers)
    _refresh_derived(lake, snapshots=False)
    reachable = sum(1 for row in rows if row["reachable"])
    columns = ["portal_id", "reachable", "status", "detected_software", "latency_ms", "detail"]
    _show(args, columns, [[row[c] for c in columns] for row in rows])
    print(
        f"{len(rows)} portals checked in {time.monotonic() - started:.1f}s: {reachable} reachable; "
        f"written to portal_checks",
        file=sys.stderr,
    )
    return 0


def cmd_links(args: argparse.Namespace) -> int:
    lake = _readable_lake(args)
    settings = LinkCheckSettings(
        allow_private=args.allow_private,
        per_host_rate=args.rate,
        per_host_concurrency=args.per_host,
        timeout=args.timeout,
    )
    portals = [validate_portal_id(portal_id) for portal_id in args.portal or []]
    # aiohttp (about 20 MB and 0.2 s) is loaded by the one command that checks links, not by every harvest's
    from catalog.links.run import check_links  # noqa: PLC0415

    run = check_links(lake, portals=portals, budget=args.budget, minutes=args.minutes, settings=settings)
    _refresh_derived(lake)
    _show(args, ["outcome", "links"], sorted(run.outcomes.items(), key=lambda item: (-item[1], item[0])))
    alone = run.hosts_left_alone
    paused = (
        f"; {len(alone)} hosts left alone (timing out, unresolvable, throttling): {', '.join(alone[:5])}"
        if alone
        else ""
    )
    print(
        f"{run.checked} of {run.due} due links checked in {run.seconds:.1f}s, {run.deferred} deferred to the next "
        f"run{paused}; written to link_checks (see link_status)",
        file=sys.stderr,
    )
    return 0


def _refresh_derived(lake: Lake, *, snapshots: bool = True) -> None:
    """After a command wrote to the lake: its DuckDB file, and its current snapshots if it keeps them (the
    report and Dagster make them). DuckDB loads here, not at start-up, so that a harvest runs without it:
    20 MB less for the harvest and its workers together."""
    from catalog.snapshots import refresh_or_warn  # noqa: PLC0415
    from catalog.views import refresh_database  # noqa: PLC0415

    refresh_database(lake)
    if snapshots and lake.current_names():
        refresh_or_warn(lake)


def cmd_sql(args: argparse.Namespace) -> int:
    from catalog.views import query  # noqa: PLC0415 - see `_refresh_derived`

    lake = _readable_lake(args)
    if args.out:
        return _save_query(lake, args.query, Path(args.out).expanduser().resolve())
    columns, rows = query(lake, args.query)
    _show(args, columns, rows)
    return 0


def _save_query(lake: Lake, sql: str, out: Path) -> int:
    """Write a query's result to a file outside the lake: Parquet, or CSV, JSON or JSON lines, by its suffix.

    The query itself stays read-only; this process, not DuckDB, writes the file."""
    from catalog.views import read_only_query  # noqa: PLC0415 - see `_refresh_derived`

    if not lake.remote and out.is_relative_to(lake.root.resolve()):
        raise LakeError(f"{out}: --out must be outside the lake ({lake.root}), which queries only read")
    text_formats = {".csv": "csv", ".json": "json", ".jsonl": "jsonl"}
    if out.suffix != ".parquet" and out.suffix not in text_formats:
        raise CatalogError(f"{out}: --out takes a .parquet, .csv, .json or .jsonl file")
    with read_only_query(lake, sql) as cursor:
        if out.suffix == ".parquet":
            table = cursor.fetch_arrow_table()
            pq.write_table(table, out)
            count = table.num_rows
        else:
            columns, rows = [d[0] for d in cursor.description or []], cursor.fetchall()
            out.write_text(render(columns, rows, text_formats[out.suffix]), encoding="utf-8")
            count = len(rows)
    print(f"{out}: {count} rows", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from catalog.snapshots import export  # noqa: PLC0415 - see `_refresh_derived`

    out = Path(args.out).expanduser()
    portal_ids = [validate_portal_id(portal_id) for portal_id in args.portal] if args.portal else None
    manifest = export(_readable_lake(args), out, portal_ids, args.format)
    for table in manifest["tables"]:
        print(f"{out / table['files'][args.format]['file']}: {table['rows']} rows", file=sys.stderr)
    portals = len(manifest["portals"])
    print(
        f"{out}: {len(manifest['tables'])} tables of {portals} portal{'' if portals == 1 else 's'}, and manifest.json"
    )
    return 0


def cmd_duckdb(args: argparse.Namespace) -> int:
    from catalog.views import write_database  # noqa: PLC0415 - see `_refresh_derived`

    path = Path(args.file).expanduser().resolve()
    names = write_database(_readable_lake(args), path)
    print(f"{path}: {len(names)} views over {resolve_lake(args.lake)}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    lake = _lake(args)
    findings = examine(lake)
    if args.fix:
        findings = repair(lake, findings)
    columns = ["kind", "path", "detail", "action"]
    _show(args, columns, [[getattr(f, c) for c in columns] for f in findings])
    if findings and not args.fix:
        print(f"{len(findings)} problems: `catalog doctor --fix` quarantines or removes them", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    # matplotlib (30 MB) is loaded by the one command that draws, not by every harvest's process
    from catalog.report import write_report  # noqa: PLC0415
    from catalog.snapshots import refresh_or_warn  # noqa: PLC0415 - see `_refresh_derived`

    lake = _readable_lake(args)
    refresh_or_warn(lake)  # what its downloads page offers first; without them (a read-only lake) it still is written
    report = write_report(lake, Path(args.out).expanduser() if args.out else None)
    print(
        f"{report.out / 'index.html'}: {report.portals} portals, {report.datasets} datasets, {len(report.pages)} pages"
    )
    return 0


def cmd_portals(args: argparse.Namespace) -> int:
    columns = ["id", "software", "country", "province", "current_province", "city", "ascn_pilot_city", "cadence"]
    columns += ["url", "filter", "title"]
    _show(args, columns, [[getattr(p, c) for c in columns] for p in _selected_portals(args)])
    return 0


def cmd_sample_portal(args: argparse.Namespace) -> int:
    from catalog.sample.catalogue import generate  # noqa: PLC0415 - the demo's alone: 20 ms off every command
    from catalog.sample.server import InMemoryCatalogue, serve_portal  # noqa: PLC0415

    base_url = f"http://{args.host}:{args.port}"
    packages, organizations = generate(args.size, base_url=base_url)
    with serve_portal(InMemoryCatalogue(packages, organizations), host=args.host, port=args.port) as portal:
        print(f"sample CKAN portal with {args.size} datasets at {portal.url} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the command, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Harvest open data portal catalogues into a Parquet lake.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True)

    def lake_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--lake", help="lake root (default: $CATALOG_LAKE, else ./lake)")

    def format_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--format", choices=OUTPUT_FORMATS, default="table")
        command.add_argument("--wide", action="store_true", help="a table shows whole values, wider than the terminal")

    harvest = commands.add_parser("harvest", help="harvest a portal's catalogue into the lake")
    harvest.add_argument("url", nargs="?", help="a portal's URL (omit to use the registry's)")
    harvest.add_argument("--portal", required=True, help="portal id: a registry id, or a new slug for URL")
    harvest.add_argument("--software", choices=sorted(SOFTWARE), help="with URL: skip detection")
    harvest.add_argument("--fq", help="with URL: a CKAN filter query applied to every search")
    harvest.add_argument(
        "--api-key-env", help="with URL: the environment variable holding the portal's API key (never the key)"
    )
    harvest.add_argument(
        "--same-portal", action="store_true", help="with URL: it is the portal known under --portal, moved there"
    )
    harvest.add_argument("--full", action="store_true", help="re-read everything (default: incremental)")
    harvest.add_argument(
        "--since", type=_timestamp, help="incremental from this ISO 8601 time instead of the watermark"
    )
    defaults, limits = HttpSettings(), HarvestLimits()
    harvest.add_argument("--retries", type=COUNT, default=defaults.retries, help="retries per request (%(default)s)")
    harvest.add_argument(
        "--timeout", type=POSITIVE, default=defaults.read_timeout, help="read timeout in s (%(default)s)"
    )
    harvest.add_argument(
        "--deadline", type=POSITIVE, default=defaults.request_deadline, help="total s per request (%(default)s)"
    )
    harvest.add_argument(
        "--rate", type=NON_NEGATIVE, help=f"requests/s per host, 0: no cap ({defaults.requests_per_second})"
    )
    harvest.add_argument(
        "--time-budget", type=POSITIVE, default=limits.max_seconds, help="s the whole harvest may take (%(default)s)"
    )
    harvest.add_argument(
        "--allow-mass-deletion",
        action="store_true",
        help=f"accept deleting more than the portal's share ({limits.max_deletion_share:.0%}%) of its datasets",
    )
    harvest.add_argument(
        "--wait", type=NON_NEGATIVE, default=0, help="s to wait for another harvest of the portal to end (0)"
    )
    harvest.add_argument(
        "--normalise-workers",
        type=COUNT,
        default=Parallelism.workers,
        help="processes that normalise a large portal's records, 0: the harvest's own (%(default)s)",
    )
    lake_option(harvest)
    harvest.set_defaults(handler=cmd_harvest)

    detect_command = commands.add_parser("detect", help="find which portal software a URL runs, and its API")
    detect_command.add_argument("url")
    detect_command.add_argument("--probes", action="store_true", help="also list every probe made")
    detect_command.add_argument("--wide", action="store_true", help="the probes' table shows whole values")
    detect_command.add_argument("--timeout", type=POSITIVE, default=20.0, help="read timeout in s (%(default)s)")
    detect_command.set_defaults(handler=cmd_detect)

    def selection_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--country", help="only portals of this ISO 3166-1 country (e.g. VN)")
        command.add_argument("--software", choices=sorted(SOFTWARE), help="only portals running it")
        format_options(command)

    check = commands.add_parser("check", help="probe registered portals' liveness into portal_checks")
    check.add_argument("--portal", action="append", help="a registry id (repeatable; default: all)")
    check.add_argument(
        "--workers", type=_number(int, 1), default=MAX_WORKERS, help="portals probed at once (%(default)s)"
    )
    selection_options(check)
    lake_option(check)
    check.set_defaults(handler=cmd_check)

    links = commands.add_parser("links", help="check whether the due download links answer, into link_checks")
    links.add_argument("--portal", action="append", help="only links this portal lists (repeatable; default: all)")
    links.add_argument(
        "--budget", type=_number(int, 1), default=DEFAULT_BUDGET, help="links checked at most (%(default)s)"
    )
    links.add_argument(
        "--minutes", type=POSITIVE, default=DEFAULT_MINUTES, help="start no check after this long (%(default)s)"
    )
    links.add_argument(
        "--rate",
        type=NON_NEGATIVE,
        default=LinkCheckSettings.per_host_rate,
        help="requests per second to any one host (%(default)s; 0: unlimited)",
    )
    links.add_argument(
        "--per-host",
        type=_number(int, 1),
        default=LinkCheckSettings.per_host_concurrency,
        help="requests in flight to any one host (%(default)s)",
    )
    links.add_argument(
        "--timeout",
        type=POSITIVE,
        default=LinkCheckSettings.timeout,
        help="seconds one request may take, headers included (%(default)s)",
    )
    links.add_argument(
        "--allow-private",
        action="store_true",
        help="also check links to loopback and private addresses (tests, an intranet); refused by default",
    )
    format_options(links)
    lake_option(links)
    links.set_defaults(handler=cmd_links)

    sql = commands.add_parser("sql", help="run a read-only SQL query against the views")
    sql.add_argument("query")
    format_options(sql)
    sql.add_argument("--out", help="save the result to this .parquet, .csv, .json or .jsonl file (outside the lake)")
    lake_option(sql)
    sql.set_defaults(handler=cmd_sql)

    export_command = commands.add_parser("export", help="write the current tables as files, one per table")
    export_command.add_argument("--portal", action="append", help="only this portal (repeatable; default: all)")
    export_command.add_argument("--format", choices=EXPORT_FORMATS, default="parquet", help="(%(default)s)")
    export_command.add_argument("--out", required=True, help="the folder to write to (outside the lake)")
    lake_option(export_command)
    export_command.set_defaults(handler=cmd_export)

    database = commands.add_parser("duckdb", help="write a DuckDB database file holding the views")
    database.add_argument("file")
    lake_option(database)
    database.set_defaults(handler=cmd_duckdb)

    report = commands.add_parser("report", help="write a static HTML coverage report with a downloads page")
    report.add_argument("--out", help="output folder (default: <lake>/report)")
    lake_option(report)
    report.set_defaults(handler=cmd_report)

    doctor = commands.add_parser("doctor", help="list what in the lake is damaged or left over")
    doctor.add_argument("--fix", action="store_true", help="quarantine damaged files, clear what was left over")
    format_options(doctor)
    lake_option(doctor)
    doctor.set_defaults(handler=cmd_doctor)

    portals = commands.add_parser("portals", help="list the registered portals")
    selection_options(portals)
    portals.set_defaults(handler=cmd_portals)

    sample = commands.add_parser("sample-portal", help="serve the generated sample catalogue over the CKAN API")
    sample.add_argument("--host", default="127.0.0.1")
    sample.add_argument("--port", type=COUNT, default=8765)
    sample.add_argument("--size", type=COUNT, default=500, help="number of datasets")
    sample.set_defaults(handler=cmd_sample_portal)
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (what Dagster, Kubernetes and systemd send) ends a harvest as Ctrl-C does: recorded, cleaned up."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use_compact_memory()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    for noisy in QUIET_LOGGERS:  # their internals, not our requests: `-v` logs each request itself
        logging.getLogger(noisy).setLevel(logging.WARNING)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return args.handler(args)
    except SuspiciousHarvestError as exc:
        print(f"{PROG} {args.command}: SUSPICIOUS, NOTHING PUBLISHED: {exc}", file=sys.stderr)
        return SUSPICIOUS_EXIT
    except CatalogError as exc:
        print(f"{PROG} {args.command}: {exc}", file=sys.stderr)
    except _query_errors() as exc:
        print(f"{PROG} {args.command}: {str(exc).splitlines()[0]}", file=sys.stderr)
    except (OSError, ValueError) as exc:  # a path or value the system refuses (a NUL byte, a bad number)
        print(f"{PROG} {args.command}: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 1


def _query_errors() -> tuple[type[Exception], ...]:
    """DuckDB's errors, if the command loaded DuckDB (a harvest does not), to be reported as one line."""
    duckdb = sys.modules.get("duckdb")
    return (duckdb.Error,) if duckdb else ()


if __name__ == "__main__":
    sys.exit(main())
