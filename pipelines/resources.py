"""Resources: where the lake is, how to talk HTTP, and which portal a partition means."""

from __future__ import annotations

import dataclasses

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from catalog.http import HttpSettings
from catalog.lake import DEFAULT_LAKE, LAKE_ENV, Lake, resolve_lake
from catalog.registry import Portal, get_portal


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


class PortalsResource(ConfigurableResource):
    """The registry, with optional base-URL overrides (a mirror, a proxy, or a local test portal)."""

    url_overrides: dict[str, str] = Field(default_factory=dict)

    def portal(self, portal_id: str) -> Portal:
        portal = get_portal(portal_id)
        if portal_id in self.url_overrides:
            # the endpoint follows the base: the software's usual path under the override
            portal = dataclasses.replace(portal, url=self.url_overrides[portal_id], api_url=None)
        return portal


def default_resources() -> dict[str, ConfigurableResource]:
    return {
        "lake": LakeResource(root=EnvVar(LAKE_ENV).get_value(DEFAULT_LAKE) or DEFAULT_LAKE),
        "http": HttpResource(),
        "portals": PortalsResource(),
    }
