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

from catalog.errors import HarvestError
from catalog.http import HttpSettings
from catalog.sources.base import DatasetPage, PortalClient, page_budget
from catalog.sources.datajson.client import read_document
from catalog.sources.datajson.mapping import dataset_identifier
from catalog.sources.jsonapi import JsonApi
from catalog.sources.pagers import LinkPager

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
        self.feed_url = api_url or self.base_url + FEED_PATH
        super().__init__(base_url, self.feed_url, settings=settings)
        self.api = JsonApi(self.session, self.host)
        self.rows = rows

    def record_id(self, record: dict[str, Any]) -> str | None:
        if record.get("type") == "Feature":
            value = record.get("id")
            return value if isinstance(value, str) and value else None
        return dataset_identifier(record)

    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        try:
            yield from read_document(self.session, self.feed_url)
            return
        except HarvestError as exc:
            if exc.status != 404:
                raise
        self.api.notes.append("no DCAT-US feed (HTTP 404): read the Hub search API")
        pager = LinkPager(self.base_url + SEARCH_PATH, {"limit": self.rows, "startindex": 1})
        yield from pager.pages(self._read_search_page)

    def _read_search_page(self, url: str, params: dict[str, Any]) -> DatasetPage:
        records, answer = self.api.get_page(
            url,
            params,
            records_at="features",
            record_id=self.record_id,
            what="search/v1 items",
            max_bytes=page_budget(self.rows),
        )
        matched = answer.get("numberMatched") if isinstance(answer.get("numberMatched"), int) else None
        following = [link for link in answer.get("links") or [] if isinstance(link, dict) and link.get("rel") == "next"]
        href = following[0].get("href") if following else None
        next_url = href if isinstance(href, str) and href else None
        return DatasetPage(records, matched, self.api.take_notes(), next_url=next_url)
