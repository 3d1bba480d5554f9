"""The HTTP layer on its own: the policy a default session really mounts, limits, deadlines, the
address guard and credentials on redirects."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time

import pytest

import catalog.http
from catalog.cli import build_parser, harvest_settings
from catalog.harvest import HarvestLimits
from catalog.http import (
    TRANSIENT_STATUSES,
    FetchError,
    HttpSettings,
    PortalSession,
    RateLimitedAdapter,
    is_public_address,
)
from catalog.redaction import ByteRedactor, register_secret
from catalog.registry import get_portal
from pipelines.resources import HttpResource
from tests.conftest import FAST, SHIPPED
from tests.routes import redirect, serve_routes, static


def test_a_default_session_mounts_the_shipped_retry_policy_rate_and_timeouts() -> None:
    """What `catalog harvest` and the Dagster resource get, read off the adapter a default session mounts."""
    session = PortalSession()
    for scheme in ("http://", "https://"):
        adapter = session.session.get_adapter(scheme + "portal.example/")
        assert isinstance(adapter, RateLimitedAdapter)
        retry = adapter.max_retries
        assert (retry.total, retry.connect, retry.read, retry.status) == (4, 4, 4, 4)
        assert set(retry.status_forcelist) >= {429, 500, 502, 503, 504}
        assert retry.respect_retry_after_header and not retry.raise_on_status
        assert (retry.backoff_factor, retry.backoff_max) == (0.5, 60.0)
        assert [(rate.limit, rate.interval) for rate in adapter.limiter.bucket_factory.rates] == [(5, 1000)]
        assert (adapter.settings.connect_timeout, adapter.settings.read_timeout) == (10.0, 60.0)
    assert session.settings.request_deadline == 300.0
    assert session.settings == dataclasses.replace(HttpSettings(), trusted_hosts=frozenset())


def test_the_cli_and_the_dagster_resource_run_with_the_shipped_settings() -> None:
    settings, limits = harvest_settings(build_parser().parse_args(["harvest", "--portal", "vn-open-data"]))
    assert (settings, limits) == (HttpSettings(), HarvestLimits())
    assert HttpResource().settings(get_portal("vn-open-data")) == HttpSettings()


def test_the_shipped_session_retries_a_429_with_a_json_body_after_retry_after() -> None:
    """The fault that once ended harvests: 429, Retry-After: 1, body {"error": "slow down"}, then success."""
    answers = iter([(429, "application/json", b'{"error": "slow down"}', {"Retry-After": "1"})])
    arrivals: list[float] = []

    def once_then_ok(query, headers):
        arrivals.append(time.monotonic())
        return next(answers, (200, "application/json", b'{"ok": true}'))

    with serve_routes({"/api": once_then_ok}) as server:
        fetched = PortalSession(SHIPPED, home=[server.base_url]).get(server.base_url + "/api")
    assert (fetched.status, fetched.body) == (200, b'{"ok": true}')
    assert len(arrivals) == 2 and arrivals[1] - arrivals[0] >= 0.95


def test_the_shipped_rate_is_kept_per_host_across_sessions() -> None:
    arrivals: list[float] = []
    with serve_routes({"/api": lambda q, h: arrivals.append(time.monotonic()) or (200, "text/plain", b"ok")}) as server:
        sessions = [PortalSession(SHIPPED, home=[server.base_url]) for _ in range(2)]
        for index in range(8):
            sessions[index % 2].get(server.base_url + "/api")
    assert arrivals[-1] - arrivals[0] >= 0.9  # 8 requests at 5/s, two sessions sharing the host's bucket


def test_the_traffic_says_when_the_shipped_rate_held_a_request_back(monkeypatch) -> None:
    """A second's worth of requests goes at once and the next waits its turn: the session's traffic
    notes when, which tells a pager that our rate, not the portal, sets the pace. Unlimited, nothing is
    held back."""
    monkeypatch.setattr(catalog.http, "_LIMITERS", {})  # no bucket left from an earlier server on this port
    with serve_routes({"/api": static(b"ok", "text/plain")}) as server:
        shipped = PortalSession(SHIPPED, home=[server.base_url])
        unlimited = PortalSession(FAST, home=[server.base_url])
        for _ in range(5):
            shipped.get(server.base_url + "/api")
            unlimited.get(server.base_url + "/api")
        assert shipped.traffic.held_back_at is None
        asked = time.monotonic()
        shipped.get(server.base_url + "/api")
        unlimited.get(server.base_url + "/api")
        assert shipped.traffic.held_back_at is not None and shipped.traffic.held_back_at > asked
        assert shipped.traffic.held_back_within(2.0) and not shipped.traffic.held_back_within(0.0)
    assert unlimited.traffic.held_back_at is None and unlimited.traffic.requests == 6


@pytest.mark.parametrize("status", sorted(TRANSIENT_STATUSES))
@pytest.mark.parametrize(
    "body", [b'{"error": "slow down"}', b"[1, 2]", b"<html>busy</html>", b"", b'{"success": true, "result": {}}']
)
def test_a_transient_status_is_transient_whatever_the_body(status, body) -> None:
    with (
        serve_routes({"/api": static(body, "application/json", status)}) as server,
        pytest.raises(FetchError) as caught,
    ):
        PortalSession(FAST, home=[server.base_url]).get(server.base_url + "/api")
    assert caught.value.transient and caught.value.status == status
    assert caught.value.cause == f"HTTP {status}"
    assert len(server.requests) == FAST.retries + 1  # the transport retried it, nobody else did


def test_a_retry_after_longer_than_we_wait_fails_at_once_as_transient() -> None:
    wait_an_hour = {"/api": lambda query, headers: (503, "text/plain", b"", {"Retry-After": "3600"})}
    with serve_routes(wait_an_hour) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match="asks to wait 3600 s") as caught:
            PortalSession(SHIPPED, home=[server.base_url]).get(server.base_url + "/api")
    assert caught.value.transient and time.monotonic() - started < 5


def dripping(interval: float = 0.2):
    """A body that never ends, a byte every `interval` seconds: each gap is shorter than any read timeout."""

    def body():
        while True:
            yield b" "
            time.sleep(interval)

    return lambda query, headers: (200, "application/json", body())


def test_a_server_that_drips_a_byte_at_a_time_meets_the_deadline() -> None:
    settings = dataclasses.replace(FAST, request_deadline=1.0, min_transfer_rate=1024)
    with serve_routes({"/api": dripping()}) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"no complete answer within the 1 s deadline") as caught:
            PortalSession(settings, home=[server.base_url]).get(server.base_url + "/api")
    assert time.monotonic() - started < 4
    assert caught.value.overloaded


def test_a_large_body_arriving_steadily_outlives_the_deadline() -> None:
    """The deadline stretches while a body streams in faster than `min_transfer_rate`: a big data.json
    on a slow link completes."""

    def steady(query, headers):
        def body():
            for _ in range(30):
                yield b"x" * 10_000
                time.sleep(0.05)

        return 200, "application/octet-stream", body()

    settings = dataclasses.replace(FAST, request_deadline=0.5, min_transfer_rate=50_000)
    with serve_routes({"/big": steady}) as server:
        fetched = PortalSession(settings, home=[server.base_url]).get(server.base_url + "/big")
    assert len(fetched.body) == 300_000


def test_requests_in_flight_to_one_host_are_capped() -> None:
    in_flight, peak, lock = 0, 0, threading.Lock()

    def slow(query, headers):
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.2)
        with lock:
            in_flight -= 1
        return 200, "text/plain", b"ok"

    with serve_routes({"/api": slow}) as server:
        sessions = [
            PortalSession(dataclasses.replace(FAST, max_concurrency=2), home=[server.base_url]) for _ in range(5)
        ]
        threads = [threading.Thread(target=session.get, args=(server.base_url + "/api",)) for session in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert peak == 2
    assert sum(session.traffic.requests for session in sessions) == 5


def test_bytes_are_counted_and_capped() -> None:
    answers = {"/big": static(b"x" * 60, "text/plain"), "/small": static(b"x" * 40, "text/plain")}
    with serve_routes(answers) as server:
        session = PortalSession(dataclasses.replace(FAST, max_response_bytes=50), home=[server.base_url])
        with pytest.raises(FetchError, match="exceeds the 50-byte cap") as caught:
            session.get(server.base_url + "/big")
        assert caught.value.too_large and not caught.value.overloaded
        fetched = session.get(server.base_url + "/small")
        with pytest.raises(FetchError, match="exceeds the 30-byte budget") as caught:
            session.get(server.base_url + "/small", max_bytes=30)
        assert caught.value.overloaded  # a smaller page may fit
    assert (fetched.status, fetched.body) == (200, b"x" * 40)
    assert session.traffic.requests == 3


# --- the address guard ---------------------------------------------------------------------------


def test_a_redirect_to_the_cloud_metadata_address_is_refused() -> None:
    with serve_routes({"/api": redirect("http://169.254.169.254/latest/meta-data/")}) as server:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"refused to connect to 169\.254\.169\.254: .* link-local") as caught:
            PortalSession(SHIPPED, home=[server.base_url]).get(server.base_url + "/api")
    assert time.monotonic() - started < 2  # refused before connecting, not after a connect timeout
    assert not caught.value.transient


def test_a_redirect_to_another_loopback_host_is_refused_before_it_is_asked() -> None:
    """The portal lives on 127.0.0.1; `localhost` resolves to loopback too but is not the portal's host."""
    with serve_routes({"/secret": static(b"internal")}, host="127.0.0.1") as internal:
        target = internal.base_url.replace("127.0.0.1", "localhost") + "/secret"
        refused = pytest.raises(FetchError, match=r"refused to connect to localhost: it resolves to 127\.0\.0\.1")
        with serve_routes({"/api": redirect(target)}) as portal, refused:
            PortalSession(FAST, home=[portal.base_url]).get(portal.base_url + "/api")
    assert internal.requests == []


def test_a_private_address_is_refused_unless_it_is_the_portals_own_or_allowed() -> None:
    with serve_routes({"/api": static(b"ok", "text/plain")}) as server:
        with pytest.raises(FetchError, match=r"refused to connect to 127\.0\.0\.1"):
            PortalSession(FAST).get(server.base_url + "/api")
        assert PortalSession(FAST, home=[server.base_url]).get(server.base_url + "/api").body == b"ok"
        allowed = dataclasses.replace(FAST, allow_private=True)
        assert PortalSession(allowed).get(server.base_url + "/api").body == b"ok"
    assert len(server.requests) == 2


# --- credentials ---------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Authorization", "X-App-Token"])
def test_credential_headers_are_dropped_on_a_cross_origin_redirect(header) -> None:
    key = "canary-cross-origin-4f7a"
    # the same host on another port: another origin
    with (
        serve_routes({"/data": static(b"{}")}) as elsewhere,
        serve_routes({"/api": redirect(elsewhere.base_url + "/data")}) as portal,
    ):
        session = PortalSession(dataclasses.replace(FAST, api_key=key), home=[portal.base_url], api_key_header=header)
        assert session.get(portal.base_url + "/api").body == b"{}"
    assert portal.requests[0][2].get(header.lower()) == key
    assert all(key not in value for _, _, headers in elsewhere.requests for value in headers.values())


def test_secrets_are_masked_in_a_body_even_split_across_chunks() -> None:
    secret = "canary-split-9d2e"
    register_secret(secret)
    redactor = ByteRedactor()
    text = f"before {secret} middle {secret} after".encode()
    for size in (1, 3, 7, len(text)):
        redactor = ByteRedactor()
        out = b"".join(redactor.feed(text[i : i + size]) for i in range(0, len(text), size)) + redactor.flush()
        assert out == b"before *** middle *** after"


def test_a_proxy_in_the_environment_is_not_a_way_around_the_guard(monkeypatch) -> None:
    with serve_routes({"/latest/meta-data/": static(b"secret", "text/plain")}) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.setenv("http_proxy", proxy.base_url)
        with pytest.raises(FetchError, match=r"refused to connect to 169\.254\.169\.254"):
            PortalSession(FAST).get("http://169.254.169.254/latest/meta-data/")
    assert proxy.requests == []


def test_a_name_that_fails_to_resolve_once_is_not_resolved_again_unchecked(monkeypatch) -> None:
    """A resolver that fails, then answers loopback (a rebinding trick): the guard's failure stands."""
    real = socket.getaddrinfo
    calls = []

    def flaky(host, *args, **kwargs):
        calls.append(host)
        if host == "rebind.test" and len(calls) == 1:
            raise socket.gaierror(socket.EAI_AGAIN, "temporary failure")
        return real("127.0.0.1" if host == "rebind.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", flaky)
    with serve_routes({"/": static(b"secret", "text/plain")}) as server:
        url = server.base_url.replace("127.0.0.1", "rebind.test") + "/"
        with pytest.raises(FetchError, match=r"host name does not resolve"):
            PortalSession(dataclasses.replace(FAST, retries=0)).get(url)
    assert server.requests == []


def test_the_key_goes_only_to_the_portals_own_hosts() -> None:
    key = "canary-own-hosts-31b"
    with serve_routes({"/ctx": static(b"{}")}) as other, serve_routes({"/api": static(b"{}")}) as portal:
        session = PortalSession(dataclasses.replace(FAST, api_key=key, allow_private=True), home=[portal.base_url])
        session.get(portal.base_url + "/api")
        session.get(other.base_url.replace("127.0.0.1", "localhost") + "/ctx")  # a link to another host
    assert portal.requests[0][2].get("authorization") == key
    assert "authorization" not in other.requests[0][2]


def test_an_ipv6_literal_portal_is_its_own_host() -> None:
    session = PortalSession(FAST, home=["http://[::1]:8080/catalog"])
    assert "::1" in session.settings.trusted_hosts


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::ffff:93.184.215.14", True),
        ("64:ff9b::7f00:1", False),  # NAT64 to 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 to 169.254.169.254, the cloud metadata address
        ("64:ff9b::a00:1", False),  # NAT64 to 10.0.0.1
        ("64:ff9b::5db8:d70e", True),  # NAT64 to a public address
        ("64:ff9b:1::a00:1", False),  # local-use NAT64
        ("2002:7f00:1::", False),  # 6to4 around 127.0.0.1
        ("2002:a9fe:a9fe::1", False),  # 6to4 around 169.254.169.254
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("fec0::1", False),  # site-local
        ("fd00::1", False),
        ("fe80::1%eth0", False),
        ("ff02::1", False),
        ("224.0.0.1", False),
    ],
)
def test_an_ipv6_address_carrying_an_ipv4_one_is_judged_by_it(address: str, public: bool) -> None:
    assert is_public_address(address) is public
