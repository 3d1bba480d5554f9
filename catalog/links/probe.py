"""Does one link answer? A URL probed the way a careful person would, without downloading it.

- HEAD first; a GET for one byte (`Range: bytes=0-0`) where the server refuses HEAD (`HEAD_REFUSED`).
  No body is read beyond `body_cap`: a server ignoring the range has its connection dropped there.
- Redirects followed by hand (at most `max_redirects`), so that every hop passes the address guard and
  the politeness of its own host; the final URL is recorded.
- The address guard: the URLs come from untrusted catalogues, so no connection goes to a loopback,
  private, link-local or multicast address unless `allow_private` (tests, an intranet). Names are
  checked after DNS resolution, by the resolver the connection then uses (no second lookup to race),
  and IP literals before connecting; both on every hop. Proxies from the environment are ignored, and
  no credential is ever sent: a link checker has none.
- A 429 or 503 with a `Retry-After` the checker may honour pauses the whole host, then asks again.
- Failures come back as one of `ERROR_CLASSES`, never as an exception.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from catalog.http import is_public_address
from catalog.links.settings import LinkCheckSettings
from catalog.normalise.formats import canonical_format

ERROR_CLASSES = {
    "dns": "the host name does not resolve",
    "refused": "nothing listens at the address (connection refused)",
    "timeout": "no answer in time (connecting or waiting for the headers)",
    "tls": "the TLS handshake or certificate failed",
    "too_many_redirects": "more redirects than allowed, or a redirect loop",
    "blocked": "not checked: the address is loopback, private, link-local or multicast",
    "connection": "the connection broke (reset, closed, malformed answer)",
    "invalid_url": "not a URL an HTTP client can request",
    "unsupported_scheme": "not checked: not an http(s) URL (ftp:, mailto:, a file name)",
    "throttled": "not requested: the host asked for a longer wait than a run gives it (Retry-After)",
}
"""What `link_checks.error` holds when a check got no final HTTP status. A host left alone for the rest of
a run (`catalog.links.hosts`) answers for its other links with the class that made it so, and a detail
starting "not requested" or "not looked up again"."""
HEAD_REFUSED = frozenset({400, 403, 405, 406, 500, 501})
"""Statuses after which HEAD is tried again as a one-byte GET: servers that do not implement HEAD, or
forbid it, answer with these while serving GET fine."""
REDIRECTS = frozenset({301, 302, 303, 307, 308})
RANGE_NOT_SATISFIABLE = 416
BACK_OFF_STATUSES = frozenset({429, 503})


class HostRefusedError(Exception):
    """A host left alone for the rest of the run: the link gets `error` and `detail` without a request."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


class BlockedAddressError(OSError):
    """A connection the address guard refused. An OSError, so aiohttp reports it as a failed lookup,
    whose cause we then read."""


def blocked_reason(host: str, address: str) -> str:
    where = f"{host} is" if host == address else f"{host} resolves to {address},"
    return f"{where} a loopback, private, link-local or multicast address"


class GuardedResolver(AbstractResolver):
    """Resolves through the system resolver, then refuses if any address is not public: the addresses it
    returns are the ones the connection uses, so what was checked is what is connected to."""

    def __init__(self) -> None:
        self._resolver = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            if not is_public_address(result["host"]):
                raise BlockedAddressError(blocked_reason(host, result["host"]))
        return results

    async def close(self) -> None:
        await self._resolver.close()


LEGACY_IPV4 = re.compile(r"(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}", re.IGNORECASE)
"""Numbers a socket library reads as an IPv4 address (`2130706433`, `127.1`, `0177.0.0.1`, `0x7f.1`)."""


def literal_address(host: str) -> str | None:
    """The address if the host is an IP literal (which no resolver sees), in any form a socket library
    reads as one, else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%", 1)[0]))
    except ValueError:
        pass
    if LEGACY_IPV4.fullmatch(host):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            return "0.0.0.0"
    return None


def http_date(text: str | None) -> datetime | None:
    """An HTTP date header as UTC, or None if absent or unreadable."""
    if not text:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_number(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes "²", which `int` refuses."""
    return text.isascii() and text.isdigit()


def retry_after_seconds(text: str | None, attempt: int) -> float:
    """The wait a `Retry-After` asks for (seconds or an HTTP date); without one, 1 s, then 2 s, ..."""
    if text and is_number(text.strip()):
        return float(text.strip())
    when = http_date(text)
    if when is not None:
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return float(2**attempt)


LARGEST_SIZE = 2**63 - 1
"""What a 64-bit column holds: a larger size a server claims is no size at all."""


def content_length(headers: Mapping[str, str]) -> int | None:
    """The size of the whole resource: the total of `Content-Range` for a ranged answer (none if it says
    `*`), else `Content-Length`. A size that is not a number, or too large to be one, is None."""
    if ranged := headers.get("Content-Range"):
        text = ranged.rsplit("/", 1)[-1].strip() if "/" in ranged else ""
    else:
        text = headers.get("Content-Length", "").strip()
    return int(text) if is_number(text) and int(text) <= LARGEST_SIZE else None


FAILURE_CLASSES: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((aiohttp.ClientConnectorDNSError,), "dns"),
    ((aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError, ssl.SSLError), "tls"),
    ((asyncio.TimeoutError, aiohttp.ServerTimeoutError, TimeoutError), "timeout"),
    ((ConnectionRefusedError,), "refused"),
    ((aiohttp.InvalidURL,), "invalid_url"),
)
"""Exceptions (or the OS error beneath a connection failure) by class, in order; anything else is a
broken connection."""


def classify_failure(exc: BaseException) -> tuple[str, str]:
    """An exception from a request as one of ERROR_CLASSES, and a one-line detail."""
    if isinstance(exc, HostRefusedError):
        return exc.error, exc.detail
    cause = getattr(exc, "os_error", None) or exc.__cause__
    if isinstance(cause, BlockedAddressError):
        return "blocked", str(cause)
    detail = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    for kinds, error in FAILURE_CLASSES:
        if isinstance(exc, kinds) or (error == "refused" and isinstance(cause, kinds)):
            return error, detail
    return "connection", detail


Gate = Callable[[str], AbstractAsyncContextManager[None]]
"""Politeness: `async with gate(host):` around every request to `host`."""
BackOff = Callable[[str, float], None]
"""Pause a host for so many seconds (it asked us to, with `Retry-After`)."""


@dataclass
class Answer:
    """What one request got back."""

    status: int
    headers: Mapping[str, str]
    location: str | None


class LinkProber:
    """Checks URLs one at a time each, many at once, on one aiohttp session. Use as an async context."""

    def __init__(self, settings: LinkCheckSettings, gate: Gate, back_off: BackOff) -> None:
        self.settings = settings
        self._gate = gate
        self._back_off = back_off
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LinkProber:
        connector = aiohttp.TCPConnector(
            limit=self.settings.max_in_flight,  # as many as the gate lets through: none waits for a connection
            limit_per_host=self.settings.per_host_concurrency,
            resolver=None if self.settings.allow_private else GuardedResolver(),
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout, sock_connect=self.settings.connect_timeout),
            headers={"User-Agent": self.settings.user_agent, "Accept": "*/*"},
            trust_env=False,  # an HTTP(S)_PROXY in the environment must not be a way around the guard
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def check(self, url: str) -> dict[str, Any]:
        """One `link_checks` row (without `check_id`) for `url`."""
        row: dict[str, Any] = {"url": url, "checked_at": datetime.now(UTC), "redirects": 0, "latency_ms": 0.0}
        try:
            await self._follow(parse_url(url), row)
        except Exception as exc:  # every failure is an answer about the link
            row["error"], row["detail"] = classify_failure(exc)
        if row.get("error"):  # a failure on any hop: no final answer came
            row.update(dict.fromkeys(("status", "content_type", "served_format", "content_length", "last_modified")))
        row["latency_ms"] = round(row["latency_ms"], 1)
        return row

    async def _follow(self, url: URL, row: dict[str, Any]) -> None:
        """Request `url` and the redirects it leads to, filling `row` with the last answer."""
        for hop in range(self.settings.max_redirects + 1):
            row.update(final_url=str(url), redirects=hop)
            if url.scheme not in ("http", "https") or not url.host:
                row["error"] = "unsupported_scheme" if url.scheme and url.host else "invalid_url"
                row["detail"] = ERROR_CLASSES[row["error"]]
                return
            url = url.with_user(None)  # credentials in a URL are neither sent (as Basic auth) nor kept
            row["final_url"] = str(url)
            address = None if self.settings.allow_private else literal_address(url.host)
            if address and not is_public_address(address):
                row["error"], row["detail"] = "blocked", blocked_reason(url.host, address)
                return
            method, answer = await self._ask(url, row)
            row.update(
                method=method,
                status=answer.status,
                content_type=answer.headers.get("Content-Type"),
                content_length=content_length(answer.headers),
                last_modified=http_date(answer.headers.get("Last-Modified")),
                error=None,
                detail=None,
            )
            row["served_format"] = served_format(row["content_type"])
            if answer.status not in REDIRECTS or not answer.location:
                return
            url = url.join(parse_url(answer.location))
        row.update(error="too_many_redirects", detail=f"more than {self.settings.max_redirects} redirects")

    async def _ask(self, url: URL, row: dict[str, Any]) -> tuple[str, Answer]:
        """HEAD, or a one-byte GET where HEAD is refused; a 429 or 503 asked again after the wait it names."""
        method, ranged = "HEAD", False
        attempt = 0
        while True:
            answer = await self._request(method, url, row, ranged=ranged)
            if method == "HEAD" and answer.status in HEAD_REFUSED:
                method, ranged = "GET", True
                continue
            if ranged and answer.status == RANGE_NOT_SATISFIABLE:
                ranged = False  # an empty file has no byte 0: asked again without the range
                continue
            if answer.status in BACK_OFF_STATUSES:
                wait = retry_after_seconds(answer.headers.get("Retry-After"), attempt)
                self._back_off(url.host or "", wait)  # the whole host waits, or is left alone if it is too long
                if attempt < self.settings.retries and wait <= self.settings.longest_wait:
                    attempt += 1
                    continue
            return method, answer

    async def _request(self, method: str, url: URL, row: dict[str, Any], *, ranged: bool) -> Answer:
        """One request, in its host's turn; its time (not the wait for the turn) adds to `latency_ms`. The
        answer is its status and headers: a body that breaks off or trickles past the timeout changes
        nothing about them."""
        assert self._session is not None, "use LinkProber as an async context manager"
        headers = {"Range": "bytes=0-0"} if ranged else {}
        async with self._gate(url.host or ""):
            started = time.perf_counter()
            try:
                async with self._session.request(method, url, headers=headers, allow_redirects=False) as response:
                    answer = Answer(response.status, response.headers, response.headers.get("Location"))
                    try:
                        await self._read_capped(response)
                    except (aiohttp.ClientError, TimeoutError):
                        response.close()
                    return answer
            finally:
                row["latency_ms"] += (time.perf_counter() - started) * 1000

    async def _read_capped(self, response: aiohttp.ClientResponse) -> None:
        """Read at most `body_cap` bytes (so a small answer leaves the connection reusable); past that,
        drop the connection instead of reading on."""
        remaining = self.settings.body_cap
        while remaining > 0:
            chunk = await response.content.read(min(remaining, 16384))
            if not chunk:
                return
            remaining -= len(chunk)
        response.close()


def parse_url(text: str) -> URL:
    """A URL as yarl reads it; one it cannot read is an `invalid_url` answer, not a crash."""
    try:
        return URL(text)
    except (ValueError, TypeError) as exc:
        raise aiohttp.InvalidURL(text) from exc


def served_format(content_type: str | None) -> str | None:
    """The served content type as one of our canonical formats (None if generic or unknown)."""
    if not content_type:
        return None
    info = canonical_format(None, content_type, None)
    return info.key if info else None
