"""The one place HTTP is configured: sessions with timeouts, retries, a User-Agent, and counters.

Every adapter gets its session from `build_session`, so politeness and resilience are the same for all
portals. Retries use urllib3's `Retry` (exponential backoff with jitter, honouring `Retry-After`)
rather than a hand-written loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from threading import Lock
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from catalog import __version__

USER_AGENT = f"catalog-harvester/{__version__} (open data portal catalogue harvester)"
RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class HttpSettings:
    """How politely and patiently we talk to a portal."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 4
    backoff_factor: float = 0.5
    backoff_max: float = 60.0
    user_agent: str = USER_AGENT


@dataclass
class TrafficCounter:
    """Requests and bytes received through one session (after retries: one per logical request)."""

    requests: int = 0
    bytes_received: int = 0
    _lock: Lock = field(default_factory=Lock, repr=False)

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self.requests += 1
            self.bytes_received += len(response.content or b"")


class _TimeoutAdapter(HTTPAdapter):
    """An adapter that applies a default timeout: requests itself has none, and hangs forever without one."""

    def __init__(self, timeout: tuple[float, float], **kwargs: Any) -> None:
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def build_session(settings: HttpSettings | None = None) -> tuple[requests.Session, TrafficCounter]:
    """A session with timeouts, retries and our User-Agent, and the counter that watches it."""
    settings = settings or HttpSettings()
    retry = Retry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        backoff_factor=settings.backoff_factor,
        backoff_max=settings.backoff_max,
        backoff_jitter=0.5,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = _TimeoutAdapter((settings.connect_timeout, settings.read_timeout), max_retries=retry)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = settings.user_agent
    session.headers["Accept"] = "application/json"
    counter = TrafficCounter()
    session.hooks["response"].append(counter.record)
    return session, counter
