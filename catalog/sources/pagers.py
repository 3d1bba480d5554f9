"""Pagers: which page of a listing to ask for next, learnt from the page just read.

In the style of dlt's paginators (`dlt.sources.helpers.rest_client.paginators`): a pager holds the
next request (`url` and `params`, what dlt's `update_request` fills in), learns from each page as it
comes (`update_state`) and says whether another follows (`has_next_page`); `pages` drives it to the
end. Three kinds cover the APIs we read:
- `OffsetPager`: `limit` and `offset` parameters (CKAN's `rows` and `start`, DKAN, OpenDataSoft), like
  dlt's `OffsetPaginator`;
- `CursorPager`: the last record's id is the cursor of the next page (Socrata's `scroll_id`), like
  dlt's `JSONResponseCursorPaginator`;
- `LinkPager`: the answer says where the next page is (ArcGIS Hub's `rel=next` link, Hydra's
  `hydra:next`, CSW's `nextRecord`), like dlt's `JSONLinkPaginator` and `HeaderLinkPaginator`.
Each stops on an empty page (unless told that a listing may have empty pages midway), on a page served
before (a site that ignores the paging parameters would loop), and where its API marks the end. The
offset and cursor pagers choose how many records a page holds by what pages weigh and how the portal
copes (`SizedPager`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from catalog.errors import HarvestError
from catalog.http import TrafficCounter
from catalog.sources.base import (
    FIRST_PAGE_ROWS,
    GROW_AFTER_PAGES,
    MIN_ROWS,
    PAGE_TARGET_BYTES,
    RATE_BOUND_WITHIN_S,
    DatasetPage,
    ReceivedRecords,
    rate_bound_target,
    rows_for_bytes,
)

ReadPage = Callable[[str, dict[str, Any]], DatasetPage]
"""(url, query parameters) -> the page there. A client's API wrapper may take an action's name for the url."""
RecordId = Callable[[dict[str, Any]], str | None]


def page_ids(page: DatasetPage, record_id: RecordId) -> list[str | None]:
    """The ids of a page's records, read when it was surveyed if its records are still in its bytes."""
    if isinstance(page.records, ReceivedRecords):
        return list(page.records.ids)
    return [record_id(record) for record in page.records]


class Pager(ABC):
    """Where the next page of one listing is, and whether there is one."""

    def __init__(
        self, url: str, params: Mapping[str, Any] | None = None, *, stop_after_empty_page: bool = True
    ) -> None:
        self.url = url
        self.params: dict[str, Any] = dict(params or {})
        self.stop_after_empty_page = stop_after_empty_page
        self.has_next_page = True
        self.what = urlsplit(url).path or url
        """How notes name the listing."""

    def pages(self, read: ReadPage) -> Iterator[DatasetPage]:
        """The pages `read` returns, each handed on as it is read, until this pager sees the end."""
        while self.has_next_page:
            page = read(self.url, dict(self.params))
            self.update_state(page)
            yield page

    def update_state(self, page: DatasetPage) -> None:
        """Learn from `page` where the next one is; `has_next_page` goes off where the listing ends."""
        self.has_next_page = self._advance(page) and (bool(page.records) or not self.stop_after_empty_page)

    @abstractmethod
    def _advance(self, page: DatasetPage) -> bool:
        """Point at the page after `page`; False when `page` shows there is none."""

    def _drop_repeat(self, page: DatasetPage, parameter: str) -> bool:
        """A page served again, whatever was asked: not handed on twice (its records would only be dropped
        as duplicates, and call for a pointless catch-up pass). Always False: the listing ends here."""
        page.records = []
        page.notes.append(f"{self.what} ignores {parameter}: one page read")
        return False


class SizedPager(Pager):
    """A pager that chooses its pages' size (`limit`, at most the client's), by the bytes pages weigh.

    A record's weight is unknown before the first page, so it asks for `FIRST_PAGE_ROWS`; then as many
    as make a page of `PAGE_TARGET_BYTES` (records ten times as heavy, a tenth as many), or of
    `rate_bound_target` (6 MB, 4 for heavy records) while our own rate limit sets the pace. A page the
    portal fails under load, or that passes its byte budget (`page_budget` of the rows asked, which the
    client's `read` enforces), is asked again with half the rows, down to `MIN_ROWS`, with a note: no page
    in flight outgrows the memory it was given, however heavy a portal's records.
    """

    def __init__(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        *,
        limit: int,
        limit_param: str,
        traffic: TrafficCounter,
    ) -> None:
        super().__init__(url, params)
        self.ceiling = limit
        self.limit_param = limit_param
        self.traffic = traffic
        """The client's traffic: a page weighs what its bytes received grew by while it was read; when
        the rate limit last held a request back says whether our rate sets the pace."""
        self.failed = False
        """A page failed: from then on, pages grow only after `GROW_AFTER_PAGES` good ones, doubling."""
        self.good_pages = 0
        self._resize(min(limit, FIRST_PAGE_ROWS))
        self.asked = self.limit
        """How many records the page just read was asked for (`limit` is the next page's)."""

    def _resize(self, limit: int) -> None:
        self.limit = self.params[self.limit_param] = limit

    def _fit(self, fitting: int) -> None:
        """The next page's size: what fits the byte target, but after a failure, growing slowly."""
        if not self.failed or fitting < self.limit:
            self._resize(fitting)
            return
        self.good_pages += 1
        if self.good_pages >= GROW_AFTER_PAGES:
            self._resize(min(fitting, self.limit * 2))
            self.good_pages = 0

    def _capped(self, page: DatasetPage) -> None:
        """`page` held fewer records than asked, and more follow: the portal caps the page size there,
        and the pages after are asked no larger."""
        page.notes.append(f"portal capped {self.limit_param} at {len(page.records)} (asked {self.asked})")
        self.ceiling = len(page.records)
        self._resize(min(self.limit, self.ceiling))

    def pages(self, read: ReadPage) -> Iterator[DatasetPage]:
        retried: list[str] = []
        while self.has_next_page:
            received = self.traffic.bytes_received
            try:
                page = read(self.url, dict(self.params))
            except HarvestError as exc:
                if not exc.overloaded or self.limit <= MIN_ROWS:
                    raise
                smaller, self.failed, self.good_pages = max(MIN_ROWS, self.limit // 2), True, 0
                why = f"{self.what} failed with {self.limit_param}={self.limit} ({exc.cause})"
                retried.append(f"{why}; retried with {self.limit_param}={smaller}")
                self._resize(smaller)
                continue
            page.notes[:0], retried = retried, []
            self.asked = self.limit
            if page.records and len(page.records) == self.limit:  # a full page: records like these fit so many
                weight = self.traffic.bytes_received - received
                rate_bound = self.traffic.held_back_within(RATE_BOUND_WITHIN_S)
                target = rate_bound_target(len(page.records), weight) if rate_bound else PAGE_TARGET_BYTES
                self._fit(min(self.ceiling, rows_for_bytes(len(page.records), weight, target)))
            self.update_state(page)
            yield page


class OffsetPager(SizedPager):
    """`limit` records from `offset`, the offset moved on by what each page held.

    Ends also where the records read reach the page's reported count (`stop_at_count`, where that count
    is the listing's own), or at `maximum_offset` (OpenDataSoft refuses offset + limit past 10,000: the
    page before it is asked smaller, to end there). A page with the same records as the first is a site
    ignoring the offset.
    """

    def __init__(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int,
        record_id: RecordId,
        traffic: TrafficCounter,
        offset_param: str = "offset",
        limit_param: str = "limit",
        maximum_offset: int | None = None,
        stop_at_count: bool = False,
    ) -> None:
        super().__init__(url, params, limit=limit, limit_param=limit_param, traffic=traffic)
        self.record_id = record_id
        self.offset_param = offset_param
        self.maximum_offset = maximum_offset
        self.stop_at_count = stop_at_count
        self.offset = 0
        self.first_ids: list[str | None] | None = None
        self.params[offset_param] = 0

    def _advance(self, page: DatasetPage) -> bool:
        ids = page_ids(page, self.record_id)
        if self.first_ids is None:
            self.first_ids = ids
        elif ids and self.first_ids and ids[: len(self.first_ids)] == self.first_ids[: len(ids)]:  # sizes differ
            return self._drop_repeat(page, self.offset_param)
        self.offset += len(page.records)
        self.params[self.offset_param] = self.offset
        counted = page.reported_count if self.stop_at_count else None
        if counted is not None and 0 < len(page.records) < self.asked and self.offset < counted:
            self._capped(page)
        if counted is not None and self.offset >= counted:
            return False
        if self.maximum_offset is not None and self.offset + self.limit > self.maximum_offset:
            self._resize(self.maximum_offset - self.offset)  # the last page the API allows: smaller
        return self.limit > 0


class CursorPager(SizedPager):
    """The page after the last record read: `cursor_param` is that record's id. Stable under insertions and
    with no depth limit, where the API sorts by id.

    Ends also on a page shorter than asked (the last one), unless the page's reported count says more
    records follow: then the site caps the page size, and the pages after are asked no larger. A page that
    ends at the cursor it was asked to start after, or starts where the first page did, is a site ignoring
    the cursor.
    """

    def __init__(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int,
        record_id: RecordId,
        traffic: TrafficCounter,
        cursor_param: str,
        limit_param: str = "limit",
    ) -> None:
        super().__init__(url, params, limit=limit, limit_param=limit_param, traffic=traffic)
        self.record_id = record_id
        self.cursor_param = cursor_param
        self.cursor: str | None = None
        self.first_id: str | None = None
        self.read = 0

    def _advance(self, page: DatasetPage) -> bool:
        ids = page_ids(page, self.record_id)
        first, last = (ids[0], ids[-1]) if ids else (None, None)
        if self.first_id is None:
            self.first_id = first
        elif last is not None and (last == self.cursor or first == self.first_id):
            return self._drop_repeat(page, self.cursor_param)
        if last is None:
            return False
        self.read += len(page.records)
        if len(page.records) < self.asked:
            counted = page.reported_count
            if counted is None or self.read >= counted:
                return False
            self._capped(page)
        self.cursor = self.params[self.cursor_param] = last
        return True


class LinkPager(Pager):
    """The page the answer links to (`DatasetPage.next_url`, relative to the page's own URL). The first
    request carries `params`; a link carries its own query.

    Ends also on a page without a link, or one linking to a page read before (a paging loop), with a note.
    """

    def __init__(
        self, url: str, params: Mapping[str, Any] | None = None, *, stop_after_empty_page: bool = True
    ) -> None:
        super().__init__(url, params, stop_after_empty_page=stop_after_empty_page)
        self.seen: set[str] = set()

    def _advance(self, page: DatasetPage) -> bool:
        self.seen.add(self.url)
        if page.next_url is None:
            return False
        following = urljoin(self.url, page.next_url)
        if following in self.seen:
            page.notes.append(f"page {following} was served before (a paging loop): stopped there")
            return False
        self.url, self.params = following, {}
        return True
