"""The `catalog` command, called as a user would (in-process, real HTTP to a local portal)."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from importlib.metadata import entry_points

import duckdb
import pytest

from catalog.cli import _one_site, build_parser, main
from tests.conftest import real_packages
from tests.routes import serve_routes, static


@pytest.fixture
def harvested_lake(serve, lake, capsys):
    portal = serve(real_packages())
    assert main(["harvest", portal.url, "--portal", "uk-sample", "--lake", str(lake.root)]) == 0
    capsys.readouterr()
    return lake


def test_harvest_prints_one_summary_line(serve, lake, capsys) -> None:
    portal = serve(real_packages())
    assert main(["harvest", portal.url, "--portal", "uk-sample", "--lake", str(lake.root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "uk-sample: full harvest 2"  # the harvest id starts with the year
    )
    assert "15 datasets fetched; 15 added, 0 modified, 0 deleted; 61 distributions, 6 publishers; 3 requests in" in out


def test_harvest_failure_is_one_line_and_leaves_the_lake(serve, harvested_lake, capsys) -> None:
    portal = serve([])
    portal.options.intercept = lambda action, params: (200, b"<!doctype html><title>Oops</title>", "text/html")
    before = sorted(p for p in (harvested_lake.root / "harvests").rglob("*"))
    lake_root = str(harvested_lake.root)
    command = ["harvest", portal.url, "--portal", "uk-sample", "--software", "ckan", "--lake", lake_root]
    code = main([*command, "--retries", "0", "--same-portal"])  # the same portal, moved to another port
    err = capsys.readouterr().err
    host = portal.url.removeprefix("http://")
    assert code == 1
    assert err == f"catalog harvest: {host}: package_search: HTTP 200, an HTML page instead of JSON\n"
    assert sorted(p for p in (harvested_lake.root / "harvests").rglob("*")) == before


def test_invalid_portal_id_is_rejected(lake, capsys) -> None:
    assert main(["harvest", "http://127.0.0.1:9", "--portal", "../escape", "--lake", str(lake.root)]) == 1
    assert "invalid portal id '../escape'" in capsys.readouterr().err
    assert not lake.root.exists()


def test_unknown_registry_portal(lake, capsys) -> None:
    assert main(["harvest", "--portal", "no-such-portal", "--lake", str(lake.root)]) == 1
    assert (
        capsys.readouterr().err
        == "catalog harvest: portal 'no-such-portal' is not in the registry (see `catalog portals`)\n"
    )


def test_sql_csv(harvested_lake, capsys) -> None:
    sql = "SELECT name, num_distributions FROM datasets WHERE publisher_name = 'Durham County Council'"
    assert main(["sql", sql, "--lake", str(harvested_lake.root), "--format", "csv"]) == 0
    assert list(csv.reader(io.StringIO(capsys.readouterr().out))) == [
        ["name", "num_distributions"],
        ["ford-crossings", "2"],
    ]


def test_sql_json(harvested_lake, capsys) -> None:
    sql = "SELECT name, keywords, modified FROM datasets WHERE name = 'purchase-card-transactions'"
    assert main(["sql", sql, "--lake", str(harvested_lake.root), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {
            "name": "purchase-card-transactions",
            "keywords": ["payments", "purchase card"],
            "modified": "2021-01-15T10:25:28.638659+00:00",
        }
    ]


def test_sql_table(harvested_lake, capsys) -> None:
    sql = "SELECT publisher_name, datasets FROM coverage_by_publisher ORDER BY datasets DESC, 1 LIMIT 2"
    assert main(["sql", sql, "--lake", str(harvested_lake.root)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "publisher_name           datasets",
        "-----------------------  --------",
        "Birmingham City Council  10",
        "City of York Council     1",
        "(2 rows)",
    ]


def test_sql_error_is_one_line(harvested_lake, capsys) -> None:
    assert main(["sql", "SELECT * FROM no_such_view", "--lake", str(harvested_lake.root)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("catalog sql: Catalog Error: Table with name no_such_view does not exist")
    assert err.count("\n") == 1


def test_lake_from_environment(harvested_lake, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CATALOG_LAKE", str(harvested_lake.root))
    assert main(["sql", "SELECT count(*) AS n FROM datasets", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "n\n15\n"


def test_duckdb_file(harvested_lake, tmp_path, capsys) -> None:
    target = tmp_path / "out.duckdb"
    assert main(["duckdb", str(target), "--lake", str(harvested_lake.root)]) == 0
    assert capsys.readouterr().out.startswith(f"{target}: ")
    with duckdb.connect(str(target), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM publishers").fetchone() == (6,)


def test_portals_lists_the_registry(capsys) -> None:
    assert main(["portals", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    by_id = {row["id"]: row for row in rows}
    assert by_id["vn-open-data"]["url"] == "https://open.data.gov.vn"
    assert by_id["vn-odm"]["filter"] == "extras_odm_spatial_range:vn"
    assert by_id["vn-hai-phong"]["province"] == "VN-HP"
    assert by_id["vn-long-an"]["current_province"] == "VN34-80 Tây Ninh"  # Long An is part of Tây Ninh since 2025
    assert by_id["ca-alberta"]["current_province"] == ""  # derived for Vietnam only


def test_a_url_is_not_harvested_under_the_id_of_a_portal_elsewhere(serve, harvested_lake, capsys) -> None:
    elsewhere = serve(real_packages())
    lake_root = str(harvested_lake.root)
    assert main(["harvest", elsewhere.url, "--portal", "uk-sample", "--software", "ckan", "--lake", lake_root]) == 1
    assert "portal uk-sample lives at http://127.0.0.1:" in capsys.readouterr().err
    assert elsewhere.requests == 0
    registered = ["harvest", elsewhere.url, "--portal", "vn-open-data", "--software", "ckan", "--lake", lake_root]
    assert main(registered) == 1
    assert "portal vn-open-data lives at https://open.data.gov.vn" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("known", "given", "same"),
    [
        ("https://data.gov.vn", "https://data.gov.vn/", True),
        ("https://data.gov.vn", "https://DATA.gov.vn/api/3/action/package_search", True),  # its API
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/csw", True),  # its catalogue document
        ("https://host/a", "https://host/b", False),  # two instances on one host
        ("https://host/data", "https://host/database", False),
        ("https://host", "http://host", False),
        ("https://host:8443", "https://host", False),
    ],
)
def test_one_site_is_the_same_origin_and_one_path_within_the_other(known, given, same) -> None:
    assert _one_site(known, given) is same


def test_a_failed_detection_is_recorded_and_its_hint_fits_the_cause(lake, capsys) -> None:
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{unused.getsockname()[1]}"
    assert main(["harvest", refused, "--portal", "nowhere", "--lake", str(lake.root)]) == 1
    err = capsys.readouterr().err
    assert "unreachable (connection refused)" in err and "--software" not in err
    with serve_routes({"/": static(b"<html>a blog</html>", "text/html")}) as server:
        assert main(["harvest", server.base_url, "--portal", "blog", "--lake", str(lake.root)]) == 1
    assert "no known catalogue API answered; name the software with --software" in capsys.readouterr().err
    runs = {run["portal_id"]: run for portal in ("nowhere", "blog") for run in lake.runs(portal)}
    assert {portal: run["status"] for portal, run in runs.items()} == {"nowhere": "failed", "blog": "failed"}
    assert runs["nowhere"]["error"].startswith("detection: ")


def test_every_command_explains_itself(capsys) -> None:
    """`--help` of every command renders (a `%` in a help text once broke `catalog harvest --help`)."""
    commands = build_parser()._subparsers._group_actions[0].choices  # argparse keeps the commands there
    for name in commands:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0, name
        assert f"usage: catalog {name}" in capsys.readouterr().out
    assert {"harvest", "detect", "links", "sql", "report"} <= set(commands)


def test_the_command_loads_no_library_only_one_software_or_command_needs() -> None:
    """rdflib (DCAT), aiohttp (the link check) and the sample portal's server load when used: every
    harvest paid for them before."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, catalog.cli; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "'catalog'" in loaded and "'pyarrow'" in loaded
    assert "'rdflib'" not in loaded and "'aiohttp'" not in loaded and "'duckdb'" not in loaded
    assert "'catalog.sample.server'" not in loaded and "'http.server'" not in loaded


HARVEST_AND_LIST_MODULES = """
import sys, tempfile
from catalog.harvest import Parallelism, harvest_portal
from catalog.lake import Lake
from catalog.registry import Portal
from catalog.sample.catalogue import generate
from catalog.sample.server import InMemoryCatalogue, serve_portal

with serve_portal(InMemoryCatalogue(*generate(1_200))) as portal, tempfile.TemporaryDirectory() as folder:
    site = Portal(id="sample", title="Sample", url=portal.url, software="ckan", country="VN", requests_per_second=0)
    for _ in range(2):  # a first harvest, then one against the current state
        run = harvest_portal(site, Lake(folder), parallelism=Parallelism(from_records=100))
        print(run.status, run.added, file=sys.stderr)
print(sorted(m for m in sys.modules if "." not in m))
"""


def test_a_harvest_runs_without_duckdb() -> None:
    """DuckDB (20 MB in every harvest's footprint) serves the views; a harvest reads its portal's own files
    with Arrow, and the command loads DuckDB after the harvest, to refresh what the lake keeps of it."""
    done = subprocess.run([sys.executable, "-c", HARVEST_AND_LIST_MODULES], capture_output=True, text=True, check=True)
    assert done.stderr.splitlines()[-2:] == ["complete 1200", "complete 0"]
    assert "'pyarrow'" in done.stdout and "'duckdb'" not in done.stdout


def test_the_installed_command_runs_main_and_exits_with_its_code(serve, lake) -> None:
    """`catalog` (and `python -m catalog`) is `run`: `main`, the collector off while it imports and frozen
    for the interpreter's end. The exit code is main's, and a harvest's files and run record are whole."""
    (script,) = entry_points(group="console_scripts", name="catalog")
    assert script.value == "catalog.__main__:run"
    command = [sys.executable, "-m", "catalog"]
    portal = serve(real_packages())
    harvest = [*command, "harvest", portal.url, "--portal", "uk-sample", "--lake", str(lake.root)]
    done = subprocess.run(harvest, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "15 datasets fetched; 15 added, 0 modified, 0 deleted; 61 distributions" in done.stdout
    (record,) = lake.runs("uk-sample")
    assert (record["status"], record["added"], record["distributions"]) == ("complete", 15, 61)
    unknown = [*command, "harvest", "--portal", "no-such-portal", "--lake", str(lake.root)]
    refused = subprocess.run(unknown, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 1
    assert "no-such-portal" in refused.stderr


THREADS_AT_EXIT = """
import atexit, os, sys
atexit.register(lambda: print(len(os.listdir("/proc/self/task"))))
sys.argv = ["catalog", "--version"]
from catalog.__main__ import run
run()
"""


def test_the_command_starts_no_blas_threads_unless_asked() -> None:
    """numpy (pyarrow imports it) would start OpenBLAS threads that spin for CPU the command never uses;
    a user's own OPENBLAS_NUM_THREADS still wins."""
    environment = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}

    def threads(**more: str) -> int:
        command = [sys.executable, "-c", THREADS_AT_EXIT]
        done = subprocess.run(command, env=environment | more, capture_output=True, text=True, check=True)
        return int(done.stdout.split()[-1])

    assert threads() < threads(OPENBLAS_NUM_THREADS="2")
