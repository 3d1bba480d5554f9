"""OpenDataSoft adapter: the Explore API v2.1 catalogue (https://help.opendatasoft.com/apis/ods-explore-v2/).

API: `GET {site}/api/explore/v2.1/catalog/datasets?limit=N&offset=K` answers
`{"total_count": N, "results": [...]}`; each result is described in `catalog.sources.opendatasoft.mapping`.

Paging: `limit` (at most 100; as many as make a 3 MB page, up to 6 MB while our rate limit holds
requests back, `SizedPager`) and `offset`, but `offset + limit` may not pass 10,000. A larger catalogue is read
whole from `/api/explore/v2.1/catalog/exports/json` (a JSON array of the same
records), parsed as it streams. Results are ordered by `dataset_id` so pages do not overlap.

Limits: anonymous quotas per IP (HTTP 429 with Retry-After, handled by `catalog.http`); an API key
raises them (`Authorization: Apikey <key>`: the variable named by the registry's `api_key_env` holds
that whole value). Incremental: no; every harvest is full. Publishers: those the datasets name
(`metas.default.publisher`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import ijson

from catalog.errors import HarvestError
from catalog.http import FetchError, HttpSettings
from catalog.sources.base import DatasetPage, PortalClient, harvest_errors, page_budget
from catalog.sources.jsonapi import JsonApi
from catalog.sources.pagers import OffsetPager

PAGE_SIZE = 100
OFFSET_LIMIT = 10_000
DATASETS_PATH = "/api/explore/v2.1/catalog/datasets"
EXPORT_PATH = "/api/explore/v2.1/catalog/exports/json"


class OpenDataSoftClient(PortalClient):
    """Reads an OpenDataSoft portal's catalogue."""

    software = "opendatasoft"

    def __init__(self, base_url: str, *, settings: HttpSettings | None = None, rows: int = PAGE_SIZE) -> None:
        super().__init__(base_url, settings=settings)
        self.base_url = base_url.rstrip("/")
        self.api = JsonApi(self.session, self.host)
        self.rows = rows

    def record_id(self, record: dict[str, Any]) -> str | None:
        value = record.get("dataset_id")
        return value if isinstance(value, str) and value else None

    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        pager = OffsetPager(
            self.base_url + DATASETS_PATH,
            {"order_by": "dataset_id"},
            limit=self.rows,
            record_id=self.record_id,
            traffic=self.traffic,
            maximum_offset=OFFSET_LIMIT,
            stop_at_count=True,
        )
        pages = pager.pages(self._read_page)
        first = next(pages)
        if first.reported_count is not None and first.reported_count > OFFSET_LIMIT:
            yield from self._export(first.reported_count, first.notes)
            return
        yield first
        yield from pages

    def _read_page(self, url: str, params: dict[str, Any]) -> DatasetPage:
        records, answer = self.api.get_page(
            url,
            params,
            records_at="results",
            record_id=self.record_id,
            what="catalog/datasets",
            max_bytes=page_budget(params["limit"]),
        )
        total = answer.get("total_count") if isinstance(answer.get("total_count"), int) else None
        return DatasetPage(records, total, self.api.take_notes())

    def _export(self, total: int, notes: list[str]) -> Iterator[DatasetPage]:
        """The whole catalogue from the exports endpoint, streamed, for catalogues past the offset limit: one
        document, so offsets cannot shift under the read."""
        note = f"{total} datasets exceed the {OFFSET_LIMIT}-record paging limit: read from catalog/exports/json"
        notes = [*notes, note]
        try:
            with (
                harvest_errors(self.host, "catalog/exports/json"),
                self.session.stream(self.base_url + EXPORT_PATH, accept="application/json") as body,
            ):
                if body.status >= 400:
                    raise FetchError(f"HTTP {body.status}", status=body.status)
                page: list[dict[str, Any]] = []
                for record in ijson.items(body, "item", use_float=True):
                    if isinstance(record, dict):
                        page.append(record)
                    if len(page) >= PAGE_SIZE * 5:
                        yield DatasetPage(page, total, notes, one_document=True)
                        page, notes = [], []
                yield DatasetPage(page, total, notes, one_document=True)
        except ijson.JSONError as exc:
            raise HarvestError(self.host, f"catalog/exports/json: not valid JSON ({exc})", transient=True) from None
