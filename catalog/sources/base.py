"""What every portal software provides: a client behind one small interface, a mapping, probes.

Like dagster's example `HNClient`, one abstract client stands in front of the live API clients, so
the harvest loop, the Dagster assets and the tests never care which software a portal runs. A
`Source` descriptor gathers one software's client, mapping and detection probes; `catalog.sources`
lists the descriptors. What the clients share lives here once: their HTTP session and traffic
counter, the translation of transport failures into one-line `HarvestError`s, the notes that travel
with a page; the pagers are in `catalog.sources.pagers`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import msgspec
import simdjson

from catalog.http import FetchError, HttpSettings, PortalSession, retry_transient
from catalog.normalise.rows import HarvestContext, NormalisedDataset
from catalog.normalise.values import loads_lenient

if TYPE_CHECKING:
    from catalog.registry import Portal

T = TypeVar("T")
PAGE_BYTES_PER_ROW = 48 * 1024
PAGE_BYTES_FLOOR = 8 * 2**20
PAGE_TARGET_BYTES = 3 * 2**20
"""What a page should weigh where the API lets us choose its rows: a harvest holds a few pages at once,
each several times over (its body in the fetch and the simdjson survey, queued for a worker, its records
cut out, their rows and Arrow tables on the way back). Real records weigh 2 to 30 KB (100 to 1,500 rows
a page); records ten times that heavy get a tenth of the rows. Each page also costs a fixed few
milliseconds (a request on both sides, a spooled page, a worker's result files): against 2 MB pages,
3 MB took 5 % less CPU and time on loopback for 25 to 30 MB more (PSS of all processes 201 -> 229 MB
at 100k datasets, 223 -> 236 at 300k, 225 -> 250 with records ten times as heavy); 4 MB, about as
fast as 3, took 270 MB at 100k."""

PAGE_TARGET_BYTES_RATE_BOUND = 6 * 2**20
"""What a page should weigh while our own rate limit holds requests back: the portal answers, and the
workers keep up, faster than the rate lets us ask, so each request saved is time saved (5 requests a
second by default: a harvest of 20,000 bench records took 59 requests and 12.0 s, 10.1 of them in the
limiter, with pages of 3 MB; 34 requests and 6.8 s with 6 MB). With the workers ahead, little queues
for them: PSS of all processes 253 MB against 212 at 20k datasets, 261 against 209 at 100k; with every
queue full of such pages (forced, unlimited) 265 and 278. No page is asked for more than half its
budget (`rate_bound_target`)."""
RATE_BOUND_WITHIN_S = 2.0
"""Pages are sized for `PAGE_TARGET_BYTES_RATE_BOUND` while our rate limit has held a request back this
recently. The limiter lets a second's worth of requests through at once and holds the next back, so
while our rate sets the pace a request is held back every second or so (below one request a second,
every one); once the workers fall behind, the fetch waits for them instead, and the first full page
read 2 s after the last request held back is followed by pages of `PAGE_TARGET_BYTES` again."""

FIRST_PAGE_ROWS = 20
"""Rows of a portal's first page where we choose the size: its records' weight is not known yet (100
records of 90 KB took one worker to 90 MB)."""
MIN_ROWS = 10
"""Rows below which a page that fails is not asked again smaller."""
GROW_AFTER_PAGES = 3
"""Once a page has failed under load, good pages in a row before pages grow again (doubling)."""


def rows_for_bytes(records: int, page_bytes: int, target: int) -> int:
    """How many rows of records like these (`records` of them took `page_bytes`) make a page of `target`
    bytes; at least one."""
    return max(1, target * records // max(page_bytes, 1))


def rate_bound_target(records: int, page_bytes: int) -> int:
    """What the next page should weigh while our rate sets the pace, for records like these (`records` of
    them took `page_bytes`): `PAGE_TARGET_BYTES_RATE_BOUND`, but at most half of such a page's budget, as
    `PAGE_TARGET_BYTES` is, so that a page of heavier records than the last still fits. Records heavier
    than half a row's budget (24 KB) have the budget's floor, so they get half of that (4 MB)."""
    if 2 * page_bytes <= records * PAGE_BYTES_PER_ROW:
        return PAGE_TARGET_BYTES_RATE_BOUND
    return max(PAGE_TARGET_BYTES, min(PAGE_TARGET_BYTES_RATE_BOUND, PAGE_BYTES_FLOOR // 2))


def page_budget(rows: int) -> int:
    """The most bytes a page of `rows` records may take: parsing multiplies a page's size in memory
    several times, so a portal must not hand us a 450 MB page. Real records average 5 to 30 KB."""
    return max(PAGE_BYTES_FLOOR, rows * PAGE_BYTES_PER_ROW)


@dataclass(frozen=True)
class ReceivedRecords:
    """A page's records left in the bytes the portal sent, so that they are parsed once, by whichever
    process normalises them (`catalog.harvest.workers`), not also by the thread that fetched them.

    The fetching client surveys the page without building it (simdjson's DOM: count, where the records
    are, their ids) and hands on the body as received. The worker cuts the records out (`as_sent`) and
    parses them one by one; iterating parses the whole body, for a page they cannot be cut from (and in
    tests). The harvest's fetch thread does neither.
    """

    body: bytes | memoryview
    at: tuple[str, ...]
    """The keys from the document's root to its list of records (CKAN: `result`, `results`)."""
    positions: list[int]
    """Where in that list the records are (the objects among its items)."""
    ids: list[str | None]
    """Each record's id, as the client's `record_id` reads it."""

    def __len__(self) -> int:
        return len(self.positions)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        listed, _ = loads_lenient(self.body)
        for key in self.at:
            listed = listed[key]
        return (listed[position] for position in self.positions)

    def keeping(self, indexes: list[int]) -> ReceivedRecords:
        """The same page with only these of its records (indexes into `positions`)."""
        return ReceivedRecords(self.body, self.at, [self.positions[i] for i in indexes], [self.ids[i] for i in indexes])

    def as_sent(self) -> list[bytes] | None:
        """Each record's own bytes in the body, exactly as the portal sent them (its spacing, escapes,
        number spelling and repeated keys); None if msgspec cannot cut them out of the body (as for a
        record nested near 1,000 levels deep: its skipping recurses, within Python's recursion limit).

        msgspec's decoder steps over everything but the path to the list, and leaves each item of the
        list as a view into the body (`msgspec.Raw`): about 5 µs a record of 9 KB, where parsing it takes
        13 to 15. The views are copied out and dropped here, so none outlives the body (a worker's is a
        mapped file).
        """
        try:
            listed = _path_decoder(self.at).decode(self.body)
        except (msgspec.DecodeError, RecursionError):
            return None
        for _ in self.at:
            listed = listed.items
        if max(self.positions, default=-1) >= len(listed):
            return None
        return [bytes(listed[position]) for position in self.positions]


@cache
def _path_decoder(at: tuple[str, ...]) -> msgspec.json.Decoder:
    """A decoder of a document down the keys `at` to a list, whose items it leaves undecoded."""
    level: Any = list[msgspec.Raw]
    for depth, key in enumerate(reversed(at)):
        level = msgspec.defstruct(f"Level{depth}", [("items", level)], rename={"items": key})
    return msgspec.json.Decoder(level)


JSON_OBJECT = (dict, simdjson.Object)
"""A JSON object, parsed or surveyed: `record_id` reads either."""


def survey_records(
    parser: simdjson.Parser, body: bytes, at: tuple[str, ...], record_id: Callable[[Any], str | None]
) -> tuple[ReceivedRecords, simdjson.Object] | None:
    """A page's records left in its bytes (`ReceivedRecords`), found at the keys `at`, and the document
    they sit in; None when simdjson refuses the body (invalid UTF-8, lone surrogates, integers past 64
    bits, nesting past 1,024 levels), an object on the way repeats a key (simdjson reads the first of
    two, orjson the last: the records parsed would not be those surveyed) or `at` leads to no list.
    The caller then parses the page as any other, so every oddity is reported as before.

    No Python object is built for the records: the page's one full parse is the normalising worker's.
    The document's proxies are valid until the parser takes the next page.
    """
    try:
        document = parser.parse(body)
    except (ValueError, RuntimeError):  # simdjson's parse errors (UnicodeDecodeError is a ValueError)
        return None
    listed = document
    for key in at:
        if not _single_keyed(listed):
            return None
        listed = listed.get(key)
    if not isinstance(listed, simdjson.Array):
        return None
    positions, ids = [], []
    for position, record in enumerate(listed):
        if isinstance(record, simdjson.Object):
            positions.append(position)
            ids.append(record_id(record))
    return ReceivedRecords(body, at, positions, ids), document


def _single_keyed(value: Any) -> bool:
    """An object whose keys are all different."""
    return isinstance(value, simdjson.Object) and len(value) == len(set(value.keys()))


@dataclass
class DatasetPage:
    """One page of the portal's dataset records, unmapped: parsed, or still in the bytes the portal sent
    (`ReceivedRecords`)."""

    records: list[dict[str, Any]] | ReceivedRecords
    reported_count: int | None
    """How many datasets the portal said the whole catalogue holds, when it says."""
    notes: list[str] = field(default_factory=list)
    """Things worth recording about this page (e.g. the portal capped the page size)."""
    next_url: str | None = None
    """Where the portal's answer says the next page is (a `rel=next` link, `hydra:next`), for a `LinkPager`."""
    one_document: bool = False
    """Cut from one document read once (a data.json, an export): offsets cannot shift under this read, so
    a count short of the portal's calls for no catch-up pass."""


class PortalClient(ABC):
    """Reads a portal's catalogue: its datasets page by page, and its publishers.

    Every harvest through a plain `PortalClient` is a full one: changes are told apart by content hash.
    An `IncrementalClient` can also read only what changed.
    """

    software: str

    def __init__(
        self,
        url: str,
        *other_homes: str | None,
        settings: HttpSettings | None = None,
        api_key_header: str = "Authorization",
    ) -> None:
        """`url`: where the catalogue is read; its host names this client in errors. `other_homes`: the
        portal's other URLs (its site beside its API). The hosts of all of them may be on a private
        address (`PortalSession`), and only they are sent the API key, in `api_key_header`."""
        self.session = PortalSession(settings, home=[url, *other_homes], api_key_header=api_key_header)
        self.traffic = self.session.traffic
        self.host = urlsplit(url).netloc

    def record_id(self, record: dict[str, Any]) -> str | None:
        """The portal's own identifier of a raw dataset record (CKAN: `id`, falling back to `name`)."""
        value = record.get("id") or record.get("name")
        return value if isinstance(value, str) and value else None

    @abstractmethod
    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        """Every dataset of the catalogue, a page at a time, in a stable order.

        `since` (only datasets modified at or after it) is given to an `IncrementalClient` only; any
        other client is always asked for everything.
        """

    def iter_publishers(self) -> Iterator[dict[str, Any]]:
        """Every publisher (CKAN organisation) the portal lists, as raw records.

        Softwares without a publisher list yield none: their publishers come from the datasets.
        """
        return iter(())

    def close(self) -> None:
        """Release the HTTP connections."""
        self.session.close()


class IncrementalClient(PortalClient):
    """A client whose portal can filter datasets by modification time, list every id cheaply and serve one
    dataset by id: an incremental harvest reads what changed since its watermark, notices deletions in the
    listing, and fetches one by one what the listing has but the lake lacks."""

    @abstractmethod
    def iter_dataset_ids(self) -> Iterator[DatasetPage]:
        """Every dataset id, cheaply (records hold only `id`), to notice deletions."""

    @abstractmethod
    def fetch_dataset(self, dataset_id: str) -> dict[str, Any]:
        """One dataset's raw record, by id."""


class PageNotes:
    """Notes gathered while answers are read (a repaired encoding, a capped page), handed on with the page
    they concern."""

    notes: list[str]

    def take_notes(self) -> list[str]:
        """The notes gathered since the last call."""
        notes, self.notes = self.notes, []
        return notes


@contextmanager
def harvest_errors(where: str, what: str) -> Iterator[None]:
    """Turns a transport's `FetchError` into the one-line `HarvestError` a user sees: at `where` (a host),
    naming `what` was asked. Its cause is already redacted (`catalog.http.FetchError`)."""
    try:
        yield
    except FetchError as failure:
        raise failure.harvest_error(where, what) from None


def retried(settings: HttpSettings, where: str, what: str, attempt: Callable[[], T]) -> T:
    """`attempt()`, its `FetchError`s as `HarvestError`s (`harvest_errors`), tried again while it fails in a
    way worth retrying at once (an HTML page at status 200, a truncated body: `retry_transient`)."""

    def once() -> T:
        with harvest_errors(where, what):
            return attempt()

    return retry_transient(settings, once)


PublisherRow = tuple[dict[str, Any], list[str]]


@dataclass(frozen=True)
class Normaliser:
    """How one software's raw dataset and publisher records become rows (pure functions: they never raise)."""

    dataset: Callable[[Mapping[str, Any], HarvestContext, bytes | None], NormalisedDataset]
    publisher: Callable[[Mapping[str, Any], HarvestContext, bytes | None], PublisherRow]


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
    takes_filter: bool = False
    """Whether the client applies a portal's `filter` (CKAN: a Solr `fq` on every search). A registry entry
    giving one to any other software is refused: harvesting the whole portal would answer another question."""


def endpoint(portal: Portal, usual_path: str) -> str:
    """The registry's explicit catalogue endpoint, else the software's usual one under the portal's URL."""
    return portal.api_url or portal.url.rstrip("/") + usual_path
