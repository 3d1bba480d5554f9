"""CKAN package and organisation records -> rows of `datasets`, `distributions` and `publishers`.

Pure and table-driven: the tables below say which CKAN key feeds which column, the functions only
apply them. Nothing here raises on bad input; a value that cannot be used becomes null and a warning
naming the dataset, the field and the value, while the raw record keeps what the portal said.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import orjson

from catalog.normalise.rows import (
    HarvestContext,
    NormalisedDataset,
    ensure_dataset_id,
    finish_dataset,
    new_dataset_row,
    new_distribution_row,
    set_date,
)
from catalog.normalise.values import (
    Warnings,
    integer,
    is_object,
    json_bytes,
    json_text,
    text,
    timestamp,
    unique,
    valid_utf8,
)

# column -> CKAN keys, first non-empty wins. Extras are consulted too (see `_lookup`).
DATASET_TEXT = {
    "dataset_id": ("id",),
    "name": ("name",),
    "title": ("title",),
    "description": ("notes",),
    "landing_page": ("url",),
    "contact_name": ("maintainer", "author", "contact-name"),
    "contact_email": ("maintainer_email", "author_email", "contact-email"),
    "license_id": ("license_id",),
    "license_title": ("license_title", "licence", "license"),
    "license_url": ("license_url",),
    "version": ("version",),
    "state": ("state",),
}
DATASET_TIMES = {
    "issued": ("metadata_created",),
    "modified": ("metadata_modified",),
}
# Declared update frequency: ckanext-dcat, data.gov.uk / INSPIRE, ckanext-scheming conventions.
FREQUENCY_KEYS = (
    "frequency",
    "accrual_periodicity",
    "update_frequency",
    "UpdateFrequency",
    "frequency-of-update",
)
THEME_KEYS = ("groups", "theme", "theme-primary", "theme-secondary")

# column -> the resource's one key for it (`_set_texts`).
DISTRIBUTION_TEXT = {
    "distribution_id": "id",
    "title": "name",
    "description": "description",
    "format": "format",
    "media_type": "mimetype",
    "access_url": "url",
    "checksum": "hash",
}
DISTRIBUTION_TIMES = {
    "issued": ("created",),
    "modified": ("last_modified", "metadata_modified"),
}

PUBLISHER_TEXT = {
    "publisher_id": ("id",),
    "name": ("name",),
    "title": ("title", "display_name"),
    "description": ("description",),
    "image_url": ("image_display_url", "image_url"),
}


def normalise_dataset(
    record: Mapping[str, Any], context: HarvestContext, raw: bytes | None = None
) -> NormalisedDataset:
    """One CKAN package (as package_search or package_show returns it) as a dataset row and its distributions.

    `raw` is the record's JSON (`json_bytes`) when the caller already has it, to avoid serialising twice.
    """
    warnings = Warnings(f"dataset {record.get('id') or record.get('name') or '?'}")
    extras = _extras(record.get("extras"), warnings)
    row = new_dataset_row(context)
    for column, keys in DATASET_TEXT.items():
        row[column] = text(_lookup(record, extras, keys), column, warnings)
    for column, keys in DATASET_TIMES.items():
        set_date(row, column, _lookup(record, extras, keys), warnings)
    row["frequency"] = text(_lookup(record, extras, FREQUENCY_KEYS), "frequency", warnings)
    organization = record.get("organization")
    publisher = organization if is_object(organization) and isinstance(organization.get("id"), str) else None
    if publisher is not None:
        row["publisher_id"] = text(organization.get("id"), "organization.id", warnings)
        row["publisher_name"] = text(organization.get("title") or organization.get("name"), "organization", warnings)
    else:
        row["publisher_id"] = text(record.get("owner_org"), "owner_org", warnings)
    row["dataset_url"] = f"{context.base_url.rstrip('/')}/dataset/{row['name']}" if row["name"] else None
    row["keywords"] = unique([_tag_name(tag, warnings) for tag in _as_list(record.get("tags"), "tags", warnings)])
    row["themes"] = _themes(record, extras, warnings)
    row["extras"] = extras
    ensure_dataset_id(row, warnings)
    resources = _as_list(record.get("resources"), "resources", warnings)
    distributions = [
        normalise_distribution(resource, position, row, warnings)
        for position, resource in enumerate(resources)
        if is_object(resource)
    ]
    finish_dataset(row, record, distributions, context, raw=raw)
    return NormalisedDataset(row, distributions, list(warnings), publisher=dict(publisher) if publisher else None)


def normalise_distribution(
    resource: Mapping[str, Any], position: int, dataset: Mapping[str, Any], warnings: Warnings
) -> dict[str, Any]:
    """One CKAN resource as a distribution row of `dataset`."""
    row = new_distribution_row(dataset, position)
    warnings = warnings.scoped(f"resources[{position}].")
    _set_texts(row, resource, DISTRIBUTION_TEXT, warnings)
    for column, keys in DISTRIBUTION_TIMES.items():
        row[column] = timestamp(_first(resource, keys), column, warnings)
    row["byte_size"] = integer(resource.get("size"), "size", warnings)
    # ckanext-dcat: `download_url` when given; an uploaded file's url is itself a download.
    download = resource.get("download_url") or (resource.get("url") if resource.get("url_type") == "upload" else None)
    row["download_url"] = text(download, "download_url", warnings)
    return row


def normalise_publisher(
    record: Mapping[str, Any], context: HarvestContext, raw: bytes | None = None
) -> tuple[dict[str, Any], list[str]]:
    """One CKAN organisation (organization_list all_fields, or the block embedded in a package)."""
    warnings = Warnings(f"publisher {record.get('id') or record.get('name') or '?'}")
    row: dict[str, Any] = {"portal_id": context.portal_id, "harvest_id": context.harvest_id}
    for column, keys in PUBLISHER_TEXT.items():
        row[column] = text(_first(record, keys), column, warnings)
    row["issued"] = timestamp(record.get("created"), "created", warnings)
    row["dataset_count"] = integer(record.get("package_count"), "package_count", warnings)
    row["raw"] = raw if raw is not None else json_bytes(record)
    return row, list(warnings)


EMPTY_VALUES = (None, "", [], {})


def _first(record: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = record.get(key)
        if value or value not in EMPTY_VALUES:  # a true value is never empty: compared only when false
            return value
    return None


def _set_texts(row: dict[str, Any], record: Mapping[str, Any], columns: Mapping[str, str], warnings: Warnings) -> None:
    """`row[column] = text(_first(record, (key,)))` for each column and its one key, with `text`'s
    common case (a plain ASCII string) inlined: a dataset's distributions make most of its calls."""
    for column, key in columns.items():
        value = record.get(key)
        if type(value) is str and value.isascii():
            row[column] = value.strip() or None
        elif not value and value in EMPTY_VALUES:
            row[column] = None
        else:
            row[column] = text(value, column, warnings)


def _lookup(record: Mapping[str, Any], extras: Mapping[str, str], keys: tuple[str, ...]) -> Any:
    """First non-empty value among the record's keys, then among its extras (`_first` on the record
    inlined: fifteen calls a dataset)."""
    for key in keys:
        value = record.get(key)
        if value or value not in EMPTY_VALUES:
            return value
    return _first(extras, keys) if extras else None


def _as_list(value: Any, field: str, warnings: Warnings) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    warnings.add(field, value, "is not a list; ignored")
    return []


def _extras(value: Any, warnings: Warnings) -> dict[str, str]:
    """CKAN extras (a list of {key, value}) as a text map; non-text values kept as JSON text."""
    extras: dict[str, str] = {}
    for item in _as_list(value, "extras", warnings):
        if not is_object(item) or not isinstance(item.get("key"), str):
            warnings.add("extras", item, "is not a {key, value} pair; ignored")
            continue
        raw = item.get("value")
        extras[valid_utf8(item["key"])] = valid_utf8(raw) if isinstance(raw, str) else json_text(raw)
    return extras


def _tag_name(tag: Any, warnings: Warnings) -> str | None:
    if is_object(tag):
        return text(tag.get("name") or tag.get("display_name"), "tags", warnings)
    return text(tag, "tags", warnings)


def _themes(record: Mapping[str, Any], extras: Mapping[str, str], warnings: Warnings) -> list[str]:
    """Theme names from groups and theme fields; a theme extra may hold a JSON list in a string."""
    themes: list[str | None] = []
    for key in THEME_KEYS:
        value = record.get(key, extras.get(key))
        if isinstance(value, str) and value.lstrip().startswith("["):
            with contextlib.suppress(orjson.JSONDecodeError):
                value = orjson.loads(value)
        for item in value if isinstance(value, list) else [value]:
            name = item.get("name") or item.get("title") if is_object(item) else item
            themes.append(text(name, key, warnings))
    return unique(themes)
