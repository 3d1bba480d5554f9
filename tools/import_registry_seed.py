"""Print registry entries for the seed registry's harvestable catalogues that `portals.toml` lacks.

    .venv/bin/python tools/import_registry_seed.py ../shared/registry-seed/dataportals-registry >> catalog/portals.toml

The seed is commondataio/dataportals-registry (MIT): one YAML record per catalogue. A record is
harvestable when its software has an adapter (CKAN, DKAN) or it lists a DCAT-US (`dcatus11`)
endpoint. Records already in the registry (their id named in an entry's `source`) are skipped, so
hand corrections there survive a re-import. Review the output before committing it: the seed's
software tags were partly machine-filled, and `catalog check` records what each portal really runs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from catalog.registry import ASCN_PILOT_CITIES, REGISTRY_FILE, load_registry

# Subdivisions that are themselves one of the ASEAN Smart Cities Network's pilot cities.
PILOT_CITY_SUBDIVISIONS = {
    "VN-DN": "Da Nang",
    "VN-HN": "Hanoi",
    "VN-SG": "Ho Chi Minh City",
    "TH-10": "Bangkok",
    "TH-20": "Chonburi",
    "TH-83": "Phuket",
    "ID-JK": "Jakarta",
    "KH-12": "Phnom Penh",
    "MY-14": "Kuala Lumpur",
    "LA-VT": "Vientiane",
}
HOST_SUFFIXES = (".go.th", ".go.id", ".gov.vn", ".gov.my", ".gov.kh", ".gov.la", ".gov.ph", ".gov.sg", ".gov.mm")


def harvestable(record: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """(software, base url, api_url) when an adapter can read the catalogue, else None."""
    endpoints = {endpoint["type"]: endpoint["url"] for endpoint in record.get("endpoints") or []}
    software = (record.get("software") or {}).get("id")
    ckan_api = next(
        (endpoints[t] for t in ("ckan", "ckan:package-search", "ckan:package-list") if t in endpoints), None
    )
    if software in ("ckan", "dkan") and ckan_api:
        return software, ckan_api.split("/api/")[0], None
    if "dcatus11" in endpoints:
        return "datajson", record["link"].rstrip("/"), endpoints["dcatus11"]
    return None


def portal_id(country: str, url: str, taken: set[str]) -> str:
    host = urlsplit(url).hostname or ""
    host = host.removeprefix("www.")
    for suffix in HOST_SUFFIXES:
        host = host.removesuffix(suffix)
    slug = re.sub(r"[^a-z0-9]+", "-", f"{country.lower()}-{host.lower()}").strip("-")
    candidate, counter = slug, 2
    while candidate in taken:
        candidate, counter = f"{slug}-{counter}", counter + 1
    taken.add(candidate)
    return candidate


def city_of(country: str, province: str | None, url: str) -> str | None:
    if province in PILOT_CITY_SUBDIVISIONS:
        return PILOT_CITY_SUBDIVISIONS[province]
    host = (urlsplit(url).hostname or "").replace("-", "")
    return next((c for c in ASCN_PILOT_CITIES.get(country, ()) if c.lower().replace(" ", "") in host), None)


def toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def entries(seed: Path) -> list[str]:
    registry = load_registry(REGISTRY_FILE)
    known = " ".join(portal.source or "" for portal in registry.values())
    taken = set(registry)
    lines: list[str] = []
    for path in sorted(seed.rglob("*.yaml")):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        found = harvestable(record)
        if found is None or re.search(rf"\b{re.escape(record['id'])}\b", known) or record.get("status") != "active":
            continue
        software, url, api_url = found
        location = record["coverage"][0]["location"]
        country = location["country"]["id"]
        if not re.fullmatch(r"[A-Z]{2}", country):  # regional bodies ("World"): not a country's catalogue
            continue
        subregion = (location.get("subregion") or {}).get("id")
        province = subregion if subregion and re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{1,3}", subregion) else None
        city = city_of(country, province, url)
        fields = {
            "id": portal_id(country, url, taken),
            "title": record["name"],
            "url": url,
            "api_url": api_url,
            "software": software,
            "country": country,
            "province": province,
            "city": city,
            "source": f"dataportals-registry {record['id']}",
        }
        lines.append("\n[[portal]]")
        lines.extend(f"{key} = {toml_string(value)}" for key, value in fields.items() if value)
    return lines


if __name__ == "__main__":
    print("\n".join(entries(Path(sys.argv[1]))))
