"""The one place HTTP is done: polite, bounded, counted, and retried where retrying can help.

Every adapter reads through `PortalSession.get`, so all portals get the same behaviour:
- timeouts on connect and read (requests has none by default, and hangs forever without one);
- urllib3's `Retry` for 429, 5xx, connection resets and timeouts: exponential backoff with jitter,
  honouring `Retry-After` (seconds or an HTTP date);
- a per-host request rate (requests-ratelimiter on pyrate-limiter) and a per-host cap on requests in
  flight, shared by every session of the process;
- an identifying User-Agent, an optional API key sent as a header (never logged or stored);
- a cap on response size, enforced while streaming;
- request and byte counters for the run record.
Retries of answers that are bad only at the application level (an HTML page with status 200, a
truncated body) are the caller's, through `retry_transient`, because only the caller can tell.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests_ratelimiter import LimiterMixin
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from urllib3.util.retry import Retry

from catalog import __version__

USER_AGENT = f"catalog-harvester/{__version__} (open data portal catalogue harvester)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
CHUNK = 1 << 16
T = TypeVar("T")


@dataclass(frozen=True)
class HttpSettings:
    """How politely and patiently we talk to one portal."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 4
    backoff_factor: float = 0.5
    backoff_max: float = 60.0
    requests_per_second: float = 5.0
    """0 means unlimited (local test portals)."""
    max_concurrency: int = 2
    max_response_bytes: int = 512 * 2**20
    user_agent: str = USER_AGENT
    api_key: str | None = field(default=None, repr=False)


class FetchError(Exception):
    """A request that failed after the transport's own retries.

    `transient`: worth trying again later (a dropped connection mid-body). `overloaded`: the server
    timed out or answered 5xx, so a lighter request (a smaller page) may succeed.
    """

    def __init__(self, cause: str, *, transient: bool = False, overloaded: bool = False) -> None:
        super().__init__(cause)
        self.cause = cause
        self.transient = transient
        self.overloaded = overloaded


@dataclass(frozen=True)
class Fetched:
    """A whole response body, read within the size cap."""

    status: int
    content_type: str
    body: bytes


@dataclass
class TrafficCounter:
    """Requests made and bytes received (a request retried by the transport counts once)."""

    requests: int = 0
    bytes_received: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, size: int) -> None:
        with self._lock:
            self.requests += 1
            self.bytes_received += size


_HOST_SLOTS: dict[str, threading.BoundedSemaphore] = {}
_HOST_SLOTS_LOCK = threading.Lock()


def _host_slots(host: str, limit: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore bounding requests in flight to one host."""
    with _HOST_SLOTS_LOCK:
        return _HOST_SLOTS.setdefault(host, threading.BoundedSemaphore(max(1, limit)))


class _PoliteAdapter(HTTPAdapter):
    """Applies a default timeout and the per-host cap on requests in flight."""

    def __init__(self, settings: HttpSettings, **kwargs: Any) -> None:
        self._timeout = (settings.connect_timeout, settings.read_timeout)
        self._max_concurrency = settings.max_concurrency
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        host = urllib3.util.parse_url(request.url).netloc or ""
        with _host_slots(host, self._max_concurrency):
            return super().send(request, **kwargs)


class _RateLimitedAdapter(LimiterMixin, _PoliteAdapter):  # type: ignore[misc]
    """The polite adapter, plus a per-host request rate."""


def _retry(settings: HttpSettings) -> Retry:
    return Retry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        backoff_factor=settings.backoff_factor,
        backoff_max=settings.backoff_max,
        backoff_jitter=settings.backoff_factor,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class PortalSession:
    """A requests session configured from `HttpSettings`, read through `get`."""

    def __init__(self, settings: HttpSettings | None = None, *, api_key_header: str = "Authorization") -> None:
        self.settings = settings = settings or HttpSettings()
        if settings.requests_per_second > 0:
            adapter: HTTPAdapter = _RateLimitedAdapter(
                settings=settings,
                max_retries=_retry(settings),
                per_second=settings.requests_per_second,
                per_host=True,
            )
        else:
            adapter = _PoliteAdapter(settings, max_retries=_retry(settings))
        self.session = requests.Session()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = settings.user_agent
        self.session.headers["Accept"] = "application/json"
        if settings.api_key:
            self.session.headers[api_key_header] = settings.api_key
        self.traffic = TrafficCounter()

    def get(self, url: str, params: Mapping[str, Any] | None = None, *, accept: str | None = None) -> Fetched:
        """GET a whole body, streamed so that an oversized one is refused before it is held."""
        with self.stream(url, params, accept=accept) as streamed:
            return Fetched(streamed.status, streamed.content_type, streamed.read())

    @contextmanager
    def stream(
        self, url: str, params: Mapping[str, Any] | None = None, *, accept: str | None = None
    ) -> Iterator[StreamedBody]:
        """GET a body to be read incrementally (a large data.json), within the same cap and counters."""
        headers = {"Accept": accept} if accept else None
        body: StreamedBody | None = None
        try:
            with self.session.get(url, params=params, headers=headers, stream=True) as response:
                body = StreamedBody(response, self.settings.max_response_bytes)
                yield body
        except requests.RequestException as exc:
            raise describe_request_error(exc) from exc
        finally:
            self.traffic.record(body.size if body is not None else 0)

    def close(self) -> None:
        self.session.close()


class StreamedBody:
    """A response body as a binary file (`read(n)`), refusing to read past the size cap."""

    def __init__(self, response: requests.Response, limit: int) -> None:
        self.status = response.status_code
        self.content_type = response.headers.get("Content-Type", "")
        self.url = response.url
        self.size = 0
        self._limit = limit
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"response of {int(declared):,} bytes exceeds the {limit:,}-byte cap")
        self._chunks = response.iter_content(CHUNK)
        self._pending = bytearray()

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that remain when negative); b"" at the end."""
        try:
            while size < 0 or len(self._pending) < size:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self.size += len(chunk)
                if self.size > self._limit:
                    raise FetchError(f"response exceeds the {self._limit:,}-byte cap")
                self._pending += chunk
        except requests.RequestException as exc:
            raise describe_request_error(exc) from exc
        if size < 0:
            size = len(self._pending)
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data


# Innermost causes of a failed connection, and how we say them.
_CONNECTION_CAUSES: list[tuple[tuple[type[BaseException], ...], str]] = [
    ((ConnectionRefusedError,), "connection refused"),
    ((socket.gaierror, urllib3.exceptions.NameResolutionError), "host name does not resolve"),
    (
        (ConnectionResetError, http.client.RemoteDisconnected, urllib3.exceptions.ProtocolError),
        "connection reset by the server",
    ),
]


def describe_request_error(exc: requests.RequestException) -> FetchError:
    """A short, classified cause from the innermost error, without urllib3's nested repr or any header."""
    if isinstance(exc, requests.TooManyRedirects):
        return FetchError("too many redirects (a redirect loop?)")
    root: BaseException = exc
    while (inner := getattr(root, "reason", None) or root.__context__) is not None and inner is not root:
        root = inner
    if isinstance(exc, requests.Timeout) or isinstance(root, TimeoutError | urllib3.exceptions.TimeoutError):
        return FetchError("timed out", overloaded=True)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return FetchError("connection broken while reading the body", transient=True)
    cause = next((text for kinds, text in _CONNECTION_CAUSES if isinstance(root, kinds)), None)
    return FetchError(cause or f"request failed ({type(root).__name__})")


def retry_transient(settings: HttpSettings, call: Callable[[], T], is_transient: Callable[[BaseException], bool]) -> T:
    """`call()`, tried again (backoff with jitter) while it fails in a way `is_transient` accepts."""
    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(settings.retries + 1),
        wait=wait_exponential_jitter(
            multiplier=settings.backoff_factor, max=settings.backoff_max, jitter=settings.backoff_factor
        ),
        reraise=True,
    )
    return retrying(call)
