"""API keys come from the environment, reach the portal as a header, and appear nowhere else."""

from __future__ import annotations

import logging

import orjson
import pytest

from catalog.errors import HarvestError, RegistryError
from catalog.harvest import harvest_portal
from catalog.portals import portal_settings
from catalog.registry import Portal
from catalog.sample.server import JSON
from pipelines.resources import HttpResource
from tests.conftest import FAST, portal_at, real_packages

KEY = "sk-live-7c1f9e2a5b"


def test_the_key_is_sent_and_never_written_or_logged(serve, lake, monkeypatch, caplog) -> None:
    monkeypatch.setenv("TEST_PORTAL_API_KEY", KEY)
    portal = serve(real_packages())
    registered = portal_at(portal.url, api_key_env="TEST_PORTAL_API_KEY")
    with caplog.at_level(logging.DEBUG):
        harvest_portal(registered, lake, settings=FAST)
        # a portal that echoes the key back in its error message
        message = {"__type": "Authorization Error", "message": f"API key {KEY} has expired"}
        error = orjson.dumps({"success": False, "error": message})
        portal.options.intercept = lambda action, params: (403, error, JSON)
        with pytest.raises(HarvestError) as caught:
            harvest_portal(registered, lake, settings=FAST)

    assert {headers.get("Authorization") for _, headers in portal.server.log} == {KEY}
    assert str(caught.value).endswith("success=false (Authorization Error: API key *** has expired)")
    assert KEY not in caplog.text
    for path in lake.root.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in repr(portal_settings(registered, FAST))


def test_a_missing_key_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.delenv("TEST_PORTAL_API_KEY", raising=False)
    with pytest.raises(RegistryError, match="needs an API key in the environment variable TEST_PORTAL_API_KEY"):
        portal_settings(portal_at("http://127.0.0.1:9", api_key_env="TEST_PORTAL_API_KEY"))


def test_dagster_reads_the_key_through_envvar(monkeypatch) -> None:
    monkeypatch.setenv("TEST_PORTAL_API_KEY", KEY)
    portal = Portal(id="keyed", title="K", url="https://k.example", software="ckan", api_key_env="TEST_PORTAL_API_KEY")
    assert HttpResource().settings(portal).api_key == KEY
    assert HttpResource().settings(portal_at("https://k.example")).api_key is None


def test_registry_holds_only_variable_names() -> None:
    with pytest.raises(RegistryError, match="is not an environment variable name"):
        Portal(id="keyed", title="K", url="https://k.example", software="ckan", api_key_env="sk-live-123")
