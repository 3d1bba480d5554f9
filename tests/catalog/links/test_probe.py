"""One link, probed: HEAD or a one-byte GET, redirects by hand, bodies capped, failures classified."""

from __future__ import annotations

import socket
import time

import pytest
from yarl import URL

from catalog.links import probe
from catalog.links.probe import ERROR_CLASSES
from catalog.links.settings import CONTACT_ENV, PROJECT_URL, LinkCheckSettings, link_user_agent
from tests.linkfarm import BODY, LAST_MODIFIED, farm_address

FAST = {"per_host_rate": 0, "allow_private": True}


def test_a_file_is_checked_with_head_and_described_from_its_headers(farm, check) -> None:
    url = farm.url(0, "/ok/data.csv")
    found, run = check([url], **FAST)
    row = found[url]
    assert (row["method"], row["status"], row["error"], row["redirects"]) == ("HEAD", 200, None, 0)
    assert (row["content_type"], row["served_format"], row["content_length"]) == (
        "text/csv; charset=utf-8",
        "CSV",
        len(BODY),
    )
    assert row["last_modified"].strftime("%a, %d %b %Y %H:%M:%S GMT") == LAST_MODIFIED
    assert row["latency_ms"] > 0
    assert [(r.method, r.path) for r in farm.state.log] == [("HEAD", "/ok/data.csv")]
    assert (run.checked, dict(run.outcomes)) == (1, {"ok": 1})


def test_head_refused_is_asked_again_as_a_one_byte_get(farm, check) -> None:
    url = farm.url(0, "/no-head/ok/data.csv")
    found, _ = check([url], **FAST)
    assert (found[url]["method"], found[url]["status"], found[url]["content_length"]) == ("GET", 206, len(BODY))
    assert [(r.method, r.headers.get("Range")) for r in farm.state.log] == [("HEAD", None), ("GET", "bytes=0-0")]


def test_a_body_that_never_ends_is_not_read_beyond_the_cap(farm, check) -> None:
    url = farm.url(0, "/endless/data.csv")
    started = time.monotonic()
    found, _ = check([url], body_cap=64 * 1024, **FAST)
    assert time.monotonic() - started < 10
    assert (found[url]["status"], found[url]["method"], found[url]["error"]) == (200, "GET", None)


def test_redirects_are_followed_to_the_final_url_and_counted(farm, check) -> None:
    chain, loop, too_long = (farm.url(1, path) for path in ("/redirect/5/ok/a.csv", "/loop/b", "/redirect/6/ok/c.csv"))
    found, _ = check([chain, loop, too_long], **FAST)
    assert (found[chain]["status"], found[chain]["redirects"], found[chain]["final_url"]) == (
        200,
        5,
        farm.url(1, "/ok/a.csv"),
    )
    for url in (loop, too_long):
        assert (found[url]["status"], found[url]["error"]) == (None, "too_many_redirects")
    assert sum(r.path.startswith("/loop/") for r in farm.state.log) == 6  # the first request and 5 redirects


def test_a_429_waits_as_long_as_the_host_asks(farm, check) -> None:
    url = farm.url(2, "/throttle/2/ok/a.csv")
    found, _ = check([url], **FAST)
    assert found[url]["status"] == 200
    starts = [r.started for r in farm.state.log]
    assert len(starts) == 3
    assert starts[1] - starts[0] >= 0.95 and starts[2] - starts[1] >= 0.95  # Retry-After: 1, each time


def test_a_host_that_keeps_throttling_is_asked_no_more_than_the_retries(farm, check) -> None:
    url = farm.url(2, "/throttle/5/ok/a.csv")
    found, _ = check([url], retries=1, **FAST)
    assert found[url]["status"] == 429
    assert len(farm.state.log) == 2


def test_a_wait_longer_than_a_run_gives_leaves_the_host_alone(farm, check) -> None:
    """Retry-After: 3600: that link's answer is the 429, and the host's other links are not requested."""
    urls = [farm.url(2, f"/wait/3600/{n}.csv") for n in range(5)]
    started = time.monotonic()
    found, run = check(urls, per_host_concurrency=1, **FAST)
    assert time.monotonic() - started < 10
    assert len(farm.state.log) == 1
    answered = [found[url] for url in urls if found[url]["status"] == 429]
    assert len(answered) == 1
    others = [found[url] for url in urls if found[url]["status"] is None]
    assert {row["error"] for row in others} == {"throttled"} and len(others) == 4
    assert "asked for a wait of 3600 s" in others[0]["detail"]
    assert run.hosts_left_alone == [farm_address(2)]


def test_an_empty_file_is_there(farm, check) -> None:
    """HEAD refused, and byte 0 of an empty file is not satisfiable (416): a plain GET says it is there."""
    url = farm.url(0, "/empty/nothing.csv")
    found, _ = check([url], **FAST)
    assert (found[url]["status"], found[url]["method"], found[url]["error"]) == (200, "GET", None)
    assert [(r.method, r.headers.get("Range")) for r in farm.state.log] == [
        ("HEAD", None),
        ("GET", "bytes=0-0"),
        ("GET", None),
    ]


def test_credentials_in_a_link_are_neither_sent_nor_kept(farm, check) -> None:
    url = farm.url(0, "/redirect/1/ok/a.csv").replace("http://", "http://someone:s3cret@")
    found, _ = check([url], **FAST)
    assert found[url]["status"] == 200
    assert "s3cret" not in found[url]["final_url"] and "someone" not in found[url]["final_url"]
    assert all("Authorization" not in r.headers for r in farm.state.log)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://files.example.org/data.csv", "unsupported_scheme"),
        ("mailto:data@example.org", "invalid_url"),
        ("data.csv", "invalid_url"),
        ("http://", "invalid_url"),
        ("http://127.1:80/x", "blocked"),  # a legacy numeric form of 127.0.0.1, judged whatever aiohttp makes of it
        ("http://2130706433/x", "blocked"),
        ("http://no-such-host.invalid/data.csv", "dns"),
    ],
)
def test_what_cannot_be_requested_gets_its_class(check, url: str, error: str) -> None:
    found, _ = check([url], per_host_rate=0, timeout=5)
    assert (found[url]["status"], found[url]["error"]) == (None, error)
    assert found[url]["detail"]
    assert error in ERROR_CLASSES


def test_a_dead_host_is_refused_and_a_silent_one_times_out(farm, check) -> None:
    dead, silent = farm.dead_url(), farm.url(3, "/slow/5000/ok/a.csv")
    found, _ = check([dead, silent], timeout=0.5, **FAST)
    assert found[dead]["error"] == "refused"
    assert found[silent]["error"] == "timeout"


def test_a_host_that_keeps_timing_out_is_left_alone_for_the_rest_of_the_run(farm, check) -> None:
    """Its other links are answered for without a request, so they go to the back of the queue instead of
    holding its head run after run."""
    slow = [farm.url(3, f"/slow/3000/ok/{n}.csv") for n in range(8)]
    fine = [farm.url(0, f"/ok/{n}.csv") for n in range(4)]
    found, run = check(slow + fine, timeout=0.3, **FAST)
    assert {found[url]["error"] for url in slow} == {"timeout"}
    requested = [url for url in slow if not found[url]["detail"].startswith("not requested")]
    assert 3 <= len(requested) <= 4  # two lanes: the host is left alone with the third timeout in a row
    assert len(farm.state.log) - len(fine) == len(requested)
    left_alone = [found[url] for url in slow if url not in requested]
    assert {row["detail"] for row in left_alone} == {
        f"not requested: {farm_address(3)} timed out 3 times in a row in this run"
    }
    assert {(row.get("method"), row["latency_ms"]) for row in left_alone} == {(None, 0.0)}
    assert all(found[url]["status"] == 200 for url in fine)
    assert (run.deferred, run.hosts_left_alone) == (0, [farm_address(3)])


def test_a_redirect_to_a_host_left_alone_is_not_followed(farm, check) -> None:
    silent = farm.url(3, "/slow/3000/ok/x.csv")
    urls = [farm.url(0, f"/to?url={silent}&n={n}") for n in range(6)]
    found, _ = check(urls, timeout=0.3, per_host_concurrency=1, **FAST)
    assert {found[url]["error"] for url in urls} == {"timeout"}
    assert sum(r.host == farm_address(3) for r in farm.state.log) == 3
    assert sum(found[url]["detail"].startswith("not requested") for url in urls) == 3


def test_the_time_budget_defers_what_it_cannot_reach(farm, check) -> None:
    urls = [farm.url(0, f"/ok/{n}.csv") for n in range(20)]
    found, run = check(urls, minutes=0.5 / 60, per_host_rate=4, per_host_concurrency=1, allow_private=True)
    assert 1 <= len(found) <= 4
    assert run.deferred == 20 - len(found)


def test_the_user_agent_names_the_project_and_a_contact(monkeypatch) -> None:
    assert link_user_agent().startswith("catalog-harvester-linkcheck/")
    assert f"(+{PROJECT_URL})" in link_user_agent()
    monkeypatch.setenv(CONTACT_ENV, "mailto:opendata@example.gov.vn")
    assert link_user_agent().endswith("(+mailto:opendata@example.gov.vn)")
    assert LinkCheckSettings().user_agent == link_user_agent()


# --- the address guard ------------------------------------------------------------------------


@pytest.fixture
def farm_is_public(monkeypatch):
    """The farm's addresses (127.1.0.0/16) stand for public hosts; every other address is judged as
    shipped. Names: `files.example` resolves to the farm, `intranet.example` to 10.1.2.3."""
    real_judge, real_lookup = probe.is_public_address, socket.getaddrinfo

    def judge(address: str) -> bool:
        return address.startswith("127.1.") or real_judge(address)

    def lookup(host, port, *args, **kwargs):
        fake = {"files.example": "127.1.0.1", "intranet.example": "10.1.2.3"}.get(host)
        if fake:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (fake, port))]
        return real_lookup(host, port, *args, **kwargs)

    monkeypatch.setattr(probe, "is_public_address", judge)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)


def test_by_default_a_loopback_link_is_not_requested(farm, check) -> None:
    urls = [farm.url(0, "/ok/a.csv"), f"http://localhost:{farm.port}/ok/a.csv", f"http://[::1]:{farm.port}/"]
    found, _ = check(urls, per_host_rate=0)
    assert {url: found[url]["error"] for url in urls} == dict.fromkeys(urls, "blocked")
    assert "localhost resolves to 127.0.0.1" in found[urls[1]]["detail"]
    assert not farm.state.log


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/data.csv",
        "http://[fd00::1]/data.csv",
        "http://[::ffff:127.0.0.1]/data.csv",
        "http://224.0.0.1/data.csv",
        "http://localhost:{port}/ok/a.csv",
        "http://intranet.example/data.csv",
    ],
)
def test_a_redirect_into_a_private_range_is_refused(farm, check, farm_is_public, target: str) -> None:
    target = target.format(port=farm.port)
    url = farm.url(0, f"/to?url={target}")
    started = time.monotonic()
    found, _ = check([url], per_host_rate=0, timeout=5)
    assert (found[url]["status"], found[url]["error"], found[url]["redirects"]) == (None, "blocked", 1)
    assert URL(found[url]["final_url"]).host == URL(target).host  # the hop refused is the one recorded
    assert time.monotonic() - started < 3  # refused, not tried and timed out
    assert [r.path.split("?")[0] for r in farm.state.log] == ["/to"]  # only the redirecting host was asked


def test_a_name_that_resolves_to_a_private_address_is_refused(farm, check, farm_is_public) -> None:
    private, public = "http://intranet.example/data.csv", f"http://files.example:{farm.port}/ok/a.csv"
    found, _ = check([private, public], per_host_rate=0, timeout=5)
    assert found[private]["error"] == "blocked"
    assert "intranet.example resolves to 10.1.2.3" in found[private]["detail"]
    assert (found[public]["status"], found[public]["error"]) == (200, None)


def test_a_proxy_in_the_environment_is_not_a_way_around_the_guard(farm, check, monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", farm.url(1, ""))
    monkeypatch.setenv("http_proxy", farm.url(1, ""))
    url = farm.url(0, "/ok/a.csv")
    found, _ = check([url], per_host_rate=0)
    assert found[url]["error"] == "blocked"
    assert not farm.state.log
    found, _ = check([url], **FAST)
    assert found[url]["status"] == 200
    assert [r.host for r in farm.state.log] == [farm_address(0)]  # the address reached: not through a proxy


def test_a_name_that_does_not_resolve_is_not_looked_up_again_and_again(check, monkeypatch) -> None:
    lookups: list[str] = []
    real_lookup = socket.getaddrinfo

    def lookup(host, *args, **kwargs):
        lookups.append(host)
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    urls = [f"http://gone.invalid/{n}.csv" for n in range(10)]
    found, run = check(urls, per_host_rate=0, per_host_concurrency=1)
    assert {found[url]["error"] for url in urls} == {"dns"}
    assert lookups.count("gone.invalid") == 2
    assert sum(found[url]["detail"].startswith("not looked up again") for url in urls) == 8
    assert (run.checked, run.deferred) == (10, 0)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("169.254.169.254", "169.254.169.254"),
        ("[::1]", "::1"),
        ("999.1.1.1", "0.0.0.0"),
        ("data.example.org", None),
        ("3com.example", None),
    ],
)
def test_every_form_a_socket_library_reads_as_an_address_is_judged_as_one(host: str, address: str | None) -> None:
    """Whatever aiohttp makes of them (older releases pass numeric forms to the socket layer unresolved)."""
    assert probe.literal_address(host) == address
    if address:
        assert not probe.is_public_address(address)


@pytest.mark.parametrize(
    ("headers", "size"),
    [
        ({"Content-Length": "1033"}, 1033),
        ({"Content-Range": "bytes 0-0/1033", "Content-Length": "1"}, 1033),
        ({"Content-Range": "bytes 0-0/*", "Content-Length": "1"}, None),  # the size is not known
        ({"Content-Range": "bytes 0-0/99999999999999999999999"}, None),  # no 64-bit size
        ({"Content-Length": "18446744073709551615"}, None),
        ({"Content-Length": "²"}, None),
        ({}, None),
    ],
)
def test_a_size_is_what_the_headers_say_or_none(headers: dict[str, str], size: int | None) -> None:
    assert probe.content_length(headers) == size


def test_a_wait_in_any_spelling_is_read_or_defaulted() -> None:
    assert probe.retry_after_seconds("120", 0) == 120
    assert probe.retry_after_seconds("²", 1) == 2  # not a number: the default backoff
    assert probe.retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 0) == 0  # in the past: no wait
