"""The DKAN adapter, serving the real DKAN package_show (../shared/fixtures/dkan) as DKAN 7 does."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from catalog.sources.base import FIRST_PAGE_ROWS
from catalog.sources.dkan.client import DkanClient
from tests.conftest import FAST, load_fixture, rows
from tests.routes import Answer, serve_routes

PACKAGE_SHOW = "dkan/dkan-french-w-license_package_show.json"


def envelope(result: Any) -> Answer:
    """DKAN's envelope: `help` is a docstring, not a URL."""
    body = {"help": "Return a list of the site's datasets.", "success": True, "result": result}
    return 200, "application/json", json.dumps(body).encode()


def dkan_routes(packages: list[dict[str, Any]], prefix: str = "/api/action/") -> dict:
    """DKAN 7's CKAN-compatible actions over `packages`, paged with limit/offset."""

    def page(query: dict[str, str], _headers: Any) -> Answer:
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 10))
        return envelope(packages[offset : offset + limit])

    groups = list({group["id"]: group for package in packages for group in package.get("groups", [])}.values())
    return {
        f"{prefix}package_list": lambda _q, _h: envelope([package["id"] for package in packages]),
        f"{prefix}current_package_list_with_resources": page,
        f"{prefix}group_list": lambda _q, _h: envelope(groups),
    }


def real_and_copies(total: int) -> list[dict[str, Any]]:
    """The recorded package and `total - 1` copies with their own ids."""
    original = load_fixture(PACKAGE_SHOW)["result"][0]
    copies = []
    for index in range(1, total):
        package = copy.deepcopy(original)
        package["id"] = f"{original['id'][:-3]}{index:03d}"
        copies.append(package)
    return [original, *copies]


def test_real_dkan_package_harvested_through_the_api(harvest_served, lake) -> None:
    run = harvest_served(dkan_routes(real_and_copies(1)), "dkan")
    assert (run.status, run.datasets, run.distributions, run.publishers) == ("complete", 1, 2, 1)
    dataset = rows(lake, "SELECT * FROM datasets")[0]
    assert dataset["title"] == "Antennes régionales de la Région Hauts-de-France (au 01/10/2019)"
    assert dataset["publisher_id"] == "b72cd25d-1cec-49f6-8c71-297bd373fa01"
    assert dataset["publisher_name"] == "Région Hauts-de-France"
    assert dataset["license_title"] == "http://www.etalab.gouv.fr/pages/Licence_ouverte_Open_licence-5899923.html"
    assert dataset["contact_email"] == "opendata@hautsdefrance.fr"
    assert dataset["frequency"] == "asNeeded"  # the INSPIRE `frequency-of-update` extra
    assert dataset["modified"] == datetime(2019, 9, 30, 22, tzinfo=UTC)
    assert dataset["issued"] is None  # `mar, 10/12/2019 - 09:23`: October or December? not guessed
    assert dataset["issued_text"] == "mar, 10/12/2019 - 09:23"
    assert len(dataset["keywords"]) == len(load_fixture(PACKAGE_SHOW)["result"][0]["tags"])
    formats = rows(lake, "SELECT format, byte_size, modified FROM distributions ORDER BY position")
    assert formats == [
        {"format": "xlsx", "byte_size": None, "modified": datetime(2019, 12, 19, 3, tzinfo=UTC)},  # "42 octets"
        {"format": None, "byte_size": None, "modified": datetime(2019, 12, 19, 3, tzinfo=UTC)},
    ]
    publisher = rows(lake, "SELECT name, title FROM publishers")[0]
    assert publisher == {"name": "group/region-hauts-de-france", "title": "Région Hauts-de-France"}
    assert any("ambiguous order" in warning for warning in run.warnings)


def test_pages_with_limit_and_offset_on_the_legacy_api_path(harvest_served) -> None:
    with serve_routes(dkan_routes(real_and_copies(250))) as server:
        client = DkanClient(server.base_url, settings=FAST, rows=100)
        pages = list(client.iter_dataset_pages())
        # the first page small (nothing known of the records' weight), then the most asked for; no count to
        # stop at: an empty page ends
        assert [len(page.records) for page in pages] == [FIRST_PAGE_ROWS, 100, 100, 30, 0]
        assert {page.reported_count for page in pages} == {250}
        tried = [path for path in server.paths() if path.endswith("package_list")]
        assert tried == ["/api/3/action/package_list", "/api/action/package_list"]  # /api/3 first, then /api


def test_a_dkan_that_ignores_offset_is_read_once(harvest_served) -> None:
    packages = real_and_copies(5)
    routes = dkan_routes(packages, prefix="/api/3/action/")
    routes["/api/3/action/current_package_list_with_resources"] = lambda _q, _h: envelope(packages)
    run = harvest_served(routes, "dkan")
    assert run.datasets == 5
    assert any("ignores offset" in note for note in run.notes)
