"""Reading JSON from a portal's REST API: one call, retried when the answer was transiently bad.

Socrata, OpenDataSoft and ArcGIS Hub share this; CKAN adds its Action API envelope on top of
`parse_json`. Every failure becomes one `HarvestError` line naming the host, what was asked and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from catalog.http import Fetched, FetchError, PortalSession
from catalog.normalise.values import loads_lenient
from catalog.sources.base import PageNotes, retried


def parse_json(what: str, fetched: Fetched, notes: list[str]) -> Any:
    """The JSON body of a response, or a `FetchError` saying exactly what was wrong with it.

    An HTML page or broken JSON with status 200 is transient (proxies and overloaded portals send
    them); a 5xx means the server struggled. Invalid UTF-8 is repaired, with a note.
    """
    status = fetched.status
    try:
        value, repaired = loads_lenient(fetched.body)
    except ValueError as exc:
        html = "html" in fetched.content_type or fetched.body.lstrip()[:1] == b"<"
        if html:
            cause = f"{what}: HTTP {status}, an HTML page instead of JSON"
        elif status >= 400:
            cause = f"{what}: HTTP {status}"
        else:
            cause = f"{what}: HTTP {status}, body is not valid JSON ({exc})"
        raise FetchError(cause, transient=status < 400, overloaded=status >= 500, status=status) from None
    if repaired:
        notes.append(f"{what}: response needed the lenient parser (invalid UTF-8, lone surrogates or deep nesting)")
    return value


class JsonApi(PageNotes):
    """GETs JSON documents from one portal through the shared HTTP session."""

    def __init__(self, session: PortalSession, host: str | None = None) -> None:
        self.session = session
        self.host = host or ""
        self.notes: list[str] = []

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        what: str | None = None,
        max_bytes: int | None = None,
    ) -> Any:
        """The parsed JSON at `url`; a status of 400 or more is an error even with a JSON body.
        `max_bytes` bounds the answer (a page's memory budget, see `page_budget`)."""
        what = what or urlsplit(url).path
        where = self.host or urlsplit(url).netloc
        return retried(self.session.settings, where, what, lambda: self._get_once(url, params, what, max_bytes))

    def _get_once(self, url: str, params: Mapping[str, Any] | None, what: str, max_bytes: int | None) -> Any:
        fetched = self.session.get(url, params, max_bytes=max_bytes)
        value = parse_json(what, fetched, self.notes)
        if fetched.status >= 400:
            raise FetchError(f"{what}: HTTP {fetched.status}", overloaded=fetched.status >= 500, status=fetched.status)
        return value
