"""Portal adapters: one module per portal software, all behind `PortalClient`."""

from __future__ import annotations

from catalog.http import HttpSettings
from catalog.portals.base import DatasetPage, PortalClient
from catalog.portals.ckan import CkanClient
from catalog.registry import Portal

__all__ = ["CkanClient", "DatasetPage", "PortalClient", "client_for"]


def client_for(portal: Portal, settings: HttpSettings | None = None) -> PortalClient:
    """The adapter for the software a portal runs."""
    if portal.software == "ckan":
        return CkanClient(portal.url, filter_query=portal.filter, settings=settings)
    raise ValueError(f"portal {portal.id}: no adapter for software {portal.software!r}")
