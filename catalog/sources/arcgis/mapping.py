"""ArcGIS Hub records -> rows: DCAT-US from a Hub site's data.json, or items of the Hub search API.

A Hub site's `data.json` is DCAT-US and goes through `dcat_us`. Where a site has none, the adapter
reads the Hub search API (OGC API - Records: `GET /api/search/v1/collections/dataset/items`,
https://developers.arcgis.com/rest/hub/), whose items are GeoJSON features:
`{id, type: "Feature", geometry, properties {id, title, description, snippet, type, tags,
categories, created, modified (epoch milliseconds), owner, orgName, source, url, licenseInfo}}`.
An item's one distribution is its service or file URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from catalog.normalise.rows import (
    HarvestContext,
    NormalisedDataset,
    ensure_dataset_id,
    finish_dataset,
    named_publisher,
    new_dataset_row,
    new_distribution_row,
    set_date,
    text_extras,
    text_list,
)
from catalog.normalise.values import Warnings, text
from catalog.sources.datajson import mapping as dcat_us

# Item type -> (canonical format label, media type) of its URL.
ITEM_FORMATS = {
    "Feature Service": ("Esri REST", "application/json"),
    "Map Service": ("Esri REST", "application/json"),
    "Image Service": ("Esri REST", "application/json"),
    "CSV": ("CSV", "text/csv"),
    "Microsoft Excel": ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "GeoJson": ("GeoJSON", "application/geo+json"),
    "Shapefile": ("SHP", "application/zip"),
    "PDF": ("PDF", "application/pdf"),
    "KML": ("KML", "application/vnd.google-earth.kml+xml"),
    "File Geodatabase": ("FileGDB", "application/zip"),
}
MAPPED = frozenset({"id", "title", "description", "snippet", "tags", "categories", "created", "modified"})
MAPPED_MORE = frozenset({"licenseInfo", "url", "orgName", "source", "owner", "extent", "name"})


def normalise_dataset(
    record: Mapping[str, Any], context: HarvestContext, raw: bytes | None = None
) -> NormalisedDataset:
    """A Hub search item, or a DCAT-US record from the site's data.json."""
    if record.get("type") != "Feature":
        return dcat_us.normalise_dataset(record, context, raw)
    properties = record.get("properties") if isinstance(record.get("properties"), Mapping) else {}
    warnings = Warnings(f"dataset {record.get('id') or '?'}")
    row = new_dataset_row(context)
    row["dataset_id"] = text(record.get("id") or properties.get("id"), "id", warnings)
    row["name"] = text(properties.get("name"), "name", warnings) or row["dataset_id"]
    row["title"] = text(properties.get("title"), "title", warnings)
    row["description"] = text(properties.get("description") or properties.get("snippet"), "description", warnings)
    row["license_id"] = row["license_title"] = text(properties.get("licenseInfo"), "licenseInfo", warnings)
    row["keywords"] = text_list(properties.get("tags"), "tags", warnings)
    row["themes"] = text_list(properties.get("categories"), "categories", warnings)
    for column, key in (("issued", "created"), ("modified", "modified")):
        value = properties.get(key)
        set_date(row, column, _epoch_ms(value), warnings)
        if isinstance(value, int) and not isinstance(value, bool):
            row[f"{column}_text"] = str(value)  # the source's own text: epoch milliseconds
    if row["dataset_id"]:
        row["landing_page"] = row["dataset_url"] = f"{context.base_url.rstrip('/')}/datasets/{row['dataset_id']}"
    row["contact_name"] = text(properties.get("owner"), "owner", warnings)
    publisher = named_publisher(properties.get("orgName") or properties.get("source"), warnings)
    if publisher is not None:
        row["publisher_id"] = row["publisher_name"] = publisher["id"]
    row["extras"] = text_extras(properties, MAPPED | MAPPED_MORE)
    ensure_dataset_id(row, warnings)
    distributions = []
    url = text(properties.get("url"), "url", warnings)
    if url:
        item_type = text(properties.get("type"), "type", warnings)
        kind, media_type = ITEM_FORMATS.get(item_type or "", (item_type, None))
        distribution = new_distribution_row(row, 0)
        distribution.update(format=kind, media_type=media_type, access_url=url)
        distributions.append(distribution)
    finish_dataset(row, record, distributions, context, raw=raw)
    return NormalisedDataset(row, distributions, list(warnings), publisher=publisher)


def _epoch_ms(value: Any) -> Any:
    """Hub dates are epoch milliseconds: as ISO 8601 text, so they parse (and keep) like any other date."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return str(value)
    return value
