"""The portal registry: which portals exist, what software they run and where they are.

The registry is a TOML file shipped with the library (`portals.toml`); its entries are facts checked
against public sources (see each entry's `source`). Portal ids double as Dagster partition keys and
as directory names in the lake, so they are validated as slugs.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from catalog import vietnam
from catalog.errors import RegistryError
from catalog.ids import validate_portal_id
from catalog.sources import FILTERING, SOFTWARE

REGISTRY_FILE = Path(__file__).with_name("portals.toml")
# The 26 pilot cities of the ASEAN Smart Cities Network (ASEAN Secretariat, 2018), by country.
ASCN_PILOT_CITIES = {
    "BN": ("Bandar Seri Begawan",),
    "KH": ("Battambang", "Phnom Penh", "Siem Reap"),
    "ID": ("Banyuwangi", "Jakarta", "Makassar"),
    "LA": ("Luang Prabang", "Vientiane"),
    "MY": ("Johor Bahru", "Kota Kinabalu", "Kuala Lumpur", "Kuching"),
    "MM": ("Mandalay", "Nay Pyi Taw", "Yangon"),
    "PH": ("Cebu", "Davao", "Manila"),
    "SG": ("Singapore",),
    "TH": ("Bangkok", "Chonburi", "Phuket"),
    "VN": ("Da Nang", "Hanoi", "Ho Chi Minh City"),
}
CADENCES = frozenset({"daily", "weekly", "manual"})


@dataclass(frozen=True)
class Portal:
    """One catalogue to harvest."""

    id: str
    title: str
    url: str
    software: str
    country: str | None = None
    province: str | None = None
    city: str | None = None
    filter: str | None = None
    api_url: str | None = None
    """The catalogue endpoint when it is not where the software usually puts it (a data.json elsewhere)."""
    cadence: str = "daily"
    requests_per_second: float | None = None
    max_concurrency: int | None = None
    api_key_env: str | None = None
    """The name of the environment variable holding the portal's API key (never the key itself)."""
    max_deletion_share: float | None = None
    """A harvest deleting more than this share of the portal's datasets publishes nothing (default 0.2)."""
    source: str | None = None

    def __post_init__(self) -> None:
        validate_portal_id(self.id)
        for name, value in (("url", self.url), ("api_url", self.api_url)):
            parts = urlsplit(value or "http://ok")
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise RegistryError(f"portal {self.id}: {name} {value!r} is not an http(s) URL")
        if self.country is not None and not re.fullmatch(r"[A-Z]{2}", self.country):
            raise RegistryError(f"portal {self.id}: country {self.country!r} is not an ISO 3166-1 alpha-2 code")
        if self.cadence not in CADENCES:
            raise RegistryError(f"portal {self.id}: cadence {self.cadence!r} is not one of {sorted(CADENCES)}")
        if self.software not in SOFTWARE:
            raise RegistryError(f"portal {self.id}: software {self.software!r} is not one of {sorted(SOFTWARE)}")
        if self.filter is not None and self.software not in FILTERING:
            raise RegistryError(
                f"portal {self.id}: a filter applies to {', '.join(FILTERING)} portals only, not to {self.software}"
            )
        if self.api_key_env is not None and not re.fullmatch(r"[A-Z_][A-Z0-9_]*", self.api_key_env):
            raise RegistryError(
                f"portal {self.id}: api_key_env {self.api_key_env!r} is not an environment variable name"
            )
        if self.requests_per_second is not None and self.requests_per_second < 0:
            raise RegistryError(f"portal {self.id}: requests_per_second must not be negative")
        if self.max_deletion_share is not None and not 0 <= self.max_deletion_share <= 1:
            raise RegistryError(f"portal {self.id}: max_deletion_share must be between 0 and 1")
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise RegistryError(f"portal {self.id}: max_concurrency must be at least 1")
        if self.province is not None and self.country == "VN":
            try:
                vietnam.current_unit_of(self.province)
            except RegistryError as exc:
                raise RegistryError(f"portal {self.id}: {exc}") from None
        elif self.province is not None and not re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{1,3}", self.province):
            raise RegistryError(f"portal {self.id}: province {self.province!r} is not an ISO 3166-2 code")

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def current_province(self) -> str | None:
        """For a Vietnamese portal, the current (post-2025) unit containing the province it was registered
        under, as `code name` ('VN34-80 Tây Ninh' for a Long An portal)."""
        if self.country != "VN" or self.province is None:
            return None
        unit = vietnam.current_unit_of(self.province)
        return f"{unit.code} {unit.name}"

    @property
    def ascn_pilot_city(self) -> bool:
        """Whether the portal belongs to one of the ASEAN Smart Cities Network's 26 pilot cities."""
        return self.city is not None and self.city in ASCN_PILOT_CITIES.get(self.country or "", ())


def parse_registry(text: str, where: str = "registry") -> dict[str, Portal]:
    """Parse registry TOML into portals keyed by id, rejecting duplicates and unknown fields."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{where}: {exc}") from exc
    portals: dict[str, Portal] = {}
    for index, entry in enumerate(data.get("portal", []), start=1):
        if "country" not in entry:
            raise RegistryError(f"{where}: portal #{index} ({entry.get('id', '?')}): country is required")
        try:
            portal = Portal(**entry)
        except TypeError as exc:
            raise RegistryError(f"{where}: portal #{index} ({entry.get('id', '?')}): {exc}") from exc
        if portal.id in portals:
            raise RegistryError(f"{where}: portal id {portal.id!r} is listed twice")
        portals[portal.id] = portal
    return portals


@cache
def load_registry(path: Path = REGISTRY_FILE) -> dict[str, Portal]:
    """The registered portals, keyed by id, in file order."""
    return parse_registry(path.read_text(encoding="utf-8"), where=str(path))


def get_portal(portal_id: str) -> Portal:
    """The registered portal with this id, or a clear error listing how to find valid ids."""
    validate_portal_id(portal_id)
    try:
        return load_registry()[portal_id]
    except KeyError:
        raise RegistryError(f"portal {portal_id!r} is not in the registry (see `catalog portals`)") from None
