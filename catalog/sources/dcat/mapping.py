"""DCAT / DCAT-AP / GeoDCAT-AP datasets read from RDF -> rows.

The RDF adapter hands each `dcat:Dataset` over as a JSON record (see `catalog.sources.dcat.client.Describer`):
`{"@id": IRI or "_:name", "@type": [...], "dct:title": [value, ...], ...}` where a value is a string,
`{"@value", "@language"}` for a tagged literal, `{"@id"}` for a plain IRI, or a nested record for a node
described in the same graph (a distribution, a publisher, a contact point). Predicates use the usual
DCAT-AP prefixes; any other namespace keeps its full IRI.

Which property fills which column, first present wins, is the table below, taken from DCAT 3, DCAT-AP 3,
GeoDCAT-AP (and what GeoNetwork and the GeoDCAT-AP XSLT really write), the national profiles (DCAT-AP.de,
-NO, -CH) and ckanext-dcat's readers (see the README, "DCAT properties read"). Whatever no column takes
stays in `extras` as JSON, and the whole record in `raw`.

Multilingual literals: the untagged value wins, then English, then the first given.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from rdflib import RDF, BNode, Graph, Literal
from rdflib.term import Node

from catalog.normalise.rows import (
    HarvestContext,
    NormalisedDataset,
    ensure_dataset_id,
    finish_dataset,
    new_dataset_row,
    new_distribution_row,
    set_date,
)
from catalog.normalise.values import Warnings, clean_email, integer, json_text, text, timestamp, unique

Keys = tuple[str, ...]
DATASET_TEXT: dict[str, Keys] = {
    "title": ("dct:title",),
    "description": ("dct:description", "dct:abstract"),
    "landing_page": ("dcat:landingPage", "foaf:homepage"),
    "frequency": ("dct:accrualPeriodicity",),
    "version": ("dcat:version", "owl:versionInfo", "adms:version"),
}
ISSUED: Keys = ("dct:issued", "dct:created")
MODIFIED: Keys = ("dct:modified", "dct:updated")
DISTRIBUTION_TEXT: dict[str, Keys] = {
    "title": ("dct:title",),
    "description": ("dct:description",),
    "download_url": ("dcat:downloadURL",),
    "license_id": ("dct:license", "dct:rights"),
}
LICENSE_KEYS: Keys = ("dct:license", "dct:rights", "cc:license")
LABEL_KEYS: Keys = ("rdfs:label", "skos:prefLabel", "rdf:value", "foaf:name", "dct:title", "dct:description")
AGENT_NAME_KEYS: Keys = ("foaf:name", "skos:prefLabel", "rdfs:label", "vcard:fn", "vcard:organization-name")
AGENT_KEYS: Keys = ("dct:publisher", "dct:creator", "dct:rightsHolder", "http://dcat-ap.de/def/dcatde/maintainer")
CONTACT_KEYS: Keys = ("dcat:contactPoint", "adms:contactPoint")
CONTACT_NAME_KEYS: Keys = ("vcard:fn", "vcard:organization-name", "vcard:hasOrganizationName")
ORGANISATION_NAME_KEYS: Keys = ("vcard:organisation-name", "vcard:organization-name")
EMAIL_KEYS: Keys = ("vcard:hasEmail", "vcard:email", "dcat:email")
PUBLISHER_ROLE = re.compile(r"(ResponsiblePartyRole/|#)publisher$", re.IGNORECASE)
CONTACT_ROLE = re.compile(r"(ResponsiblePartyRole/|#)pointOfContact$", re.IGNORECASE)
IANA_MEDIA_TYPES = re.compile(r"^https?://www\.iana\.org/assignments/media-types/", re.IGNORECASE)
MEDIA_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+$", re.IGNORECASE)
DECIMAL = re.compile(r"^\s*(\d+)\.\d+\s*$")
MAPPED = frozenset(
    {"@id", "@type", "dct:identifier", "dcat:keyword", "dcat:theme", "dcat:distribution"}
    | {"dcat:contactPoint", "adms:contactPoint", *AGENT_KEYS, *LICENSE_KEYS, *ISSUED, *MODIFIED}
    | {key for keys in DATASET_TEXT.values() for key in keys}
)
LANGUAGE_RANK = {None: 0, "en": 1}


def dataset_identifier(record: Mapping[str, Any]) -> str | None:
    """A dataset's stable id: its IRI; for a blank node its `dct:identifier`, else its `adms:identifier`
    notation, else its blank-node name, which the adapter derives from its content (stable while the
    content is)."""
    node = record.get("@id")
    if isinstance(node, str) and node and not node.startswith("_:"):
        return node
    other = _node(record, "adms:identifier")
    return _literal(record, "dct:identifier") or _literal(other, "skos:notation") or _blank(node)


def _blank(node: Any) -> str | None:
    return node if isinstance(node, str) and node.startswith("_:") else None


def normalise_dataset(
    record: Mapping[str, Any], context: HarvestContext, raw: bytes | None = None
) -> NormalisedDataset:
    """One dcat:Dataset (as the RDF adapter describes it) as a dataset row and its distributions."""
    warnings = Warnings(f"dataset {record.get('@id') or '?'}")
    row = new_dataset_row(context)
    row["dataset_id"] = dataset_identifier(record)
    row["name"] = _literal(record, "dct:identifier") or row["dataset_id"]
    for column, keys in DATASET_TEXT.items():
        row[column] = text(_literal(record, keys), column, warnings)
    set_date(row, "issued", _literal(record, ISSUED), warnings)
    set_date(row, "modified", _literal(record, MODIFIED), warnings)
    row["dataset_url"] = row["landing_page"] or _iri(record.get("@id"))
    keywords = [part for value in _preferred_literals(record, "dcat:keyword") for part in value.split(",")]
    row["keywords"] = unique([text(value, "dcat:keyword", warnings) for value in keywords])
    row["themes"] = unique([text(value, "dcat:theme", warnings) for value in _literals(record, "dcat:theme")])
    publisher = _publisher(record, warnings)
    if publisher is not None:
        row["publisher_id"] = publisher["id"]
        row["publisher_name"] = publisher["name"]
    contact = _contact(record)
    if contact is not None:
        row["contact_name"] = text(_contact_name(contact), "vcard:fn", warnings)
        row["contact_email"] = clean_email(text(_email(contact), "vcard:hasEmail", warnings))
    row["extras"] = {key: json_text(value) for key, value in record.items() if key not in MAPPED}
    if row["dataset_id"] and row["dataset_id"] == _blank(record.get("@id")):
        warnings.add("@id", row["dataset_id"], "is a blank node with no identifier; keyed by its content")
    ensure_dataset_id(row, warnings)
    described = []
    for node in _nodes(record, "dcat:distribution"):
        if len(node) > 1:
            described.append(node)
        else:  # named here, described nowhere in the document
            warnings.add("dcat:distribution", node.get("@id"), "is not described in the document; left out")
    distributions = [
        _distribution(node, position, row, warnings.scoped(f"dcat:distribution[{position}]."))
        for position, node in enumerate(described)
    ]
    _set_licence(row, record, distributions, warnings)
    finish_dataset(row, record, distributions, context, raw=raw)
    return NormalisedDataset(row, distributions, list(warnings), publisher=publisher)


def _set_licence(row: dict[str, Any], record: Mapping[str, Any], distributions: list[dict], warnings: Warnings) -> None:
    """Dataset `dct:license`, else the licence all distributions share (DCAT-AP puts it there), else
    `dct:rights`; an IRI is also the licence URL, a described node's label its title."""
    licence = _licence_value(_values(record, "dct:license"))
    if licence is None:
        shared = {row["license_id"] for row in distributions if row["license_id"]}
        licence = (shared.pop(), None) if len(shared) == 1 else None
    if licence is None:
        licence = _licence_value(_values(record, ("dct:rights", "cc:license")))
    if licence is not None:
        row["license_id"] = text(licence[0], "dct:license", warnings)
        row["license_title"] = text(licence[1], "dct:license", warnings)
        if row["license_id"] and row["license_id"].startswith(("http://", "https://")):
            row["license_url"] = row["license_id"]


def _licence_value(values: list[Any]) -> tuple[str | None, str | None] | None:
    """(id, title) of the first licence given: an IRI, a literal, or a described node and its label."""
    for value in values:
        if isinstance(value, Mapping) and "@value" not in value:
            iri, label = _iri(value.get("@id")), _literal(value, LABEL_KEYS)
            if iri or label:
                return iri or label, label
        elif (found := _as_text(value)) is not None:
            return found, None
    return None


def _distribution(node: Mapping[str, Any], position: int, dataset: Mapping[str, Any], warnings: Warnings) -> dict:
    row = new_distribution_row(dataset, position)
    row["distribution_id"] = _iri(node.get("@id")) or _literal(node, "dct:identifier")
    for column, keys in DISTRIBUTION_TEXT.items():
        row[column] = text(_literal(node, keys), column, warnings)
    service = _node(node, "dcat:accessService")
    row["access_url"] = text(
        _literal(node, "dcat:accessURL") or _literal(service, "dcat:endpointURL"), "dcat:accessURL", warnings
    )
    if row["license_id"] is None and service is not None:
        row["license_id"] = text(_literal(service, "dct:license"), "dcat:accessService.dct:license", warnings)
    row["media_type"], row["format"] = _media_type_and_format(node, warnings)
    row["issued"] = timestamp(_literal(node, "dct:issued"), "dct:issued", warnings)
    row["modified"] = timestamp(_literal(node, "dct:modified"), "dct:modified", warnings)
    size = _literal(node, "dcat:byteSize")  # xsd:nonNegativeInteger, or a decimal (DCAT-AP 2): truncated
    row["byte_size"] = integer(DECIMAL.sub(r"\1", size) if size else None, "dcat:byteSize", warnings)
    checksum = _node(node, "spdx:checksum")
    row["checksum"] = text(_literal(checksum, "spdx:checksumValue"), "spdx:checksum", warnings) if checksum else None
    return row


def _media_type_and_format(node: Mapping[str, Any], warnings: Warnings) -> tuple[str | None, str | None]:
    """`dcat:mediaType` (an IANA IRI, a literal or a labelled node), else the non-standard `dcterms:mediaType`,
    else `dct:format` when it is an IANA type; the format is `dct:format`'s label, the last segment of its
    IRI (the EU file-type list), or the literal. Compression and packaging formats are neither."""
    media_type = _label_or_text(node, ("dcat:mediaType", "dct:mediaType"))
    described_format = _node(node, "dct:format")
    format_text = (_literal(described_format, LABEL_KEYS) if described_format else None) or _literal(node, "dct:format")
    if media_type is None and format_text and (IANA_MEDIA_TYPES.match(format_text) or MEDIA_TYPE.match(format_text)):
        media_type = format_text
    if media_type:
        media_type = IANA_MEDIA_TYPES.sub("", media_type)
    if format_text and format_text.startswith(("http://", "https://")):
        format_text = format_text.rstrip("/").rsplit("/", 1)[-1]
    return text(media_type, "dcat:mediaType", warnings), text(format_text, "dct:format", warnings)


def _label_or_text(node: Mapping[str, Any], keys: Keys) -> str | None:
    described = _node(node, keys)
    return (_literal(described, LABEL_KEYS) if described else None) or _literal(node, keys)


def _agents(record: Mapping[str, Any], role: re.Pattern[str], keys: Keys) -> list[Mapping[str, Any]]:
    """Agents in order: those of `keys`, those a qualified attribution gives `role` (after the first)."""
    direct = [node for key in keys for node in _nodes(record, key)]
    attributed = [
        agent
        for attribution in _nodes(record, "prov:qualifiedAttribution")
        if any(role.search(value) for value in _literals(attribution, ("dcat:hadRole", "dct:type")))
        and (agent := _node(attribution, "prov:agent")) is not None
    ]
    return direct[:1] + attributed + direct[1:]


def _publisher(record: Mapping[str, Any], warnings: Warnings) -> dict[str, Any] | None:
    """`dct:publisher`, else the agent a qualified attribution makes publisher, else the creator, rights
    holder or (DCAT-AP.de) maintainer; named by `foaf:name`, `skos:prefLabel`, `rdfs:label` or vCard."""
    for node in _agents(record, PUBLISHER_ROLE, AGENT_KEYS):
        name = text(_literal(node, AGENT_NAME_KEYS), "dct:publisher", warnings)
        publisher_id = _iri(node.get("@id")) or name
        if publisher_id is not None:
            return {"id": publisher_id, "name": name, "title": name}
    return None


def _contact(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The contact point: `dcat:contactPoint`, DCAT-AP 1's `adms:contactPoint`, the catalogue record's
    (GeoDCAT-AP's metadata point of contact), a point-of-contact attribution. Never the publisher: a
    contact nobody named is not invented."""
    record_contacts = [
        node for topic in _nodes(record, "foaf:isPrimaryTopicOf") for node in _nodes(topic, CONTACT_KEYS)
    ]
    candidates = [node for key in CONTACT_KEYS for node in _nodes(record, key)] + record_contacts
    candidates += _agents(record, CONTACT_ROLE, ())
    described = [node for node in candidates if len(node) > 1]  # a bare IRI says nothing
    return described[0] if described else None


def _contact_name(contact: Mapping[str, Any]) -> str | None:
    """`vcard:fn`, `vcard:hasFN`, the organisation's name (vCard spells it several ways, GeoNetwork
    nests it in `vcard:org`), an agent's `foaf:name`."""
    named = _node(contact, "vcard:hasFN")
    organisation = _node(contact, "vcard:org")
    return (
        _literal(contact, "vcard:fn")
        or (_literal(named, "vcard:hasValue") if named else None)
        or _literal(contact, CONTACT_NAME_KEYS[1:])
        or (_literal(organisation, ORGANISATION_NAME_KEYS) if organisation else None)
        or _literal(contact, ("vcard:organisation-name", "vcard:organization-unit", "foaf:name"))
    )


def _email(contact: Mapping[str, Any]) -> str | None:
    """`vcard:hasEmail` as an IRI, a literal or a node with `vcard:hasValue`, then the older spellings,
    then an agent's `foaf:mbox`."""
    for key in (*EMAIL_KEYS, "foaf:mbox"):
        node = _node(contact, key)
        found = (_literal(node, "vcard:hasValue") if node else None) or _literal(contact, key)
        if found:
            return found
    return None


def _iri(value: Any) -> str | None:
    return value if isinstance(value, str) and value and not value.startswith("_:") else None


def _values(record: Mapping[str, Any] | None, keys: str | Keys) -> list[Any]:
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


def _literals(record: Mapping[str, Any] | None, keys: str | Keys) -> list[str]:
    return [found for value in _values(record, keys) if (found := _as_text(value))]


def _preferred_literals(record: Mapping[str, Any], key: str) -> list[str]:
    """All values that are untagged or English, when there are any; else all values (in every language)."""
    values = _values(record, key)
    preferred = [value for value in values if _language(value) in LANGUAGE_RANK] or values
    return [found for value in preferred if (found := _as_text(value))]


def _language(value: Any) -> str | None:
    return value.get("@language") if isinstance(value, Mapping) and "@value" in value else None


def _literal(record: Mapping[str, Any] | None, keys: str | Keys) -> str | None:
    """One value as text, preferring an untagged literal, then English, then the first given."""
    ranked = sorted(_values(record, keys), key=lambda value: LANGUAGE_RANK.get(_language(value), 2))
    return next((found for value in ranked if (found := _as_text(value))), None)


def _nodes(record: Mapping[str, Any] | None, keys: str | Keys) -> list[Mapping[str, Any]]:
    return [value for value in _values(record, keys) if isinstance(value, Mapping) and "@value" not in value]


def _node(record: Mapping[str, Any] | None, keys: str | Keys) -> Mapping[str, Any] | None:
    nodes = _nodes(record, keys)
    return nodes[0] if nodes else None


# How a dataset's node becomes the JSON record the harvest stores and the mapping above reads.
PREFIXES = {
    "http://purl.org/dc/terms/": "dct",
    "http://www.w3.org/ns/dcat#": "dcat",
    "http://xmlns.com/foaf/0.1/": "foaf",
    "http://www.w3.org/2006/vcard/ns#": "vcard",
    "http://www.w3.org/ns/adms#": "adms",
    "http://www.w3.org/2002/07/owl#": "owl",
    "http://www.w3.org/2004/02/skos/core#": "skos",
    "http://www.w3.org/2000/01/rdf-schema#": "rdfs",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf",
    "http://spdx.org/rdf/terms#": "spdx",
    "http://schema.org/": "schema",
    "http://www.w3.org/ns/locn#": "locn",
    "http://creativecommons.org/ns#": "cc",
    "http://www.w3.org/ns/prov#": "prov",
}
MAX_DEPTH = 4
"""How deep nested nodes are described (dataset > distribution > checksum > ...)."""


class Describer:
    """Describes nodes of one graph as JSON, naming blank nodes by their content.

    rdflib labels blank nodes afresh on every parse, so a label must never reach a record: a blank node
    is named by a digest of what the graph says about it (its predicates and objects, other blank nodes
    by their own names), refined a few rounds as in Weisfeiler-Lehman colour refinement. Nodes with the
    same content get the same name, and then their descriptions are the same too, so the record text,
    its order and its hash depend on the graph alone.
    """

    REFINEMENT_ROUNDS = 6

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._names: dict[BNode, str] | None = None

    def describe(self, node: Node, depth: int = 0, path: frozenset[Node] = frozenset()) -> dict[str, Any]:
        """A node and everything the graph says about it, as JSON (nested nodes to MAX_DEPTH, no cycles)."""
        record: dict[str, Any] = {"@id": self.node_id(node)}
        for predicate, value in sorted(self.graph.predicate_objects(node), key=self._pair_key):
            key = "@type" if predicate == RDF.type else _compact(str(predicate))
            record.setdefault(key, []).append(self._value(value, depth, path | {node}))
        return record

    def node_id(self, node: Node) -> str:
        return f"_:{self._blank_names()[node]}" if isinstance(node, BNode) else str(node)

    def _value(self, value: Node, depth: int, path: frozenset[Node]) -> Any:
        if isinstance(value, Literal):
            return {"@value": str(value), "@language": value.language} if value.language else str(value)
        described = (value, None, None) in self.graph and value not in path and depth < MAX_DEPTH
        if described:
            return self.describe(value, depth + 1, path)
        return {"@id": self.node_id(value)}

    def _pair_key(self, pair: tuple[Node, Node]) -> tuple[str, str]:
        return str(pair[0]), self._term_key(pair[1])

    def _term_key(self, term: Node) -> str:
        """A total, label-free order of objects: literals by form, language and datatype."""
        if isinstance(term, BNode):
            return f"_:{self._blank_names()[term]}"
        if isinstance(term, Literal):
            return f'"{term}"@{term.language or ""}^^{term.datatype or ""}'
        return str(term)

    def _blank_names(self) -> dict[BNode, str]:
        if self._names is None:
            blanks = {node for node in self.graph.all_nodes() if isinstance(node, BNode)}
            names = dict.fromkeys(blanks, "")
            for _ in range(self.REFINEMENT_ROUNDS):
                refined = {node: self._signature(node, names) for node in blanks}
                if len(set(refined.values())) == len(set(names.values())) and all(names.values()):
                    break
                names = refined
            self._names = names
        return self._names

    def _signature(self, node: BNode, names: dict[BNode, str]) -> str:
        def key(term: Node) -> str:
            return f"_:{names[term]}" if isinstance(term, BNode) else self._plain_key(term)

        facts = sorted(f"{predicate} {key(value)}" for predicate, value in self.graph.predicate_objects(node))
        return hashlib.blake2b("\n".join(facts).encode(), digest_size=8).hexdigest()

    @staticmethod
    def _plain_key(term: Node) -> str:
        if isinstance(term, Literal):
            return f'"{term}"@{term.language or ""}^^{term.datatype or ""}'
        return str(term)


def _compact(iri: str) -> str:
    for namespace, prefix in PREFIXES.items():
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri
