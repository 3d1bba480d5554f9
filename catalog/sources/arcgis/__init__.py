"""ArcGIS Hub: OGC API Records search, with the site's DCAT-US feed (see client.py)."""

from __future__ import annotations

from catalog.normalise.rows import simple_publisher
from catalog.sources.arcgis.client import ArcGisHubClient
from catalog.sources.arcgis.mapping import normalise_dataset
from catalog.sources.arcgis.probe import PROBES
from catalog.sources.base import Normaliser, Source

SOURCE = Source(
    name="arcgis",
    client=lambda portal, settings: ArcGisHubClient(portal.url, api_url=portal.api_url, settings=settings),
    normaliser=Normaliser(normalise_dataset, simple_publisher),
    probes=PROBES,
)
