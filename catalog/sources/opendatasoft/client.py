"""OpenDataSoft adapter: the Explore API v2.1 catalogue (https://help.opendatasoft.com/apis/ods-explore-v2/).

API: `GET {site}/api/explore/v2.1/catalog/datasets?limit=N&offset=K` answers
`{"total_count": N, "results": [...]}`; each result is described in `catalog.sources.opendatasoft.mapping`.

Paging: `limit` (at most 100) and `offset`, but `offset + limit` may not pass 10,000. A larger
catalogue is read whole from `/api/explore/v2.1/catalog/exports/json` (a JSON array of the same
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
from urllib.parse import urlsplit

import ijson

from catalog.errors import HarvestError
from catalog.http import FetchError, HttpSettings, PortalSession
from catalog.sources.base import DatasetPage, PortalClient, page_budget
from catalog.sources.jsonapi import JsonApi

PAGE_SIZE = 100
OFFSET_LIMIT = 10_000
DATASETS_PATH = "/api/explore/v2.1/catalog/datasets"
EXPORT_PATH = "/api/explore/v2.1/catalog/exports/json"


class OpenDataSoftClient(PortalClient):
    """Reads an OpenDataSoft portal's catalogue."""

    software = "opendatasoft"

    def __init__(self, base_url: str, *, settings: HttpSettings | None = None, rows: int = PAGE_SIZE) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = PortalSession(settings, home=[base_url])
        self.traffic = self.session.traffic
        self.host = urlsplit(base_url).netloc
        self.api = JsonApi(self.session, self.host)
        self.rows = rows

    def record_id(self, record: dict[str, Any]) -> str | None:
        value = record.get("dataset_id")
        return value if isinstance(value, str) and value else None

    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        offset = 0
        while True:
            params = {"limit": self.rows, "offset": offset, "order_by": "dataset_id"}
            answer = self.api.get(
                self.base_url + DATASETS_PATH, params, max_bytes=page_budget(self.rows), what="catalog/datasets"
            )
            if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
                raise HarvestError(self.host, "catalog/datasets: answer has no list of results")
            total = answer.get("total_count") if isinstance(answer.get("total_count"), int) else None
            if offset == 0 and total is not None and total > OFFSET_LIMIT:
                yield from self._export(total)
                return
            records = [record for record in answer["results"] if isinstance(record, dict)]
            yield DatasetPage(records, total, self.api.take_notes())
            offset += len(records)
            if not records or (total is not None and offset >= total) or offset + self.rows > OFFSET_LIMIT:
                return

    def _export(self, total: int) -> Iterator[DatasetPage]:
        """The whole catalogue from the exports endpoint, streamed, for catalogues past the offset limit."""
        note = f"{total} datasets exceed the {OFFSET_LIMIT}-record paging limit: read from catalog/exports/json"
        notes = [note]
        try:
            with self.session.stream(self.base_url + EXPORT_PATH, accept="application/json") as body:
                if body.status >= 400:
                    status = body.status
                    raise HarvestError(self.host, f"catalog/exports/json: HTTP {status}", status=status)
                page: list[dict[str, Any]] = []
                for record in ijson.items(body, "item", use_float=True):
                    if isinstance(record, dict):
                        page.append(record)
                    if len(page) >= PAGE_SIZE * 5:
                        yield DatasetPage(page, total, notes)
                        page, notes = [], []
                yield DatasetPage(page, total, notes)
        except FetchError as failure:
            raise failure.harvest_error(self.host, "catalog/exports/json") from None
        except ijson.JSONError as exc:
            raise HarvestError(self.host, f"catalog/exports/json: not valid JSON ({exc})", transient=True) from None

    def fetch_dataset(self, dataset_id: str) -> dict[str, Any]:
        answer = self.api.get(f"{self.base_url}{DATASETS_PATH}/{dataset_id}", what=f"catalog/datasets/{dataset_id}")
        if not isinstance(answer, dict):
            raise HarvestError(self.host, f"catalog/datasets/{dataset_id}: answer is not an object")
        return answer
