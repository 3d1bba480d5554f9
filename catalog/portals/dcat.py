"""DCAT / DCAT-AP RDF adapter: Turtle, RDF/XML or JSON-LD, content-negotiated, read with rdflib.

API: a catalogue document, e.g. CKAN with ckanext-dcat at `{site}/catalog.ttl`, a national portal's
DCAT-AP endpoint, or a GeoNetwork CSW `GetRecords` with `outputSchema` DCAT.

Paging:
- Hydra (https://www.w3.org/ns/hydra/core): a `hydra:PartialCollectionView` (or the older
  `hydra:PagedCollection`) with `hydra:next` / `hydra:nextPage` and `hydra:totalItems`.
  ckanext-dcat pages `/catalog.ttl?page=N` this way.
- CSW 2.0.2: `csw:SearchResults` with `numberOfRecordsMatched` and `nextRecord` (0 at the end),
  asked again with `startPosition`.
A page seen before ends the harvest (with a note) instead of looping.

Records: every `dcat:Dataset` of a page becomes a JSON record (see `describe`); its distributions,
publisher and contact point are nested in it. Limits: none documented. Incremental: impossible (no
standard filter); every harvest is full. Publishers: those the datasets name.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from rdflib import RDF, BNode, Graph, Literal, Namespace
from rdflib.term import Node

from catalog.errors import HarvestError
from catalog.http import FetchError, HttpSettings, PortalSession, retry_transient
from catalog.normalise.dcat_rdf import dataset_identifier
from catalog.portals.base import DatasetPage, PortalClient

DCAT = Namespace("http://www.w3.org/ns/dcat#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
CSW = "{http://www.opengis.net/cat/csw/2.0.2}"
RDF_XML_ROOT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF"
ACCEPT = (
    "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8, "
    "application/n-triples;q=0.7, application/xml;q=0.5, */*;q=0.1"
)
# Content type -> rdflib parser.
FORMATS = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "text/n3": "n3",
    "application/rdf+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/ld+json": "json-ld",
    "application/json": "json-ld",
    "application/n-triples": "nt",
}
SUFFIXES = {".ttl": "turtle", ".n3": "n3", ".rdf": "xml", ".xml": "xml", ".jsonld": "json-ld", ".nt": "nt"}
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
# rdflib logs a traceback for every typed literal it cannot convert (`"2019"^^xsd:date`); we keep
# lexical forms and judge dates ourselves, so those conversions do not matter here.
logging.getLogger("rdflib.term").setLevel(logging.ERROR)
MAX_DEPTH = 4
"""How deep nested nodes are described (dataset > distribution > checksum > ...)."""


class DcatClient(PortalClient):
    """Reads a DCAT catalogue in any RDF serialisation, page by page."""

    software = "dcat"

    def __init__(self, url: str, *, settings: HttpSettings | None = None) -> None:
        self.url = url
        self.session = PortalSession(settings)
        self.traffic = self.session.traffic
        self.host = urlsplit(url).netloc

    def record_id(self, record: dict[str, Any]) -> str | None:
        return dataset_identifier(record)

    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        url: str | None = self.url
        seen: set[str] = set()
        while url is not None:
            if url in seen:
                note = f"page {url} was served before (a paging loop): stopped there"
                yield DatasetPage(records=[], reported_count=None, notes=[note])
                return
            seen.add(url)
            page = retry_transient(
                self.session.settings,
                lambda url=url: self._read_page(url),
                lambda exc: isinstance(exc, HarvestError) and exc.transient,
            )
            records = [describe(page.graph, node) for node in _datasets(page.graph)]
            yield DatasetPage(records=records, reported_count=page.total)
            url = page.next_url

    def _read_page(self, url: str) -> _Page:
        try:
            fetched = self.session.get(url, accept=ACCEPT)
        except FetchError as failure:
            raise HarvestError(
                self.host, f"{url}: {failure.cause}", transient=failure.transient, overloaded=failure.overloaded
            ) from None
        if fetched.status >= 400:
            raise HarvestError(self.host, f"{url}: HTTP {fetched.status}", overloaded=fetched.status >= 500)
        return parse_page(url, fetched.content_type, fetched.body, self.host)


class _Page:
    def __init__(self, graph: Graph, total: int | None, next_url: str | None) -> None:
        self.graph = graph
        self.total = total
        self.next_url = next_url


def parse_page(url: str, content_type: str, body: bytes, host: str) -> _Page:
    """One catalogue page: its graph, the total it announces and the next page's URL (Hydra or CSW)."""
    rdf_format = _rdf_format(url, content_type, body)
    documents, total, next_url = [body], None, None
    if rdf_format == "xml":
        documents, total, next_url = _unwrap_csw(url, body, host)
    graph = Graph()
    try:
        for document in documents:
            graph.parse(data=document, format=rdf_format, publicID=url)
    except Exception as exc:  # rdflib raises many types (SAX, syntax, JSON); all mean "not this RDF"
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        transient = body.lstrip()[:1] == b"<" and b"<html" in body[:1000].lower()
        raise HarvestError(
            host, f"{url}: not valid {rdf_format} RDF ({first_line[:200]})", transient=transient
        ) from None
    if next_url is None:
        total, next_url = _hydra_paging(graph, url)
    return _Page(graph, total, next_url)


def _rdf_format(url: str, content_type: str, body: bytes) -> str:
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media_type in FORMATS:
        return FORMATS[media_type]
    suffix = "." + urlsplit(url).path.rsplit(".", 1)[-1].lower() if "." in urlsplit(url).path else ""
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    start = body.lstrip()[:1]
    return "xml" if start == b"<" else "json-ld" if start in (b"{", b"[") else "turtle"


def _unwrap_csw(url: str, body: bytes, host: str) -> tuple[list[bytes], int | None, str | None]:
    """A CSW GetRecords response's rdf:RDF documents (one per record), match count and next page.

    Any other XML is returned unchanged, as the one document.
    """
    if b"GetRecordsResponse" not in body[:2000]:
        return [body], None, None
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise HarvestError(host, f"{url}: CSW response is not valid XML ({exc})") from None
    results = root.find(f"{CSW}SearchResults")
    if results is None:
        raise HarvestError(host, f"{url}: CSW response has no SearchResults")
    documents = [ET.tostring(record) for record in results.findall(RDF_XML_ROOT)]
    matched = results.get("numberOfRecordsMatched")
    next_record = results.get("nextRecord", "0")
    next_url = None
    if next_record.isdigit() and int(next_record) > 0:
        next_url = _with_query(url, startPosition=next_record)
    return documents, int(matched) if matched and matched.isdigit() else None, next_url


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in params]
    return urlunsplit(parts._replace(query=urlencode(query + list(params.items()))))


def _hydra_paging(graph: Graph, url: str) -> tuple[int | None, str | None]:
    """`hydra:totalItems` and `hydra:next` (or `hydra:nextPage`) of the page, if it pages."""
    total = next(graph.objects(None, HYDRA.totalItems), None)
    following = next(graph.objects(None, HYDRA.next), None) or next(graph.objects(None, HYDRA.nextPage), None)
    count = int(total) if isinstance(total, Literal) and str(total).isdigit() else None
    return count, urljoin(url, str(following)) if following is not None else None


def _datasets(graph: Graph) -> list[Node]:
    return sorted(set(graph.subjects(RDF.type, DCAT.Dataset)), key=str)


def describe(graph: Graph, node: Node, depth: int = 0, path: frozenset[Node] = frozenset()) -> dict[str, Any]:
    """A node and everything the graph says about it, as JSON (nested nodes to MAX_DEPTH, no cycles)."""
    record: dict[str, Any] = {"@id": _node_id(node)}
    for predicate, value in sorted(graph.predicate_objects(node), key=lambda pair: (str(pair[0]), str(pair[1]))):
        key = "@type" if predicate == RDF.type else _compact(str(predicate))
        record.setdefault(key, []).append(_value(graph, value, depth, path | {node}))
    return record


def _value(graph: Graph, value: Node, depth: int, path: frozenset[Node]) -> Any:
    if isinstance(value, Literal):
        return {"@value": str(value), "@language": value.language} if value.language else str(value)
    described = (value, None, None) in graph and value not in path and depth < MAX_DEPTH
    if described:
        return describe(graph, value, depth + 1, path)
    return {"@id": _node_id(value)}


def _node_id(node: Node) -> str:
    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _compact(iri: str) -> str:
    for namespace, prefix in PREFIXES.items():
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri
