"""What every portal software provides: a client behind one small interface, a mapping, probes.

Like dagster's example `HNClient`, one abstract client stands in front of the live API clients, so
the harvest loop, the Dagster assets and the tests never care which software a portal runs. A
`Source` descriptor gathers one software's client, mapping and detection probes; `catalog.sources`
lists the descriptors.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from catalog.errors import HarvestError
from catalog.http import HttpSettings, PortalSession, TrafficCounter
from catalog.normalise.rows import HarvestContext, NormalisedDataset

if TYPE_CHECKING:
    from catalog.registry import Portal

PAGE_BYTES_PER_ROW = 48 * 1024
PAGE_BYTES_FLOOR = 8 * 2**20


def page_budget(rows: int) -> int:
    """The most bytes a page of `rows` records may take: parsing multiplies a page's size in memory
    several times, so a portal must not hand us a 450 MB page. Real records average 5 to 30 KB."""
    return max(PAGE_BYTES_FLOOR, rows * PAGE_BYTES_PER_ROW)


@dataclass
class DatasetPage:
    """One page of raw dataset records, exactly as the portal sent them."""

    records: list[dict[str, Any]]
    reported_count: int | None
    """How many datasets the portal said the whole catalogue holds, when it says."""
    notes: list[str] = field(default_factory=list)
    """Things worth recording about this page (e.g. the portal capped the page size)."""


class PortalClient(ABC):
    """Reads a portal's catalogue: its datasets page by page, its publishers, one dataset by id."""

    software: str
    host: str
    session: PortalSession
    traffic: TrafficCounter
    incremental: bool = False
    """True when `iter_dataset_pages(since)` really filters; otherwise every harvest is a full one."""
    single_document: bool = False
    """True when the catalogue is read as one document (data.json): offsets cannot shift under a read."""

    def record_id(self, record: dict[str, Any]) -> str | None:
        """The portal's own identifier of a raw dataset record (CKAN: `id`, falling back to `name`)."""
        value = record.get("id") or record.get("name")
        return value if isinstance(value, str) and value else None

    @abstractmethod
    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        """Every dataset of the catalogue, a page at a time, in a stable order.

        With `since`, only datasets modified at or after it, where the portal can filter so; a client
        that cannot returns everything, and the harvest tells changes apart by content hash.
        """

    def iter_dataset_ids(self) -> Iterator[DatasetPage] | None:
        """Every dataset id, cheaply (records hold only `id`), to notice deletions; None if impossible."""
        return None

    def iter_publishers(self) -> Iterator[dict[str, Any]]:
        """Every publisher (CKAN organisation) the portal lists, as raw records.

        Softwares without a publisher list yield none: their publishers come from the datasets.
        """
        return iter(())

    def fetch_dataset(self, dataset_id: str) -> dict[str, Any]:
        """One dataset's raw record. By default found by reading the catalogue (a document has no
        per-dataset endpoint); APIs that have one override this."""
        for page in self.iter_dataset_pages():
            for record in page.records:
                if self.record_id(record) == dataset_id:
                    return record
        raise HarvestError(self.host, f"the catalogue has no dataset {dataset_id!r}")

    def close(self) -> None:
        """Release the HTTP connections."""
        self.session.close()


PublisherRow = tuple[dict[str, Any], list[str]]


@dataclass(frozen=True)
class Normaliser:
    """How one software's raw dataset and publisher records become rows (pure functions: they never raise)."""

    dataset: Callable[[Mapping[str, Any], HarvestContext, str | None], NormalisedDataset]
    publisher: Callable[[Mapping[str, Any], HarvestContext, str | None], PublisherRow]


Check = Callable[[Any, bytes, str], str | None]
"""(parsed JSON or None, the answer's first bytes, its content type) -> a detail when it is this software's."""


@dataclass(frozen=True)
class DetectionProbe:
    """One cheap request that tells a software apart: a path under a portal's base URL (`{host}` is its host
    name) or, for a document, the URL itself (`path` empty), and a test of the answer."""

    path: str
    check: Check
    accept: str | None = None

    def url(self, base: str) -> str:
        return base + self.path.format(host=urlsplit(base).hostname or "")


@dataclass(frozen=True)
class Source:
    """One portal software: everything the harvester knows about it, in one place."""

    name: str
    client: Callable[[Portal, HttpSettings], PortalClient]
    normaliser: Normaliser
    probes: tuple[DetectionProbe, ...]
    document: bool = False
    """Read from one document at a URL (a data.json, a catalog.ttl) rather than through an API under a site:
    a user may name the document itself, and detection's endpoint is the document's URL."""
    defers_to: tuple[str, ...] = ()
    """Softwares whose answer makes probing this one pointless (a CKAN's API is also CKAN-compatible)."""


def endpoint(portal: Portal, usual_path: str) -> str:
    """The registry's explicit catalogue endpoint, else the software's usual one under the portal's URL."""
    return portal.api_url or portal.url.rstrip("/") + usual_path
