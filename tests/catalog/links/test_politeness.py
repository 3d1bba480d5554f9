"""The limits per host hold, with the shipped settings and with fast ones: requests in flight, requests a
second, and a redirect to another host is that host's request."""

from __future__ import annotations

from collections import defaultdict

from catalog.links.settings import LinkCheckSettings
from tests.linkfarm import farm_address

DELIVERY_JITTER_S = 0.1
"""How much later than sent the farm may note a request on a loaded machine (seen in CI: 29 ms). One
late arrival makes the gap before it look that much shorter and the next that much longer, so the rate
is checked over every run of consecutive requests, where the jitter counts once, not on each gap."""


def starts_by_host(farm) -> dict[str, list[float]]:
    starts: dict[str, list[float]] = defaultdict(list)
    for request in farm.state.log:
        starts[request.host].append(request.started)
    return {host: sorted(times) for host, times in starts.items()}


def assert_no_faster_than(rate: float, times: list[float]) -> None:
    """No run of consecutive requests came at more than `rate` a second, allowing one arrival's jitter."""
    for first, earlier in enumerate(times):
        for later_index, later in enumerate(times[first + 1 :], start=1):
            assert later - earlier >= later_index / rate - DELIVERY_JITTER_S, (first, later_index, later - earlier)


def test_the_shipped_limits_one_request_a_second_two_at_once_per_host(farm, check) -> None:
    shipped = LinkCheckSettings()
    assert (shipped.per_host_rate, shipped.per_host_concurrency, shipped.timeout) == (1.0, 2, 30.0)
    urls = [farm.url(host, f"/slow/1500/ok/{n}.csv") for host in (0, 1) for n in range(4)]
    found, _ = check(urls, settings=LinkCheckSettings(allow_private=True))
    assert {row["status"] for row in found.values()} == {200}
    starts = starts_by_host(farm)
    assert set(starts) == {farm_address(0), farm_address(1)}
    for times in starts.values():
        assert_no_faster_than(shipped.per_host_rate, times)
    assert set(farm.state.most_in_flight.values()) == {2}  # 1.5 s answers a second apart: two at once, never three
    first, second = starts.values()
    assert second[0] < first[-1]  # hosts are worked on at once, not one after the other


def test_fast_limits_are_kept_to_the_request(farm, check) -> None:
    urls = [farm.url(host, f"/slow/60/ok/{n}.csv") for host in range(4) for n in range(15)]
    found, _ = check(urls, per_host_rate=20, per_host_concurrency=2, allow_private=True)
    assert len(found) == 60
    for times in starts_by_host(farm).values():
        assert len(times) == 15
        assert_no_faster_than(20, times)
    assert set(farm.state.most_in_flight.values()) == {2}  # the cap is used, never passed


def test_a_single_lane_per_host_is_one_request_at_a_time(farm, check) -> None:
    urls = [farm.url(0, f"/slow/30/ok/{n}.csv") for n in range(10)]
    check(urls, per_host_rate=0, per_host_concurrency=1, allow_private=True)
    assert farm.state.most_in_flight[farm_address(0)] == 1


def test_a_redirect_to_another_host_keeps_that_hosts_rate(farm, check) -> None:
    """Links on four hosts all redirect to host 3: host 3 gets its rate, not four times it."""
    target = farm.url(3, "/ok/{n}.csv")
    urls = [farm.url(host, f"/to?url={target.format(n=f'{host}-{n}')}") for host in range(3) for n in range(4)]
    found, _ = check(urls, per_host_rate=10, allow_private=True)
    assert {row["status"] for row in found.values()} == {200}
    times = starts_by_host(farm)[farm_address(3)]
    assert len(times) == 12
    assert_no_faster_than(10, times)
