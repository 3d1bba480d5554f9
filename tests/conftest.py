"""Shared test fixtures: real recorded portal responses (read from ../shared/fixtures) and local portals.

The recorded responses are never copied into the repository: they are read at test time from the
folder beside it (or from $CATALOG_FIXTURES). Portals are served over HTTP on loopback, so every test
exercises the real client, paging and parsing.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog.lake import Lake
from catalog.registry import Portal
from catalog.sample.server import InMemoryCatalogue, PortalOptions, RunningPortal, organizations_of, serve_portal

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("CATALOG_FIXTURES", REPO.parent / "shared" / "fixtures"))

BIRMINGHAM_SEARCH = "ckan/data.birmingham.gov.uk/package_search_q-purchase-card.json"
DATA_GOV_UK_SHOWS = [
    "ckan/data.gov.uk/v26_package_show_inspire.json",
    "ckan/data.gov.uk/v26_package_show_update.json",
    "ckan/data.gov.uk/v26_package_show_create.json",
    "ckan/data.gov.uk/v26_package_show_empty.json",
    "ckan/data.gov.uk/v26_new_api_package_show_inspire.json",
]
CANADA_ORGANIZATIONS = "ckan/open.canada.ca/organization_list_all_fields.json"


def pytest_configure(config: pytest.Config) -> None:
    if not (FIXTURES / "MANIFEST.md").is_file():
        raise pytest.UsageError(f"recorded portal fixtures not found at {FIXTURES} (set CATALOG_FIXTURES)")


def load_fixture(relative: str) -> Any:
    """A recorded JSON response. data.gov.uk's organisation files carry `//` comment lines: skipped."""
    text = (FIXTURES / relative).read_text(encoding="utf-8")
    return json.loads("\n".join(line for line in text.splitlines() if not line.startswith("//")))


def birmingham_packages() -> list[dict[str, Any]]:
    """The 10 real package_search results recorded from data.birmingham.gov.uk."""
    return load_fixture(BIRMINGHAM_SEARCH)["result"]["results"]


def data_gov_uk_packages() -> list[dict[str, Any]]:
    """The 5 real package_show results recorded from data.gov.uk (2018)."""
    return [load_fixture(path)["result"] for path in DATA_GOV_UK_SHOWS]


def real_packages() -> list[dict[str, Any]]:
    """Every real CKAN package record in the fixtures: 10 from Birmingham, 5 from data.gov.uk."""
    return birmingham_packages() + data_gov_uk_packages()


def multiplied(records: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    """`total` packages built from real ones: content kept, ids, names and creation times made unique."""
    packages = []
    for index in range(total):
        package = copy.deepcopy(records[index % len(records)])
        package["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-package-{index}"))
        package["name"] = f"{package['name']}-{index}"
        package["metadata_created"] = f"2020-01-01T00:00:00.{index:06d}"
        packages.append(package)
    return packages


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningPortal]]:
    """Serve packages as a CKAN portal: `serve(packages, organizations=None, **options)`."""
    running: list[Any] = []

    def start(
        packages: list[dict[str, Any]], organizations: list[dict[str, Any]] | None = None, **options: Any
    ) -> RunningPortal:
        catalogue = InMemoryCatalogue(
            list(packages), organizations if organizations is not None else organizations_of(packages)
        )
        context = serve_portal(catalogue, PortalOptions(**options))
        running.append(context)
        return context.__enter__()

    yield start
    for context in reversed(running):
        context.__exit__(None, None, None)


def portal_at(url: str, portal_id: str = "test-portal", **fields: Any) -> Portal:
    return Portal(id=portal_id, title="Test portal", url=url, software="ckan", country="GB", **fields)
