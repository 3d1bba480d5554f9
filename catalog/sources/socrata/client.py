"""Socrata adapter: the Discovery API (https://dev.socrata.com/docs/other/discovery).

API: `GET {site}/api/catalog/v1?domains={host}&search_context={host}&only=dataset&limit=N` answers
`{"results": [...], "resultSetSize": N}`; each result is described in `catalog.sources.socrata.mapping`.
The same API is also served for every domain at api.us.socrata.com / api.eu.socrata.com; the
registry's `api_url` may point there.

Paging: `scroll_id` (the last id of the previous page; results come sorted by id), which is stable
under insertions and has no depth limit, unlike `offset`, which the API caps at 10,000. A page holds as
many results as make 3 MB (up to 6 MB while our rate limit holds requests back), at most 1,000 (`SizedPager`).

Limits: unauthenticated requests are throttled; an app token (`X-App-Token`, from the registry's
`api_key_env`) lifts that. Incremental: no modification filter; every harvest is full. Publishers:
those the datasets name (their `attribution`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from catalog.http import HttpSettings
from catalog.sources.base import JSON_OBJECT, DatasetPage, PortalClient, page_budget
from catalog.sources.jsonapi import JsonApi
from catalog.sources.pagers import CursorPager

PAGE_SIZE = 1000
CATALOG_PATH = "/api/catalog/v1"


class SocrataClient(PortalClient):
    """Reads a Socrata domain's catalogue through the Discovery API."""

    software = "socrata"

    def __init__(
        self, base_url: str, *, api_url: str | None = None, settings: HttpSettings | None = None, rows: int = PAGE_SIZE
    ) -> None:
        self.domain = urlsplit(base_url).hostname or ""
        self.url = api_url or base_url.rstrip("/") + CATALOG_PATH
        super().__init__(self.url, base_url, settings=settings, api_key_header="X-App-Token")
        self.api = JsonApi(self.session, self.host)
        self.rows = rows

    def record_id(self, record: dict[str, Any]) -> str | None:
        resource = record.get("resource")
        value = resource.get("id") if isinstance(resource, JSON_OBJECT) else None
        return value if isinstance(value, str) and value else None

    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        params = {"domains": self.domain, "search_context": self.domain, "only": "dataset"}
        pager = CursorPager(
            self.url,
            params,
            limit=self.rows,
            record_id=self.record_id,
            traffic=self.traffic,
            cursor_param="scroll_id",
        )
        return pager.pages(self._read_page)

    def _read_page(self, url: str, params: dict[str, Any]) -> DatasetPage:
        records, answer = self.api.get_page(
            url,
            params,
            records_at="results",
            record_id=self.record_id,
            what="catalog/v1",
            max_bytes=page_budget(params["limit"]),
        )
        count = answer.get("resultSetSize")
        return DatasetPage(records, count if isinstance(count, int) else None, self.api.take_notes())
