"""Every CLI error is one line: the `catalog` command fed arguments a hurried or careless user types."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.cli import main
from catalog.harvest import harvest_portal
from catalog.lake import Lake
from catalog.sample.server import InMemoryCatalogue, organizations_of, serve_portal
from tests.conftest import FAST, portal_at, real_packages

COMMANDS = ["harvest", "detect", "sql", "duckdb", "export", "report", "doctor", "portals", "check"]
VALUES = {
    "--lake": ["/nonexistent/typo", "", "lake[1]", "{lake}", "s3:/", "\x00"],
    "--portal": ["vn-open-data", "../escape", "", "NO", "a--b", "nowhere", "x" * 300],
    "--timeout": ["0", "-1", "nan", "inf", "abc", "1e309", "0.001"],
    "--deadline": ["0", "nan", "-3"],
    "--retries": ["-1", "1.5", "x", "99999999999999999999"],
    "--since": ["2999-01-01", "yesterday", "", "2026-13-45", "2020-01-01T00:00:00+25:00"],
    "--rate": ["-5", "nan", "inf", "1e-300"],
    "--time-budget": ["0", "-1", "inf"],
    "--wait": ["-1", "nan"],
    "--format": ["table", "csv", "xml", ""],
    "--software": ["ckan", "wordpress", ""],
    "--workers": ["0", "-2", "many"],
    "--country": ["VN", "vietnam", ""],
    "--out": ["{lake}/inside.parquet", "/nonexistent/dir/x.csv", "out.txt", ""],
}
POSITIONALS = [
    "http://127.0.0.1:9",
    "ftp://example.org/data.json",
    "not a url",
    "",
    "SELECT 1",
    "COPY (SELECT 1) TO 'x.csv'",
    ";;",
    "SELECT * FROM datasets",
    "SELEC",
    "SELECT '\x00'",
    "-",
]
FLAGS = ["--full", "--allow-mass-deletion", "--probes", "--fix", "--wide", "--same-portal", "--bogus", "-v"]


def arguments(lake: str) -> st.SearchStrategy[list[str]]:
    option = st.sampled_from(sorted(VALUES)).flatmap(
        lambda name: st.sampled_from(VALUES[name]).map(lambda value: [name, value.replace("{lake}", lake)])
    )
    piece = st.one_of(
        option, st.sampled_from(POSITIONALS).map(lambda p: [p]), st.sampled_from(FLAGS).map(lambda f: [f])
    )
    return st.tuples(st.sampled_from(COMMANDS), st.lists(piece, max_size=5)).map(
        lambda drawn: [drawn[0], *[part for piece in drawn[1] for part in piece]]
    )


@pytest.fixture(scope="module", autouse=True)
def elsewhere(tmp_path_factory) -> Iterator[None]:
    """Run from a scratch folder: `duckdb SELEC` or `export --out ''` write where they are told, and the
    repository is not the place."""
    with contextlib.chdir(tmp_path_factory.mktemp("cwd")):
        yield


@pytest.fixture(scope="module")
def harvested_lake(tmp_path_factory) -> str:
    lake = Lake(tmp_path_factory.mktemp("fuzz") / "lake")
    with serve_portal(InMemoryCatalogue(real_packages(), organizations_of(real_packages()))) as portal:
        harvest_portal(portal_at(portal.url, "fuzzed"), lake, settings=FAST)
    return str(lake.root)


def run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return code, err.getvalue()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_error_is_one_line(harvested_lake, data) -> None:
    argv = data.draw(arguments(harvested_lake))
    if argv[0] == "check" and "--portal" not in argv:
        argv += ["--portal", "nowhere"]  # probing the whole registry takes a minute offline; one portal says the same
    code, err = run(argv)
    assert code in (0, 1, 2, 3), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    lines = [line for line in err.splitlines() if line.strip()]
    if code != 0:
        assert len(lines) == 1 and lines[0].startswith("catalog"), (argv, err)
