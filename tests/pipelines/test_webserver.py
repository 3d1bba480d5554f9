"""Dagster as a user meets it: `dagster dev` (webserver and daemon) on loopback with a temporary
DAGSTER_HOME, a partitioned harvest launched through the GraphQL API against a local portal, its
metadata read back, the daemon's automation sensor rebuilding what follows the harvest on its own, and
the UI opened in headless Chromium with screenshots saved."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
import requests
from dagster_graphql import DagsterGraphQLClient
from playwright.sync_api import sync_playwright

from catalog.sample.server import InMemoryCatalogue, organizations_of, serve_portal
from tests.conftest import REPO, real_packages

ARTIFACTS = Path(os.environ.get("CATALOG_ARTIFACTS", REPO / ".artifacts"))
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium")
REPOSITORY = "__repository__@catalog"  # the code location named in pyproject.toml [tool.dagster]
STARTUP_S = 120
RUN_S = 180
MATERIALIZATION_QUERY = """
query ($partition: String!) {
  assetOrError(assetKey: {path: ["catalog_tables"]}) {
    ... on Asset {
      assetMaterializations(partitions: [$partition], limit: 1) {
        runId
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on TextMetadataEntry { text }
        }
      }
    }
  }
}
"""


def dismiss_welcome(page) -> None:
    """A fresh instance greets its first visitor with a newsletter dialog: skip it, as a user would."""
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.first.click()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_dagster_dev(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`dagster dev` (webserver and daemon) from the repository root with `env`, until the block ends; its URL."""
    port = free_port()
    command = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)]
    # dagster dev stops on SIGINT. A shell that runs this suite in the background (`make test &`) leaves
    # SIGINT ignored, an ignored signal stays ignored across exec, and dagster dev would never stop: a
    # handler of our own is reset to the default in the child instead.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    log = log_path.open("wb")
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"dagster dev exited: {log_path.read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(1)
        else:
            pytest.fail(f"dagster dev did not answer within {STARTUP_S}s")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=90)  # a loaded machine: dagster dev removes its temporary home on the way out
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`dagster dev` serving this code location, as the Makefile's `make ui` runs it."""
    home = tmp_path_factory.mktemp("dagster-home")
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    lake = home / "lake"
    env = os.environ | {"DAGSTER_HOME": str(home), "CATALOG_LAKE": str(lake)}
    with running_dagster_dev(env, home / "dagster-dev.log") as url:
        yield url, lake


def test_a_bare_dagster_dev_from_the_repository_root_starts(tmp_path) -> None:
    """The first thing a Dagster user types, with no DAGSTER_HOME: it serves the code location (its runs
    then live in a temporary home for the session, which it removes on exit)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DAGSTER_", "CATALOG_"))}
    before = set(REPO.glob(".tmp_dagster_home_*"))
    with running_dagster_dev(env, tmp_path / "dagster-dev.log") as url:
        state = graphql(url, AUTOMATION_STATE_QUERY)
        assert len(state["schedulesOrError"]["results"]) == 3
    assert set(REPO.glob(".tmp_dagster_home_*")) == before


@pytest.fixture(scope="module")
def launched_run(dagster_dev, tmp_path_factory) -> Iterator[tuple[str, str, dict]]:
    """A harvest of the gb-birmingham partition, pointed at a local portal, launched over GraphQL."""
    url, _ = dagster_dev
    packages = real_packages()
    with serve_portal(InMemoryCatalogue(packages, organizations_of(packages))) as portal:
        client = DagsterGraphQLClient("127.0.0.1", port_number=int(url.rsplit(":", 1)[1]))
        run_id = client.submit_job_execution(
            "harvest_job",
            run_config={"resources": {"portals": {"config": {"url_overrides": {"gb-birmingham": portal.url}}}}},
            tags={"dagster/partition": "gb-birmingham"},
        )
        deadline = time.monotonic() + RUN_S
        status = None
        while time.monotonic() < deadline:
            status = client.get_run_status(run_id).value
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(1)
    answer = requests.post(
        f"{url}/graphql", json={"query": MATERIALIZATION_QUERY, "variables": {"partition": "gb-birmingham"}}, timeout=30
    ).json()
    yield run_id, status, answer


def test_a_partitioned_harvest_launched_over_graphql_succeeds(launched_run) -> None:
    run_id, status, answer = launched_run
    assert status == "SUCCESS"
    materialization = answer["data"]["assetOrError"]["assetMaterializations"][0]
    assert materialization["runId"] == run_id
    metadata = {
        entry["label"]: entry.get("intValue", entry.get("text")) for entry in materialization["metadataEntries"]
    }
    assert (metadata["datasets"], metadata["distributions"], metadata["publishers"]) == (15, 61, 6)
    assert (metadata["added"], metadata["modified"], metadata["deleted"]) == (15, 0, 0)
    assert metadata["mode"] == "full"


AUTOMATION_S = 300
LATEST_MATERIALIZATION_QUERY = """
query ($asset: String!) {
  assetOrError(assetKey: {path: [$asset]}) {
    ... on Asset { assetMaterializations(limit: 1) { runId timestamp } }
  }
}
"""
RUN_TAGS_QUERY = """
query ($runId: ID!) { runOrError(runId: $runId) { ... on Run { tags { key value } } } }
"""
AUTOMATION_STATE_QUERY = """
query {
  schedulesOrError(repositorySelector: {repositoryName: "__repository__", repositoryLocationName: "catalog"}) {
    ... on Schedules { results { name scheduleState { status } } }
  }
  sensorsOrError(repositorySelector: {repositoryName: "__repository__", repositoryLocationName: "catalog"}) {
    ... on Sensors { results { name sensorState { status } } }
  }
}
"""


def graphql(url: str, query: str, **variables: str) -> dict:
    return requests.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30).json()["data"]


def test_schedules_start_stopped_and_automation_running(dagster_dev) -> None:
    url, _ = dagster_dev
    state = graphql(url, AUTOMATION_STATE_QUERY)
    schedules = {s["name"]: s["scheduleState"]["status"] for s in state["schedulesOrError"]["results"]}
    assert schedules == dict.fromkeys(("daily_harvest", "weekly_full_harvest", "daily_liveness_check"), "STOPPED")
    sensors = {s["name"]: s["sensorState"]["status"] for s in state["sensorsOrError"]["results"]}
    assert sensors == dict.fromkeys(("default_automation_condition_sensor", "link_check_automation_sensor"), "RUNNING")


def test_the_daemon_rebuilds_views_snapshots_and_report_after_the_harvest(dagster_dev, launched_run) -> None:
    """Nobody launches them: the automation sensors, evaluated by the daemon, do (the portal's links too: its
    recorded records link to hosts this machine cannot resolve, so they are checked at once)."""
    url, lake = dagster_dev
    harvest_run, _, _ = launched_run
    deadline, built = time.monotonic() + AUTOMATION_S, {}
    followers = ("catalog_views", "current_snapshots", "coverage_report", "link_checks")
    while time.monotonic() < deadline and len(built) < len(followers):
        for asset in followers:
            found = graphql(url, LATEST_MATERIALIZATION_QUERY, asset=asset)["assetOrError"]["assetMaterializations"]
            if found:
                built[asset] = found[0]["runId"]
        time.sleep(2)
    assert set(built) == set(followers), built
    assert harvest_run not in built.values()
    tags = graphql(url, RUN_TAGS_QUERY, runId=built["link_checks"])["runOrError"]["tags"]
    assert {"key": "catalog/link_check", "value": "true"} in tags  # one link check run at a time
    assert {"key": "dagster/partition", "value": "gb-birmingham"} in tags
    manifest = json.loads((lake / "current" / "all" / "manifest.json").read_text())
    assert (manifest["portals"], manifest["tables"][0]["rows"]) == (["gb-birmingham"], 15)
    with duckdb.connect(str(lake / "catalog.duckdb"), read_only=True) as database:
        assert database.execute("SELECT count(*) FROM datasets").fetchone() == (15,)
    assert "current/all/datasets.parquet" in (lake / "report" / "downloads.html").read_text()


def test_the_ui_shows_the_asset_graph_and_the_run(dagster_dev, launched_run) -> None:
    url, _ = dagster_dev
    run_id, _, _ = launched_run
    assert CHROMIUM, "no chromium executable: install Debian's chromium package (`make test` does)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{url}/locations/{REPOSITORY}/asset-groups/harvest", wait_until="networkidle")
        dismiss_welcome(page)
        page.get_by_text("catalog_tables").first.wait_for(timeout=60_000)
        page.screenshot(path=ARTIFACTS / "dagster-asset-graph.png")
        page.goto(f"{url}/runs/{run_id}", wait_until="networkidle")
        dismiss_welcome(page)
        page.get_by_text("Success").first.wait_for(timeout=60_000)
        page.screenshot(path=ARTIFACTS / "dagster-run.png")
        browser.close()
    assert (ARTIFACTS / "dagster-asset-graph.png").stat().st_size > 10_000
