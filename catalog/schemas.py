"""The lake's tables: one explicit Arrow schema each. Column names follow DCAT-AP where one exists.

Every row carries `portal_id` and `harvest_id`, so any file can be read alone and still say where it
came from. Timestamps are UTC with microsecond precision.

`datasets` holds dataset *versions*: a harvest writes a row only for a dataset it found added or
modified (by content hash) or deleted (a tombstone, `change = 'deleted'`), so storage grows with change,
not with the number of runs. `distributions` belong to the dataset version with the same harvest_id.
"""

from __future__ import annotations

import pyarrow as pa

from catalog import runs

TIMESTAMP = pa.timestamp("us", tz="UTC")
TEXT_LIST = pa.list_(pa.string())


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    """A schema whose key columns (portal_id, harvest_id) may never be null."""
    keys = {"portal_id", "harvest_id"}
    return pa.schema([pa.field(name, kind, nullable=name not in keys) for name, kind in fields])


LISTED_IDS = _schema(
    ("portal_id", pa.string()),
    ("harvest_id", pa.string()),
    ("dataset_id", pa.string()),
)

RAW_PUBLISHERS = _schema(
    ("portal_id", pa.string()),
    ("harvest_id", pa.string()),
    ("publisher_id", pa.string()),
    ("raw", pa.string()),
)

DATASETS = _schema(
    ("portal_id", pa.string()),
    ("harvest_id", pa.string()),
    ("dataset_id", pa.string()),
    ("change", pa.string()),
    ("content_hash", pa.string()),
    ("name", pa.string()),
    ("title", pa.string()),
    ("description", pa.string()),
    ("publisher_id", pa.string()),
    ("publisher_name", pa.string()),
    ("landing_page", pa.string()),
    ("dataset_url", pa.string()),
    ("contact_name", pa.string()),
    ("contact_email", pa.string()),
    ("issued", TIMESTAMP),
    ("modified", TIMESTAMP),
    ("issued_text", pa.string()),
    ("modified_text", pa.string()),
    ("frequency", pa.string()),
    ("license_id", pa.string()),
    ("license_title", pa.string()),
    ("license_url", pa.string()),
    ("license_key", pa.string()),
    ("license_open", pa.bool_()),
    ("update_frequency", pa.string()),
    ("update_interval_days", pa.float64()),
    ("categories", TEXT_LIST),
    ("keywords", TEXT_LIST),
    ("themes", TEXT_LIST),
    ("version", pa.string()),
    ("state", pa.string()),
    ("num_distributions", pa.int32()),
    ("extras", pa.map_(pa.string(), pa.string())),
    ("raw", pa.string()),
    ("harvested_at", TIMESTAMP),
)

DISTRIBUTIONS = _schema(
    ("portal_id", pa.string()),
    ("harvest_id", pa.string()),
    ("dataset_id", pa.string()),
    ("distribution_id", pa.string()),
    ("position", pa.int32()),
    ("title", pa.string()),
    ("description", pa.string()),
    ("format", pa.string()),
    ("media_type", pa.string()),
    ("access_url", pa.string()),
    ("download_url", pa.string()),
    ("byte_size", pa.int64()),
    ("checksum", pa.string()),
    ("issued", TIMESTAMP),
    ("modified", TIMESTAMP),
    ("license_id", pa.string()),
    ("format_key", pa.string()),
    ("format_media_type", pa.string()),
    ("machine_readable", pa.bool_()),
    ("open_format", pa.bool_()),
)

PUBLISHERS = _schema(
    ("portal_id", pa.string()),
    ("harvest_id", pa.string()),
    ("publisher_id", pa.string()),
    ("name", pa.string()),
    ("title", pa.string()),
    ("description", pa.string()),
    ("image_url", pa.string()),
    ("issued", TIMESTAMP),
    ("dataset_count", pa.int64()),
    ("raw", pa.string()),
)

HARVEST_RUNS = runs.HARVEST_RUNS
"""Derived from `catalog.runs.HarvestRun`, the record a harvest keeps."""

PORTAL_CHECKS = pa.schema(
    [
        pa.field("check_id", pa.string(), nullable=False),
        pa.field("portal_id", pa.string(), nullable=False),
        ("url", pa.string()),
        ("registered_software", pa.string()),
        ("country", pa.string()),
        ("province", pa.string()),
        ("city", pa.string()),
        ("ascn_pilot_city", pa.bool_()),
        ("checked_at", TIMESTAMP),
        ("reachable", pa.bool_()),
        ("status", pa.int32()),
        ("detected_software", pa.string()),
        ("api_url", pa.string()),
        ("matches_registry", pa.bool_()),
        ("latency_ms", pa.float64()),
        ("detail", pa.string()),
        ("probes", pa.int32()),
    ]
)
"""One row per portal per liveness check (`catalog check`): availability over time is queryable."""

LINK_CHECKS = pa.schema(
    [
        pa.field("check_id", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        ("checked_at", TIMESTAMP),
        ("method", pa.string()),
        ("status", pa.int32()),
        ("error", pa.string()),
        ("detail", pa.string()),
        ("final_url", pa.string()),
        ("redirects", pa.int32()),
        ("content_type", pa.string()),
        ("served_format", pa.string()),
        ("content_length", pa.int64()),
        ("last_modified", TIMESTAMP),
        ("latency_ms", pa.float64()),
    ]
)
"""One row per URL per link check (`catalog links`), across portals: a URL is checked once however many
portals list it. `status` is the final HTTP status (null when none came), `error` the class of failure
(see `catalog.links.probe.ERROR_CLASSES`), `served_format` the content type as one of our canonical
formats."""

HARVEST_TABLES: dict[str, pa.Schema] = {
    "datasets": DATASETS,
    "distributions": DISTRIBUTIONS,
    "publishers": PUBLISHERS,
}
"""The normalised tables every harvest publishes, by name."""
