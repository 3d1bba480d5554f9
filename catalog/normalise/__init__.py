"""Pure functions that turn a portal's raw records into rows of the lake's tables.

One module per record shape; `normaliser_for` picks the one for a portal's software, so the harvest
loop never looks inside a record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from catalog.normalise import arcgis, ckan, dcat_rdf, dcat_us, dkan, opendatasoft, socrata
from catalog.normalise.rows import HarvestContext, NormalisedDataset, simple_publisher

PublisherRow = tuple[dict[str, Any], list[str]]


@dataclass(frozen=True)
class Normaliser:
    """How one software's raw dataset and publisher records become rows."""

    dataset: Callable[[Mapping[str, Any], HarvestContext, str | None], NormalisedDataset]
    publisher: Callable[[Mapping[str, Any], HarvestContext, str | None], PublisherRow]


NORMALISERS: dict[str, Normaliser] = {
    "ckan": Normaliser(ckan.normalise_dataset, ckan.normalise_publisher),
    "dkan": Normaliser(dkan.normalise_dataset, ckan.normalise_publisher),
    "datajson": Normaliser(dcat_us.normalise_dataset, simple_publisher),
    "dcat": Normaliser(dcat_rdf.normalise_dataset, simple_publisher),
    "socrata": Normaliser(socrata.normalise_dataset, simple_publisher),
    "opendatasoft": Normaliser(opendatasoft.normalise_dataset, simple_publisher),
    "arcgis": Normaliser(arcgis.normalise_dataset, simple_publisher),
}


def normaliser_for(software: str) -> Normaliser:
    """The normaliser for the records a portal of this software sends."""
    try:
        return NORMALISERS[software]
    except KeyError:
        raise ValueError(f"no normaliser for software {software!r}") from None
