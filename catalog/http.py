"""The one place HTTP is done: polite, bounded, guarded, counted, and retried where retrying can help.

Every adapter reads through `PortalSession.get` or `PortalSession.stream`, so all portals get the same
behaviour:
- timeouts on connect and read (requests has none by default, and hangs forever without one), and a
  total deadline per request, retries and body included, so a server that drips one byte a second
  cannot hold a harvest for good;
- urllib3's `Retry` for 429, 5xx, connection resets and timeouts: exponential backoff with jitter,
  honouring `Retry-After` (seconds or an HTTP date) up to `backoff_max`; a portal asking for a longer
  wait gets a transient failure instead of a hung harvest;
- a per-host request rate (requests-ratelimiter on pyrate-limiter) and a per-host cap on requests in
  flight, both shared by every session of the process;
- an address guard: no connection to a loopback, private, link-local or multicast address, checked
  after DNS resolution and on every redirect, unless the host is one the portal is registered at;
- an identifying User-Agent, an optional API key sent as a header, dropped on a cross-origin
  redirect, and masked (`catalog.redaction`) in anything the portal sends back;
- a cap on response size, enforced while streaming;
- request and byte counters for the run record.
Any answer with status 429, 502, 503 or 504 is transient whatever its body, once the transport's own
retries are spent. Retries of answers that are bad only at the application level (an HTML page with
status 200, a truncated body) are the caller's, through `retry_transient`, because only the caller
can tell.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
import urllib3
from pyrate_limiter import Limiter
from requests.adapters import HTTPAdapter
from requests_ratelimiter import LimiterMixin
from requests_ratelimiter.buckets import HostBucketFactory
from requests_ratelimiter.requests_ratelimiter import _convert_rate
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from catalog import __version__
from catalog.errors import HarvestError
from catalog.redaction import ByteRedactor, redact, register_secret

USER_AGENT = f"catalog-harvester/{__version__} (open data portal catalogue harvester)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
"""Statuses the transport retries, with backoff."""
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
"""Statuses that mean "not now", whatever the body says: a failure worth trying again later."""
SMALLEST_CHUNK, LARGEST_CHUNK = 8 * 1024, 256 * 1024
"""A body is read in chunks of what arrives, at the minimum transfer rate, in a quarter of the deadline,
within these bounds. The deadline moves on as each chunk comes, so it must come well within it; and each
chunk costs the same Python work however large (at the shipped settings, 256 KB chunks instead of 64 KB
took the fetch thread's CPU from 2.25 to 1.83 s per 100,000 CKAN datasets)."""
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpSettings:
    """How politely and patiently we talk to one portal. The defaults are what users get."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    """The longest silence between two bytes."""
    request_deadline: float = 300.0
    """The longest one request may take in all (retries and waits included) before its body streams in."""
    min_transfer_rate: int = 64 * 1024
    """Past the deadline, a body may keep streaming while it arrives at this many bytes/s on average: a
    500 MB data.json on a slow link completes, a server dripping a byte a second does not."""
    retries: int = 4
    backoff_factor: float = 0.5
    backoff_max: float = 60.0
    """The longest wait between retries, and the longest `Retry-After` we honour by waiting."""
    requests_per_second: float = 5.0
    """0 means unlimited (local test portals)."""
    max_concurrency: int = 2
    max_response_bytes: int = 512 * 2**20
    user_agent: str = USER_AGENT
    api_key: str | None = field(default=None, repr=False)
    trusted_hosts: frozenset[str] = frozenset()
    """Host names allowed on loopback or private addresses, beside those of the portal's own URLs."""
    allow_private: bool = False
    """Allow any loopback or private address (an intranet deployment, tests)."""

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "request_deadline", "min_transfer_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be more than 0, not {getattr(self, name)!r}")
        if self.retries < 0 or self.requests_per_second < 0 or self.max_concurrency < 1:
            raise ValueError("retries and requests_per_second must not be negative; max_concurrency at least 1")
        register_secret(self.api_key)


class FetchError(Exception):
    """A request that failed after the transport's own retries.

    `transient`: worth trying again later (a dropped connection mid-body, 429, 503). `overloaded`: the
    server timed out or answered 5xx, so a lighter request (a smaller page) may succeed. `status`: the
    HTTP status, when an answer came.
    """

    def __init__(
        self,
        cause: str,
        *,
        transient: bool = False,
        overloaded: bool = False,
        status: int | None = None,
        too_large: bool = False,
    ) -> None:
        cause = redact(cause)
        super().__init__(cause)
        self.cause = cause
        self.transient = transient
        self.overloaded = overloaded
        self.status = status
        self.too_large = too_large

    def harvest_error(self, where: str, what: str = "") -> HarvestError:
        """The same failure as a user-facing `HarvestError` at `where`, its cause prefixed with `what`."""
        cause = self.cause if not what or self.cause.startswith(what) else f"{what}: {self.cause}"
        return HarvestError(where, cause, transient=self.transient, overloaded=self.overloaded, status=self.status)


class BlockedAddress(Exception):  # noqa: N818 - reads as what happened; not an OSError, so never retried
    """A connection the address guard refused (loopback, private, link-local or multicast)."""


@dataclass(frozen=True)
class Fetched:
    """A whole response body, read within the size cap."""

    status: int
    content_type: str
    body: bytes


LIMITER_BUFFER_MS = 50
"""What the limiter adds to every wait it makes a request sleep (pyrate-limiter's default)."""
HELD_BACK_S = LIMITER_BUFFER_MS / 2 / 1000
"""A wait for the rate limit longer than this (25 ms) is our rate holding a request back: one held back
sleeps at least the limiter's buffer, and a free acquire takes microseconds, or a few milliseconds when
another thread holds the interpreter (its switch interval is 5 ms)."""


@dataclass
class TrafficCounter:
    """Requests made and bytes received (a request retried by the transport counts once), and when our
    own rate limit last held a request back."""

    requests: int = 0
    bytes_received: int = 0
    held_back_at: float | None = None
    """When our rate limit last held a request back (`time.monotonic()`): a pager reads it to tell
    whether our rate, rather than the portal or our own work, sets the pace."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, size: int) -> None:
        with self._lock:
            self.requests += 1
            self.bytes_received += size

    def waited(self, seconds: float) -> None:
        """A request waited `seconds` for the rate limit."""
        if seconds > HELD_BACK_S:
            self.held_back_at = time.monotonic()

    def held_back_within(self, seconds: float) -> bool:
        """Whether our rate limit held a request back in the last `seconds`."""
        return self.held_back_at is not None and time.monotonic() - self.held_back_at <= seconds


# --- the address guard -------------------------------------------------------------------------


def host_of(url: str) -> str:
    """A URL's host name as connections see it: lower-cased, an IPv6 literal without its brackets."""
    return (urllib3.util.parse_url(url).host or "").strip("[]").lower()


NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
"""The well-known NAT64 prefix (RFC 6052): its addresses reach the IPv4 address in their last 32 bits."""
NOT_PUBLIC_V6 = (
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215): where it leads is the network's own
    ipaddress.ip_network("2001::/32"),  # Teredo: a tunnel to whatever address the client part names
    ipaddress.ip_network("fec0::/10"),  # site-local, deprecated but still routed inside some networks
)


def is_public_address(address: str) -> bool:
    """Whether an IP address is on the public internet (not loopback, private, link-local, multicast...).
    An IPv6 address that carries an IPv4 one (mapped, IPv4-compatible, 6to4, NAT64) is judged by the IPv4
    address it leads to: on an IPv6-only network with NAT64, `64:ff9b::a9fe:a9fe` is 169.254.169.254."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in NOT_PUBLIC_V6):
            return False
        if (embedded := embedded_ipv4(ip)) is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, if it is of a form that carries one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    low = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in NAT64_PREFIX or (int(ip) >> 32 == 0 and int(ip) > 1):  # NAT64; IPv4-compatible (::a.b.c.d)
        return low
    return None


@dataclass(frozen=True)
class AddressGuard:
    """Decides which address a connection to `host` may use: a public one, unless the host is trusted."""

    trusted_hosts: frozenset[str] = frozenset()
    allow_private: bool = False

    def address_for(self, host: str, port: int) -> str:
        """The address to connect to, resolved once here so that what was checked is what is used."""
        if self.allow_private or host.strip("[]").lower() in self.trusted_hosts:
            return host
        addresses = [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
        blocked = [address for address in addresses if not is_public_address(address)]
        if blocked:
            raise BlockedAddress(
                f"refused to connect to {host}: it resolves to {blocked[0]}, a loopback, private or link-local "
                "address (allowed only for the portal's own host)"
            )
        return addresses[0]


# --- the total deadline of a request ---------------------------------------------------------


class _Deadline:
    """Shuts the sockets of one request down when its time is up, which unblocks any read in progress.

    The time is `seconds` from the start, extended while a body streams in at `min_rate` bytes/s.
    """

    def __init__(self, seconds: float, min_rate: float) -> None:
        self.seconds = seconds
        self.min_rate = min_rate
        self.started = time.monotonic()
        self.expires = self.started + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cancelled = False
        self._timer: threading.Timer | None = None
        self._arm(seconds)

    def _arm(self, seconds: float) -> None:
        with self._lock:
            if self._cancelled:  # a timer firing as the request ends must not outlive it
                return
            self._timer = threading.Timer(max(0.0, seconds), self._check)
            self._timer.daemon = True
            self._timer.start()

    def received(self, size: int) -> None:
        """`size` bytes of body have arrived in all: the deadline moves by what that rate earns."""
        self.expires = max(self.expires, self.started + self.seconds + size / self.min_rate)

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _check(self) -> None:
        remaining = self.expires - time.monotonic()
        if remaining > 0:
            self._arm(remaining)
            return
        with self._lock:
            if self._cancelled:
                return
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._timer is not None:
                self._timer.cancel()

    def describe(self) -> str:
        return f"no complete answer within the {self.seconds:g} s deadline"


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()


def _watch(sock: socket.socket | None) -> None:
    """Put the socket a request is using under the current request's deadline (the response keeps
    reading from it after the connection object lets go of it)."""
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _GuardedConnectionMixin:
    """Connections that resolve through the address guard and are watched by the request's deadline."""

    guard: AddressGuard = AddressGuard()

    def _new_conn(self) -> socket.socket:
        host = self._dns_host  # type: ignore[has-type]
        try:
            self._dns_host = self.guard.address_for(host, self.port)  # type: ignore[attr-defined]
        except socket.gaierror as exc:  # never a second, unchecked resolution by the transport
            raise urllib3.exceptions.NameResolutionError(host, self, exc) from exc  # type: ignore[arg-type]
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = host

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _watch(self.sock)  # type: ignore[attr-defined]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # type: ignore[attr-defined]  # None before the first connect, which watches it then
        super().request(*args, **kwargs)  # type: ignore[misc]


def _guarded_pool_classes(guard: AddressGuard) -> dict[str, type]:
    """urllib3 pool classes whose connections go through `guard`."""
    classes = {}
    for scheme, pool in (("http", HTTPConnectionPool), ("https", HTTPSConnectionPool)):
        connection = type(f"Guarded{pool.ConnectionCls.__name__}", (_GuardedConnectionMixin, pool.ConnectionCls), {})
        connection.guard = guard  # type: ignore[attr-defined]
        classes[scheme] = type(f"Guarded{pool.__name__}", (pool,), {"ConnectionCls": connection})
    return classes


# --- politeness: retries, rate, concurrency ---------------------------------------------------


class _WaitTooLong(Exception):  # noqa: N818 - not an OSError, so requests hands it on untouched
    """The portal asked (Retry-After) for a longer wait than we are willing to sleep through."""

    def __init__(self, status: int, seconds: float, limit: float) -> None:
        super().__init__(f"HTTP {status}: the portal asks to wait {seconds:.0f} s (more than {limit:.0f} s)")
        self.status = status


class PoliteRetry(Retry):
    """urllib3's Retry, but a `Retry-After` beyond `backoff_max` ends the request instead of hanging it."""

    def sleep_for_retry(self, response: urllib3.BaseHTTPResponse) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after and retry_after > self.backoff_max:
            response.drain_conn()
            raise _WaitTooLong(response.status, retry_after, self.backoff_max)
        return super().sleep_for_retry(response)


def retry_policy(settings: HttpSettings) -> Retry:
    """The transport's retries: what a session's adapters are mounted with."""
    return PoliteRetry(
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


_HOST_SLOTS: dict[str, threading.BoundedSemaphore] = {}
_LIMITERS: dict[float, Limiter] = {}
_SHARED_LOCK = threading.Lock()


def _host_slots(host: str, limit: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore bounding requests in flight to one host."""
    with _SHARED_LOCK:
        return _HOST_SLOTS.setdefault(host, threading.BoundedSemaphore(max(1, limit)))


def shared_limiter(per_second: float) -> Limiter:
    """The process-wide limiter for one request rate, with a bucket per host: every session shares it."""
    with _SHARED_LOCK:
        if per_second not in _LIMITERS:
            factory = HostBucketFactory(rates=[_convert_rate(per_second, 1000)])
            _LIMITERS[per_second] = Limiter(factory, buffer_ms=LIMITER_BUFFER_MS)
        return _LIMITERS[per_second]


class PortalAdapter(HTTPAdapter):
    """Applies the settings' timeouts, retry policy, address guard and per-host cap on requests in flight."""

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self.guard = AddressGuard(settings.trusted_hosts, settings.allow_private)
        super().__init__(max_retries=retry_policy(settings))

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pool_classes(self.guard)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (self.settings.connect_timeout, self.settings.read_timeout)
        host = urllib3.util.parse_url(request.url).netloc or ""
        with _host_slots(host, self.settings.max_concurrency):
            return super().send(request, **kwargs)


class CountedLimiter:
    """The process-wide limiter as one session uses it: the time its requests wait there is counted in
    the session's traffic. It offers what `LimiterMixin` asks of a limiter."""

    def __init__(self, limiter: Limiter, traffic: TrafficCounter) -> None:
        self.limiter = limiter
        self.bucket_factory = limiter.bucket_factory
        self.traffic = traffic

    def try_acquire(self, name: str, weight: int = 1, blocking: bool = True, timeout: float = -1) -> bool:
        started = time.perf_counter()
        try:
            return self.limiter.try_acquire(name, weight=weight, blocking=blocking, timeout=timeout)
        finally:
            self.traffic.waited(time.perf_counter() - started)

    def buckets(self) -> list[Any]:
        return self.limiter.buckets()


class RateLimitedAdapter(LimiterMixin, PortalAdapter):  # type: ignore[misc]
    """The portal adapter, plus the process-wide per-host request rate."""


def mount_adapter(settings: HttpSettings, traffic: TrafficCounter) -> HTTPAdapter:
    """The adapter a session with these settings mounts for http and https; `traffic` counts the time
    its requests wait for the rate limit."""
    if settings.requests_per_second > 0:
        limiter = CountedLimiter(shared_limiter(settings.requests_per_second), traffic)
        return RateLimitedAdapter(settings=settings, limiter=limiter, per_host=True)
    return PortalAdapter(settings)


class _CredentialSession(requests.Session):
    """A session that sends the API key only to the portal's own hosts, and drops every credential header,
    not only `Authorization`, on a redirect to another origin.

    Proxies from the environment are not used (`trust_env` off): through a proxy the address guard could
    not see where a request really goes."""

    def __init__(self, credentials: Mapping[str, str], homes: frozenset[str]) -> None:
        super().__init__()
        self.trust_env = False
        self.credentials = dict(credentials)
        self.homes = homes

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        prepared = super().prepare_request(request)
        if (urllib3.util.parse_url(prepared.url).host or "").strip("[]").lower() in self.homes:
            prepared.headers.update(self.credentials)
        return prepared

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)
        if self.should_strip_auth(response.request.url, prepared_request.url):
            for name in self.credentials:
                prepared_request.headers.pop(name, None)


class PortalSession:
    """A requests session configured from `HttpSettings`, read through `get` or `stream`.

    `home`: the portal's own URLs (its site, its API endpoint). Their hosts may be on a loopback or
    private address (an intranet portal, a local test portal); any other host, reached by a redirect
    or a link, may not.
    """

    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        home: Iterable[str | None] = (),
        api_key_header: str = "Authorization",
    ) -> None:
        settings = settings or HttpSettings()
        homes = frozenset(host_of(url) for url in home if url)
        self.settings = settings = dataclasses.replace(settings, trusted_hosts=settings.trusted_hosts | homes)
        self.traffic = TrafficCounter()
        adapter = mount_adapter(settings, self.traffic)
        credentials = {api_key_header: settings.api_key} if settings.api_key else {}
        self.session = _CredentialSession(credentials, homes)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = settings.user_agent
        self.session.headers["Accept"] = "application/json"

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        accept: str | None = None,
        max_bytes: int | None = None,
    ) -> Fetched:
        """GET a whole body, streamed so that an oversized one is refused before it is held."""
        with self.stream(url, params, accept=accept, max_bytes=max_bytes) as streamed:
            return Fetched(streamed.status, streamed.content_type, streamed.read())

    @contextmanager
    def stream(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        accept: str | None = None,
        max_bytes: int | None = None,
    ) -> Iterator[StreamedBody]:
        """GET a body to be read incrementally (a large data.json), within the same cap, deadline and counters.

        `max_bytes`: a smaller cap for this request (a page's memory budget); passing it is
        `overloaded`, so the caller may ask for a smaller page. An answer with a transient status
        (429, 502, 503, 504) raises a transient `FetchError` here, whatever its body: by then the
        transport has already retried it.
        """
        headers = {"Accept": accept} if accept else None
        body: StreamedBody | None = None
        deadline = _Deadline(self.settings.request_deadline, self.settings.min_transfer_rate)
        outer, _current.deadline = getattr(_current, "deadline", None), deadline
        try:
            with self.session.get(url, params=params, headers=headers, stream=True) as response:
                status = response.status_code
                if status in TRANSIENT_STATUSES:
                    raise FetchError(f"HTTP {status}", transient=True, overloaded=status >= 500, status=status)
                limit = min(self.settings.max_response_bytes, max_bytes or self.settings.max_response_bytes)
                body = StreamedBody(response, limit, deadline, budget=limit < self.settings.max_response_bytes)
                yield body
                elapsed = time.monotonic() - deadline.started
                log.debug("GET %s -> %d, %d bytes, %.2fs", response.url, status, body.size, elapsed)
        except requests.RequestException as exc:
            raise describe_request_error(exc, deadline) from None
        except BlockedAddress as exc:
            raise FetchError(str(exc)) from None
        except _WaitTooLong as exc:
            raise FetchError(str(exc), transient=True, status=exc.status) from None
        finally:
            deadline.cancel()
            _current.deadline = outer
            self.traffic.record(body.size if body is not None else 0)

    def close(self) -> None:
        self.session.close()


class StreamedBody:
    """A response body as a binary file (`read(n)`), refusing to read past the size cap or the deadline."""

    def __init__(self, response: requests.Response, limit: int, deadline: _Deadline, *, budget: bool = False) -> None:
        self.status = response.status_code
        self.content_type = response.headers.get("Content-Type", "")
        self.url = response.url
        self.size = 0
        self._limit = limit
        self._what = "budget" if budget else "cap"
        self._deadline = deadline
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(f"response of {int(declared):,} bytes")
        chunk = min(LARGEST_CHUNK, max(SMALLEST_CHUNK, int(deadline.min_rate * deadline.seconds / 4)))
        self._chunks = response.iter_content(chunk)
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._redactor = ByteRedactor()
        self._ended = False

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that remain when negative); b"" at the end.

        Chunks wait in a list and are joined once: a whole body is copied once, not grown and sliced."""
        try:
            while not self._ended and (size < 0 or self._pending_bytes < size):
                chunk = next(self._chunks, None)
                if chunk is None:
                    if self._deadline.expired:  # a socket shut mid-body can look like a clean end
                        raise FetchError(self._deadline.describe(), overloaded=True)
                    self._ended = True
                    chunk = self._redactor.flush()
                else:
                    self.size += len(chunk)
                    if self.size > self._limit:
                        raise self._too_large("response")
                    self._deadline.received(self.size)
                    if self._redactor.active:
                        chunk = self._redactor.feed(chunk)
                if chunk:
                    self._pending.append(chunk)
                    self._pending_bytes += len(chunk)
        except requests.RequestException as exc:
            raise describe_request_error(exc, self._deadline) from None
        data = b"".join(self._pending)
        if 0 <= size < len(data):
            data, rest = data[:size], data[size:]
            self._pending, self._pending_bytes = [rest], len(rest)
        else:
            self._pending, self._pending_bytes = [], 0
        return data

    def _too_large(self, what: str) -> FetchError:
        cause = f"{what} exceeds the {self._limit:,}-byte {self._what}"
        return FetchError(cause, status=self.status, too_large=True, overloaded=self._what == "budget")


# Innermost causes of a failed connection, and how we say them.
_CONNECTION_CAUSES: list[tuple[tuple[type[BaseException], ...], str]] = [
    ((ConnectionRefusedError,), "connection refused"),
    ((socket.gaierror, urllib3.exceptions.NameResolutionError), "host name does not resolve"),
    (
        (ConnectionResetError, http.client.RemoteDisconnected, urllib3.exceptions.ProtocolError),
        "connection reset by the server",
    ),
]


def describe_request_error(exc: requests.RequestException, deadline: _Deadline | None = None) -> FetchError:
    """A short, classified cause from the innermost error, without urllib3's nested repr or any header."""
    if deadline is not None and deadline.expired:
        return FetchError(deadline.describe(), overloaded=True)
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


def worth_retrying_now(exc: BaseException) -> bool:
    """A failure the caller may retry at once: bad only at the application level (HTML at 200, a
    truncated body), not a status the transport has already retried with backoff."""
    return isinstance(exc, HarvestError) and exc.transient and exc.status not in TRANSIENT_STATUSES


def retry_transient(settings: HttpSettings, call: Callable[[], T]) -> T:
    """`call()`, tried again (backoff with jitter) while it fails in a way `worth_retrying_now` accepts."""
    retrying = Retrying(
        retry=retry_if_exception(worth_retrying_now),
        stop=stop_after_attempt(settings.retries + 1),
        wait=wait_exponential_jitter(
            multiplier=settings.backoff_factor, max=settings.backoff_max, jitter=settings.backoff_factor
        ),
        reraise=True,
    )
    return retrying(call)
