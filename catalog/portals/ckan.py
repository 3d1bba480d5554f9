"""CKAN Action API v3 adapter.

API: `GET {base}/api/3/action/{action}?...`, JSON envelope `{"success": bool, "result": ..., "error": ...}`.

Paging: `package_search` with `rows` up to 1000 (`ckan.search.rows_max`; many portals cap lower) and
`start` as offset. Results are sorted by `metadata_created asc, id asc`: datasets added during a run sort
after everything already read, so offsets neither skip nor repeat on insertion; ids still seen twice
(deletions shift offsets) are dropped by the harvest loop. When a page comes back shorter than asked
while more remain, the portal capped `rows`: we adopt the cap for the following pages.

Publishers: `organization_list?all_fields=true` paged with `limit`/`offset` (CKAN >= 2.9); older CKAN
ignores both and returns everything at once, which we notice as a repeated page.

Limits: none documented beyond `rows_max`; politeness (timeouts, retries, Retry-After) lives in
`catalog.http`.

Incremental: not yet; every run is a full pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
import urllib3
from ckanapi import RemoteCKAN

from catalog.errors import HarvestError
from catalog.http import HttpSettings, build_session
from catalog.portals.base import DatasetPage, PortalClient

MAX_ROWS = 1000
ORGANIZATION_PAGE = 100
SEARCH_SORT = "metadata_created asc, id asc"


class CkanActionApi(RemoteCKAN):
    """ckanapi's `RemoteCKAN` with one change: how a response is read.

    ckanapi decodes the body to text, parses it with `json`, and on error embeds the whole body in the
    exception. We parse the bytes with orjson (several times faster on 10 MB pages) and turn every
    failure into a one-line `HarvestError` naming the host, the action and the cause.
    """

    base_url = "api/3/action/"

    def call_action(  # type: ignore[override]
        self, action: str, data_dict: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        url = f"{self.address.rstrip('/')}/{self.base_url}{action}"
        try:
            response = self.session.get(url, params=data_dict)
        except requests.RequestException as exc:
            raise HarvestError(self.host, f"{action}: {describe_request_error(exc)}") from exc
        return read_action_response(self.host, action, response)

    @property
    def host(self) -> str:
        return urlsplit(self.address).netloc


def describe_request_error(exc: requests.RequestException) -> str:
    """A short cause for a transport failure, from the innermost error rather than urllib3's nested repr."""
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects"
    root: BaseException = exc
    while (inner := getattr(root, "reason", None) or root.__context__) is not None and inner is not root:
        root = inner
    if isinstance(exc, requests.Timeout) or isinstance(root, TimeoutError | urllib3.exceptions.TimeoutError):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect ({type(root).__name__}: {str(root).split(': ')[-1][:120]})"
    return f"request failed ({type(exc).__name__}: {str(root)[:120]})"


def read_action_response(host: str, action: str, response: requests.Response) -> Any:
    """The `result` of an Action API response, or a HarvestError saying exactly what was wrong."""
    status = response.status_code
    body = response.content
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        content_type = response.headers.get("Content-Type", "")
        if "html" in content_type or body.lstrip()[:1] == b"<":
            raise HarvestError(host, f"{action}: HTTP {status}, an HTML page instead of JSON") from None
        if status >= 400:
            raise HarvestError(host, f"{action}: HTTP {status}") from None
        raise HarvestError(host, f"{action}: HTTP {status}, body is not valid JSON ({exc})") from None
    if not isinstance(envelope, dict) or "success" not in envelope:
        raise HarvestError(host, f"{action}: HTTP {status}, JSON is not a CKAN Action API response")
    if envelope["success"] is not True:
        error = envelope.get("error") or {}
        kind = error.get("__type", "error") if isinstance(error, dict) else "error"
        message = error.get("message", "") if isinstance(error, dict) else str(error)
        raise HarvestError(host, f"{action}: HTTP {status}, success=false ({kind}: {message})".rstrip())
    if status >= 400:
        raise HarvestError(host, f"{action}: HTTP {status}")
    return envelope.get("result")


class CkanClient(PortalClient):
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
        session, self.traffic = build_session(settings)
        self.api = CkanActionApi(base_url, get_only=True, session=session, user_agent=session.headers["User-Agent"])
        self.host = self.api.host
        self.filter_query = filter_query
        self.rows = rows

    def iter_dataset_pages(self) -> Iterator[DatasetPage]:
        start, rows = 0, self.rows
        while True:
            params: dict[str, Any] = {"q": "*:*", "sort": SEARCH_SORT, "rows": rows, "start": start}
            if self.filter_query:
                params["fq"] = self.filter_query
            result = self.api.call_action("package_search", params)
            records, count = _search_page(self.host, result)
            notes = []
            remaining = count - start
            if 0 < len(records) < rows and len(records) < remaining:
                notes.append(f"portal capped rows at {len(records)} (asked {rows})")
                rows = len(records)
            yield DatasetPage(records=records, reported_count=count, notes=notes)
            start += len(records)
            if not records or start >= count:
                return

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
            if len(fresh) < ORGANIZATION_PAGE:
                return
            offset += len(page)

    def fetch_dataset(self, dataset_id: str) -> dict[str, Any]:
        result = self.api.call_action("package_show", {"id": dataset_id})
        if not isinstance(result, dict):
            raise HarvestError(self.host, f"package_show {dataset_id}: result is not an object")
        return result

    def close(self) -> None:
        self.api.close()


def _search_page(host: str, result: Any) -> tuple[list[dict[str, Any]], int]:
    """Validate one package_search result: a count and a list of records."""
    if not isinstance(result, dict) or not isinstance(result.get("results"), list):
        raise HarvestError(host, "package_search: result has no list of results")
    count = result.get("count")
    if not isinstance(count, int) or count < 0:
        raise HarvestError(host, f"package_search: count {count!r} is not a non-negative integer")
    records = [record for record in result["results"] if isinstance(record, dict)]
    return records, count
