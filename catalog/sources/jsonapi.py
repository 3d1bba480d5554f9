"""Reading JSON from a portal's REST API: one call, retried when the answer was transiently bad.

Socrata, OpenDataSoft and ArcGIS Hub share this; CKAN adds its Action API envelope on top of
`parse_json`. Every failure becomes one `HarvestError` line naming the host, what was asked and why.
A page of records (`get_page`) is surveyed, not parsed: its records travel on in the bytes received, to
be parsed once, by the worker that normalises them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import simdjson

from catalog.http import Fetched, FetchError, PortalSession
from catalog.normalise.values import loads_lenient
from catalog.sources.base import PageNotes, ReceivedRecords, retried, survey_records

T = TypeVar("T")
Records = list[dict[str, Any]] | ReceivedRecords


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
        self.parser = simdjson.Parser()
        """Surveys pages; reused (its buffer grows to the largest page), so only the thread that reads
        pages may use it."""

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
        return self._get(url, params, what, max_bytes, self._parsed)

    def get_page(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        *,
        records_at: str,
        record_id: Callable[[Any], str | None],
        what: str,
        max_bytes: int,
    ) -> tuple[Records, dict[str, Any]]:
        """A page of records: those of the answer's list `records_at` (its objects), and the answer's other
        keys. The records stay in the bytes received (`survey_records`) unless the survey declines the
        page (then it is parsed, every oddity noted as `get` notes it). An answer without that list is a
        `HarvestError`."""

        def read(fetched: Fetched, what: str) -> tuple[Records, dict[str, Any]]:
            surveyed = (
                None if fetched.status >= 400 else survey_records(self.parser, fetched.body, (records_at,), record_id)
            )
            if surveyed is not None:
                received, answer = surveyed
                return received, {key: _python(answer[key]) for key in answer if key != records_at}
            answer = self._parsed(fetched, what)
            listed = answer.get(records_at) if isinstance(answer, dict) else None
            if not isinstance(listed, list):
                raise FetchError(f"answer has no list of {records_at}")  # `retried` names the host and `what`
            return [record for record in listed if isinstance(record, dict)], answer

        return self._get(url, params, what, max_bytes, read)

    def _get(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        what: str | None,
        max_bytes: int | None,
        read: Callable[[Fetched, str], T],
    ) -> T:
        what = what or urlsplit(url).path
        where = self.host or urlsplit(url).netloc
        return retried(
            self.session.settings, where, what, lambda: read(self.session.get(url, params, max_bytes=max_bytes), what)
        )

    def _parsed(self, fetched: Fetched, what: str) -> Any:
        value = parse_json(what, fetched, self.notes)
        if fetched.status >= 400:
            raise FetchError(f"{what}: HTTP {fetched.status}", overloaded=fetched.status >= 500, status=fetched.status)
        return value


def _python(value: Any) -> Any:
    """A surveyed value as Python objects."""
    if isinstance(value, simdjson.Object):
        return value.as_dict()
    if isinstance(value, simdjson.Array):
        return value.as_list()
    return value
