"""API keys come from the environment, reach the portal as a header, and appear nowhere else.

A canary key goes through every adapter, the CLI and Dagster, against portals that echo it back (in
a record, in a malformed answer) or redirect it to another origin; then the lake, the logs and the
Dagster home are searched for it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from dagster import DagsterInstance, materialize

from catalog.errors import HarvestError, RegistryError
from catalog.harvest import harvest_portal
from catalog.lake import Lake
from catalog.registry import Portal, get_portal
from catalog.sources import portal_settings
from pipelines.assets.harvest import catalog_tables
from pipelines.resources import HttpResource
from tests.catalog.sources.test_arcgis import hub_item, hub_search
from tests.catalog.sources.test_dkan import dkan_routes, real_and_copies
from tests.catalog.sources.test_opendatasoft import ods_api, ods_record
from tests.catalog.sources.test_socrata import discovery_api, socrata_result
from tests.conftest import FAST, REPO, portal_at, real_packages
from tests.hostile import echoing
from tests.pipelines.test_harvest_assets import harvest_resources
from tests.routes import Responder, redirect, serve_routes, static

KEY = "sk-canary-7c1f9e2a5b"
KEY_ENV = "CANARY_PORTAL_API_KEY"


def ckan_routes() -> dict[str, Responder]:
    packages = [dict(package, title="ECHO") for package in real_packages()[:2]]
    page = orjson.dumps({"success": True, "result": {"count": 2, "results": packages}})
    return {
        "/api/3/action/package_search": static(page),
        "/api/3/action/organization_list": static(b'{"success": true, "result": []}'),
    }


def dcat_routes() -> dict[str, Responder]:
    turtle = (
        b"@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .\n"
        b'<http://example.org/d/1> a dcat:Dataset ; dct:title "ECHO" .\n'
    )
    return {"/catalog.ttl": static(turtle, "text/turtle")}


def datajson_routes() -> dict[str, Responder]:
    return {"/data.json": static(orjson.dumps({"dataset": [{"identifier": "d1", "title": "ECHO"}]}))}


def titled(record: dict[str, Any], *path: str) -> dict[str, Any]:
    """`record` with the value at `path` set to ECHO."""
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "ECHO"
    return record


# software -> (API key header, routes of a small portal whose first record's title is "ECHO")
PORTALS: dict[str, tuple[str, Callable[[], dict[str, Responder]]]] = {
    "ckan": ("Authorization", ckan_routes),
    "dkan": ("Authorization", lambda: dkan_routes([titled(real_and_copies(1)[0], "title")])),
    "datajson": ("Authorization", datajson_routes),
    "dcat": ("Authorization", dcat_routes),
    "socrata": ("X-App-Token", lambda: discovery_api([titled(socrata_result(1), "resource", "name")])),
    "opendatasoft": ("Authorization", lambda: ods_api([titled(ods_record(1), "metas", "default", "title")])),
    "arcgis": ("Authorization", lambda: hub_search([titled(hub_item(1), "properties", "title")])),
}


def assert_nowhere(*places: Path | str) -> None:
    """The canary is in none of these files (searched whole, recursively) or texts."""
    for place in places:
        if isinstance(place, Path):
            for path in [place, *place.rglob("*")] if place.is_dir() else [place]:
                if path.is_file():
                    assert KEY.encode() not in path.read_bytes(), path
        else:
            assert KEY not in place


@pytest.fixture
def canary(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)


@pytest.mark.parametrize("software", sorted(PORTALS))
def test_a_key_echoed_in_records_is_masked_in_the_lake(canary, software, lake, caplog) -> None:
    header, routes = PORTALS[software]
    echoed = {path: echoing(header, responder) for path, responder in routes().items()}
    with caplog.at_level(logging.DEBUG), serve_routes(echoed) as server:
        run = harvest_portal(portal_at(server.base_url, software=software, api_key_env=KEY_ENV), lake, settings=FAST)
    assert run.status == "complete" and run.datasets >= 1
    assert {headers.get(header.lower()) for _, _, headers in server.requests} == {KEY}  # the portal got it
    assert_nowhere(lake.root, caplog.text)
    assert any(b"***" in path.read_bytes() for path in lake.root.rglob("datasets.parquet") if path.stat().st_size)


@pytest.mark.parametrize("software", sorted(PORTALS))
def test_a_key_echoed_in_a_malformed_answer_is_masked_in_the_error(canary, software, lake, caplog) -> None:
    header, routes = PORTALS[software]
    malformed = {path: echoing(header, responder, malformed=True) for path, responder in routes().items()}
    with caplog.at_level(logging.DEBUG), serve_routes(malformed) as server, pytest.raises(HarvestError) as caught:
        harvest_portal(portal_at(server.base_url, software=software, api_key_env=KEY_ENV), lake, settings=FAST)
    assert_nowhere(str(caught.value), lake.root, caplog.text)
    assert lake.runs("test-portal")[0]["status"] == "failed"


@pytest.mark.parametrize("software", sorted(PORTALS))
def test_a_key_is_not_sent_across_origins(canary, software, lake) -> None:
    header, routes = PORTALS[software]
    with (
        serve_routes(routes()) as elsewhere,
        serve_routes({path: redirect(elsewhere.base_url + path) for path in routes()}) as portal,
    ):
        run = harvest_portal(portal_at(portal.base_url, software=software, api_key_env=KEY_ENV), lake, settings=FAST)
    assert run.status == "complete"
    assert {headers.get(header.lower()) for _, _, headers in portal.requests} == {KEY}
    assert elsewhere.requests and all(header.lower() not in headers for _, _, headers in elsewhere.requests)


def test_the_cli_never_prints_or_stores_the_key(tmp_path) -> None:
    lake = tmp_path / "lake"
    header, routes = PORTALS["ckan"]
    malformed = {path: echoing(header, responder, malformed=True) for path, responder in routes().items()}
    with serve_routes(malformed) as server:
        command = [sys.executable, "-m", "catalog.cli", "-v", "harvest", server.base_url, "--portal", "keyed"]
        command += ["--software", "ckan", "--api-key-env", KEY_ENV, "--lake", str(lake), "--retries", "0"]
        result = subprocess.run(
            command, cwd=REPO, env=os.environ | {KEY_ENV: KEY}, capture_output=True, text=True, timeout=120, check=False
        )
    assert result.returncode == 1
    assert "package_search: HTTP 200, body is not valid JSON" in result.stderr
    assert {headers.get("authorization") for _, _, headers in server.requests} == {KEY}
    assert_nowhere(result.stdout, result.stderr, lake)


def test_dagster_never_stores_the_key(canary, tmp_path, monkeypatch) -> None:
    home, lake = tmp_path / "dagster-home", Lake(tmp_path / "lake")
    home.mkdir()
    keyed = Portal(**(vars(get_portal("gb-birmingham")) | {"api_key_env": KEY_ENV}))
    monkeypatch.setattr("pipelines.resources.get_portal", lambda portal_id: keyed)
    header, routes = PORTALS["ckan"]
    for malformed in (False, True):
        answers = {path: echoing(header, responder, malformed=malformed) for path, responder in routes().items()}
        with serve_routes(answers) as server, DagsterInstance.local_temp(tempdir=str(home)) as instance:
            resources = harvest_resources(lake, {"gb-birmingham": server.base_url})
            config = {"ops": {"catalog_tables": {"config": {"transient_retries": 0}}}}
            result = materialize(
                [catalog_tables],
                partition_key="gb-birmingham",
                resources=resources,
                instance=instance,
                run_config=config,
                raise_on_error=False,
            )
        assert result.success is not malformed
    assert [run["status"] for run in sorted(lake.runs("gb-birmingham"), key=lambda r: r["harvest_id"])] == [
        "complete",
        "failed",
    ]
    assert_nowhere(home, lake.root)


def test_a_missing_key_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(RegistryError, match=f"needs an API key in the environment variable {KEY_ENV}"):
        portal_settings(portal_at("http://127.0.0.1:9", api_key_env=KEY_ENV))


def test_dagster_reads_the_key_through_envvar(canary) -> None:
    portal = Portal(id="keyed", title="K", url="https://k.example", software="ckan", api_key_env=KEY_ENV)
    assert HttpResource().settings(portal).api_key == KEY
    assert HttpResource().settings(portal_at("https://k.example")).api_key is None
    assert KEY not in repr(HttpResource().settings(portal))


def test_registry_holds_only_variable_names() -> None:
    with pytest.raises(RegistryError, match="is not an environment variable name"):
        Portal(id="keyed", title="K", url="https://k.example", software="ckan", api_key_env="sk-live-123")
