"""DCAT-US (Project Open Data `data.json`, 1.1 and 3.0) dataset records -> rows.

DCAT-US 1.1 (https://resources.data.gov/resources/dcat-us/) is flat JSON: `identifier`, `title`,
`description`, `keyword`, `modified`, `publisher {name, subOrganizationOf}`, `contactPoint {fn,
hasEmail}`, `accessLevel`, `license` (a URL), `distribution [{downloadURL, accessURL, mediaType,
format, title}]`, `accrualPeriodicity` (ISO 8601 repeating duration), `theme`, `landingPage`. Served by
Socrata, ArcGIS Hub, DKAN, CKAN with ckanext-datajson and Argentina's Andino (the DCAT-AR profile,
which adds `superTheme` and per-distribution `identifier`, `issued`, `modified`, `byteSize`).

DCAT-US 3.0 (GSA's JSON Schema, DOI's draft context) loosens most of those, and both are read:
`identifier` as an object (`notation`) or a list; `title` / `description` / `keyword` as language
maps (`titleMap`...); `publisher` as an IRI or with `foaf:name` / `prefLabel`; `contactPoint` as a list,
with `email` beside `hasEmail`; dates as JSON-LD value objects (`{"@value": "2021"}`); `landingPage`,
`theme` and `accrualPeriodicity` as objects; `license` on distributions only; `accessService` for an
API. What is not read: references to other nodes of a flattened `@graph` (a publisher given only as
`{"@id": ...}`), which keep their IRI.

Real feeds bend both (see the fixtures' MANIFEST): `modified` as a bare year or `R/P1D`, `distribution`
or `keyword` missing, HTML in `description`, a single object where a list belongs, a dataset with no
`identifier` (keyed by its title then, with a warning). Everything not mapped to a column lands in
`extras` as text.
"""

from __future__ import annotations

import hashlib
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
from catalog.normalise.values import Warnings, clean_email, integer, text, timestamp

LANGUAGES = ("en", "en-US", "en-us")
VALUE_KEYS = ("@value", "@id", "prefLabel", "skos:prefLabel", "notation", "label", "name", "url")
DATASET_TEXT = {
    "title": "title",
    "description": "description",
    "landing_page": "landingPage",
    "license_id": "license",
    "frequency": "accrualPeriodicity",
    "version": "version",
}
DISTRIBUTION_TEXT = {
    "title": "title",
    "description": "description",
    "format": "format",
    "media_type": "mediaType",
    "access_url": "accessURL",
    "download_url": "downloadURL",
    "license_id": "license",
}
MAPPED = frozenset(
    {*DATASET_TEXT.values(), "identifier", "keyword", "theme", "superTheme", "publisher", "contactPoint"}
    | {"distribution", "issued", "modified", "@type", "@id", "titleMap", "descriptionMap", "keywordMap"}
)


def _plain(value: Any) -> Any:
    """A JSON-LD value object, an IRI object or a concept as its text; anything else as it is."""
    if isinstance(value, Mapping):
        return next((value[key] for key in VALUE_KEYS if isinstance(value.get(key), str) and value[key]), None)
    if isinstance(value, list):
        return next((found for item in value if (found := _plain(item))), None)
    return value


def _field(record: Mapping[str, Any], key: str) -> Any:
    """`key`'s value in plain form, or its language map's (`titleMap`): English first, then the first."""
    if record.get(key) not in (None, "", [], {}):
        return _plain(record[key])
    language_map = record.get(f"{key}Map")
    if isinstance(language_map, Mapping) and language_map:
        chosen = next((language_map[language] for language in LANGUAGES if language in language_map), None)
        chosen = chosen if chosen is not None else next(iter(language_map.values()))
        return chosen if isinstance(chosen, list) else _plain(chosen)
    return None


def dataset_identifier(record: Mapping[str, Any]) -> str | None:
    """`identifier` (a string; DCAT-US 3: an object's `notation`, or a list's first), else the record's
    `@id`; a dataset with neither (DCAT-US requires one) is keyed by a digest of its title."""
    found = _plain(record.get("identifier")) or _plain(record.get("@id"))
    if isinstance(found, str) and found.strip():
        return found.strip()
    title = _field(record, "title")
    if isinstance(title, str) and title.strip():
        return f"no-identifier:{hashlib.blake2b(title.strip().encode(), digest_size=8).hexdigest()}"
    return None


def normalise_dataset(
    record: Mapping[str, Any], context: HarvestContext, raw: bytes | None = None
) -> NormalisedDataset:
    """One data.json dataset as a dataset row and its distributions."""
    row = new_dataset_row(context)
    row["dataset_id"] = dataset_identifier(record)
    warnings = Warnings(f"dataset {row['dataset_id'] or record.get('title') or '?'}")
    if row["dataset_id"] and row["dataset_id"].startswith("no-identifier:"):
        warnings.add("identifier", None, "is missing (DCAT-US requires one); keyed by the title")
    for column, key in DATASET_TEXT.items():
        row[column] = text(_field(record, key), key, warnings)
    row["name"] = row["dataset_id"]
    set_date(row, "issued", _plain(record.get("issued")), warnings)
    set_date(row, "modified", _plain(record.get("modified")), warnings)
    row["dataset_url"] = row["landing_page"]
    keywords = record.get("keyword") or _field(record, "keyword")
    row["keywords"] = text_list(keywords, "keyword", warnings)
    row["themes"] = text_list(_concepts(record.get("theme")), "theme", warnings) + text_list(
        record.get("superTheme"), "superTheme", warnings
    )
    publisher = _publisher(record.get("publisher"), warnings)
    if publisher is not None:
        row["publisher_id"], row["publisher_name"] = publisher["id"], publisher["name"]
    contact = next(iter(as_records(record.get("contactPoint"), "contactPoint", warnings)), None)
    if contact is not None:
        name = _plain(contact.get("fn")) or _plain(contact.get("organization-name"))
        row["contact_name"] = text(name, "contactPoint.fn", warnings)
        email = _plain(contact.get("hasEmail")) or _plain(contact.get("email"))
        row["contact_email"] = clean_email(text(email, "contactPoint.hasEmail", warnings))
    row["extras"] = text_extras(record, MAPPED)
    ensure_dataset_id(row, warnings)
    distributions = [
        _distribution(item, position, row, warnings.scoped(f"distribution[{position}]."))
        for position, item in enumerate(as_records(record.get("distribution"), "distribution", warnings))
    ]
    if row["license_id"] is None:  # DCAT-US 3: licences live on distributions
        shared = {distribution["license_id"] for distribution in distributions if distribution["license_id"]}
        row["license_id"] = shared.pop() if len(shared) == 1 else None
    if row["license_id"] and row["license_id"].startswith(("http://", "https://")):
        row["license_url"] = row["license_id"]
    finish_dataset(row, record, distributions, context, raw=raw)
    return NormalisedDataset(row, distributions, list(warnings), publisher=publisher)


def _concepts(value: Any) -> Any:
    """Themes as text: strings as they are, concepts (DCAT-US 3) by their label or IRI."""
    if isinstance(value, list):
        return [_plain(item) if isinstance(item, Mapping) else item for item in value]
    return _plain(value) if isinstance(value, Mapping) else value


def _publisher(value: Any, warnings: Warnings) -> dict[str, Any] | None:
    """`publisher {name, subOrganizationOf}` (DCAT-US 3 also `foaf:name`, `prefLabel`, or just an IRI):
    named by its own name, parent kept as description."""
    if isinstance(value, Mapping):
        name = _plain(value.get("name")) or _plain(value.get("foaf:name")) or _plain(value.get("prefLabel"))
        parent = value.get("subOrganizationOf")
        parent = parent[0] if isinstance(parent, list) and parent else parent
        parent_name = _plain(parent.get("name") or parent.get("foaf:name")) if isinstance(parent, Mapping) else None
        description = f"part of {parent_name}" if parent_name else None
        return named_publisher(name or _plain(value.get("@id")), warnings, description=description)
    return named_publisher(value, warnings)


def _distribution(
    item: Mapping[str, Any], position: int, dataset: Mapping[str, Any], warnings: Warnings
) -> dict[str, Any]:
    row = new_distribution_row(dataset, position)
    row["distribution_id"] = text(_plain(item.get("identifier")) or _plain(item.get("@id")), "identifier", warnings)
    for column, key in DISTRIBUTION_TEXT.items():
        row[column] = text(_field(item, key), key, warnings) or row.get(column)
    if row["access_url"] is None:  # DCAT-US 3: an API is an accessService with an endpointURL
        services = item.get("accessService")
        service = services[0] if isinstance(services, list) and services else services
        if isinstance(service, Mapping):
            row["access_url"] = text(_plain(service.get("endpointURL")), "accessService.endpointURL", warnings)
    row["issued"] = timestamp(_plain(item.get("issued")), "issued", warnings)
    row["modified"] = timestamp(_plain(item.get("modified")), "modified", warnings)
    row["byte_size"] = integer(_plain(item.get("byteSize")), "byteSize", warnings)
    return row
