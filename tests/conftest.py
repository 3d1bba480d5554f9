"""Shared test fixtures: real recorded portal responses (read from ../shared/fixtures) and local portals.

The recorded responses are never copied into the repository: they are read at test time from the
folder beside it (or from $CATALOG_FIXTURES). Portals are served over HTTP on loopback, so every test
exercises the real client, paging and parsing.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.harvest import HarvestRun, Progress, harvest_portal
from catalog.http import HttpSettings
from catalog.lake import Lake
from catalog.liveness import check_portals
from catalog.registry import Portal, get_portal
from catalog.sample.catalogue import generate, organization, slugify
from catalog.sample.server import InMemoryCatalogue, PortalOptions, RunningPortal, organizations_of, serve_portal
from catalog.views import query
from tests import recorded
from tests.routes import Responder, serve_routes, static

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("CATALOG_FIXTURES", REPO.parent / "shared" / "fixtures"))


SHIPPED = HttpSettings()
"""What users get: `catalog harvest` and the Dagster resource use these defaults (rate limit on, 4 retries
with backoff, 10 s / 60 s timeouts, a 300 s deadline per request). Tests that exercise them use this."""

FAST = HttpSettings(retries=1, backoff_factor=0, read_timeout=5, connect_timeout=2, requests_per_second=0)
"""Fast settings beside the shipped ones, never instead of them. What they override, and why:
- requests_per_second 0: local portals answer at once; the shipped 5/s is tested in test_http and by
  the fault suite, which runs with both SHIPPED and these settings;
- retries 1, backoff_factor 0: a permanent fault fails in milliseconds; the shipped retry policy is
  checked on the adapter a default session mounts, and exercised end to end by the fault suite;
- read_timeout 5, connect_timeout 2: a portal on loopback never needs more, and a test that waits
  out a timeout must not wait 60 s; the fault suite's SHIPPED run overrides only the read timeout,
  for the same reason.
"""


def pytest_configure(config: pytest.Config) -> None:
    if not (FIXTURES / "MANIFEST.md").is_file():
        raise pytest.UsageError(f"recorded portal fixtures not found at {FIXTURES} (set CATALOG_FIXTURES)")


def load_fixture(relative: str) -> Any:
    return recorded.load_recording(FIXTURES, relative)


def birmingham_packages() -> list[dict[str, Any]]:
    return recorded.birmingham_packages(FIXTURES)


def data_gov_uk_packages() -> list[dict[str, Any]]:
    return recorded.data_gov_uk_packages(FIXTURES)


def real_packages() -> list[dict[str, Any]]:
    return recorded.real_packages(FIXTURES)


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


def published_files(lake: Lake) -> dict[str, str]:
    """sha256 of every published harvest file: compares snapshots byte for byte."""
    return {
        str(path.relative_to(lake.root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((lake.root / "harvests").rglob("*"))
        if path.is_file()
    }


def portal_at(url: str, portal_id: str = "test-portal", **fields: Any) -> Portal:
    return Portal(**{"id": portal_id, "title": "Test portal", "url": url, "software": "ckan", "country": "GB"} | fields)


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def cassette_body(relative: str) -> bytes:
    """The response body of a vcrpy cassette's first interaction (its YAML tags python/unicode as text)."""
    loader = type("CassetteLoader", (yaml.SafeLoader,), {})
    loader.add_constructor("tag:yaml.org,2002:python/unicode", lambda load, node: load.construct_scalar(node))
    cassette = yaml.load((FIXTURES / relative).read_text(encoding="utf-8"), Loader=loader)
    return cassette["interactions"][0]["response"]["body"]["string"].encode()


@pytest.fixture
def harvest_served(lake: Lake) -> Callable[..., HarvestRun]:
    """Serve routes on loopback and harvest them as a portal of `software` into `lake`.

    `api_path` becomes the portal's `api_url` under the server; any other keyword is a registry field.
    """

    def run(routes: dict[str, Responder], software: str, *, api_path: str | None = None, **fields: Any) -> HarvestRun:
        with serve_routes(routes) as server:
            api_url = server.base_url + api_path if api_path else None
            portal = portal_at(server.base_url, software=software, api_url=api_url, **fields)
            return harvest_portal(portal, lake, settings=FAST, progress=Progress(portal.id, enabled=False))

    return run


def rows(lake: Lake, sql: str, *parameters: object) -> list[dict[str, Any]]:
    """A query over the lake's views, as dicts."""
    columns, found = query(lake, sql, parameters)
    return [dict(zip(columns, row, strict=True)) for row in found]


FIXTURE_PORTALS: dict[str, tuple[str, dict[str, str], str | None]] = {
    # portal id -> (software, {path: fixture file}, api path); CKAN portals are served separately
    "us-cfpb": ("datajson", {"/data.json": "dcat-us/us-federal-agencies/consumerfinance_data.json"}, None),
    "us-opm": ("datajson", {"/data.json": "dcat-us/us-federal-agencies/opm_data.json"}, None),
    "us-fda": ("datajson", {"/data.json": "dcat-us/us-federal-agencies/fda_data.json"}, None),
    "us-gsa": ("datajson", {"/data.json": "dcat-us/us-federal-agencies/gsa_data.json"}, None),
    "us-philadelphia": ("datajson", {"/data.json": "dcat-us/opendataphilly/dcatus_with_none_data.json"}, None),
    "es-madrid": ("dcat", {"/catalog.ttl": "dcat-ap/ckanext-dcat-examples/dataset_gob_es.ttl"}, None),
    "fr-datara": (
        "dcat",
        {"/c.rdf": "dcat-ap/udata-harvest-tests/datara--5a26b0f6-0ccf-46ad-ac58-734054b91977.rdf.xml"},
        "/c.rdf",
    ),
}


@pytest.fixture(scope="session")
def fixture_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """One lake holding a harvest of every recorded portal, built once: the golden tests read it."""
    lake = Lake(tmp_path_factory.mktemp("fixture-lake") / "lake")
    with serve_portal(InMemoryCatalogue(birmingham_packages(), organizations_of(birmingham_packages()))) as ckan:
        portal = portal_at(ckan.url, "gb-birmingham", software="ckan")
        harvest_portal(portal, lake, settings=FAST, progress=Progress(portal.id, enabled=False))
    with serve_portal(InMemoryCatalogue(data_gov_uk_packages(), organizations_of(data_gov_uk_packages()))) as ckan:
        portal = portal_at(ckan.url, "gb-data-gov-uk", software="ckan")
        harvest_portal(portal, lake, settings=FAST, progress=Progress(portal.id, enabled=False))
    for portal_id, (software, files, api_path) in FIXTURE_PORTALS.items():
        content_types = {".ttl": "text/turtle", ".rdf": "application/rdf+xml", ".json": "application/json"}
        routes = {path: static(fixture_bytes(name), content_types[Path(path).suffix]) for path, name in files.items()}
        with serve_routes(routes) as server:
            api_url = server.base_url + api_path if api_path else None
            portal = portal_at(server.base_url, portal_id, software=software, api_url=api_url, country="US")
            harvest_portal(portal, lake, settings=FAST, progress=Progress(portal.id, enabled=False))
    return lake


VIETNAMESE_PUBLISHERS: dict[str, str | None] = {
    # publisher title on the national catalogue -> the current unit `vn_publisher_province` must place it in
    "Sở Tài chính tỉnh Long An": "VN34-80",  # a pre-2025 province, merged into Tây Ninh
    "Sở Y tế tỉnh Tây Ninh": "VN34-80",  # the merged province's own name
    "SỞ GIÁO DỤC VÀ ĐÀO TẠO TỈNH HÀ GIANG": "VN34-08",  # upper case
    "UBND tinh Ha Giang": "VN34-08",  # no diacritics at all
    "So Tai chinh tinh Long An": "VN34-80",
    "Sở Văn hóa tỉnh Hoà Bình": "VN34-25",  # old-style tone mark, and a name that needs its prefix
    "Sở Nông nghiệp tỉnh Khánh Hòa": "VN34-56",
    "Ho Chi Minh City Department of Transport": "VN34-79",  # English, the city after the name
    "Sở Xây dựng TP.HCM": "VN34-79",
    "Cục Thống kê Bà Rịa–Vũng Tàu": "VN34-79",  # an en dash between the two names
    "Sở Y tế Thừa Thiên Huế": "VN34-46",
    unicodedata.normalize("NFD", "Sở Kế hoạch và Đầu tư tỉnh Bình Dương"): "VN34-79",  # decomposed Unicode
    "Cục Thống kê Hải Dương": "VN34-31",  # no prefix at all
    "Sở Y tế Ha Noi": "VN34-01",  # the place written without its diacritics in a title that has them
    "Sở Tài chính tỉnh Đăk Lăk": "VN34-66",  # another spelling in use
    "Viện Hải dương học Nha Trang": None,  # oceanography, not Hải Dương province
    "Học viện Chính trị quốc gia Hồ Chí Minh": None,  # a person's name, not the city
    "Viện Nghiên cứu Thái Bình Dương": None,  # the Pacific, not Thái Bình province
    "Công ty Hoa Huệ": None,  # Huệ is not Huế
    "Sở Tài chính Long An và Bến Tre": None,  # two current units: ambiguous (on Long An's portal: Long An's)
    "Tổng cục Thống kê": None,  # a national body
}
AMBIGUOUS_PUBLISHER = "Sở Tài chính Long An và Bến Tre"


def packages_published_by(titles: list[str], per_publisher: int, seed: int) -> list[dict[str, Any]]:
    """Generated CKAN packages, `per_publisher` by each organisation titled in `titles`."""
    packages, _ = generate(len(titles) * per_publisher, seed=seed)
    for index, package in enumerate(packages):
        title = titles[index % len(titles)]
        slug = slugify(title) or f"organisation-{index % len(titles)}"
        org = organization(f"{slug}-{index % len(titles)}", title, None)
        package["organization"], package["owner_org"] = org, org["id"]
        package["name"] = f"{package['name']}-{seed}"  # unique beside another generated catalogue
    return packages


@pytest.fixture(scope="session")
def vietnam_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A lake with two registered Vietnamese portals served on loopback: the national catalogue (its
    publishers titled as in VIETNAMESE_PUBLISHERS, two datasets each) and Long An's provincial portal
    (the sample catalogue, and two datasets of AMBIGUOUS_PUBLISHER), plus a liveness check that finds
    Long An up and Hau Giang down."""
    lake = Lake(tmp_path_factory.mktemp("vietnam-lake") / "lake")
    national = packages_published_by(list(VIETNAMESE_PUBLISHERS), per_publisher=2, seed=1)
    provincial, _ = generate(40, seed=2)
    provincial += packages_published_by([AMBIGUOUS_PUBLISHER], per_publisher=2, seed=3)
    with serve_portal(InMemoryCatalogue(national, organizations_of(national))) as served:
        portal = replace(get_portal("vn-open-data"), url=served.url)
        harvest_portal(portal, lake, settings=FAST, progress=Progress(portal.id, enabled=False))
    with serve_portal(InMemoryCatalogue(provincial, organizations_of(provincial))) as served:
        portal = replace(get_portal("vn-long-an"), url=served.url)
        harvest_portal(portal, lake, settings=FAST, progress=Progress(portal.id, enabled=False))
        down = replace(get_portal("vn-hau-giang"), url="http://127.0.0.1:9")
        check_portals([portal, down], lake)
    return lake
