"""CKAN: the Action API v3 (client.py states the API, paging, limits and what is incremental)."""

from __future__ import annotations

from catalog.sources.base import Normaliser, Source, endpoint
from catalog.sources.ckan.client import CkanClient
from catalog.sources.ckan.mapping import normalise_dataset, normalise_publisher
from catalog.sources.ckan.probe import PROBES

SOURCE = Source(
    name="ckan",
    client=lambda portal, settings: CkanClient(endpoint(portal, ""), filter_query=portal.filter, settings=settings),
    normaliser=Normaliser(normalise_dataset, normalise_publisher),
    probes=PROBES,
    takes_filter=True,
)
