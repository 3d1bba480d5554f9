"""OpenDataSoft: the Explore API v2.1 catalogue (see client.py)."""

from __future__ import annotations

from catalog.normalise.rows import simple_publisher
from catalog.sources.base import Normaliser, Source, endpoint
from catalog.sources.opendatasoft.client import OpenDataSoftClient
from catalog.sources.opendatasoft.mapping import normalise_dataset
from catalog.sources.opendatasoft.probe import PROBES

SOURCE = Source(
    name="opendatasoft",
    client=lambda portal, settings: OpenDataSoftClient(endpoint(portal, ""), settings=settings),
    normaliser=Normaliser(normalise_dataset, simple_publisher),
    probes=PROBES,
)
