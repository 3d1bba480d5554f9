"""The PostgreSQL instance variant (deploy/postgres/dagster.yaml) against a real PostgreSQL server
that the test starts (Debian's postgresql package; `make test` installs it): a partitioned harvest runs
on that instance, and its run and materialisations are found in the database."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from dagster import DagsterInstance

from catalog.lake import Lake
from pipelines.definitions import defs
from tests.conftest import REPO, real_packages

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
USER, DATABASE = "dagster", "dagster"


def run(*command: str) -> None:
    subprocess.run(as_server_user(list(command)), check=True, capture_output=True, timeout=120)


def as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres() -> Iterator[int]:
    assert PG_BIN, "PostgreSQL not found: install Debian's postgresql package (`make test` does)"
    bin_dir = Path(PG_BIN[-1])
    # Outside pytest's private temporary folder: the server's own user must reach it.
    root = Path(tempfile.mkdtemp(prefix="catalog-postgres-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run(str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "--no-sync")
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start")
    try:
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE)
        yield port
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_a_harvest_runs_on_the_postgres_instance(postgres, serve, tmp_path, monkeypatch) -> None:
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_PG_URL", f"postgresql+psycopg2://{USER}@127.0.0.1:{postgres}/{DATABASE}")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    portal = serve(real_packages())
    lake = Lake(tmp_path / "lake")
    run_config = {
        "resources": {
            "portals": {"config": {"url_overrides": {"gb-birmingham": portal.url}}},
            "lake": {"config": {"root": str(lake.root)}},
        }
    }
    with DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = defs.resolve_job_def("harvest_job").execute_in_process(
            run_config=run_config, partition_key="gb-birmingham", instance=instance
        )
    assert result.success
    with psycopg2.connect(host="127.0.0.1", port=postgres, user=USER, dbname=DATABASE) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT run_id, status FROM runs")
        assert cursor.fetchall() == [(result.run_id, "SUCCESS")]
        cursor.execute(
            "SELECT asset_key, partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' ORDER BY 1"
        )
        assert cursor.fetchall() == [('["catalog_tables"]', "gb-birmingham")]
    assert [run["datasets"] for run in lake.runs("gb-birmingham")] == [15]
