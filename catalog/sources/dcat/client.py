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

Records: every `dcat:Dataset` of a page becomes a JSON record (see `Describer`); its distributions,
publisher and contact point are nested in it. Blank nodes are named by their content, not by the
labels rdflib makes up on each parse, so the same graph always gives the same record and the same
content hash, whichever serialisation it came in. Literals keep their lexical form as written.

Limits: none documented by the standards; we parse at most `MAX_DOCUMENT_BYTES` a document and never
let rdflib fetch anything (see `catalog.sources.dcat.rdf_input`). Incremental: impossible (no standard
filter); every harvest is full. Publishers: those the datasets name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import rdflib
from defusedxml import ElementTree as SafeElementTree
from rdflib import RDF, Graph, Literal, Namespace

from catalog.errors import HarvestError
from catalog.http import FetchError, HttpSettings
from catalog.sources.base import DatasetPage, PortalClient, retried
from catalog.sources.dcat.mapping import Describer, dataset_identifier
from catalog.sources.dcat.probe import ACCEPT
from catalog.sources.dcat.rdf_input import (
    MAX_CONTEXT_BYTES,
    MAX_DOCUMENT_BYTES,
    ContextResolver,
    UnsafeDocumentError,
    refuse_xml_entities,
)
from catalog.sources.pagers import LinkPager

DCAT = Namespace("http://www.w3.org/ns/dcat#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
CSW = "{http://www.opengis.net/cat/csw/2.0.2}"
RDF_XML_ROOT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF"
# Media type (or, failing that, file suffix) -> the rdflib parser of that RDF syntax.
RDF_PARSERS = {
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
RDF_SUFFIXES = {".ttl": "turtle", ".n3": "n3", ".rdf": "xml", ".xml": "xml", ".jsonld": "json-ld", ".nt": "nt"}
# rdflib logs a traceback for every typed literal it cannot convert (`"2019"^^xsd:date`); we keep
# lexical forms and judge dates ourselves, so those conversions do not matter here. For the same
# reason literals are not normalised (`...Z` would become `...+00:00`): `modified_text` is the source's.
logging.getLogger("rdflib.term").setLevel(logging.ERROR)
rdflib.NORMALIZE_LITERALS = False
CONTEXT_ACCEPT = "application/ld+json, application/json;q=0.9"


class DcatClient(PortalClient):
    """Reads a DCAT catalogue in any RDF serialisation, page by page."""

    software = "dcat"

    def __init__(
        self, url: str, *, settings: HttpSettings | None = None, max_document_bytes: int = MAX_DOCUMENT_BYTES
    ) -> None:
        super().__init__(url, settings=settings)
        self.url = url
        self.max_document_bytes = max_document_bytes

    def record_id(self, record: dict[str, Any]) -> str | None:
        return dataset_identifier(record)

    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        """Pages linked by Hydra or CSW; a page without datasets (a CSW page of services) does not end them."""
        return LinkPager(self.url, stop_after_empty_page=False).pages(self._read_page)

    def _read_page(self, url: str, _params: dict[str, Any]) -> DatasetPage:
        page = retried(self.session.settings, self.host, url, lambda: self._fetch_page(url))
        describer = Describer(page.graph)
        datasets = set(page.graph.subjects(RDF.type, DCAT.Dataset))
        records = [describer.describe(node) for node in sorted(datasets, key=describer.node_id)]
        return DatasetPage(records, page.total, next_url=page.next_url)

    def _fetch_page(self, url: str) -> _Page:
        try:
            fetched = self.session.get(url, accept=ACCEPT, max_bytes=self.max_document_bytes)
        except FetchError as failure:
            if not failure.too_large:
                raise
            cause = (
                f"RDF document larger than {self.max_document_bytes:,} bytes: parsing RDF takes about 45 times "
                "a document's size in memory (page the catalogue, or raise the cap if memory allows)"
            )
            raise FetchError(cause, status=failure.status) from None
        if fetched.status >= 400:
            raise FetchError(f"HTTP {fetched.status}", overloaded=fetched.status >= 500, status=fetched.status)
        return parse_page(url, fetched.content_type, fetched.body, self.host, ContextResolver(self._fetch_context))

    def _fetch_context(self, url: str) -> bytes:
        """A remote JSON-LD context, through this portal's session and its limits."""
        try:
            fetched = self.session.get(url, accept=CONTEXT_ACCEPT, max_bytes=MAX_CONTEXT_BYTES)
        except FetchError as failure:
            raise UnsafeDocumentError(f"JSON-LD @context {url}: {failure.cause}") from None
        if fetched.status >= 400:
            raise UnsafeDocumentError(f"JSON-LD @context {url}: HTTP {fetched.status}")
        return fetched.body


class _Page:
    def __init__(self, graph: Graph, total: int | None, next_url: str | None) -> None:
        self.graph = graph
        self.total = total
        self.next_url = next_url


def parse_page(url: str, content_type: str, body: bytes, host: str, resolver: ContextResolver) -> _Page:
    """One catalogue page: its graph, the total it announces and the next page's URL (Hydra or CSW).

    The document is made safe first (`catalog.sources.dcat.rdf_input`): no DTD entities, no context that
    rdflib would fetch itself."""
    rdf_format = _rdf_format(url, content_type, body)
    documents, total, next_url = [body], None, None
    try:
        if rdf_format == "xml":
            refuse_xml_entities(body)
            documents, total, next_url = _unwrap_csw(url, body, host)
        elif rdf_format == "json-ld":
            documents = [resolver.inline(body, url)]
    except UnsafeDocumentError as exc:
        raise HarvestError(host, f"{url}: {exc}") from None
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
    if media_type in RDF_PARSERS:
        return RDF_PARSERS[media_type]
    suffix = "." + urlsplit(url).path.rsplit(".", 1)[-1].lower() if "." in urlsplit(url).path else ""
    if suffix in RDF_SUFFIXES:
        return RDF_SUFFIXES[suffix]
    start = body.lstrip()[:1]
    return "xml" if start == b"<" else "json-ld" if start in (b"{", b"[") else "turtle"


def _unwrap_csw(url: str, body: bytes, host: str) -> tuple[list[bytes], int | None, str | None]:
    """A CSW GetRecords response's rdf:RDF documents (one per record), match count and next page.

    Any other XML is returned unchanged, as the one document.
    """
    if b"GetRecordsResponse" not in body[:2000]:
        return [body], None, None
    try:
        root = SafeElementTree.fromstring(body)
    except SafeElementTree.ParseError as exc:
        raise HarvestError(host, f"{url}: CSW response is not valid XML ({exc})") from None
    results = root.find(f"{CSW}SearchResults")
    if results is None:
        raise HarvestError(host, f"{url}: CSW response has no SearchResults")
    documents = [SafeElementTree.tostring(record) for record in results.findall(RDF_XML_ROOT)]
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
