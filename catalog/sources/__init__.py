"""Every portal software we read, one folder each, behind one small interface.

A folder `catalog/sources/<software>/` holds the software's client (`client.py`: its API, paging,
limits and what is incremental, in the docstring), its mapping to our tables (`mapping.py`), its
detection probes (`probe.py`) and its descriptor (`SOURCE` in `__init__.py`). `RICHEST_FIRST` lists
them; the registry's software names, the CLI's choices and detection all derive from it. Adding a
software is one folder plus its name in `RICHEST_FIRST`.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from typing import TYPE_CHECKING

from catalog.errors import RegistryError
from catalog.http import HttpSettings
from catalog.sources.base import DatasetPage, Normaliser, PortalClient, Source

if TYPE_CHECKING:
    from catalog.registry import Portal

__all__ = [
    "FILTERING",
    "SOFTWARE",
    "SOURCES",
    "DatasetPage",
    "PortalClient",
    "client_for",
    "portal_settings",
    "source_for",
]

RICHEST_FIRST = ("ckan", "dkan", "socrata", "opendatasoft", "arcgis", "dcat", "datajson")
"""Full search APIs with paging and publishers first, then catalogue documents: when a site answers
several, detection chooses the first."""
SOURCES: dict[str, Source] = {name: importlib.import_module(f"catalog.sources.{name}").SOURCE for name in RICHEST_FIRST}
SOFTWARE = tuple(SOURCES)
FILTERING = tuple(name for name, source in SOURCES.items() if source.takes_filter)
"""Softwares whose portals may be registered with a `filter`."""


def source_for(software: str) -> Source:
    """The descriptor of a software, or a clear error naming the ones we know."""
    try:
        return SOURCES[software]
    except KeyError:
        raise RegistryError(f"unknown software {software!r}: one of {', '.join(SOFTWARE)}") from None


def normaliser_for(software: str) -> Normaliser:
    """The mapping of a software's raw records to rows."""
    return source_for(software).normaliser


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
    """The client for the software a portal runs, with the portal's HTTP settings."""
    return source_for(portal.software).client(portal, portal_settings(portal, settings))
