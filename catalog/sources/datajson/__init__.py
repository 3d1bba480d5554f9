"""DCAT-US data.json (Project Open Data), streamed (see client.py)."""

from __future__ import annotations

from catalog.normalise.rows import simple_publisher
from catalog.sources.base import Normaliser, Source, endpoint
from catalog.sources.datajson.client import USUAL_PATH, DataJsonClient
from catalog.sources.datajson.mapping import normalise_dataset
from catalog.sources.datajson.probe import PROBES

SOURCE = Source(
    name="datajson",
    client=lambda portal, settings: DataJsonClient(endpoint(portal, USUAL_PATH), settings=settings),
    normaliser=Normaliser(normalise_dataset, simple_publisher),
    probes=PROBES,
    document=True,
)
