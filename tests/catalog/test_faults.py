"""Fault injection against the local CKAN portal: what real portals do, and what the harvester does about it.

Transient faults (up to 10 % of requests): the harvest completes with every dataset exactly once.
Permanent faults: the run ends with one clear line naming host and cause, is recorded as failed, and
the views still show the previous snapshot, byte for byte.

Every test runs twice: with the settings users get (`catalog harvest` and the Dagster resource: rate
limit on, 4 retries with backoff), and with fast test settings. The shipped run overrides one thing,
the read timeout, because an injected read-timeout fault must wait it out: 60 s each as shipped.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import re
import time
from collections import Counter
from email.utils import formatdate

import pyarrow.parquet as pq
import pytest

from catalog.errors import HarvestError
from catalog.harvest import harvest_portal
from catalog.http import HttpSettings
from catalog.lake import Lake
from catalog.sample.server import JSON, RESET
from catalog.sources.base import FIRST_PAGE_ROWS
from catalog.views import query
from tests.conftest import FAST, SHIPPED, portal_at, published_files, real_packages
from tests.hostile import page_served_twice
from tests.recorded import multiplied

PROFILES = {
    "shipped": dataclasses.replace(SHIPPED, read_timeout=1.0),
    "fast": dataclasses.replace(FAST, retries=3, backoff_factor=0.01, read_timeout=0.5),
}


@pytest.fixture(params=sorted(PROFILES))
def settings(request) -> HttpSettings:
    return PROFILES[request.param]


TRANSIENT_FAULTS = {
    "429 with Retry-After": (429, b'{"success": false}', JSON, {"Retry-After": "0"}),
    "500": (500, b"<html>Internal Server Error</html>", "text/html"),
    "502": (502, b"Bad Gateway", "text/plain"),
    "503": (503, b"Service Unavailable", "text/plain"),
    "connection reset": RESET,
    "read timeout": "sleep",
    "truncated body": (200, b'{"success": true, "result": {"count": ', JSON, {"Content-Length": "4096"}),
    "truncated JSON": (200, b'{"success": true, "result": {"count": 3, "resu', JSON),
    "HTML page with status 200": (200, b"<!doctype html><h1>Maintenance</h1>", "text/html"),
}


class FaultPlan:
    """Injects a transient fault into about `rate` of requests (chosen by a seeded generator), taking
    the kinds in turn so that every kind is exercised."""

    def __init__(self, rate: float, read_timeout: float, seed: int = 7) -> None:
        self.rate = rate
        self.read_timeout = read_timeout
        self.random = random.Random(seed)
        self.kinds = itertools.cycle(sorted(TRANSIENT_FAULTS))
        self.injected: Counter[str] = Counter()
        self.requests = 0

    def __call__(self, action: str, params: dict[str, str]):
        self.requests += 1
        if self.random.random() >= self.rate:
            return None
        kind = next(self.kinds)
        self.injected[kind] += 1
        answer = TRANSIENT_FAULTS[kind]
        if answer == "sleep":
            time.sleep(self.read_timeout + 0.3)
            return None
        return answer


def dataset_ids(lake: Lake, run) -> list[str]:
    path = lake.harvest_path(run.portal_id, run.harvest_id) / "datasets.parquet"
    return pq.read_table(path, columns=["dataset_id"]).column(0).to_pylist()


def test_ten_percent_transient_faults_every_dataset_exactly_once(serve, lake, settings) -> None:
    packages = multiplied(real_packages(), 600)
    portal = serve(packages, rows_max=10)
    plan = FaultPlan(rate=0.10, read_timeout=settings.read_timeout)
    portal.options.intercept = plan
    run = harvest_portal(portal_at(portal.url), lake, settings=settings)
    ids = dataset_ids(lake, run)
    assert sorted(ids) == sorted(p["id"] for p in packages)
    assert run.status == "complete" and run.datasets == 600
    assert set(plan.injected) == set(TRANSIENT_FAULTS), plan.injected  # every kind was exercised
    assert 0.05 < sum(plan.injected.values()) / plan.requests <= 0.15


def test_retry_after_in_seconds_and_as_a_date_is_honoured(serve, lake, settings) -> None:
    portal = serve(multiplied(real_packages(), 20), rows_max=10)
    answers = iter([
        lambda: (429, b"slow down", "text/plain", {"Retry-After": "1"}),
        lambda: None,
        # an HTTP date has whole seconds: 2 s ahead of now is 1 to 2 s of waiting
        lambda: (503, b"later", "text/plain", {"Retry-After": formatdate(time.time() + 2, usegmt=True)}),
    ])  # fmt: skip
    arrivals = []

    def intercept(action, params):
        arrivals.append(time.monotonic())
        return next(answers, lambda: None)()

    portal.options.intercept = intercept
    run = harvest_portal(portal_at(portal.url), lake, settings=settings)
    assert run.datasets == 20
    assert arrivals[1] - arrivals[0] >= 0.9  # waited the 1 s asked for
    assert arrivals[3] - arrivals[2] >= 0.9  # waited until (about) the date given, a whole-second HTTP date


def test_a_page_that_repeats_the_previous_one(serve, lake, settings) -> None:
    packages = multiplied(real_packages(), 40)
    portal = serve(packages, rows_max=10)
    portal.options.intercept = page_served_twice(portal)
    run = harvest_portal(portal_at(portal.url), lake, settings=settings)
    assert run.duplicates_dropped == 10
    assert "catch-up pass found 10 datasets the first pass missed" in run.notes
    assert sorted(dataset_ids(lake, run)) == sorted(p["id"] for p in packages)


def test_records_inserted_and_deleted_during_the_run(serve, lake, settings) -> None:
    packages = multiplied(real_packages(), 40)
    portal = serve(packages, rows_max=10)
    inserted = [
        dict(packages[0], id=f"inserted-{n}", name=f"inserted-{n}", metadata_created=f"2019-0{n + 1}-01T00:00:00")
        for n in range(2)
    ]
    already_read, not_yet_read = packages[3], packages[30:33]

    def mutate(start: int) -> None:
        if start == 20:
            for package in inserted:
                portal.catalogue.add(package)
            for package in [already_read, *not_yet_read]:
                portal.catalogue.remove(package["id"])
            portal.options.on_search.clear()

    portal.options.on_search.append(mutate)
    run = harvest_portal(portal_at(portal.url), lake, settings=settings)
    ids = dataset_ids(lake, run)
    assert len(ids) == len(set(ids))
    expected = {p["id"] for p in packages} - {p["id"] for p in not_yet_read} | {p["id"] for p in inserted}
    # the dataset deleted after it was read stays in this harvest: it existed when the run read it
    assert set(ids) == expected


def view_rows(lake: Lake) -> list[tuple]:
    return query(lake, "SELECT portal_id, harvest_id, dataset_id, title, modified FROM datasets ORDER BY dataset_id")[1]


def redirect_to_itself(portal):
    return lambda action, params: (302, b"", "text/html", {"Location": f"{portal.url}/api/3/action/{action}"})


def dies_after_two_pages(portal):
    return lambda action, params: RESET if int(params.get("start", 0)) >= 20 else None


def always(answer):
    return lambda portal: lambda action, params: answer


ACCESS_DENIED = b'{"success": false, "error": {"__type": "Authorization Error", "message": "Access denied"}}'
PERMANENT_FAULTS = {
    "success false": (
        always(
            (403, b'{"success": false, "error": {"__type": "Authorization Error", "message": "Access denied"}}', JSON)
        ),
        "package_search: HTTP 403, success=false (Authorization Error: Access denied)",
    ),
    "portal dies half-way": (dies_after_two_pages, "package_search: connection reset by the server"),
    "redirect loop": (redirect_to_itself, "package_search: too many redirects (a redirect loop?)"),
    "HTML page with status 200, always": (
        always((200, b"<html><body>Login</body></html>", "text/html")),
        "package_search: HTTP 200, an HTML page instead of JSON",
    ),
    "500, always": (always((500, b"oops", "text/plain")), "package_search: HTTP 500"),
    "429, always": (always((429, b"", "text/plain", {"Retry-After": "0"})), "package_search: HTTP 429"),
    "truncated JSON, always": (
        always((200, b'{"success": tr', JSON)),
        "package_search: HTTP 200, body is not valid JSON",
    ),
}


@pytest.mark.parametrize("fault", sorted(PERMANENT_FAULTS))
def test_permanent_failure_keeps_the_previous_snapshot(serve, lake, fault, settings) -> None:
    packages = multiplied(real_packages(), 50)
    portal = serve(packages, rows_max=10)
    good = harvest_portal(portal_at(portal.url), lake, settings=settings)
    before_files, before_view = published_files(lake), view_rows(lake)

    make_intercept, cause = PERMANENT_FAULTS[fault]
    portal.options.intercept = make_intercept(portal)
    with pytest.raises(HarvestError) as caught:
        harvest_portal(portal_at(portal.url), lake, settings=settings)
    host = portal.url.removeprefix("http://")
    message = str(caught.value)
    assert message.startswith(f"{host}: {cause}") and "\n" not in message

    assert published_files(lake) == before_files
    assert view_rows(lake) == before_view
    _, runs = query(lake, "SELECT harvest_id, status, error FROM harvest_runs ORDER BY started_at")
    assert runs[0] == (good.harvest_id, "complete", None)
    assert runs[1][1:] == ("failed", message)


def test_oversized_response_is_refused(serve, lake, settings) -> None:
    portal = serve(multiplied(real_packages(), 30))
    capped = dataclasses.replace(settings, max_response_bytes=100_000)
    with pytest.raises(HarvestError, match=r"package_search: response of [\d,]+ bytes exceeds the 100,000-byte cap"):
        harvest_portal(portal_at(portal.url), lake, settings=capped)


HALVED = r"package_search failed with rows=(\d+) \(package_search: timed out\); retried with rows=(\d+)"


def test_a_portal_that_times_out_on_big_pages_gets_smaller_ones(serve, lake, settings) -> None:
    portal = serve(multiplied(real_packages(), 300))

    def slow_on_big_pages(action, params):
        if action == "package_search" and int(params["rows"]) > 100:
            time.sleep(settings.read_timeout + 0.3)

    portal.options.intercept = slow_on_big_pages
    # no transport retries: what is tested is the page halving after they are spent
    run = harvest_portal(portal_at(portal.url), lake, settings=dataclasses.replace(settings, retries=0))
    assert run.datasets == 300
    # the first page (20 rows) passes; the next, sized to ~3 MB, times out and is halved until it passes
    halvings = [tuple(int(rows) for rows in re.fullmatch(HALVED, note).groups()) for note in run.notes]
    assert halvings and all(smaller == rows // 2 for rows, smaller in halvings)
    assert halvings[0][0] > 100 and all(smaller <= 100 for _, smaller in halvings[-1:])


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_burst_of_server_errors_within_the_retry_budget(serve, lake, status, settings) -> None:
    packages = multiplied(real_packages(), 30)
    portal = serve(packages, rows_max=10)
    burst = iter([(status, b"busy", "text/plain")] * settings.retries)
    portal.options.intercept = lambda action, params: next(burst, None) if params.get("start") == "10" else None
    run = harvest_portal(portal_at(portal.url), lake, settings=settings)
    assert sorted(dataset_ids(lake, run)) == sorted(p["id"] for p in packages)
    # the retries absorbed it: no smaller pages
    assert run.notes == [f"portal capped rows at 10 (asked {FIRST_PAGE_ROWS})"]
