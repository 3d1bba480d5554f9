"""Harvesting a portal into the lake: fetch, then normalise and publish, under the portal's lock.

1. Fetch: page through the portal's API and write every record, as the portal sent it, to
   `raw_datasets` / `raw_publishers` in a staging folder. A background thread fetches the next page
   while the current one is written, and only a couple of pages are ever in memory. A full harvest
   fetches everything; an incremental one (`since`, the watermark) fetches only what changed since,
   plus a cheap listing of every id so that deletions are noticed, and fetches whatever the listing
   has that the lake lacks (self-healing), whatever `since` says.
2. Publish: normalise the raw records, compare them with the portal's current state
   (`catalog.versions`), keep only added, modified and deleted datasets as new versions, publish the
   folder atomically and mark the run complete.

Each run has a record in `harvest_runs` from its start ('running') to its end ('complete', 'failed',
or 'suspicious' when it would have deleted implausibly much), so every outcome is queryable, and
nothing but a complete run ever touches the published snapshot. A harvest holds the portal's lock
in the lake throughout (`Lake.portal_lock`): two harvests of one portal never interleave, and runs
left 'running' by a killed process are marked abandoned by the next harvest.

Every harvest is bounded: a page and dataset limit derived from what the portal reports and from
its own history (with a hard ceiling) stops a listing that never ends, and a wall-clock budget
stops a harvest that would run for good; either is recorded as the run's error.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from catalog.errors import CatalogError, SuspiciousHarvestError
from catalog.http import HttpSettings
from catalog.lake import Lake, StagedHarvest, TableWriter, lock_holder, new_harvest_id
from catalog.normalise.rows import HarvestContext
from catalog.normalise.values import RecordTooDeepError, json_text, loads_lenient
from catalog.registry import Portal
from catalog.schemas import DATASETS, DISTRIBUTIONS, LISTED_IDS, PUBLISHERS, RAW_DATASETS, RAW_PUBLISHERS
from catalog.sources import client_for, normaliser_for
from catalog.sources.base import DatasetPage, Normaliser, PortalClient
from catalog.versions import classify, previous_state, tombstones

log = logging.getLogger(__name__)

MAX_WARNINGS_KEPT = 1000
SAFETY_MARGIN = timedelta(hours=1)
"""How far before the last complete harvest's start an incremental run looks (clock skew, slow indexing)."""
WORKING_FILES = ("raw_datasets", "raw_publishers", "listed_ids")
PREFETCH_PAGES = 1
NORMALISE_BATCH = 500
PUBLISHERS_PER_CHECK = 100
HEAL_ONE_BY_ONE = 50
"""Up to this many listed datasets missing from the lake are fetched one by one; more, by a full pass."""
T = TypeVar("T")


@dataclass(frozen=True)
class HarvestLimits:
    """What bounds one harvest. The defaults are what users get."""

    max_datasets: int = 2_000_000
    """Hard ceiling on datasets read, whatever the portal reports (the largest catalogues hold ~300k)."""
    max_pages: int = 100_000
    max_pages_without_new: int = 20
    """This many pages in a row with nothing new is a paging loop, not a catalogue."""
    max_seconds: float = 4 * 3600
    """Wall-clock budget of one harvest's fetch (publishing is local work, bounded by what was fetched)."""
    max_deletion_share: float = 0.2
    """A run that would delete more than this share of a portal's datasets (or all) publishes nothing."""

    def __post_init__(self) -> None:
        if not 0 <= self.max_deletion_share <= 1:
            raise ValueError(f"max_deletion_share must be between 0 and 1, not {self.max_deletion_share!r}")
        if self.max_seconds <= 0 or self.max_datasets < 1 or self.max_pages < 1:
            raise ValueError("harvest limits must be positive")


@dataclass
class HarvestRun:
    """One row of `harvest_runs`: what a run did, kept up to date as it goes."""

    portal_id: str
    harvest_id: str
    base_url: str
    software: str
    status: str = "running"
    mode: str = "full"
    since: datetime | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    datasets: int = 0
    distributions: int = 0
    publishers: int = 0
    added: int = 0
    modified: int = 0
    deleted: int = 0
    listed: int | None = None
    source_count: int | None = None
    duplicates_dropped: int = 0
    requests: int = 0
    bytes_received: int = 0
    warning_count: int = 0
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def warn(self, messages: Iterable[str]) -> None:
        """Count every warning, keep the first MAX_WARNINGS_KEPT (a broken portal can emit millions)."""
        for message in messages:
            self.warning_count += 1
            if len(self.warnings) < MAX_WARNINGS_KEPT:
                self.warnings.append(message)

    @property
    def duration_s(self) -> float:
        end = self.finished_at or datetime.now(UTC)
        return (end - self.started_at).total_seconds()


@dataclass(frozen=True)
class RawHarvest:
    """What the fetch hands to the publish: a staged folder of raw records, its run, and the state it
    was compared with."""

    staged: StagedHarvest
    run: HarvestRun
    previous: pa.Table


def prefetched(items: Iterable[T], depth: int = PREFETCH_PAGES) -> Iterator[T]:
    """Iterate `items` on a background thread, `depth` items ahead, so I/O overlaps the caller's work.

    Errors raised by the producer are re-raised in the consumer; if the consumer stops early the
    producer is told to stop too.
    """
    buffer: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(message: tuple[str, Any]) -> bool:
        """Put unless the consumer has gone: a full queue must never strand this thread."""
        while not stop.is_set():
            try:
                buffer.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(("item", item)):
                    return
            offer(("done", None))
        except BaseException as exc:
            offer(("error", exc))

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = buffer.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()


class Progress:
    """A progress bar on a terminal; elsewhere a log line every `log_every` pages."""

    def __init__(self, portal_id: str, enabled: bool | None = None, log_every: int = 10) -> None:
        self.portal_id = portal_id
        self.interactive = sys.stderr.isatty() if enabled is None else enabled
        self.log_every = log_every
        self.pages = 0
        self.started = time.monotonic()
        self.bar: tqdm[Any] | None = None

    def page(self, datasets: int, total: int | None, done: int) -> None:
        self.pages += 1
        if self.interactive:
            if self.bar is None:
                self.bar = tqdm(total=total, unit=" datasets", desc=self.portal_id, dynamic_ncols=True)
            if total is not None and self.bar.total != total:
                self.bar.total = total
            self.bar.update(datasets)
            self.bar.set_postfix(pages=self.pages, refresh=False)
        elif self.pages % self.log_every == 1 or self.log_every == 1:
            rate = done / max(time.monotonic() - self.started, 1e-9)
            eta = f", ETA {(total - done) / rate:.0f}s" if total and rate and done < total else ""
            log.info("%s: page %d, %d/%s datasets, %.0f/s%s", self.portal_id, self.pages, done, total or "?", rate, eta)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def watermark(lake: Lake, portal_id: str, margin: timedelta = SAFETY_MARGIN) -> datetime | None:
    """Where an incremental harvest starts: the last complete harvest's start minus `margin`.

    None when the portal has no complete harvest yet, so its first harvest is a full one.
    """
    starts = [run["started_at"] for run in lake.runs(portal_id) if run["status"] == "complete"]
    return max(starts) - margin if starts else None


class HarvestLimitError(CatalogError):
    """A harvest stopped by its limits (a listing that never ends, a wall-clock budget spent)."""


class Budget:
    """The limits of one harvest, checked page by page.

    The dataset limit is derived on the first page: twice what is plausible (the portal's reported
    count, trusted up to a hundredfold of its largest earlier harvest) plus room for growth, never
    above the hard ceiling; with nothing to go on, the ceiling itself.
    """

    def __init__(self, limits: HarvestLimits, history: int | None) -> None:
        self.limits = limits
        self.history = history
        self.started = time.monotonic()
        self.pages = 0
        self.pages_without_new = 0
        self.max_datasets: int | None = None

    def plausible(self, reported: int | None) -> int:
        basis = self.history or 0
        if reported is not None:
            basis = max(basis, min(reported, 100 * self.history + 10_000) if self.history else reported)
        return self.limits.max_datasets if basis == 0 else min(self.limits.max_datasets, 2 * basis + 10_000)

    def page(self, total: int, reported: int | None, new: int, *, expect_new: bool = True) -> None:
        """Account for one page, `total` records read so far, `new` of them on this page; raise
        HarvestLimitError when a limit is passed. A pass over what was read before (`expect_new` off:
        the catch-up pass) is no paging loop however few pages bring something new."""
        self.pages += 1
        self.pages_without_new = 0 if new or not expect_new else self.pages_without_new + 1
        if self.max_datasets is None:
            self.max_datasets = self.plausible(reported)
        why = None
        if total > self.max_datasets:
            why = (
                f"stopped after {total:,} datasets in {self.pages:,} pages, more than is plausible "
                f"({self.max_datasets:,}: the portal reported {reported if reported is not None else 'no count'}, "
                f"its largest harvest had {self.history or 'none'}); a listing that never ends?"
            )
        elif self.pages > max(self.limits.max_pages, 1) or self.pages > self.max_datasets // 10 + 1_000:
            why = f"stopped after {self.pages:,} pages: more pages than the catalogue can fill (a paging loop?)"
        elif self.pages_without_new >= self.limits.max_pages_without_new:
            why = f"stopped after {self.pages_without_new} pages in a row brought no new dataset (a paging loop?)"
        if why:
            raise HarvestLimitError(why)
        self.check_time()

    def publishers(self, count: int) -> None:
        """Publishers are bounded like datasets: a listing of them that never ends stops too."""
        if count > self.limits.max_datasets:
            raise HarvestLimitError(f"stopped after {count:,} publishers: more than any catalogue has")
        self.check_time()

    def check_time(self) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed > self.limits.max_seconds:
            raise HarvestLimitError(
                f"stopped after {elapsed:,.0f} s: the harvest's budget is {self.limits.max_seconds:g} s"
            )


def largest_harvest(runs: Iterable[dict[str, Any]]) -> int | None:
    """The most datasets a complete harvest of the portal saw (fetched or listed): its known size."""
    sizes = [max(run["datasets"] or 0, run["listed"] or 0) for run in runs if run["status"] == "complete"]
    return max(sizes, default=0) or None


def fetch_raw(
    portal: Portal,
    lake: Lake,
    client: PortalClient,
    *,
    since: datetime | None = None,
    progress: Progress | None = None,
    limits: HarvestLimits | None = None,
    harvest_id: str | None = None,
) -> RawHarvest:
    """Stage 1: raw records of the portal into a staging folder. Raises HarvestError on failure.

    Call it holding the portal's lock (`harvest_portal` does). Without `since`, every dataset (a full
    harvest); with it, those modified since, a listing of every id, and whatever the listing has that
    the lake lacks. If a pass saw a dataset twice, or fewer datasets than the portal last reported,
    offsets moved under it (datasets inserted or deleted mid-run, or a page served twice): one
    catch-up pass collects what was hidden, so every dataset is harvested exactly once.
    """
    if not client.incremental:
        since = None  # the portal cannot filter by modification: read everything, tell changes apart by hash
    harvest_id = harvest_id or new_harvest_id()
    mode = "full" if since is None else "incremental"
    run = HarvestRun(portal.id, harvest_id, portal.url, portal.software, mode=mode, since=since)
    runs = lake.runs(portal.id)
    lake.write_run(asdict(run))
    staged = lake.stage(portal.id, harvest_id)
    progress = progress or Progress(portal.id)
    budget = Budget(limits or HarvestLimits(), largest_harvest(runs))
    try:
        previous = previous_state(lake, portal.id)
        with TableWriter(staged.table("raw_datasets"), RAW_DATASETS, rows_per_group=NORMALISE_BATCH) as writer:
            fetch = _Fetch(client, run, budget, writer)
            last_count = fetch.pages(since, progress)
            shifted = run.duplicates_dropped or (last_count is not None and fetch.read < last_count)
            if shifted and not client.single_document:
                before = run.datasets
                fetch.pages(since, None)
                run.notes.append(f"catch-up pass found {run.datasets - before} datasets the first pass missed")
            if since is None:
                complete = last_count is None or run.datasets >= last_count
                run.listed = run.datasets if complete else None
            else:
                fetch.list_ids(staged)
                fetch.heal(staged, previous)
        if run.listed is None:
            run.notes.append("the listing of ids was incomplete or impossible: no deletions recorded this run")
        with TableWriter(staged.table("raw_publishers"), RAW_PUBLISHERS, rows_per_group=NORMALISE_BATCH) as writer:
            for count, record in enumerate(client.iter_publishers(), start=1):
                publisher_id = client.record_id(record)
                if publisher_id:
                    row = {"portal_id": portal.id, "harvest_id": harvest_id, "publisher_id": publisher_id}
                    writer.write([row | {"raw": json_text(record)}])
                if count % PUBLISHERS_PER_CHECK == 0:
                    budget.publishers(count)
    except BaseException as exc:
        _fail(lake, staged, run, client, exc)
        raise
    finally:
        progress.close()
    _count_traffic(run, client)
    if mode == "full" and run.source_count is not None and run.source_count != run.datasets:
        run.notes.append(f"portal reported {run.source_count} datasets, harvested {run.datasets}")
    lake.write_run(asdict(run))
    return RawHarvest(staged, run, previous)


Serialised = list[tuple[str | None, str]]
"""(dataset id, raw JSON text) pairs."""


@dataclass
class _SerialisedPage:
    """A page reduced to (id, raw JSON text) pairs: a fraction of the memory of the parsed records."""

    records: Serialised
    reported_count: int | None
    notes: list[str]
    dropped: dict[str, str]
    """Records dropped as unstorable: their id (or a placeholder) and why."""


class _Fetch:
    """One fetch of a portal into `raw_datasets`: its passes share the run, the budget and the ids seen."""

    def __init__(self, client: PortalClient, run: HarvestRun, budget: Budget, writer: TableWriter) -> None:
        self.client = client
        self.run = run
        self.budget = budget
        self.writer = writer
        self.seen: set[str] = set()
        self.dropped: set[str] = set()

    @property
    def read(self) -> int:
        """Records read, stored or dropped as unstorable: what the portal's count should match."""
        return self.run.datasets + len(self.dropped)

    def _drop(self, dropped: dict[str, str]) -> None:
        """Warn once per record dropped as unstorable, however many passes meet it."""
        self.run.warn(message for key, message in dropped.items() if key not in self.dropped)
        self.dropped.update(dropped)

    def pages(self, since: datetime | None, progress: Progress | None) -> int | None:
        """One pass over the portal's pages: write records not seen before. Returns the last reported count.

        The pass with `progress` is the first; on the catch-up pass everything seen before is expected.
        """
        run, last_count = self.run, None
        for page in prefetched(self._serialised(self.client.iter_dataset_pages(since))):
            run.notes.extend(note for note in page.notes if note not in run.notes)
            self._drop(page.dropped)
            if page.reported_count is not None:
                last_count = page.reported_count
                if run.source_count is None:
                    run.source_count = page.reported_count
            new = self._write(page.records, count_duplicates=progress is not None)
            if progress is not None:
                progress.page(new, page.reported_count, run.datasets)
            self.budget.page(run.datasets, page.reported_count, new, expect_new=progress is not None)
        return last_count

    def list_ids(self, staged: StagedHarvest) -> None:
        """Every id the portal has now, into `listed_ids`; `run.listed` only if the listing is complete."""
        pages = self.client.iter_dataset_ids()
        if pages is None:
            return
        run, listed, last_count = self.run, set[str](), None
        with TableWriter(staged.table("listed_ids"), LISTED_IDS, rows_per_group=10 * NORMALISE_BATCH) as writer:
            for page in prefetched(pages):
                last_count = page.reported_count
                fresh = [r["id"] for r in page.records if isinstance(r.get("id"), str) and r["id"] not in listed]
                listed.update(fresh)
                writer.write({"portal_id": run.portal_id, "harvest_id": run.harvest_id, "dataset_id": i} for i in fresh)
                self.budget.page(len(listed), page.reported_count, len(fresh))
        if last_count is not None and len(listed) >= last_count:
            run.listed = len(listed)

    def heal(self, staged: StagedHarvest, previous: pa.Table) -> None:
        """Fetch what the portal lists but the lake lacks (lost to an earlier broken answer), whatever
        `since` says: a few one by one, many by reading the whole catalogue."""
        if self.run.listed is None:
            return
        listed = pq.read_table(staged.table("listed_ids"), columns=["dataset_id"]).column(0).combine_chunks()
        absent = listed.filter(pc.invert(pc.is_in(listed, value_set=previous["dataset_id"])))
        missing = [dataset_id for dataset_id in absent.to_pylist() if dataset_id not in self.seen]
        if not missing:
            return
        before = self.run.datasets
        if len(missing) <= HEAL_ONE_BY_ONE:
            for dataset_id in missing:
                records, dropped = _serialise(self.client, [self.client.fetch_dataset(dataset_id)])
                self._drop(dropped)
                self._write(records, count_duplicates=True)
                self.budget.check_time()
            how = "one by one"
        else:
            self.pages(None, None)
            how = "by reading the whole catalogue"
        fetched = self.run.datasets - before
        self.run.notes.append(f"{len(missing)} listed datasets were missing from the lake: fetched {fetched} {how}")

    def _serialised(self, pages: Iterator[DatasetPage]) -> Iterator[_SerialisedPage]:
        """Runs on the fetch thread, so only compact text ever waits in the prefetch queue."""
        for page in pages:
            records, dropped = _serialise(self.client, page.records)
            yield _SerialisedPage(records, page.reported_count, page.notes, dropped)

    def _write(self, records: Serialised, *, count_duplicates: bool) -> int:
        """Write records not seen before; returns how many were new."""
        run, rows = self.run, []
        for dataset_id, raw in records:
            if dataset_id is None:
                run.warn([f"a record without id or name was dropped: {raw[:80]!r}"])
                continue
            if dataset_id in self.seen:
                run.duplicates_dropped += count_duplicates
                continue
            self.seen.add(dataset_id)
            rows.append(
                {"portal_id": run.portal_id, "harvest_id": run.harvest_id, "dataset_id": dataset_id, "raw": raw}
            )
        self.writer.write(rows)
        run.datasets += len(rows)
        return len(rows)


def _serialise(client: PortalClient, records: Iterable[dict[str, Any]]) -> tuple[Serialised, dict[str, str]]:
    """(id, JSON text) of each record; a record nested too deep to store is dropped, with a warning."""
    serialised, dropped = [], {}
    for record in records:
        record_id = client.record_id(record)
        try:
            serialised.append((record_id, json_text(record)))
        except RecordTooDeepError as exc:
            key = record_id or f"record {len(dropped)} of a page"
            dropped[key] = f"dataset {record_id or '?'}: {exc}; dropped"
    return serialised, dropped


def normalise_and_publish(
    raw: RawHarvest,
    lake: Lake,
    portal: Portal,
    *,
    limits: HarvestLimits | None = None,
    allow_mass_deletion: bool = False,
    confirming: bool = False,
) -> HarvestRun:
    """Stage 2: normalise the staged records, keep what changed as new versions, publish, mark complete.

    A run that would delete implausibly much publishes nothing (see `mass_deletion`) and raises
    SuspiciousHarvestError, unless `allow_mass_deletion`, or unless it is a full harvest asked for as
    such (`confirming`) that finds what an earlier suspicious run found.
    """
    staged, run, previous = raw.staged, raw.run, raw.previous
    limits = limits or HarvestLimits()
    context = HarvestContext(portal.id, run.harvest_id, portal.url, run.started_at)
    normaliser = normaliser_for(portal.software)
    try:
        embedded_publishers: dict[str, dict[str, Any]] = {}
        with (
            TableWriter(staged.table("datasets"), DATASETS, rows_per_group=NORMALISE_BATCH) as datasets,
            TableWriter(staged.table("distributions"), DISTRIBUTIONS, rows_per_group=NORMALISE_BATCH) as distributions,
        ):
            for batch in _batches(staged.table("raw_datasets"), "raw"):
                dataset_rows, distribution_rows = [], []
                for raw_text in batch:
                    record, _ = loads_lenient(raw_text)
                    result = normaliser.dataset(record, context, raw_text)
                    dataset_rows.append(result.dataset)
                    distribution_rows.extend(result.distributions)
                    run.warn(result.warnings)
                    if result.publisher is not None:
                        embedded_publishers.setdefault(result.publisher["id"], result.publisher)
                changed = classify(pa.Table.from_pylist(dataset_rows, schema=DATASETS), previous)
                datasets.write_table(changed)
                batch_distributions = pa.Table.from_pylist(distribution_rows, schema=DISTRIBUTIONS)
                distributions.write_table(
                    batch_distributions.filter(pc.is_in(batch_distributions["dataset_id"], changed["dataset_id"]))
                )
                counts = {item["values"]: item["counts"] for item in pc.value_counts(changed["change"]).to_pylist()}
                run.added += counts.get("added", 0)
                run.modified += counts.get("modified", 0)
            listed = _listed_ids(staged, run)
            if listed is not None:
                gone = tombstones(
                    previous, listed, portal_id=portal.id, harvest_id=run.harvest_id, harvested_at=run.started_at
                )
                run.deleted = gone.num_rows
                share = (
                    portal.max_deletion_share if portal.max_deletion_share is not None else limits.max_deletion_share
                )
                reason = mass_deletion(run, previous.num_rows, share, lake.runs(portal.id), confirming=confirming)
                if reason and not allow_mass_deletion:
                    raise SuspiciousHarvestError(reason)
                if reason:
                    run.notes.append(f"mass deletion allowed explicitly: {reason.split(';')[0]}")
                datasets.write_table(gone)
            run.distributions = distributions.rows_written
        run.publishers = _write_publishers(
            staged, context, normaliser, embedded_publishers, run, restrict=bool(portal.filter)
        )
        for name in WORKING_FILES:
            staged.table(name).unlink(missing_ok=True)
        lake.publish(staged)
    except BaseException as exc:
        _fail(lake, staged, run, None, exc)
        raise
    run.status = "complete"
    run.finished_at = datetime.now(UTC)
    lake.write_run(asdict(run))
    return run


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


def _listed_ids(staged: StagedHarvest, run: HarvestRun) -> pa.Array | None:
    """Every id the portal has now: a full run's own records, an incremental run's listing; None if unknown."""
    if run.listed is None:
        return None
    source = "raw_datasets" if run.mode == "full" else "listed_ids"
    return pq.read_table(staged.table(source), columns=["dataset_id"]).column(0).combine_chunks()


def _write_publishers(
    staged: StagedHarvest,
    context: HarvestContext,
    normaliser: Normaliser,
    embedded: dict[str, dict[str, Any]],
    run: HarvestRun,
    *,
    restrict: bool,
) -> int:
    """Publishers the portal lists, plus any a dataset names that the list lacks.

    For a filtered portal (one country of a shared CKAN) only publishers of harvested datasets count.
    """
    rows: dict[str, dict[str, Any]] = {}
    for raw_text in _column(staged.table("raw_publishers"), "raw"):
        row, warnings = normaliser.publisher(loads_lenient(raw_text)[0], context, raw_text)
        run.warn(warnings)
        if row["publisher_id"] and (not restrict or row["publisher_id"] in embedded):
            rows.setdefault(row["publisher_id"], row)
    for publisher_id, record in embedded.items():
        if publisher_id not in rows:
            row, warnings = normaliser.publisher(record, context, None)
            run.warn(warnings)
            rows[publisher_id] = row
    with TableWriter(staged.table("publishers"), PUBLISHERS, rows_per_group=10 * NORMALISE_BATCH) as writer:
        writer.write(rows.values())
    return len(rows)


def _batches(path: Any, column: str) -> Iterator[list[str]]:
    """One text column of a Parquet file, streamed in batches."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=NORMALISE_BATCH, columns=[column]):
        yield batch.column(0).to_pylist()


def _column(path: Any, column: str) -> Iterator[str]:
    for batch in _batches(path, column):
        yield from batch


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
        abandoned = lake.abandon_orphans(portal.id)
        if abandoned:
            log.warning("%s: marked %d run(s) left running by a dead process as abandoned", portal.id, len(abandoned))
        if since is None and not full:
            since = watermark(lake, portal.id)
        client = client_factory(portal, settings)
        try:
            raw = fetch_raw(portal, lake, client, since=since, progress=progress, limits=limits, harvest_id=harvest_id)
        finally:
            client.close()
        return normalise_and_publish(
            raw, lake, portal, limits=limits, allow_mass_deletion=allow_mass_deletion, confirming=full
        )
