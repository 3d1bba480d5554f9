"""The portal registry: valid ids, the Vietnamese catalogues, and clear errors for bad entries."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import yaml

from catalog.errors import RegistryError
from catalog.ids import validate_portal_id
from catalog.registry import load_registry, parse_registry
from catalog.sources import client_for
from tests.conftest import FAST, REPO, portal_at
from tools.import_registry_seed import harvestable


def test_registry_loads_with_the_vietnamese_catalogues() -> None:
    portals = load_registry()
    vietnamese = [p for p in portals.values() if p.country == "VN" and p.id != "vn-sample"]
    # 19 CKAN catalogues of the seed registry, ODM's vn filter, HCMC's DKAN, Can Tho
    assert len(vietnamese) == 22
    assert portals["vn-open-data"].url == "https://open.data.gov.vn"
    assert portals["vn-odm"].filter == "extras_odm_spatial_range:vn"
    assert portals["vn-hai-phong"].province == "VN-HP"
    hcmc = portals["vn-opendata-hochiminhcity"]
    assert (hcmc.software, hcmc.province, hcmc.city, hcmc.ascn_pilot_city) == (
        "dkan",
        "VN-SG",
        "Ho Chi Minh City",
        True,
    )
    assert portals["vn-sample"].cadence == "manual"


def test_every_harvestable_seed_catalogue_is_registered() -> None:
    """The seed's CKAN, DKAN and DCAT-US catalogues of Vietnam and ASEAN are all in the registry."""
    seed = REPO.parent / "shared" / "registry-seed" / "dataportals-registry"
    expected = {}
    for path in seed.rglob("*.yaml"):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        country = record["coverage"][0]["location"]["country"]["id"]
        if harvestable(record) and record.get("status") == "active" and len(country) == 2:
            expected[record["id"]] = country
    sources = " ".join(p.source or "" for p in load_registry().values())
    missing = [record_id for record_id in expected if f"dataportals-registry {record_id}" not in sources]
    assert missing == []
    by_country = Counter(expected.values())
    assert by_country["TH"] == 196 and by_country["ID"] == 164 and by_country["VN"] == 19


def test_every_registered_portal_has_an_adapter() -> None:
    portals = load_registry()
    assert set(Counter(p.software for p in portals.values())) == {"ckan", "dkan", "datajson"}
    for portal in portals.values():
        client_for(portal, FAST).close()
    pilots = sorted({p.city for p in portals.values() if p.ascn_pilot_city})
    assert pilots == ["Bangkok", "Chonburi", "Ho Chi Minh City", "Jakarta", "Phuket"]


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
        (entry(province="Hanoi"), "province 'Hanoi' is neither the ISO 3166-2 code of one of Vietnam's 63"),
        (entry(country="TH", province="Bangkok"), "province 'Bangkok' is not an ISO 3166-2 code"),
        (entry(software="wordpress"), "software 'wordpress' is not one of"),
        (entry(cadence="hourly"), "cadence 'hourly' is not one of"),
        (
            entry(software="socrata", filter="domain:x"),
            "portal x: a filter applies to ckan portals only, not to socrata",
        ),
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


def test_the_readme_counts_the_registry() -> None:
    registry = load_registry()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    total = re.search(r"^(\d+) portals: Vietnam's (\d+)", readme, re.MULTILINE)
    vietnamese = sum(1 for portal in registry.values() if portal.country == "VN" and portal.cadence != "manual")
    assert total is not None and (int(total[1]), int(total[2])) == (len(registry), vietnamese)
