"""DKAN 7 adapter: its CKAN-compatible API (open_data_schema_map), which differs from CKAN's.

API: `GET {base}/api/3/action/{action}` (some sites: `/api/action/`), the CKAN envelope, but only
`site_read`, `package_list`, `current_package_list_with_resources`, `package_show` (whose `result` is a
one-item list), `group_list` and a few revision actions (https://dkan.readthedocs.io, "CKAN Dataset
API"). There is no `package_search`, no `status_show`, and `help` is a docstring, not a URL.

Paging: `current_package_list_with_resources` with `limit`/`offset` (as many records as make a 3 MB
page, up to 6 MB while our rate limit holds requests back, at most 100: `SizedPager`), until an empty page. A
site that ignores `offset` is noticed when a page repeats. `package_list` gives the count up front.

Publishers: DKAN groups are its publishers (`group_list?all_fields=true`).

Limits: none documented. Incremental: impossible (no modification filter); every harvest is full.
DKAN 2 sites (Drupal 9+) dropped this API; their `data.json` is read by the data.json adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import simdjson

from catalog.errors import HarvestError
from catalog.http import Fetched, HttpSettings
from catalog.sources.base import DatasetPage, PortalClient, ReceivedRecords, page_budget
from catalog.sources.ckan.client import CkanActionApi, read_action_response, survey_action
from catalog.sources.pagers import OffsetPager

PAGE_SIZE = 100
LIST_BUDGET = 64 * 2**20
"""The most a whole listing in one answer may weigh: `package_list` (about 60 bytes a name: a million
datasets) and `group_list`. A page's budget (`page_budget`), 8 MB, failed a site of 150,000."""
API_PATHS = ("api/3/action/", "api/action/")
LISTING = "current_package_list_with_resources"


class DkanClient(PortalClient):
    """Reads a DKAN 7 portal through its CKAN-compatible actions (CKAN's envelope, read by `CkanActionApi`)."""

    software = "dkan"

    def __init__(self, base_url: str, *, settings: HttpSettings | None = None, rows: int = PAGE_SIZE) -> None:
        super().__init__(base_url, settings=settings)
        self.api = CkanActionApi(base_url, self.session)
        self.rows = rows
        self._api_path_found = False
        self.parser = simdjson.Parser()
        """Surveys listing pages; only the thread that reads pages may use it."""

    def _call(
        self,
        action: str,
        params: dict[str, Any] | None = None,
        *,
        max_bytes: int,
        read: Callable[[Fetched], Any] | None = None,
    ) -> Any:
        """An action, on whichever of DKAN's two API paths this site answers (found on the first call)."""
        if self._api_path_found:
            return self.api.call_action(action, params, max_bytes=max_bytes, read=read)
        failures: list[HarvestError] = []
        for path in API_PATHS:
            self.api.base_url = path
            try:
                result = self.api.call_action(action, params, max_bytes=max_bytes, read=read)
            except HarvestError as exc:
                failures.append(exc)
                continue
            self._api_path_found = True
            return result
        raise failures[0]  # what the usual path (/api/3/action) said

    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        names = self._call("package_list", max_bytes=LIST_BUDGET)
        count = len(names) if isinstance(names, list) else None
        pager = OffsetPager(LISTING, limit=self.rows, record_id=self.record_id, traffic=self.traffic)
        yield from pager.pages(lambda action, params: self._listing_page(action, params, count))

    def _listing_page(self, action: str, params: dict[str, Any], count: int | None) -> DatasetPage:
        page = self._call(action, params, max_bytes=page_budget(params["limit"]), read=self._read_listing)
        if isinstance(page, ReceivedRecords):
            return DatasetPage(page, count, self.api.take_notes())
        if not isinstance(page, list):
            raise HarvestError(self.host, f"{action}: result is not a list")
        records = [record for record in page if isinstance(record, dict)]
        return DatasetPage(records, count, self.api.take_notes())

    def _read_listing(self, fetched: Fetched) -> Any:
        """A listing page's records left in its bytes (`survey_action`), else its `result`, parsed."""
        surveyed = survey_action(self.parser, fetched, ("result",), self.record_id)
        return surveyed[0] if surveyed is not None else read_action_response(LISTING, fetched, self.api.notes)

    def iter_publishers(self) -> Iterator[dict[str, Any]]:
        groups = self._call("group_list", {"all_fields": "true"}, max_bytes=LIST_BUDGET)
        if not isinstance(groups, list):
            raise HarvestError(self.host, "group_list: result is not a list")
        yield from (group for group in groups if isinstance(group, dict))
