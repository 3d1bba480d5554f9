"""Socrata Discovery API results -> rows.

Each result of `GET /api/catalog/v1` (https://dev.socrata.com/docs/other/discovery) is
`{resource {id, name, description, attribution, contact_email, createdAt, updatedAt, data_updated_at,
type, ...}, classification {categories, tags, domain_category, domain_tags, domain_metadata [{key,
value}]}, metadata {domain, license}, permalink, link, owner {display_name}}`.

Socrata datasets carry no file list: every tabular dataset can be exported from the same URLs, so
its distributions are the standard exports (CSV, JSON) and the SODA API endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    text_list,
)
from catalog.normalise.values import Warnings, clean_email, json_text, text, unique, valid_utf8

# (title, format, media type, URL template) for the exports every tabular Socrata dataset has.
EXPORTS = (
    ("CSV export", "CSV", "text/csv", "https://{domain}/api/views/{id}/rows.csv?accessType=DOWNLOAD"),
    ("JSON export", "JSON", "application/json", "https://{domain}/api/views/{id}/rows.json?accessType=DOWNLOAD"),
    ("SODA API", "API", "application/json", "https://{domain}/resource/{id}.json"),
)
TABULAR_TYPES = frozenset({"dataset", "filter", "map", "chart"})


def normalise_dataset(
    record: Mapping[str, Any], context: HarvestContext, raw: bytes | None = None
) -> NormalisedDataset:
    """One Discovery API result as a dataset row and its distributions."""
    resource = _object(record.get("resource"))
    classification = _object(record.get("classification"))
    metadata = _object(record.get("metadata"))
    warnings = Warnings(f"dataset {resource.get('id') or '?'}")
    row = new_dataset_row(context)
    row["dataset_id"] = text(resource.get("id"), "resource.id", warnings)
    row["name"] = row["dataset_id"]
    row["title"] = text(resource.get("name"), "resource.name", warnings)
    row["description"] = text(resource.get("description"), "resource.description", warnings)
    row["landing_page"] = text(record.get("link") or record.get("permalink"), "link", warnings)
    row["dataset_url"] = text(record.get("permalink") or record.get("link"), "permalink", warnings)
    row["contact_email"] = text(resource.get("contact_email"), "resource.contact_email", warnings)
    row["license_id"] = row["license_title"] = text(metadata.get("license"), "metadata.license", warnings)
    set_date(row, "issued", resource.get("createdAt"), warnings)
    set_date(row, "modified", resource.get("data_updated_at") or resource.get("updatedAt"), warnings)
    row["keywords"] = unique(
        text_list(classification.get("domain_tags"), "domain_tags", warnings)
        + text_list(classification.get("tags"), "tags", warnings)
    )
    row["themes"] = unique(
        text_list([classification.get("domain_category")], "domain_category", warnings)
        + text_list(classification.get("categories"), "categories", warnings)
    )
    domain_metadata = _domain_metadata(classification.get("domain_metadata"))
    row["frequency"] = next((value for key, value in domain_metadata.items() if "frequency" in key.lower()), None)
    # Project Open Data's "Common Core" fields, which many Socrata domains fill
    row["contact_name"] = text(domain_metadata.get("Common-Core_Contact-Name"), "Common-Core_Contact-Name", warnings)
    row["contact_email"] = row["contact_email"] or clean_email(domain_metadata.get("Common-Core_Contact-Email"))
    row["extras"] = domain_metadata | {
        key: value if isinstance(value, str) else json_text(value)
        for key, value in resource.items()
        if key in ("type", "provenance", "attribution_link", "parent_fxf", "blob_mime_type") and value
    }
    owner = _object(record.get("owner"))
    publisher = named_publisher(resource.get("attribution") or owner.get("display_name"), warnings)
    if publisher is not None:
        row["publisher_id"] = row["publisher_name"] = publisher["id"]
    ensure_dataset_id(row, warnings)
    domain = text(metadata.get("domain"), "metadata.domain", warnings)
    distributions = []
    if domain and row["dataset_id"] and resource.get("type", "dataset") in TABULAR_TYPES:
        for position, (title, kind, media_type, template) in enumerate(EXPORTS):
            distribution = new_distribution_row(row, position)
            url = template.format(domain=domain, id=row["dataset_id"])
            distribution.update(title=title, format=kind, media_type=media_type, access_url=url, download_url=url)
            distributions.append(distribution)
    finish_dataset(row, record, distributions, context, raw=raw)
    return NormalisedDataset(row, distributions, list(warnings), publisher=publisher)


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _domain_metadata(value: Any) -> dict[str, str]:
    """`domain_metadata` (a list of {key, value}) as a map: the portal's own custom fields."""
    pairs = value if isinstance(value, list) else []
    return {
        valid_utf8(str(item["key"])): valid_utf8(str(item["value"]))
        for item in pairs
        if isinstance(item, Mapping) and item.get("key") and item.get("value") not in (None, "")
    }
