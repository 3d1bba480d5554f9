"""CKAN Action API v3 adapter.

API: `GET {base}/api/3/action/{action}?...`, JSON envelope `{"success": bool, "result": ..., "error": ...}`.

Paging: `package_search` with `rows` up to 1000 (`ckan.search.rows_max`; many portals cap lower) and
`start` as offset. Results are sorted by `metadata_created asc, id asc`: datasets added during a run sort
after everything already read, so offsets neither skip nor repeat on insertion; ids seen twice
(deletions or early insertions shift offsets) are dropped by the harvest loop, which then makes one
catch-up pass for what the shift hid. A page shorter than asked while more remain means the portal
capped `rows`: we adopt the cap. The shared `OffsetPager` (a `SizedPager`) does all this, and sizes
pages by bytes, not only rows: the first asks for 20 rows (records of unknown weight: 100 records of
90 KB took a worker 90 MB to parse), each next one for as many as make about 3 MB
(`PAGE_TARGET_BYTES`) at the weight of the rows just read, within the cap, so a catalogue of heavy
records (10,000 resources in one dataset) is read in pages as light as any other's; up to 6 MB while our
own rate limit holds requests back (a portal that answers faster than the rate lets us ask gets fewer,
fuller pages). A page that times out, fails with 5xx (after the transport's retries) or passes its
memory budget (`page_budget`: 48 KB a row, at least 8 MB) is asked again with half the rows, down to
10; after that failure the size grows back by doubling after three good pages. A page of
whole records is surveyed, not parsed (`survey_search_page`): its records travel on in the bytes
received and are parsed once, where they are normalised.

Publishers: `organization_list?all_fields=true` paged with `limit`/`offset` (CKAN >= 2.9) until a page
brings nothing new: CKAN answers at most `ckan.group_and_organization_list_all_fields_max` (25 by
default) whatever `limit` asks, so a short page is no end. Older CKAN ignores both and returns
everything at once, which we notice as a repeated page.

Limits: none documented beyond `rows_max`; rate, concurrency, timeouts and retries live in `catalog.http`.

Incremental: `fq=metadata_modified:[<since> TO *]` fetches only what changed since a watermark, and
`fl=id` lists every id cheaply so deletions can be noticed (CKAN >= 2.9 honours `fl`; an older one
sends whole records, which still works, only heavier).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import simdjson
from ckanapi import RemoteCKAN

from catalog.errors import HarvestError
from catalog.http import Fetched, FetchError, HttpSettings, PortalSession
from catalog.sources.base import (
    DatasetPage,
    IncrementalClient,
    PageNotes,
    ReceivedRecords,
    page_budget,
    retried,
    survey_records,
)
from catalog.sources.jsonapi import parse_json
from catalog.sources.pagers import OffsetPager

MAX_ROWS = 1000
ORGANIZATION_PAGE = 100
SEARCH_SORT = "metadata_created asc, id asc"


class CkanActionApi(RemoteCKAN, PageNotes):
    """ckanapi's `RemoteCKAN` with one change: how a request is made and its response read.

    ckanapi decodes the body to text, parses it with `json`, sets no timeout by default, and on error
    embeds the whole body in the exception. We read through `catalog.http` (timeouts, retries, rate
    limit, size cap), parse the bytes with orjson, and turn every failure into a one-line
    `HarvestError` naming the host, the action and the cause.
    """

    base_url = "api/3/action/"

    def __init__(self, address: str, portal_session: PortalSession) -> None:
        super().__init__(
            address, get_only=True, session=portal_session.session, user_agent=portal_session.settings.user_agent
        )
        self.portal_session = portal_session
        self.host = urlsplit(address).netloc
        self.notes: list[str] = []

    def call_action(  # type: ignore[override]
        self,
        action: str,
        data_dict: dict[str, Any] | None = None,
        *,
        max_bytes: int | None = None,
        read: Callable[[Fetched], Any] | None = None,
        **_: Any,
    ) -> Any:
        """The action's `result`, or what `read` makes of the response; `max_bytes` bounds the answer (a
        page's memory budget)."""
        url = f"{self.address.rstrip('/')}/{self.base_url}{action}"
        session = self.portal_session
        read = read or (lambda fetched: read_action_response(action, fetched, self.notes))
        request = lambda: read(session.get(url, data_dict, max_bytes=max_bytes))  # noqa: E731 - retried's argument
        return retried(session.settings, self.host, action, request)


def read_action_response(action: str, fetched: Fetched, notes: list[str]) -> Any:
    """The `result` of an Action API response, or a `FetchError` saying exactly what was wrong."""
    status = fetched.status
    overloaded = status >= 500
    envelope = parse_json(action, fetched, notes)
    if not isinstance(envelope, dict) or "success" not in envelope:
        cause = f"{action}: HTTP {status}, JSON is not a CKAN Action API response"
        raise FetchError(cause, overloaded=overloaded, status=status)
    if envelope["success"] is not True:
        error = envelope.get("error") or {}
        kind = error.get("__type", "error") if isinstance(error, dict) else "error"
        message = error.get("message", "") if isinstance(error, dict) else str(error)
        cause = f"{action}: HTTP {status}, success=false ({kind}: {message})".rstrip()
        raise FetchError(cause, overloaded=overloaded, status=status)
    if status >= 400:
        raise FetchError(f"{action}: HTTP {status}", overloaded=overloaded, status=status)
    return envelope.get("result")


class CkanClient(IncrementalClient):
    """Reads a CKAN portal through the Action API."""

    software = "ckan"

    def __init__(
        self,
        base_url: str,
        *,
        filter_query: str | None = None,
        settings: HttpSettings | None = None,
        rows: int = MAX_ROWS,
    ) -> None:
        super().__init__(base_url, settings=settings)
        self.api = CkanActionApi(base_url, self.session)
        self.filter_query = filter_query
        self.rows = rows
        self.parser = simdjson.Parser()
        """Surveys search pages; reused (its buffer grows to the largest page), so only the thread that
        iterates pages may use it."""

    def iter_dataset_pages(self, since: datetime | None = None) -> Iterator[DatasetPage]:
        clauses = [self.filter_query] if self.filter_query else []
        if since is not None:
            clauses.append(f"metadata_modified:[{solr_time(since)} TO *]")
        return self._search(" AND ".join(clauses) or None, fields=None)

    def iter_dataset_ids(self) -> Iterator[DatasetPage]:
        return self._search(self.filter_query, fields="id")

    def _read_search_page(self, fetched: Fetched) -> tuple[list[dict[str, Any]] | ReceivedRecords, int]:
        """A page of whole records left in its bytes (see `survey_search_page`), or, when the survey
        declines it, parsed as any page."""
        return survey_search_page(self.parser, fetched, self.record_id) or self._read_page(fetched)

    def _read_page(self, fetched: Fetched) -> tuple[list[dict[str, Any]], int]:
        """A package_search page's records, parsed, and its count."""
        return _search_page(self.host, read_action_response("package_search", fetched, self.api.notes))

    def _search(self, fq: str | None, fields: str | None) -> Iterator[DatasetPage]:
        """package_search pages by `start`/`rows`, their size following the bytes, the portal's rows cap and
        its failures under load (`SizedPager`), until the reported count is read."""
        params: dict[str, Any] = {"q": "*:*", "sort": SEARCH_SORT}
        if fq:
            params["fq"] = fq
        if fields:
            params["fl"] = fields
        read = self._read_page if fields else self._read_search_page

        def page(action: str, params: dict[str, Any]) -> DatasetPage:
            records, count = self.api.call_action(action, params, max_bytes=page_budget(params["rows"]), read=read)
            return DatasetPage(records=records, reported_count=count, notes=self.api.take_notes())

        pager = OffsetPager(
            "package_search",
            params,
            limit=self.rows,
            record_id=self.record_id,
            traffic=self.traffic,
            offset_param="start",
            limit_param="rows",
            stop_at_count=True,
        )
        return pager.pages(page)

    def iter_publishers(self) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        offset = 0
        while True:
            params = {"all_fields": "true", "limit": ORGANIZATION_PAGE, "offset": offset}
            page = self.api.call_action("organization_list", params)
            if not isinstance(page, list):
                raise HarvestError(self.host, "organization_list: result is not a list")
            fresh = [org for org in page if isinstance(org, dict) and org.get("id") not in seen]
            yield from fresh
            seen.update(org.get("id") for org in fresh)
            if not fresh:
                return
            offset += len(page)

    def fetch_dataset(self, dataset_id: str) -> dict[str, Any]:
        result = self.api.call_action("package_show", {"id": dataset_id})
        if not isinstance(result, dict):
            raise HarvestError(self.host, f"package_show {dataset_id}: result is not an object")
        return result


def solr_time(moment: datetime) -> str:
    """A Solr date literal (UTC, whole seconds, rounded down so the window only widens)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def survey_search_page(
    parser: simdjson.Parser, fetched: Fetched, record_id: Callable[[Any], str | None]
) -> tuple[ReceivedRecords, int] | None:
    """A successful package_search page's records, left in the body, and its count; None for anything
    else (see `survey_action`)."""
    surveyed = survey_action(parser, fetched, ("result", "results"), record_id)
    if surveyed is None:
        return None
    received, envelope = surveyed
    count = envelope.get("result").get("count")
    return (received, count) if isinstance(count, int) and count >= 0 else None


def survey_action(
    parser: simdjson.Parser, fetched: Fetched, at: tuple[str, ...], record_id: Callable[[Any], str | None]
) -> tuple[ReceivedRecords, simdjson.Object] | None:
    """A successful Action API answer's records, at `at` in the envelope, left in the body
    (`survey_records`), and the envelope; None for anything else (an error, a malformed envelope, what
    the survey declines), which `read_action_response` then reads, so every oddity is reported as before."""
    if fetched.status >= 400:
        return None
    surveyed = survey_records(parser, fetched.body, at, record_id)
    return surveyed if surveyed is not None and surveyed[1].get("success") is True else None


def _search_page(host: str, result: Any) -> tuple[list[dict[str, Any]], int]:
    """Validate one package_search result: a count and a list of records."""
    if not isinstance(result, dict) or not isinstance(result.get("results"), list):
        raise HarvestError(host, "package_search: result has no list of results")
    count = result.get("count")
    if not isinstance(count, int) or count < 0:
        raise HarvestError(host, f"package_search: count {count!r} is not a non-negative integer")
    records = [record for record in result["results"] if isinstance(record, dict)]
    return records, count
