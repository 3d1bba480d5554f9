"""Harvesting a portal into the lake, under the portal's lock: fetch, normalise, keep what changed, publish.

- Fetch (`fetch.py`): a background thread pages through the portal's API while the records of the
  page before are handed on to be normalised: as the bytes received where the client left them so
  (search pages), otherwise as compact JSON. A full harvest fetches everything; an
  incremental one (`since`, the watermark) fetches only what changed since, plus a cheap listing of
  every id so that deletions are noticed, and fetches whatever the listing has that the lake lacks
  (self-healing), whatever `since` says.
- Normalise (`workers.py`): batches of records are parsed and mapped to rows by worker processes on
  the other cores, as the pages arrive; results come back in order.
- Keep what changed (`changes.py`): each batch is compared with the portal's current state
  (`catalog.versions`), and only added, modified and deleted datasets are written, as new versions,
  to a staging folder, which is published atomically once the run is complete.

Each run has a record in `harvest_runs` (`catalog.runs.HarvestRun`) from its start ('running') to its
end ('complete', 'failed', or 'suspicious' when it would have deleted implausibly much), so every
outcome is queryable, and nothing but a complete run ever touches the published snapshot. A harvest
holds the portal's lock in the lake throughout (`Lake.portal_lock`): two harvests of one portal never
interleave, and runs left 'running' by a killed process are marked abandoned by the next harvest,
which also removes what their workers spooled.

Every harvest is bounded (`limits.py`): a page and dataset limit derived from what the portal reports
and from its own history (with a hard ceiling) stops a listing that never ends, and a wall-clock
budget stops a harvest that would run for good; either is recorded as the run's error. Memory is
bounded by the pages in flight: a page between the threads, a few batches per worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.errors import CatalogError, SuspiciousHarvestError
from catalog.harvest.changes import ChangeWriter, write_publishers
from catalog.harvest.fetch import Fetch, fetch_publishers
from catalog.harvest.heap import HARVEST_HEAP_SLACK, keep_heap_slack
from catalog.harvest.limits import Budget, HarvestLimitError, HarvestLimits, largest_harvest
from catalog.harvest.prefetch import prefetched
from catalog.harvest.progress import Progress
from catalog.harvest.workers import NormalisedBatch, Normalising, Parallelism, remove_left_spools
from catalog.http import HttpSettings
from catalog.lake import Lake, StagedHarvest, lock_holder, new_harvest_id
from catalog.normalise.rows import HarvestContext
from catalog.registry import Portal
from catalog.runs import HarvestRun
from catalog.sources import client_for, normaliser_for
from catalog.sources.base import IncrementalClient, PortalClient
from catalog.versions import CurrentState, SeenIds, previous_state, tombstones

__all__ = [
    "HarvestLimitError",
    "HarvestLimits",
    "HarvestRun",
    "Parallelism",
    "Progress",
    "check_since",
    "harvest_portal",
    "mass_deletion",
    "prefetched",
    "record_failure",
    "watermark",
]

log = logging.getLogger(__name__)

SAFETY_MARGIN = timedelta(hours=1)
"""How far before the last complete harvest's start an incremental run looks (clock skew, slow indexing)."""
WORKING_FILES = ("raw_publishers", "listed_ids")


def watermark(lake: Lake, portal_id: str, margin: timedelta = SAFETY_MARGIN) -> datetime | None:
    """Where an incremental harvest starts: the last complete harvest's start minus `margin`.

    None when the portal has no complete harvest yet, so its first harvest is a full one.
    """
    starts = [run["started_at"] for run in lake.runs(portal_id) if run["status"] == "complete"]
    return max(starts) - margin if starts else None


def run_harvest(
    portal: Portal,
    lake: Lake,
    client: PortalClient,
    *,
    harvest_id: str,
    since: datetime | None = None,
    progress: Progress | None = None,
    limits: HarvestLimits | None = None,
    parallelism: Parallelism | None = None,
    allow_mass_deletion: bool = False,
    confirming: bool = False,
) -> HarvestRun:
    """One harvest, from its first request to its published snapshot. Call it holding the portal's lock
    (`harvest_portal` does). Raises HarvestError on failure; nothing is published then.

    Without `since`, every dataset (a full harvest); with it, those modified since, a listing of every
    id, and whatever the listing has that the lake lacks. If a pass saw a dataset twice, or fewer
    datasets than the portal last reported, offsets moved under it (datasets inserted or deleted
    mid-run, or a page served twice): one catch-up pass collects what was hidden, so every dataset is
    harvested exactly once.

    A run that would delete implausibly much publishes nothing (see `mass_deletion`) and raises
    SuspiciousHarvestError, unless `allow_mass_deletion`, or unless it is a full harvest asked for as
    such (`confirming`) that finds what an earlier suspicious run found.
    """
    keep_heap_slack(HARVEST_HEAP_SLACK)
    if not isinstance(client, IncrementalClient):
        since = None  # the portal cannot filter by modification: read everything, tell changes apart by hash
    mode = "full" if since is None else "incremental"
    run = HarvestRun(portal.id, harvest_id, portal.url, portal.software, mode=mode, since=since)
    runs = lake.runs(portal.id)
    lake.write_run(asdict(run))
    staged = lake.stage(portal.id, harvest_id)
    progress = progress or Progress(portal.id)
    limits = limits or HarvestLimits()
    budget = Budget(limits, largest_harvest(runs))
    context = HarvestContext(portal.id, harvest_id, portal.url, run.started_at)
    try:
        previous = previous_state(lake, portal.id)
        current = CurrentState.of(previous)

        def take(batch: NormalisedBatch) -> None:
            """A normalised batch to the output (batches come back only from what `fetch` submitted)."""
            fetch.unstorable(batch.unstorable)
            changes.take(batch)

        with (
            ChangeWriter(staged, run, current) as changes,
            Normalising(portal.software, context, take, parallelism, current=current) as normalising,
        ):
            fetch = Fetch(client, run, budget, normalising.submit)
            last_count = fetch.pages(since, progress)
            shifted = run.duplicates_dropped or (last_count is not None and fetch.read < last_count)
            if shifted and not fetch.read_one_document:
                before = run.datasets
                fetch.pages(since, None)
                run.notes.append(f"catch-up pass found {run.datasets - before} datasets the first pass missed")
            normalising.finish()  # the count below must not include records a worker has yet to find unstorable
            if since is None:
                complete = last_count is None or run.datasets >= last_count
                run.listed = run.datasets if complete else None
            else:
                fetch.list_ids(staged)
                fetch.heal(staged, previous)
            if run.listed is None:
                run.notes.append("the listing of ids was incomplete or impossible: no deletions recorded this run")
            fetch_publishers(client, run, budget, staged)
            _count_traffic(run, client)
            normalising.finish()
            unlisted = _unlisted_ids(staged, run, fetch.seen, previous)
            if unlisted is not None:
                gone = tombstones(unlisted, portal_id=portal.id, harvest_id=harvest_id, harvested_at=run.started_at)
                run.deleted = gone.num_rows
                share = portal.max_deletion_share
                share = limits.max_deletion_share if share is None else share
                reason = mass_deletion(run, previous.num_rows, share, lake.runs(portal.id), confirming=confirming)
                if reason and not allow_mass_deletion:
                    raise SuspiciousHarvestError(reason)
                if reason:
                    run.notes.append(f"mass deletion allowed explicitly: {reason.split(';')[0]}")
                changes.delete(gone)
        if mode == "full" and run.source_count is not None and run.source_count != run.datasets:
            run.notes.append(f"portal reported {run.source_count} datasets, harvested {run.datasets}")
        run.publishers = write_publishers(
            staged, context, normaliser_for(portal.software), changes.publishers, run, restrict=bool(portal.filter)
        )
        for name in WORKING_FILES:
            staged.table(name).unlink(missing_ok=True)
        lake.publish(staged)
    except BaseException as exc:
        try:
            _fail(lake, staged, run, client, exc)
        except Exception as unrecorded:  # a full disk refuses the record too: the cause is what matters
            log.error(
                "%s: its failure could not be recorded (%s); the next harvest marks it abandoned",
                run.portal_id,
                unrecorded,
            )
        raise
    finally:
        progress.close()
    run.status = "complete"
    run.finished_at = datetime.now(UTC)
    lake.write_run(asdict(run))
    return run


def _unlisted_ids(
    staged: StagedHarvest, run: HarvestRun, seen: SeenIds, previous: pa.Table
) -> pa.Array | pa.ChunkedArray | None:
    """The current datasets the portal no longer has: those a full run did not see, or an incremental
    run's listing lacks; None if the portal's ids are not all known."""
    if run.listed is None:
        return None
    current = previous["dataset_id"]
    if run.mode == "full":
        return current.filter(seen.unseen(current))
    listed = pq.read_table(staged.table("listed_ids"), columns=["dataset_id"]).column(0).combine_chunks()
    return current.filter(pc.invert(pc.is_in(current, value_set=listed)))


SIMILAR_DELETIONS = 0.1
"""A full harvest confirms a suspicious run's deletions when it would delete as many, give or take 10 %."""


def mass_deletion(
    run: HarvestRun, current: int, share: float, runs: list[dict[str, Any]], *, confirming: bool = False
) -> str | None:
    """Why this run's deletions look like a broken answer rather than a portal's choice; None if they don't.

    A run that would delete more than `share` of the portal's `current` datasets, or all of them, is
    suspicious. A full harvest asked for as such (`confirming`: `--full`, the weekly schedule; not a
    software that can only read everything) confirms an earlier suspicious run when it found datasets
    (an empty answer is never proof) and would delete about as many: two independent reads agree.
    """
    if not current or not run.deleted or (run.deleted < current and run.deleted <= share * current):
        return None
    if confirming and run.mode == "full" and run.datasets:
        finished = sorted(
            (r for r in runs if r["harvest_id"] != run.harvest_id and r["status"] != "running"),
            key=lambda r: r["harvest_id"],
        )
        last = finished[-1] if finished else None
        if (
            last
            and last["status"] == "suspicious"
            and abs(last["deleted"] - run.deleted) <= SIMILAR_DELETIONS * run.deleted
        ):
            run.notes.append(f"a full harvest confirmed the {run.deleted} deletions suspected by {last['harvest_id']}")
            return None
    fetched = "fetched nothing and " if run.mode == "incremental" and not run.datasets else ""
    return (
        f"would delete {run.deleted:,} of {current:,} datasets ({run.deleted / current:.0%}, more than the "
        f"{share:.0%} allowed); the run {fetched}published nothing. If the portal really removed them, a full "
        "harvest (--full) that finds the same confirms it; --allow-mass-deletion accepts them now"
    )


def _count_traffic(run: HarvestRun, client: PortalClient | None) -> None:
    if client is not None:
        run.requests = client.traffic.requests
        run.bytes_received = client.traffic.bytes_received


def _fail(lake: Lake, staged: StagedHarvest, run: HarvestRun, client: PortalClient | None, exc: BaseException) -> None:
    """Record the failure (or the suspicion) and drop the staged folder; the published snapshot is never touched."""
    lake.discard(staged)
    _count_traffic(run, client)
    run.status = "suspicious" if isinstance(exc, SuspiciousHarvestError) else "failed"
    run.finished_at = datetime.now(UTC)
    if isinstance(exc, CatalogError):
        run.error = str(exc)
    elif isinstance(exc, KeyboardInterrupt):
        run.error = "interrupted (SIGINT or SIGTERM)"
    elif not isinstance(exc, Exception):  # what stops a program rather than fails in it: Dagster's termination
        run.error = f"interrupted ({type(exc).__name__}{f': {exc}' if str(exc) else ''})"
    else:
        run.error = f"{type(exc).__name__}: {exc}"  # masked with the rest of the record by `Lake.write_run`
    lake.write_run(asdict(run))


def record_failure(lake: Lake, portal_id: str, url: str, software: str, error: str) -> HarvestRun:
    """A run that failed before any harvest could start (the software could not be detected), recorded
    like every other failure so `harvest_runs` shows it."""
    now = datetime.now(UTC)
    run = HarvestRun(portal_id, new_harvest_id(now), url, software, status="failed", started_at=now)
    run.finished_at, run.error = now, error
    lake.write_run(asdict(run))
    return run


def check_since(since: datetime | None, now: datetime | None = None) -> None:
    """Refuse a watermark in the future: it would fetch nothing and move the watermark past real changes."""
    now = now or datetime.now(UTC)
    if since is not None and since > now:
        raise CatalogError(f"--since {since.isoformat()} is later than now ({now.isoformat(timespec='seconds')})")


def clear_what_dead_harvests_left(lake: Lake, portal_id: str) -> None:
    """Mark the portal's runs a dead process left `running` as abandoned, drop their staging folders,
    and remove the spool folders their workers left. Only under the portal's lock (a harvest, and
    `catalog doctor --fix`, hold it): then no live process owns any of them."""
    abandoned = lake.abandon_orphans(portal_id)
    if abandoned:
        log.warning("%s: marked %d run(s) left running by a dead process as abandoned", portal_id, len(abandoned))
    if removed := remove_left_spools(lake, portal_id):
        log.warning("%s: removed %d spool folder(s) that killed harvests left", portal_id, removed)


def harvest_portal(
    portal: Portal,
    lake: Lake,
    *,
    full: bool = False,
    since: datetime | None = None,
    settings: HttpSettings | None = None,
    client_factory: Callable[[Portal, HttpSettings | None], PortalClient] = client_for,
    progress: Progress | None = None,
    limits: HarvestLimits | None = None,
    allow_mass_deletion: bool = False,
    wait: float = 0,
    parallelism: Parallelism | None = None,
) -> HarvestRun:
    """Fetch and publish, holding the portal's lock: the portal's catalogue, published or not at all.

    Incremental from the watermark by default (see `watermark`), full when asked or when the portal
    has never been harvested; `since` overrides the watermark. Runs that a killed process left
    'running' are marked abandoned first. Waits up to `wait` seconds for another harvest of the
    portal to end, then refuses (PortalBusyError).
    """
    check_since(since)
    limits = limits or HarvestLimits()
    harvest_id = new_harvest_id()
    with lake.portal_lock(portal.id, holder=lock_holder(harvest_id), wait=wait):
        clear_what_dead_harvests_left(lake, portal.id)
        if since is None and not full:
            since = watermark(lake, portal.id)
        client = client_factory(portal, settings)
        try:
            return run_harvest(
                portal,
                lake,
                client,
                harvest_id=harvest_id,
                since=since,
                progress=progress,
                limits=limits,
                parallelism=parallelism,
                allow_mass_deletion=allow_mass_deletion,
                confirming=full,
            )
        finally:
            client.close()
