"""OpenDataSoft Explore API v2.1 catalogue records -> rows.

A record of `GET /api/explore/v2.1/catalog/datasets` (https://help.opendatasoft.com/apis/ods-explore-v2/)
is `{dataset_id, dataset_uid, has_records, features [...], attachments [...], fields [...], metas
{default {title, description, theme, keyword, license, license_url, publisher, modified, ...},
dcat {issued, created, contact_name, contact_email, accrualperiodicity, ...}}}`.

An ODS dataset's distributions are the platform's exports (`/exports/csv|json|xlsx`, and GeoJSON and
shapefile for geographic ones) plus any attached files.
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
from catalog.normalise.values import Warnings, text

EXPORTS = (
    ("CSV", "text/csv"),
    ("JSON", "application/json"),
    ("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
)
GEO_EXPORTS = (("GeoJSON", "application/geo+json"), ("SHP", "application/zip"))
DEFAULT_MAPPED = frozenset({"title", "description", "theme", "keyword", "license", "license_url", "publisher"})


def normalise_dataset(
    record: Mapping[str, Any], context: HarvestContext, raw: bytes | None = None
) -> NormalisedDataset:
    """One catalogue record as a dataset row and its distributions."""
    metas = record.get("metas") if isinstance(record.get("metas"), Mapping) else {}
    default = metas.get("default") if isinstance(metas.get("default"), Mapping) else {}
    dcat = metas.get("dcat") if isinstance(metas.get("dcat"), Mapping) else {}
    warnings = Warnings(f"dataset {record.get('dataset_id') or '?'}")
    row = new_dataset_row(context)
    row["dataset_id"] = text(record.get("dataset_id"), "dataset_id", warnings)
    row["name"] = row["dataset_id"]
    row["title"] = text(default.get("title"), "metas.default.title", warnings)
    row["description"] = text(default.get("description"), "metas.default.description", warnings)
    row["license_id"] = row["license_title"] = text(default.get("license"), "metas.default.license", warnings)
    row["license_url"] = text(default.get("license_url"), "metas.default.license_url", warnings)
    row["keywords"] = text_list(default.get("keyword"), "metas.default.keyword", warnings)
    row["themes"] = text_list(default.get("theme"), "metas.default.theme", warnings)
    row["frequency"] = text(dcat.get("accrualperiodicity"), "metas.dcat.accrualperiodicity", warnings)
    row["contact_name"] = text(dcat.get("contact_name"), "metas.dcat.contact_name", warnings)
    row["contact_email"] = text(dcat.get("contact_email"), "metas.dcat.contact_email", warnings)
    set_date(row, "issued", dcat.get("issued") or dcat.get("created"), warnings)
    set_date(row, "modified", default.get("modified") or default.get("data_processed"), warnings)
    base = context.base_url.rstrip("/")
    if row["dataset_id"]:
        row["landing_page"] = row["dataset_url"] = f"{base}/explore/dataset/{row['dataset_id']}/"
    publisher = named_publisher(default.get("publisher"), warnings)
    if publisher is not None:
        row["publisher_id"] = row["publisher_name"] = publisher["id"]
    row["extras"] = text_extras(default, DEFAULT_MAPPED) | {f"dcat.{k}": v for k, v in text_extras(dcat, set()).items()}
    ensure_dataset_id(row, warnings)
    distributions = _exports(record, row, base) if row["dataset_id"] else []
    for attachment in as_records(record.get("attachments"), "attachments", warnings):
        distribution = new_distribution_row(row, len(distributions))
        distribution["title"] = text(attachment.get("title"), "attachments.title", warnings)
        distribution["media_type"] = text(attachment.get("mimetype"), "attachments.mimetype", warnings)
        distribution["access_url"] = text(attachment.get("href") or attachment.get("url"), "attachments", warnings)
        distribution["download_url"] = distribution["access_url"]
        distributions.append(distribution)
    finish_dataset(row, record, distributions, context, raw=raw)
    return NormalisedDataset(row, distributions, list(warnings), publisher=publisher)


def _exports(record: Mapping[str, Any], dataset: Mapping[str, Any], base: str) -> list[dict[str, Any]]:
    """The platform's exports: tabular ones when the dataset has records, geographic ones when it is geo."""
    if record.get("has_records") is False:
        return []
    features = record.get("features") if isinstance(record.get("features"), list) else []
    kinds = EXPORTS + (GEO_EXPORTS if "geo" in features else ())
    rows = []
    for position, (kind, media_type) in enumerate(kinds):
        url = f"{base}/api/explore/v2.1/catalog/datasets/{dataset['dataset_id']}/exports/{kind.lower()}"
        row = new_distribution_row(dataset, position)
        row.update(title=f"{kind} export", format=kind, media_type=media_type, access_url=url, download_url=url)
        rows.append(row)
    return rows
