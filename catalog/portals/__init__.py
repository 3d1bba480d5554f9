"""Portal adapters: one module per portal software, all behind `PortalClient`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from catalog.errors import RegistryError
from catalog.http import HttpSettings
from catalog.portals.arcgis import ArcGisHubClient
from catalog.portals.base import DatasetPage, PortalClient
from catalog.portals.ckan import CkanClient
from catalog.portals.datajson import DataJsonClient
from catalog.portals.dcat import DcatClient
from catalog.portals.dkan import DkanClient
from catalog.portals.opendatasoft import OpenDataSoftClient
from catalog.portals.socrata import SocrataClient
from catalog.registry import Portal

__all__ = ["DatasetPage", "PortalClient", "client_for", "portal_settings"]


def portal_settings(portal: Portal, base: HttpSettings | None = None) -> HttpSettings:
    """HTTP settings for one portal: the registry's politeness overrides, and its API key from the environment."""
    base = base or HttpSettings()
    changes: dict[str, object] = {}
    if portal.requests_per_second is not None:
        changes["requests_per_second"] = portal.requests_per_second
    if portal.max_concurrency is not None:
        changes["max_concurrency"] = portal.max_concurrency
    if portal.api_key_env and base.api_key is None:
        key = os.environ.get(portal.api_key_env)
        if not key:
            raise RegistryError(f"portal {portal.id} needs an API key in the environment variable {portal.api_key_env}")
        changes["api_key"] = key
    return dataclasses.replace(base, **changes)


def client_for(portal: Portal, settings: HttpSettings | None = None) -> PortalClient:
    """The adapter for the software a portal runs, with the portal's HTTP settings."""
    factory = ADAPTERS.get(portal.software)
    if factory is None:
        raise RegistryError(f"portal {portal.id}: no adapter for software {portal.software!r}")
    return factory(portal, portal_settings(portal, settings))


def _under(portal: Portal, path: str) -> str:
    """The registry's explicit endpoint, else the software's usual one under the portal's URL."""
    return portal.api_url or portal.url.rstrip("/") + path


# software -> how to build its client for a portal. The registry's `api_url` overrides the usual endpoint.
ADAPTERS: dict[str, Callable[[Portal, HttpSettings], PortalClient]] = {
    "ckan": lambda portal, settings: CkanClient(_under(portal, ""), filter_query=portal.filter, settings=settings),
    "dkan": lambda portal, settings: DkanClient(_under(portal, ""), settings=settings),
    "datajson": lambda portal, settings: DataJsonClient(_under(portal, "/data.json"), settings=settings),
    "dcat": lambda portal, settings: DcatClient(_under(portal, "/catalog.ttl"), settings=settings),
    "socrata": lambda portal, settings: SocrataClient(portal.url, api_url=portal.api_url, settings=settings),
    "opendatasoft": lambda portal, settings: OpenDataSoftClient(_under(portal, ""), settings=settings),
    "arcgis": lambda portal, settings: ArcGisHubClient(portal.url, api_url=portal.api_url, settings=settings),
}
