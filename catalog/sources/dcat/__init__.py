"""DCAT in RDF: Turtle, RDF/XML, JSON-LD, N-Triples documents, paged by Hydra, or in CSW answers (see client.py).

The client and the mapping are imported when first used: they need rdflib, which a harvest of any
other software would otherwise load for nothing (3.6 MB and 0.1 s in every harvest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from catalog.normalise.rows import HarvestContext, NormalisedDataset, simple_publisher
from catalog.sources.base import Normaliser, Source, endpoint
from catalog.sources.dcat.probe import PROBES, USUAL_PATH

if TYPE_CHECKING:
    from catalog.http import HttpSettings
    from catalog.registry import Portal
    from catalog.sources.dcat.client import DcatClient


def _client(portal: Portal, settings: HttpSettings) -> DcatClient:
    from catalog.sources.dcat.client import DcatClient  # noqa: PLC0415 - rdflib, only when used

    return DcatClient(endpoint(portal, USUAL_PATH), settings=settings)


def _normalise_dataset(record: Any, context: HarvestContext, raw: bytes | None = None) -> NormalisedDataset:
    from catalog.sources.dcat.mapping import normalise_dataset  # noqa: PLC0415 - rdflib, only when used

    return normalise_dataset(record, context, raw)


SOURCE = Source(
    name="dcat",
    client=_client,
    normaliser=Normaliser(_normalise_dataset, simple_publisher),
    probes=PROBES,
    document=True,
)
