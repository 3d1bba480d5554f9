"""The HTTP layer on its own: per-host concurrency and rate limits, counters, the size cap."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from catalog.http import FetchError, PortalSession
from tests.conftest import FAST


def test_requests_in_flight_to_one_host_are_capped(serve) -> None:
    portal = serve([])
    in_flight, peak, lock = 0, 0, threading.Lock()

    def slow(action, params):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.2)
        with lock:
            in_flight -= 1

    portal.options.intercept = slow
    sessions = [PortalSession(dataclasses.replace(FAST, max_concurrency=2)) for _ in range(5)]
    threads = [
        threading.Thread(target=session.get, args=(f"{portal.url}/api/3/action/status_show",)) for session in sessions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2
    assert sum(session.traffic.requests for session in sessions) == 5


def test_request_rate_to_one_host_is_limited(serve) -> None:
    portal = serve([])
    arrivals = []
    portal.options.intercept = lambda action, params: arrivals.append(time.monotonic())
    session = PortalSession(dataclasses.replace(FAST, requests_per_second=5))
    for _ in range(6):
        session.get(f"{portal.url}/api/3/action/status_show")
    assert arrivals[-1] - arrivals[0] >= 0.9  # 6 requests at 5/s span at least one second


def test_bytes_are_counted_and_capped(serve) -> None:
    portal = serve([])
    session = PortalSession(dataclasses.replace(FAST, max_response_bytes=50))
    with pytest.raises(FetchError, match="exceeds the 50-byte cap"):
        session.get(f"{portal.url}/api/3/action/status_show")
    portal.options.intercept = lambda action, params: (200, b"x" * 40, "text/plain")
    fetched = session.get(f"{portal.url}/api/3/action/status_show")
    assert (fetched.status, fetched.body) == (200, b"x" * 40)
    assert (session.traffic.requests, session.traffic.bytes_received) == (2, 40)
