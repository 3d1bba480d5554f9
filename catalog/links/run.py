"""A link check run: which URLs are due, checked across hosts at once, written to `link_checks` in batches.

Incremental: the `link_queue` view orders the current distributions' distinct URLs (access and
download) with those never checked first, then those checked longest ago, and a run takes the first
`budget` of them and stops starting new checks after `minutes`. A portal with a million links is so
covered over several runs, never in one burst, and each run picks up where the last left off. A URL is
checked once however many portals list it. Hosts with the most links start first, since their limits
make them take longest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from yarl import URL

from catalog.errors import LakeError
from catalog.lake import Lake, new_harvest_id
from catalog.links.hosts import Hosts
from catalog.links.probe import LinkProber
from catalog.links.settings import DEFAULT_BUDGET, DEFAULT_MINUTES, LinkCheckSettings
from catalog.views import connect, named_query

BATCH_ROWS = 5_000
"""Rows per `link_checks` file: memory stays flat, and a killed run keeps what it wrote."""
PROGRESS_EVERY_S = 30.0
MAX_ACTIVE_HOSTS = 4_096
"""Hosts being worked on at once; the rest wait their turn (memory stays flat with many hosts)."""
log = logging.getLogger(__name__)


@dataclass
class LinkCheckRun:
    """What one run did: the figures `catalog links` prints and the Dagster asset records."""

    check_id: str
    started_at: datetime
    finished_at: datetime | None = None
    due: int = 0
    """URLs selected for this run (at most the budget)."""
    checked: int = 0
    deferred: int = 0
    """Selected but not checked: the time budget ran out first."""
    outcomes: Counter[str] = field(default_factory=Counter)
    """Checks by outcome: 'ok', 'http <status>' for a status of 400 or more, or the error class."""
    hosts_left_alone: list[str] = field(default_factory=list)
    """Hosts that timed out, would not resolve, or asked for too long a wait: their other links were
    answered for without a request."""
    files: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return ((self.finished_at or datetime.now(UTC)) - self.started_at).total_seconds()


def outcome(row: dict[str, Any]) -> str:
    if row.get("error"):
        return row["error"]
    status = row.get("status")
    return "ok" if status is not None and status < 400 else f"http {status}"


def due_urls(lake: Lake, budget: int, portals: Iterable[str] = ()) -> list[str]:
    """The next `budget` URLs to check (of `portals`' distributions only, if any are named). A portal the
    lake holds no harvest of is an error naming it: a typo must not quietly check nothing."""
    portals = list(portals)
    with contextlib.closing(connect(lake)) as connection:
        if portals:
            harvested = {row[0] for row in connection.execute(named_query("links/harvested_portals")).fetchall()}
            if unknown := sorted(set(portals) - harvested):
                raise LakeError(f"{lake.uri} holds no harvest of {', '.join(unknown)}")
        due = connection.execute(named_query("links/due_urls"), [portals or None, budget])
        return [url for (url,) in due.fetchall()]


def host_key(url: str) -> str:
    """The host a URL's requests go to ('' for what is not a URL: those fail without a request)."""
    try:
        return (URL(url).host or "").lower()
    except (ValueError, TypeError):
        return ""


def check_links(
    lake: Lake,
    *,
    portals: Iterable[str] = (),
    budget: int = DEFAULT_BUDGET,
    minutes: float = DEFAULT_MINUTES,
    settings: LinkCheckSettings | None = None,
) -> LinkCheckRun:
    """Check the due links of `portals` (all, if none), at most `budget` of them within `minutes`, into the
    lake's `link_checks`. One run at a time per lake: a second waits for the first."""
    settings = settings or LinkCheckSettings()
    with lake.link_check_lock():
        run = LinkCheckRun(new_harvest_id(), datetime.now(UTC))
        urls = due_urls(lake, budget, portals)
        run.due = len(urls)
        deadline = time.monotonic() + minutes * 60

        def write(rows: list[dict[str, Any]]) -> None:
            run.files.append(lake.write_link_checks(run.check_id, len(run.files), rows))

        asyncio.run(check_urls(urls, settings, run, deadline, write))
        run.finished_at = datetime.now(UTC)
    log.info("%d links checked in %.1fs (%s); %d deferred", run.checked, run.seconds, dict(run.outcomes), run.deferred)
    return run


async def check_urls(
    urls: list[str],
    settings: LinkCheckSettings,
    run: LinkCheckRun,
    deadline: float,
    write: Callable[[list[dict[str, Any]]], None],
) -> None:
    """Check `urls` host by host, every host at once within its limits, handing rows to `write` in batches."""
    by_host: dict[str, deque[str]] = defaultdict(deque)
    for url in urls:
        by_host[host_key(url)].append(url)
    hosts = Hosts(settings)
    batch: list[dict[str, Any]] = []
    next_report = time.monotonic() + PROGRESS_EVERY_S

    def keep(row: dict[str, Any]) -> None:
        nonlocal next_report
        row["check_id"] = run.check_id
        batch.append(row)
        run.checked += 1
        run.outcomes[outcome(row)] += 1
        if len(batch) >= BATCH_ROWS:
            full = batch[:]
            batch.clear()  # before writing: a failed write must not be tried again with the next batch
            write(full)
        if time.monotonic() >= next_report:
            next_report += PROGRESS_EVERY_S
            log.info("%d of %d links checked: %s", run.checked, len(urls), dict(run.outcomes))

    try:
        await _check_by_host(by_host, settings=settings, hosts=hosts, run=run, deadline=deadline, keep=keep)
    finally:  # interrupted too: what was checked is kept
        if batch:
            write(batch)
        run.hosts_left_alone = hosts.left_alone()


async def _check_by_host(
    by_host: dict[str, deque[str]],
    *,
    settings: LinkCheckSettings,
    hosts: Hosts,
    run: LinkCheckRun,
    deadline: float,
    keep: Callable[[dict[str, Any]], None],
) -> None:
    """Up to MAX_ACTIVE_HOSTS hosts at once, those with the most links first, each through as many lanes
    as it may have requests in flight, until its queue is done or the time is up."""
    async with LinkProber(settings, hosts.turn, hosts.back_off) as prober:

        async def lane(queue: deque[str]) -> None:
            while queue and time.monotonic() < deadline:
                row = await prober.check(queue.popleft())
                hosts.record(host_key(row.get("final_url") or row["url"]), row.get("error"))
                keep(row)

        ordered = iter(sorted(by_host.values(), key=len, reverse=True))

        async def worker() -> None:  # a host at a time, so that memory stays flat however many hosts
            for queue in ordered:
                await asyncio.gather(*(lane(queue) for _ in range(min(settings.per_host_concurrency, len(queue)))))
                run.deferred += len(queue)

        await asyncio.gather(*(worker() for _ in range(min(MAX_ACTIVE_HOSTS, len(by_host)))))
