"""DCAT / DCAT-AP datasets read from RDF -> rows.

The RDF adapter hands each `dcat:Dataset` over as a JSON record (see `catalog.portals.dcat.Describer`):
`{"@id": IRI or "_:blank", "@type": [...], "dct:title": [value, ...], ...}` where a value is a string,
`{"@value", "@language"}` for a tagged literal, `{"@id"}` for a plain IRI, or a nested record for a node
described in the same graph (a distribution, a publisher, a contact point). Predicates use the usual
DCAT-AP prefixes; any other namespace keeps its full IRI.

Multilingual literals: the untagged value wins, then English, then the first given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.normalise.rows import (
    HarvestContext,
    NormalisedDataset,
    ensure_dataset_id,
    finish_dataset,
    new_dataset_row,
    new_distribution_row,
    set_date,
)
from catalog.normalise.values import Warnings, integer, json_text, text, timestamp, unique

DATASET_TEXT = {
    "title": "dct:title",
    "description": "dct:description",
    "landing_page": "dcat:landingPage",
    "frequency": "dct:accrualPeriodicity",
    "version": ("owl:versionInfo", "adms:version", "dcat:version"),
}
DISTRIBUTION_TEXT = {
    "title": "dct:title",
    "description": "dct:description",
    "format": "dct:format",
    "media_type": "dcat:mediaType",
    "access_url": "dcat:accessURL",
    "download_url": "dcat:downloadURL",
    "license_id": ("dct:license", "dct:rights"),
}
LABEL_KEYS = ("rdfs:label", "skos:prefLabel", "rdf:value", "foaf:name", "dct:title")
PUBLISHER_NAME_KEYS = ("foaf:name", "vcard:fn", "vcard:organization-name", "skos:prefLabel")
LICENSE_KEYS = ("dct:license", "dct:rights", "cc:license")
MAPPED = frozenset(
    {"@id", "@type", "dct:identifier", "dct:issued", "dct:modified", "dct:publisher", "dcat:contactPoint"}
    | {"dcat:keyword", "dcat:theme", "dcat:distribution", *LICENSE_KEYS}
    | {key for keys in DATASET_TEXT.values() for key in ((keys,) if isinstance(keys, str) else keys)}
)
LANGUAGE_RANK = {None: 0, "en": 1}


def dataset_identifier(record: Mapping[str, Any]) -> str | None:
    """A dataset's stable id: its IRI; for a blank node (renamed on every parse) its `dct:identifier`."""
    node = record.get("@id")
    if isinstance(node, str) and node and not node.startswith("_:"):
        return node
    return _literal(record, "dct:identifier")


def normalise_dataset(record: Mapping[str, Any], context: HarvestContext, raw: str | None = None) -> NormalisedDataset:
    """One dcat:Dataset (as the RDF adapter describes it) as a dataset row and its distributions."""
    warnings = Warnings(f"dataset {record.get('@id') or '?'}")
    row = new_dataset_row(context)
    row["dataset_id"] = dataset_identifier(record)
    row["name"] = _literal(record, "dct:identifier") or row["dataset_id"]
    for column, keys in DATASET_TEXT.items():
        row[column] = text(_literal(record, keys), column, warnings)
    set_date(row, "issued", _literal(record, "dct:issued"), warnings)
    set_date(row, "modified", _literal(record, "dct:modified"), warnings)
    row["dataset_url"] = row["landing_page"] or _iri(record.get("@id"))
    row["keywords"] = unique([text(value, "dcat:keyword", warnings) for value in _literals(record, "dcat:keyword")])
    row["themes"] = unique([text(value, "dcat:theme", warnings) for value in _literals(record, "dcat:theme")])
    publisher = _publisher(_node(record, "dct:publisher"), warnings)
    if publisher is not None:
        row["publisher_id"] = publisher["id"]
        row["publisher_name"] = publisher["name"]
    contact = _node(record, "dcat:contactPoint")
    if contact is not None:
        row["contact_name"] = text(_literal(contact, ("vcard:fn", "vcard:organization-name")), "vcard:fn", warnings)
        email = text(_literal(contact, "vcard:hasEmail"), "vcard:hasEmail", warnings)
        row["contact_email"] = email.removeprefix("mailto:") if email else None
    row["extras"] = {key: json_text(value) for key, value in record.items() if key not in MAPPED}
    ensure_dataset_id(row, warnings)
    distributions = [
        _distribution(node, position, row, warnings.scoped(f"dcat:distribution[{position}]."))
        for position, node in enumerate(_nodes(record, "dcat:distribution"))
    ]
    row["license_id"] = text(_literal(record, LICENSE_KEYS), "dct:license", warnings) or _shared_licence(distributions)
    if row["license_id"] and row["license_id"].startswith(("http://", "https://")):
        row["license_url"] = row["license_id"]
    finish_dataset(row, record, distributions, context, raw=raw)
    return NormalisedDataset(row, distributions, list(warnings), publisher=publisher)


def _distribution(node: Mapping[str, Any], position: int, dataset: Mapping[str, Any], warnings: Warnings) -> dict:
    row = new_distribution_row(dataset, position)
    row["distribution_id"] = _iri(node.get("@id")) or _literal(node, "dct:identifier")
    for column, keys in DISTRIBUTION_TEXT.items():
        row[column] = text(_literal(node, keys), column, warnings)
    for column, key in (("format", "dct:format"), ("media_type", "dcat:mediaType")):
        described = _node(node, key)  # a dct:IMT or EU file-type node: its label says more than its IRI
        label = _literal(described, LABEL_KEYS) if described else None
        if label:
            row[column] = text(label, column, warnings)
    row["issued"] = timestamp(_literal(node, "dct:issued"), "dct:issued", warnings)
    row["modified"] = timestamp(_literal(node, "dct:modified"), "dct:modified", warnings)
    row["byte_size"] = integer(_literal(node, "dcat:byteSize"), "dcat:byteSize", warnings)
    checksum = _node(node, "spdx:checksum")
    row["checksum"] = text(_literal(checksum, "spdx:checksumValue"), "spdx:checksum", warnings) if checksum else None
    return row


def _shared_licence(distributions: list[dict[str, Any]]) -> str | None:
    """DCAT-AP puts the licence on distributions: the dataset's is theirs when they all agree."""
    licences = {row["license_id"] for row in distributions if row["license_id"]}
    return licences.pop() if len(licences) == 1 else None


def _publisher(node: Mapping[str, Any] | None, warnings: Warnings) -> dict[str, Any] | None:
    if node is None:
        return None
    name = text(_literal(node, PUBLISHER_NAME_KEYS), "dct:publisher", warnings)
    publisher_id = _iri(node.get("@id")) or name
    if publisher_id is None:
        return None
    return {"id": publisher_id, "name": name, "title": name}


def _iri(value: Any) -> str | None:
    return value if isinstance(value, str) and value and not value.startswith("_:") else None


def _values(record: Mapping[str, Any] | None, keys: str | tuple[str, ...]) -> list[Any]:
    if record is None:
        return []
    for key in (keys,) if isinstance(keys, str) else keys:
        values = record.get(key)
        if values:
            return values if isinstance(values, list) else [values]
    return []


def _as_text(value: Any) -> str | None:
    """A value as text: a literal's lexical form, an IRI, or a described node's IRI or label."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping) and "@value" in value:
        return value["@value"] or None
    if isinstance(value, Mapping):
        return _iri(value.get("@id")) or _literal(value, LABEL_KEYS)
    return None


def _literals(record: Mapping[str, Any] | None, keys: str | tuple[str, ...]) -> list[str]:
    return [found for value in _values(record, keys) if (found := _as_text(value))]


def _language(value: Any) -> str | None:
    return value.get("@language") if isinstance(value, Mapping) and "@value" in value else None


def _literal(record: Mapping[str, Any] | None, keys: str | tuple[str, ...]) -> str | None:
    """One value as text, preferring an untagged literal, then English, then the first given."""
    ranked = sorted(_values(record, keys), key=lambda value: LANGUAGE_RANK.get(_language(value), 2))
    return next((found for value in ranked if (found := _as_text(value))), None)


def _nodes(record: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    return [value for value in _values(record, key) if isinstance(value, Mapping) and "@value" not in value]


def _node(record: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    nodes = _nodes(record, key)
    return nodes[0] if nodes else None
