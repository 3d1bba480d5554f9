"""`catalog links` end to end: real CKAN records whose links point into a link farm, harvested, checked,
and the farm's known truth read back from the views."""

from __future__ import annotations

import copy
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from catalog.cli import main
from catalog.lake import Lake, new_harvest_id
from catalog.report import write_report
from catalog.snapshots import ALL, read_manifest, refresh_snapshots
from tests.catalog.test_report import ARTIFACTS, chromium_page
from tests.conftest import real_packages, rows
from tests.linkfarm import KINDS, Truth, link_to, serve_farm

FAST = ["--rate", "0", "--timeout", "5", "--allow-private"]
"""No rate limit (the politeness tests keep the shipped one), and the farm is on loopback."""


def farm_catalogue(farm) -> tuple[list[dict], dict[str, Truth]]:
    """The recorded packages with every resource's URL swapped for a farm URL of a known kind, in turn,
    declared as CSV; uploads (every other resource) have the same URL as their download URL."""
    packages = copy.deepcopy(real_packages())
    truth: dict[str, Truth] = {}
    kinds = list(KINDS)
    number = 0
    for package in packages:
        for resource in package["resources"]:
            kind = kinds[number % len(kinds)]
            resource["url"] = link_to(farm, kind, number)
            resource["format"] = "CSV"
            resource["url_type"] = "upload" if number % 2 == 0 else None
            truth[resource["url"]] = KINDS[kind]
            number += 1
    return packages, truth


@pytest.fixture
def farm():
    with serve_farm(hosts=4) as running:
        yield running


@pytest.fixture
def checked(farm, serve, lake: Lake, capsys, monkeypatch):
    """The farm catalogue harvested (with an API key) and its links checked once."""
    packages, truth = farm_catalogue(farm)
    portal = serve(packages)
    monkeypatch.setenv("FARM_PORTAL_KEY", "s3cr3t-portal-key-0123456789")
    harvest = ["harvest", portal.url, "--portal", "uk-farm", "--api-key-env", "FARM_PORTAL_KEY"]
    assert main([*harvest, "--lake", str(lake.root)]) == 0
    capsys.readouterr()
    assert main(["links", *FAST, "--lake", str(lake.root)]) == 0
    return truth, capsys.readouterr()


def test_the_farms_truth_comes_back_exactly(checked, lake: Lake) -> None:
    truth, _ = checked
    found = {
        row["url"]: row
        for row in rows(lake, "SELECT url, state, status, error, redirects, method, final_url FROM link_status")
    }
    assert set(found) == set(truth)
    assert len(truth) == 61
    for url, expected in truth.items():
        row = found[url]
        got = (row["state"], row["status"], row["error"], row["redirects"], row["method"])
        wanted = (expected.state, expected.status, expected.error, expected.redirects, expected.method)
        assert got == wanted, url
        if expected.path.startswith("/redirect/3/"):
            assert row["final_url"] == url.replace("/redirect/3/", "/")


def test_the_cli_prints_the_outcomes_and_what_it_wrote(checked) -> None:
    truth, output = checked
    table = {line.split()[0]: line.split()[-1] for line in output.out.splitlines()[2:] if line.strip()}
    assert table["ok"] == str(sum(t.state == "ok" for t in truth.values()))
    assert table["refused"] == str(sum(t.error == "refused" for t in truth.values()))
    assert "61 of 61 due links checked" in output.err
    assert "0 deferred" in output.err


def test_broken_links_are_counted_by_portal_and_publisher(checked, lake: Lake) -> None:
    truth, _ = checked
    broken = {url for url, t in truth.items() if t.state == "broken"}
    [portal] = rows(lake, "SELECT * FROM broken_links_by_portal")
    assert (portal["portal_id"], portal["links"], portal["checked"], portal["broken"]) == (
        "uk-farm",
        61,
        61,
        len(broken),
    )
    assert portal["http_4xx"] == sum(truth[url].status in (404, 410) for url in broken)
    assert portal["http_5xx"] == sum(truth[url].status == 500 for url in broken)
    assert portal["no_answer"] == sum(truth[url].error is not None for url in broken)
    assert portal["not_known"] == sum(t.state == "not_checked" for t in truth.values())
    by_publisher = rows(lake, "SELECT publisher_name, links, broken FROM broken_links_by_publisher")
    assert sum(row["broken"] for row in by_publisher) == len(broken)
    assert sum(row["links"] for row in by_publisher) == 61
    per_publisher = rows(
        lake,
        "SELECT d.publisher_name, count(DISTINCT s.url) FILTER (WHERE s.state = 'broken') AS broken "
        "FROM distributions x JOIN datasets d USING (portal_id, dataset_id) JOIN link_status s ON s.url = x.access_url "
        "GROUP BY ALL",
    )
    assert {(row["publisher_name"], row["broken"]) for row in by_publisher} == {
        (row["publisher_name"], row["broken"]) for row in per_publisher
    }


def test_format_mismatch_lists_exactly_the_csv_served_as_a_web_page(checked, lake: Lake) -> None:
    truth, _ = checked
    found = rows(lake, "SELECT url, declared_format_key, served_format, content_type FROM format_mismatch")
    assert {row["url"] for row in found} == {url for url, t in truth.items() if t.mismatch}
    assert {(row["declared_format_key"], row["served_format"], row["content_type"]) for row in found} == {
        ("CSV", "HTML", "text/html")
    }


def test_accessibility_is_scored_from_the_checks(checked, lake: Lake) -> None:
    truth, _ = checked
    scored = rows(
        lake,
        "SELECT q.dataset_id, q.accessibility, q.max_points, q.links_checked, "
        "list(x.access_url) AS access, "
        "coalesce(list(x.download_url) FILTER (WHERE x.download_url IS NOT NULL), []) AS downloads "
        "FROM dataset_quality q JOIN distributions x USING (portal_id, dataset_id) GROUP BY ALL",
    )
    assert {row["max_points"] for row in scored} == {365}
    for row in scored:
        access_ok = all(truth[url].state == "ok" for url in row["access"])
        downloads_ok = bool(row["downloads"]) and all(truth[url].state == "ok" for url in row["downloads"])
        expected = 50 * access_ok + 20 * bool(row["downloads"]) + 30 * downloads_ok
        assert row["accessibility"] == expected, row["dataset_id"]
        assert row["links_checked"] == len(row["access"]) + len(row["downloads"])
    assert {row["accessibility"] for row in scored} >= {0, 20}


def test_no_portal_key_reaches_the_farm_and_the_agent_names_the_project(checked, farm) -> None:
    assert farm.state.log
    for request in farm.state.log:
        assert "s3cr3t-portal-key" not in repr(request.headers)
        assert request.headers["User-Agent"].startswith("catalog-harvester-linkcheck/")
        assert "(+https://" in request.headers["User-Agent"]


def test_since_holds_while_the_state_holds_and_moves_when_it_changes(checked, lake: Lake, capsys) -> None:
    truth, _ = checked
    first = {row["url"]: row for row in rows(lake, "SELECT url, since, checked_at FROM link_status")}
    time.sleep(0.01)
    assert main(["links", *FAST, "--lake", str(lake.root)]) == 0  # every link due again, oldest first
    second = {row["url"]: row for row in rows(lake, "SELECT url, since, checked_at, checks_in_state FROM link_status")}
    throttled = {url for url, t in truth.items() if "/throttle/" in t.path}
    for url, row in second.items():
        assert row["checked_at"] > first[url]["checked_at"]
        assert row["since"] == first[url]["since"], url  # the throttle passed once: ok both times
        assert row["checks_in_state"] == 2
    assert throttled
    [(checks,)] = [tuple(r.values()) for r in rows(lake, "SELECT count(*) FROM link_checks")]
    assert checks == 2 * 61


def test_a_budget_takes_new_links_first_then_the_longest_unchecked(farm, serve, lake: Lake, capsys) -> None:
    packages, truth = farm_catalogue(farm)
    portal = serve(packages)
    assert main(["harvest", portal.url, "--portal", "uk-farm", "--lake", str(lake.root)]) == 0
    seen: list[set[str]] = []
    for _ in range(4):
        assert main(["links", *FAST, "--budget", "25", "--lake", str(lake.root)]) == 0
        checks = rows(lake, "SELECT url, check_id FROM link_checks")
        latest = max(row["check_id"] for row in checks)
        seen.append({row["url"] for row in checks if row["check_id"] == latest})
    assert [len(urls) for urls in seen] == [25, 25, 25, 25]
    new_in_third = set(truth) - seen[0] - seen[1]
    assert len(new_in_third) == 61 - 50 and not seen[0] & seen[1]  # every link once before any twice
    assert new_in_third <= seen[2] and seen[2] - new_in_third <= seen[0]  # then the oldest come round again
    assert seen[0] - seen[2] <= seen[3] <= seen[0] | seen[1]
    assert "25 of 25 due links checked" in capsys.readouterr().err


def test_a_portal_not_in_the_lake_is_named(farm, serve, lake: Lake, capsys) -> None:
    packages, _ = farm_catalogue(farm)
    assert main(["harvest", serve(packages).url, "--portal", "uk-farm", "--lake", str(lake.root)]) == 0
    capsys.readouterr()
    assert main(["links", "--portal", "uk-frm", "--lake", str(lake.root)]) == 1
    assert "holds no harvest of uk-frm" in capsys.readouterr().err


def test_links_to_private_addresses_are_refused_without_allow_private(farm, serve, lake: Lake, capsys) -> None:
    packages, truth = farm_catalogue(farm)
    assert main(["harvest", serve(packages).url, "--portal", "uk-farm", "--lake", str(lake.root)]) == 0
    assert main(["links", "--rate", "0", "--lake", str(lake.root)]) == 0
    found = rows(lake, "SELECT state, error, count(*) AS links FROM link_status GROUP BY ALL")
    assert sum(row["links"] for row in found) == len(truth)
    assert {(row["state"], row["error"]) for row in found} == {
        ("not_checked", "blocked"),
        ("not_checked", "unsupported_scheme"),
    }
    assert not farm.state.log  # not one request reached the farm


def test_the_report_shows_dead_links_per_portal_and_publisher(checked, lake: Lake, tmp_path) -> None:
    truth, _ = checked
    report = write_report(lake, tmp_path / "report")
    page = (report.out / "links.html").read_text(encoding="utf-8")
    broken = sum(t.state == "broken" for t in truth.values())
    row = '<td><a href="portals/uk-farm.html">uk-farm</a></td>\n<td class="n">61</td><td class="n">61</td>'
    assert f'{row}<td class="n">{broken}</td>' in page
    charts = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert len(charts) == 2
    assert "answering" in charts[0] and "broken links" in charts[1]
    assert "Birmingham City Council" in page
    assert "<td>CSV</td><td>HTML</td>" in page  # the CSV served as a web page
    portal_page = (report.out / "portals" / "uk-farm.html").read_text(encoding="utf-8")
    assert f"Links: 61 of 61 checked, {broken} broken" in portal_page
    assert "of 365 points" in portal_page
    with chromium_page(1000) as browser:
        browser.goto((report.out / "index.html").as_uri())
        browser.click("text=Links")
        assert browser.title() == "Links · Open data coverage"
        figures = browser.locator("figure svg")
        assert figures.count() == 2
        for index in range(2):
            box = figures.nth(index).bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 40
        browser.screenshot(path=ARTIFACTS / "report-links.png", full_page=True)
    assert (ARTIFACTS / "report-links.png").stat().st_size > 10_000


def test_the_snapshots_carry_the_links_and_follow_each_check(checked, lake: Lake, capsys) -> None:
    truth, _ = checked
    refresh_snapshots(lake)
    whole = read_manifest(lake, ALL)
    portal = read_manifest(lake, "portals/uk-farm")
    tables = {table["table"]: table["rows"] for table in whole["tables"]}
    assert tables["link_status"] == len(truth)
    assert tables["format_mismatch"] == sum(t.mismatch for t in truth.values())
    assert {table["table"] for table in portal["tables"]} >= {"broken_links_by_portal", "format_mismatch"}
    assert "link_status" not in {table["table"] for table in portal["tables"]}  # many portals share a link
    assert main(["links", *FAST, "--budget", "3", "--lake", str(lake.root)]) == 0  # keeps snapshots current
    assert read_manifest(lake, ALL)["build"] != whole["build"]
    assert read_manifest(lake, "portals/uk-farm")["build"] != portal["build"]


def test_a_run_stopped_half_way_keeps_what_it_checked(farm, serve, lake: Lake, tmp_path) -> None:
    """SIGTERM (what Dagster and systemd send) half-way: exit 130, and the links checked so far are in
    link_checks, to be skipped by the next run."""
    packages = copy.deepcopy(real_packages())
    for number, resource in enumerate(r for package in packages for r in package["resources"]):
        # a second an answer: the run lasts well past the first answers, however loaded the machine (a
        # fifth of a second let a whole run end unsignalled once, in a full suite on a busy machine)
        resource["url"] = farm.url(number % farm.hosts, f"/slow/1000/ok/{number}.csv")
    assert main(["harvest", serve(packages).url, "--portal", "uk-farm", "--lake", str(lake.root)]) == 0
    command = [sys.executable, "-m", "catalog.cli", "links", "--allow-private", "--lake", str(lake.root)]
    answered_before = len(farm.state.log)
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)  # 61 links, 4 hosts, 1/s: ~15 s
    deadline = time.monotonic() + 60  # half-way means after some answers, however slowly the process started
    while sum(1 for request in farm.state.log[answered_before:] if request.ended) < 8 and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 130
    assert "interrupted" in process.stderr.read()
    [(kept,)] = [tuple(row.values()) for row in rows(lake, "SELECT count(*) FROM link_checks")]
    assert 4 <= kept < 61
    budget = str(61 - kept)
    assert main(["links", "--allow-private", "--rate", "0", "--budget", budget, "--lake", str(lake.root)]) == 0
    checks = rows(lake, "SELECT url, count(*) AS checks FROM link_checks GROUP BY url")
    assert len(checks) == 61 and {row["checks"] for row in checks} == {1}  # those not checked yet, and only them


def test_since_is_the_first_check_of_the_current_state(lake: Lake) -> None:
    """A state's run of checks starts at the first check in it after a check in another state; checks that
    tell nothing (throttled, blocked) neither break a run of ok or broken checks nor start one."""
    day = datetime(2026, 11, 1, tzinfo=UTC)
    history = {
        "http://a.example/stays-broken": [404, 404, 404],
        "http://a.example/came-back": [404, 404, 200],
        "http://a.example/broke": [200, 200, 500],
        "http://a.example/broken-through-a-429": [404, 429, 404],
        "http://a.example/throttled-now": [200, 429, 429],
    }
    for number in range(3):
        check_id = new_harvest_id(day + timedelta(days=number))
        checks = [
            {"check_id": check_id, "url": url, "checked_at": day + timedelta(days=number), "status": statuses[number]}
            for url, statuses in history.items()
        ]
        lake.write_link_checks(check_id, 0, checks)
    found = {row["url"]: row for row in rows(lake, "SELECT url, state, since, checks_in_state FROM link_status")}
    expected = {
        "http://a.example/stays-broken": ("broken", 0, 3),
        "http://a.example/came-back": ("ok", 2, 1),
        "http://a.example/broke": ("broken", 2, 1),
        "http://a.example/broken-through-a-429": ("broken", 0, 2),
        "http://a.example/throttled-now": ("throttled", 1, 2),
    }
    assert {
        url: (row["state"], (row["since"] - day).days, row["checks_in_state"]) for url, row in found.items()
    } == expected
