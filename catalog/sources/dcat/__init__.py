"""DCAT in RDF: Turtle, RDF/XML, JSON-LD, N-Triples documents, paged by Hydra, or in CSW answers (see client.py)."""

from __future__ import annotations

from catalog.normalise.rows import simple_publisher
from catalog.sources.base import Normaliser, Source, endpoint
from catalog.sources.dcat.client import USUAL_PATH, DcatClient
from catalog.sources.dcat.mapping import normalise_dataset
from catalog.sources.dcat.probe import PROBES

SOURCE = Source(
    name="dcat",
    client=lambda portal, settings: DcatClient(endpoint(portal, USUAL_PATH), settings=settings),
    normaliser=Normaliser(normalise_dataset, simple_publisher),
    probes=PROBES,
    document=True,
)
