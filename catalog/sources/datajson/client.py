"""DCAT-US 1.1 `data.json` adapter (Project Open Data; served by Socrata, ArcGIS Hub, DKAN, CKAN with
ckanext-datajson, Andino, and many agencies' own sites).

API: one JSON document, `{"@type": "dcat:Catalog", "dataset": [...]}` (older feeds: a bare list).
Usually at `{site}/data.json`; the registry's `api_url` names it when it lives elsewhere. DCAT-US 3.0
shapes are read too: catalogues nested in `catalog` / `hasPart`, a `DatasetSeries` whose members embed
their datasets, a document that is one `Dataset`, `@graph` lists; a dataset is an item of a `dataset`
array or any object typed `Dataset` (`dcat:Dataset`), wherever it sits.

Paging: none; the document can be hundreds of megabytes, so it is parsed as it streams (ijson) and
handed on a page of records at a time: it is read once and never held whole (each dataset is cut
out of the document as soon as it is complete).

Limits: none documented. Incremental: impossible (no filter); every harvest reads the document, and
changes are told apart by content hash. The publishers are those the datasets name.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import ijson

from catalog.errors import HarvestError
from catalog.http import FetchError, HttpSettings, PortalSession, StreamedBody
from catalog.normalise.values import json_from_events
from catalog.sources.base import DatasetPage, PortalClient, harvest_errors
from catalog.sources.datajson.mapping import dataset_identifier

USUAL_PATH = "/data.json"
"""Where Project Open Data (and DKAN, Socrata, ArcGIS Hub) put the catalogue document."""
PAGE_SIZE = 500


class DataJsonClient(PortalClient):
    """Reads a DCAT-US catalogue document, streamed."""

    software = "datajson"

    def __init__(self, url: str, *, settings: HttpSettings | None = None, page_size: int = PAGE_SIZE) -> None:
        super().__init__(url, settings=settings)
        self.url = url
        self.page_size = page_size

    def record_id(self, record: dict[str, Any]) -> str | None:
        return dataset_identifier(record)

    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        return read_document(self.session, self.url, self.page_size)


def read_document(session: PortalSession, url: str, page_size: int = PAGE_SIZE) -> Iterator[DatasetPage]:
    """The datasets of the data.json at `url`, a page at a time as the parser reaches them (ArcGIS Hub's
    feed is read this way too, through the Hub client's session)."""
    host = urlsplit(url).netloc
    with harvest_errors(host, "data.json"), session.stream(url, accept="application/json") as body:
        if body.status >= 400:
            raise FetchError(f"HTTP {body.status}", overloaded=body.status >= 500, status=body.status)
        yield from _pages(body, host, page_size)


def _pages(body: StreamedBody, host: str, page_size: int) -> Iterator[DatasetPage]:
    """Pages of the document's datasets, as the parser reaches them."""
    page: list[dict[str, Any]] = []
    head = body.read(64).lstrip()
    if not head.startswith((b"{", b"[")):
        raise HarvestError(host, f"data.json: HTTP {body.status}, not a JSON document (starts {head[:20]!r})")
    try:
        events = ijson.basic_parse(_Replayed(head, body), use_float=True)
        for record in json_from_events(events, cut=_is_dataset):
            page.append(record)
            if len(page) >= page_size:
                yield DatasetPage(records=page, reported_count=None, one_document=True)
                page = []
    except ijson.JSONError as exc:
        raise HarvestError(host, f"data.json: not valid JSON ({exc})", transient=True) from None
    yield DatasetPage(records=page, reported_count=None, one_document=True)


DATASET_TYPES = frozenset({"Dataset", "dcat:Dataset", "http://www.w3.org/ns/dcat#Dataset"})


def _is_dataset(value: dict[str, Any], parent: Any, key: Any, depth: int) -> bool:
    """An item of a `dataset` array (or of a bare top-level array), or an object typed as a Dataset."""
    kinds = value.get("@type")
    typed = (
        kinds in DATASET_TYPES
        if isinstance(kinds, str)
        else isinstance(kinds, list) and bool(DATASET_TYPES & set(map(str, kinds)))
    )
    return typed or (isinstance(parent, list) and (key == "dataset" or depth == 1))


class _Replayed:
    """A body whose first bytes were already read (to see its shape), readable again from the start."""

    def __init__(self, head: bytes, body: StreamedBody) -> None:
        self.head = head
        self.body = body

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes the type of what `read` returns with read(0)
            return b""
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.body.read(size)
