"""Resources: where the lake is, how to talk HTTP, and which portal a partition means."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from catalog.errors import RegistryError
from catalog.http import HttpSettings
from catalog.lake import DEFAULT_LAKE, LAKE_ENV, Lake, resolve_lake
from catalog.links import DEFAULT_BUDGET, DEFAULT_MINUTES, LinkCheckSettings
from catalog.registry import Portal, get_portal, load_registry

COUNTRIES_ENV = "CATALOG_COUNTRIES"
PORTALS_ENV = "CATALOG_PORTALS"
SCHEDULED_CADENCES = ("daily", "weekly")
"""Registry cadences the schedules and liveness check cover; `manual` portals are harvested on request."""


class LakeResource(ConfigurableResource):
    """The lake root; `CATALOG_LAKE` in the environment, else ./lake."""

    root: str = DEFAULT_LAKE

    def lake(self) -> Lake:
        return Lake(resolve_lake(self.root))


class HttpResource(ConfigurableResource):
    """Timeouts, deadline, retries and request rate for every portal request (see catalog.http); the
    defaults are HttpSettings', the same `catalog harvest` uses."""

    connect_timeout: float = HttpSettings.connect_timeout
    read_timeout: float = HttpSettings.read_timeout
    request_deadline: float = HttpSettings.request_deadline
    retries: int = HttpSettings.retries
    requests_per_second: float = HttpSettings.requests_per_second

    def settings(self, portal: Portal) -> HttpSettings:
        """Settings for one portal; its API key, if it needs one, comes from the environment via EnvVar.
        `client_for` adds the registry's politeness overrides."""
        api_key = EnvVar(portal.api_key_env).get_value() if portal.api_key_env else None
        return HttpSettings(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            request_deadline=self.request_deadline,
            retries=self.retries,
            requests_per_second=self.requests_per_second,
            api_key=api_key,
        )


class LinkCheckResource(ConfigurableResource):
    """How links are checked (catalog.links): per host limits, a budget per run, and whether private
    addresses may be checked; the defaults are those of `catalog links`."""

    per_host_rate: float = LinkCheckSettings.per_host_rate
    per_host_concurrency: int = LinkCheckSettings.per_host_concurrency
    budget: int = DEFAULT_BUDGET
    minutes: float = DEFAULT_MINUTES
    allow_private: bool = False

    def settings(self) -> LinkCheckSettings:
        return LinkCheckSettings(
            per_host_rate=self.per_host_rate,
            per_host_concurrency=self.per_host_concurrency,
            allow_private=self.allow_private,
        )


class PortalsResource(ConfigurableResource):
    """The registry as this deployment sees it: which portals the schedules and the liveness check cover
    (`countries`, `only`; empty: all), and base-URL overrides (a mirror, a proxy, or a local test portal).
    A partition outside the selection can still be harvested on request."""

    countries: list[str] = Field(default_factory=list)
    only: list[str] = Field(default_factory=list)
    url_overrides: dict[str, str] = Field(default_factory=dict)

    def portal(self, portal_id: str) -> Portal:
        portal = get_portal(portal_id)
        if portal_id in self.url_overrides:
            # the endpoint follows the base: the software's usual path under the override
            portal = dataclasses.replace(portal, url=self.url_overrides[portal_id], api_url=None)
        return portal

    def scheduled(self, cadences: Iterable[str] = SCHEDULED_CADENCES) -> list[Portal]:
        """The selected portals whose registry cadence is one of `cadences`, in registry order. An id
        that is not registered is an error naming it: a typo must not quietly select nothing."""
        if unknown := sorted(set(self.only) - set(load_registry())):
            raise RegistryError(f"{PORTALS_ENV} / portals.only: not in the registry: {', '.join(unknown)}")
        countries = {country.upper() for country in self.countries}
        return [
            self.portal(portal.id)
            for portal in load_registry().values()
            if portal.cadence in cadences
            and (not countries or portal.country in countries)
            and (not self.only or portal.id in self.only)
        ]


def _listed(variable: str) -> list[str]:
    """A comma-separated environment variable as a list (unset or empty: [])."""
    return [item.strip() for item in os.environ.get(variable, "").split(",") if item.strip()]


def default_resources() -> dict[str, ConfigurableResource]:
    return {
        "lake": LakeResource(root=EnvVar(LAKE_ENV).get_value(DEFAULT_LAKE) or DEFAULT_LAKE),
        "http": HttpResource(),
        "links": LinkCheckResource(),
        "portals": PortalsResource(countries=_listed(COUNTRIES_ENV), only=_listed(PORTALS_ENV)),
    }
