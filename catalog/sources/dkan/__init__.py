"""DKAN 7: its CKAN-compatible API, which differs from CKAN's (see client.py)."""

from __future__ import annotations

from catalog.sources.base import Normaliser, Source, endpoint
from catalog.sources.ckan.mapping import normalise_publisher
from catalog.sources.dkan.client import DkanClient
from catalog.sources.dkan.mapping import normalise_dataset
from catalog.sources.dkan.probe import PROBES

SOURCE = Source(
    name="dkan",
    client=lambda portal, settings: DkanClient(endpoint(portal, ""), settings=settings),
    normaliser=Normaliser(normalise_dataset, normalise_publisher),
    probes=PROBES,
    defers_to=("ckan",),
)
