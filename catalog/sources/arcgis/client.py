"""ArcGIS Hub adapter: the site's DCAT-US feed, or the Hub search API where a site has no feed.

API:
- DCAT-US feed: `{site}/api/feed/dcat-us/1.1.json` (what `{site}/data.json` redirects to), read by
  the data.json adapter (streamed, one document).
- Hub search API (OGC API - Records, https://developers.arcgis.com/rest/hub/):
  `GET {site}/api/search/v1/collections/dataset/items?limit=N&startindex=K` answers a GeoJSON
  `FeatureCollection` with `numberMatched` and a `links` entry with `rel: next`.

Paging: the feed is one document; search pages follow `rel: next` links (1-based `startindex`),
stopping on a link seen before.

Limits: none documented for public items. Incremental: no; every harvest is full. Publishers: those
the datasets name.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from catalog.errors import HarvestError
from catalog.http import HttpSettings
from catalog.sources.base import DatasetPage, PortalClient, page_budget
from catalog.sources.datajson.client import DataJsonClient
from catalog.sources.jsonapi import JsonApi

FEED_PATH = "/api/feed/dcat-us/1.1.json"
SEARCH_PATH = "/api/search/v1/collections/dataset/items"
PAGE_SIZE = 100


class ArcGisHubClient(PortalClient):
    """Reads an ArcGIS Hub site: its DCAT-US feed when it has one, else the search API."""

    software = "arcgis"

    def __init__(
        self, base_url: str, *, api_url: str | None = None, settings: HttpSettings | None = None, rows: int = PAGE_SIZE
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.feed = DataJsonClient(api_url or self.base_url + FEED_PATH, settings=settings, site=base_url)
        self.session = self.feed.session
        self.traffic = self.session.traffic
        self.host = urlsplit(base_url).netloc
        self.api = JsonApi(self.session, self.host)
        self.rows = rows
        self.single_document = True

    def record_id(self, record: dict[str, Any]) -> str | None:
        if record.get("type") == "Feature":
            value = record.get("id")
            return value if isinstance(value, str) and value else None
        return self.feed.record_id(record)

    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        try:
            yield from self.feed.iter_dataset_pages()
            return
        except HarvestError as exc:
            if "HTTP 404" not in exc.cause:
                raise
            note = "no DCAT-US feed (HTTP 404): read the Hub search API"
        self.single_document = False
        yield from self._search(note)

    def _search(self, note: str) -> Iterator[DatasetPage]:
        url: str | None = self.base_url + SEARCH_PATH
        params: dict[str, Any] | None = {"limit": self.rows, "startindex": 1}
        seen: set[str] = set()
        notes = [note]
        while url is not None and url not in seen:
            seen.add(url)
            answer = self.api.get(url, params, max_bytes=page_budget(self.rows), what="search/v1 items")
            if not isinstance(answer, dict) or not isinstance(answer.get("features"), list):
                raise HarvestError(self.host, "search/v1 items: answer is not a FeatureCollection")
            records = [feature for feature in answer["features"] if isinstance(feature, dict)]
            matched = answer.get("numberMatched") if isinstance(answer.get("numberMatched"), int) else None
            yield DatasetPage(records, matched, notes + self.api.take_notes())
            notes = []
            following = [
                link for link in answer.get("links") or [] if isinstance(link, dict) and link.get("rel") == "next"
            ]
            url = urljoin(url, following[0]["href"]) if records and following and following[0].get("href") else None
            params = None  # the next link carries its own query

    def fetch_dataset(self, dataset_id: str) -> dict[str, Any]:
        answer = self.api.get(f"{self.base_url}{SEARCH_PATH}/{dataset_id}", what=f"search/v1 item {dataset_id}")
        if not isinstance(answer, dict):
            raise HarvestError(self.host, f"search/v1 item {dataset_id}: answer is not an object")
        return answer
