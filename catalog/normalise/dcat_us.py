"""DCAT-US 1.1 (Project Open Data `data.json`) dataset records -> rows.

The schema (https://resources.data.gov/resources/dcat-us/) is flat JSON: `identifier`, `title`,
`description`, `keyword`, `modified`, `publisher {name, subOrganizationOf}`, `contactPoint {fn,
hasEmail}`, `accessLevel`, `license` (a URL), `distribution [{downloadURL, accessURL, mediaType,
format, title}]`, `accrualPeriodicity` (ISO 8601 repeating duration), `theme`, `landingPage`. Served by
Socrata, ArcGIS Hub, DKAN, CKAN with ckanext-datajson and Argentina's Andino (the DCAT-AR profile,
which adds `superTheme` and per-distribution `identifier`, `issued`, `modified`, `byteSize`).

Real feeds bend it (see the fixtures' MANIFEST): `modified` as a bare year or `R/P1D`, `distribution`
or `keyword` missing, HTML in `description`, a single object where a list belongs. Everything not
mapped to a column lands in `extras` as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.normalise.rows import (
    HarvestContext,
    NormalisedDataset,
    as_records,
    ensure_dataset_id,
    finish_dataset,
    named_publisher,
    new_dataset_row,
    new_distribution_row,
    set_date,
    text_extras,
    text_list,
)
from catalog.normalise.values import Warnings, integer, text, timestamp

DATASET_TEXT = {
    "dataset_id": "identifier",
    "title": "title",
    "description": "description",
    "landing_page": "landingPage",
    "license_id": "license",
    "frequency": "accrualPeriodicity",
}
DISTRIBUTION_TEXT = {
    "distribution_id": "identifier",
    "title": "title",
    "description": "description",
    "format": "format",
    "media_type": "mediaType",
    "access_url": "accessURL",
    "download_url": "downloadURL",
}
MAPPED = frozenset(
    {*DATASET_TEXT.values(), "keyword", "theme", "superTheme", "publisher", "contactPoint", "distribution"}
    | {"issued", "modified", "@type", "version"}
)


def normalise_dataset(record: Mapping[str, Any], context: HarvestContext, raw: str | None = None) -> NormalisedDataset:
    """One data.json dataset as a dataset row and its distributions."""
    warnings = Warnings(f"dataset {record.get('identifier') or record.get('title') or '?'}")
    row = new_dataset_row(context)
    for column, key in DATASET_TEXT.items():
        row[column] = text(record.get(key), key, warnings)
    row["name"] = row["dataset_id"]
    if row["license_id"] and row["license_id"].startswith(("http://", "https://")):
        row["license_url"] = row["license_id"]
    row["version"] = text(record.get("version"), "version", warnings)
    set_date(row, "issued", record.get("issued"), warnings)
    set_date(row, "modified", record.get("modified"), warnings)
    row["dataset_url"] = row["landing_page"]
    row["keywords"] = text_list(record.get("keyword"), "keyword", warnings)
    row["themes"] = text_list(record.get("theme"), "theme", warnings) + text_list(
        record.get("superTheme"), "superTheme", warnings
    )
    publisher = _publisher(record.get("publisher"), warnings)
    if publisher is not None:
        row["publisher_id"] = row["publisher_name"] = publisher["id"]
    contact = record.get("contactPoint")
    if isinstance(contact, Mapping):
        row["contact_name"] = text(contact.get("fn"), "contactPoint.fn", warnings)
        email = text(contact.get("hasEmail"), "contactPoint.hasEmail", warnings)
        row["contact_email"] = email.removeprefix("mailto:") if email else None
    row["extras"] = text_extras(record, MAPPED)
    ensure_dataset_id(row, warnings)
    distributions = [
        _distribution(item, position, row, warnings.scoped(f"distribution[{position}]."))
        for position, item in enumerate(as_records(record.get("distribution"), "distribution", warnings))
    ]
    finish_dataset(row, record, distributions, context, raw=raw)
    return NormalisedDataset(row, distributions, list(warnings), publisher=publisher)


def _publisher(value: Any, warnings: Warnings) -> dict[str, Any] | None:
    """`publisher {name, subOrganizationOf {name}}`: named by its own name, parent kept as description."""
    if isinstance(value, Mapping):
        parent = value.get("subOrganizationOf")
        parent_name = parent.get("name") if isinstance(parent, Mapping) else None
        return named_publisher(
            value.get("name"), warnings, description=f"part of {parent_name}" if parent_name else None
        )
    return named_publisher(value, warnings)


def _distribution(
    item: Mapping[str, Any], position: int, dataset: Mapping[str, Any], warnings: Warnings
) -> dict[str, Any]:
    row = new_distribution_row(dataset, position)
    for column, key in DISTRIBUTION_TEXT.items():
        row[column] = text(item.get(key), key, warnings)
    row["issued"] = timestamp(item.get("issued"), "issued", warnings)
    row["modified"] = timestamp(item.get("modified"), "modified", warnings)
    row["byte_size"] = integer(item.get("byteSize"), "byteSize", warnings)
    if item.get("license"):
        row["license_id"] = text(item.get("license"), "license", warnings)
    return row
