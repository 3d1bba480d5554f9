"""The portal registry: valid ids, the Vietnamese catalogues, and clear errors for bad entries."""

from __future__ import annotations

import pytest

from catalog.errors import RegistryError
from catalog.portals import client_for
from catalog.registry import load_registry, parse_registry, validate_portal_id
from tests.conftest import FAST, portal_at


def test_registry_loads_with_the_vietnamese_catalogues() -> None:
    portals = load_registry()
    vietnamese = [p for p in portals.values() if p.country == "VN" and p.id != "vn-sample"]
    assert len(vietnamese) == 20  # 19 CKAN catalogues in the seed registry, plus ODM's vn filter
    assert portals["vn-open-data"].url == "https://open.data.gov.vn"
    assert portals["vn-odm"].filter == "extras_odm_spatial_range:vn"
    assert portals["vn-hai-phong"].province == "VN-HP"
    assert all(p.software == "ckan" for p in portals.values())
    assert portals["vn-sample"].cadence == "manual"


@pytest.mark.parametrize("portal_id", ["Upper", "with space", "../up", "a/b", "", "trailing-", "a--b", "ü"])
def test_ids_that_are_not_slugs_are_rejected(portal_id: str) -> None:
    with pytest.raises(RegistryError, match="invalid portal id"):
        validate_portal_id(portal_id)


def entry(**fields: str) -> str:
    base = {"id": "x", "title": "X", "url": "https://x.example", "software": "ckan", "country": "VN"} | fields
    return "[[portal]]\n" + "\n".join(f'{key} = "{value}"' for key, value in base.items()) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (entry() + entry(), "portal id 'x' is listed twice"),
        (entry(url="ftp://x"), "url 'ftp://x' is not an http(s) URL"),
        (entry(country="Vietnam"), "country 'Vietnam' is not an ISO 3166-1 alpha-2 code"),
        (entry(province="Hanoi"), "province 'Hanoi' is not an ISO 3166-2 code"),
        (entry(software="wordpress"), "software 'wordpress' is not one of"),
        (entry(cadence="hourly"), "cadence 'hourly' is not one of"),
        (entry(colour="blue"), "unexpected keyword argument 'colour'"),
        ("[[portal]\n", "registry"),
    ],
)
def test_bad_entries_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(RegistryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_registry(text)


def test_a_portal_rate_outranks_the_default_and_keeps_the_other_settings() -> None:
    client = client_for(portal_at("http://127.0.0.1:9", requests_per_second=0.5, max_concurrency=1), FAST)
    assert (client.session.settings.requests_per_second, client.session.settings.max_concurrency) == (0.5, 1)
    assert client.session.settings.retries == FAST.retries
    client.close()
