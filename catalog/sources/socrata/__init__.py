"""Socrata: the Discovery API for one domain (see client.py)."""

from __future__ import annotations

from catalog.normalise.rows import simple_publisher
from catalog.sources.base import Normaliser, Source
from catalog.sources.socrata.client import SocrataClient
from catalog.sources.socrata.mapping import normalise_dataset
from catalog.sources.socrata.probe import PROBES

SOURCE = Source(
    name="socrata",
    client=lambda portal, settings: SocrataClient(portal.url, api_url=portal.api_url, settings=settings),
    normaliser=Normaliser(normalise_dataset, simple_publisher),
    probes=PROBES,
)
