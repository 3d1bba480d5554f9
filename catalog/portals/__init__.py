"""Portal adapters: one module per portal software, all behind `PortalClient`."""

from __future__ import annotations

import dataclasses
import os

from catalog.errors import RegistryError
from catalog.http import HttpSettings
from catalog.portals.base import DatasetPage, PortalClient
from catalog.portals.ckan import CkanClient
from catalog.registry import Portal

__all__ = ["CkanClient", "DatasetPage", "PortalClient", "client_for", "portal_settings"]


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
    settings = portal_settings(portal, settings)
    if portal.software == "ckan":
        return CkanClient(portal.url, filter_query=portal.filter, settings=settings)
    raise RegistryError(f"portal {portal.id}: no adapter for software {portal.software!r}")
