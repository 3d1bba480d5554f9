"""DKAN 7 packages (its CKAN-compatible API) -> rows: the CKAN mapping, plus DKAN's two differences.

- DKAN has no CKAN organisations: the publisher is the dataset's group (DKAN groups are publishers).
- Drupal renders some dates in the site's locale (`mar, 10/12/2019 - 09:23`); `values.timestamp`
  reads those only where day and month cannot be confused, and the text is kept either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.normalise.rows import HarvestContext, NormalisedDataset
from catalog.normalise.values import Warnings, text
from catalog.sources.ckan import mapping as ckan


def normalise_dataset(
    record: Mapping[str, Any], context: HarvestContext, raw: bytes | None = None
) -> NormalisedDataset:
    """One DKAN package as a dataset row and its distributions."""
    result = ckan.normalise_dataset(record, context, raw)
    groups = record.get("groups")
    if result.publisher is None and isinstance(groups, list) and groups and isinstance(groups[0], Mapping):
        group = groups[0]
        if isinstance(group.get("id"), str):
            result.publisher = dict(group)
            result.dataset["publisher_id"] = group["id"]
            warnings = Warnings(f"dataset {result.dataset['dataset_id']}", into=result.warnings)
            result.dataset["publisher_name"] = text(group.get("title") or group.get("name"), "groups[0]", warnings)
    return result
