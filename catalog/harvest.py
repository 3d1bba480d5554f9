"""Harvesting a portal into the lake, in two stages that Dagster can run as two assets.

1. `fetch_raw`: page through the portal's API and write every record, as the portal sent it, to
   `raw_datasets` / `raw_publishers` in a staging folder. A background thread fetches the next page
   while the current one is written, and only a couple of pages are ever in memory. A full harvest
   fetches everything; an incremental one (`since`, the watermark) fetches only what changed since,
   plus a cheap listing of every id so that deletions are noticed.
2. `normalise_and_publish`: normalise the raw records, compare them with the lake's current state
   (`catalog.versions`), keep only added, modified and deleted datasets as new versions, publish the
   folder atomically and mark the run complete.

Each run has a record in `harvest_runs` from its start ('running') to its end ('complete' or 'failed'),
so failed runs are as queryable as good ones, and a failure never touches the published snapshot.
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

from catalog.errors import CatalogError
from catalog.http import HttpSettings
from catalog.lake import Lake, StagedHarvest, TableWriter, new_harvest_id
from catalog.normalise import Normaliser, normaliser_for
from catalog.normalise.rows import HarvestContext
from catalog.normalise.values import json_text, loads_lenient
from catalog.portals import DatasetPage, PortalClient, client_for
from catalog.registry import Portal
from catalog.schemas import DATASETS, DISTRIBUTIONS, LISTED_IDS, PUBLISHERS, RAW_DATASETS, RAW_PUBLISHERS
from catalog.versions import classify, previous_state, tombstones

log = logging.getLogger(__name__)

MAX_WARNINGS_KEPT = 1000
SAFETY_MARGIN = timedelta(hours=1)
"""How far before the last complete harvest's start an incremental run looks (clock skew, slow indexing)."""
WORKING_FILES = ("raw_datasets", "raw_publishers", "listed_ids")
PREFETCH_PAGES = 1
NORMALISE_BATCH = 500
T = TypeVar("T")


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
    """What stage 1 hands to stage 2: a staged folder of raw records and its run."""

    staged: StagedHarvest
    run: HarvestRun


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


def fetch_raw(
    portal: Portal,
    lake: Lake,
    client: PortalClient,
    *,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> RawHarvest:
    """Stage 1: raw records of the portal into a staging folder. Raises HarvestError on failure.

    Without `since`, every dataset (a full harvest); with it, those modified since, and a listing of
    every id. If a pass saw a dataset twice, or fewer datasets than the portal last reported, offsets
    moved under it (datasets inserted or deleted mid-run, or a page served twice): one catch-up pass
    collects what was hidden, so every dataset is harvested exactly once.
    """
    if not client.incremental:
        since = None  # the portal cannot filter by modification: read everything, tell changes apart by hash
    harvest_id = new_harvest_id()
    mode = "full" if since is None else "incremental"
    run = HarvestRun(portal.id, harvest_id, portal.url, portal.software, mode=mode, since=since)
    lake.write_run(asdict(run))
    staged = lake.stage(portal.id, harvest_id)
    progress = progress or Progress(portal.id)
    try:
        seen: set[str] = set()
        with TableWriter(staged.table("raw_datasets"), RAW_DATASETS, rows_per_group=NORMALISE_BATCH) as writer:
            last_count = _write_pages(client, since, writer, seen, run, progress=progress)
            shifted = run.duplicates_dropped or (last_count is not None and run.datasets < last_count)
            if shifted and not client.single_document:
                before = run.datasets
                _write_pages(client, since, writer, seen, run, progress=None)
                run.notes.append(f"catch-up pass found {run.datasets - before} datasets the first pass missed")
        if since is None:
            complete = last_count is None or run.datasets >= last_count
            run.listed = run.datasets if complete else None
        else:
            _list_ids(client, staged, run)
        if run.listed is None:
            run.notes.append("the listing of ids was incomplete or impossible: no deletions recorded this run")
        with TableWriter(staged.table("raw_publishers"), RAW_PUBLISHERS, rows_per_group=NORMALISE_BATCH) as writer:
            for record in client.iter_publishers():
                publisher_id = client.record_id(record)
                if publisher_id:
                    row = {"portal_id": portal.id, "harvest_id": harvest_id, "publisher_id": publisher_id}
                    writer.write([row | {"raw": json_text(record)}])
    except BaseException as exc:
        _fail(lake, staged, run, client, exc)
        raise
    finally:
        progress.close()
    _count_traffic(run, client)
    if mode == "full" and run.source_count is not None and run.source_count != run.datasets:
        run.notes.append(f"portal reported {run.source_count} datasets, harvested {run.datasets}")
    lake.write_run(asdict(run))
    return RawHarvest(staged, run)


def _list_ids(client: PortalClient, staged: StagedHarvest, run: HarvestRun) -> None:
    """Every id the portal has now, into `listed_ids`; `run.listed` only if the listing is complete."""
    pages = client.iter_dataset_ids()
    if pages is None:
        return
    listed: set[str] = set()
    last_count = None
    with TableWriter(staged.table("listed_ids"), LISTED_IDS, rows_per_group=10 * NORMALISE_BATCH) as writer:
        for page in prefetched(pages):
            last_count = page.reported_count
            fresh = [r["id"] for r in page.records if isinstance(r.get("id"), str) and r["id"] not in listed]
            listed.update(fresh)
            writer.write({"portal_id": run.portal_id, "harvest_id": run.harvest_id, "dataset_id": i} for i in fresh)
    if last_count is not None and len(listed) >= last_count:
        run.listed = len(listed)


@dataclass
class _SerialisedPage:
    """A page reduced to (id, raw JSON text) pairs: a fraction of the memory of the parsed records."""

    records: list[tuple[str | None, str]]
    reported_count: int | None
    notes: list[str]


def _serialised(client: PortalClient, pages: Iterator[DatasetPage]) -> Iterator[_SerialisedPage]:
    """Runs on the fetch thread, so only compact text ever waits in the prefetch queue."""
    for page in pages:
        records = [(client.record_id(record), json_text(record)) for record in page.records]
        yield _SerialisedPage(records, page.reported_count, page.notes)


def _write_pages(
    client: PortalClient,
    since: datetime | None,
    writer: TableWriter,
    seen: set[str],
    run: HarvestRun,
    *,
    progress: Progress | None,
) -> int | None:
    """One pass over the portal's pages: write records not `seen` before. Returns the last reported count."""
    last_count = None
    for page in prefetched(_serialised(client, client.iter_dataset_pages(since))):
        run.notes.extend(note for note in page.notes if note not in run.notes)
        if page.reported_count is not None:
            last_count = page.reported_count
            if run.source_count is None:
                run.source_count = page.reported_count
        rows = []
        for dataset_id, raw in page.records:
            if dataset_id is None:
                run.warn([f"a record without id or name was dropped: {raw[:80]!r}"])
                continue
            if dataset_id in seen:
                if progress is not None:  # on the catch-up pass, everything seen is expected
                    run.duplicates_dropped += 1
                continue
            seen.add(dataset_id)
            rows.append(
                {"portal_id": run.portal_id, "harvest_id": run.harvest_id, "dataset_id": dataset_id, "raw": raw}
            )
        writer.write(rows)
        run.datasets += len(rows)
        if progress is not None:
            progress.page(len(rows), page.reported_count, run.datasets)
    return last_count


def normalise_and_publish(raw: RawHarvest, lake: Lake, portal: Portal) -> HarvestRun:
    """Stage 2: normalise the staged records, keep what changed as new versions, publish, mark complete."""
    staged, run = raw.staged, raw.run
    context = HarvestContext(portal.id, run.harvest_id, portal.url, run.started_at)
    normaliser = normaliser_for(portal.software)
    try:
        previous = previous_state(lake, portal.id)
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
                datasets.write_table(gone)
                run.deleted = gone.num_rows
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
    """Record the failure and drop the staged folder; the published snapshot is never touched."""
    lake.discard(staged)
    _count_traffic(run, client)
    run.status = "failed"
    run.finished_at = datetime.now(UTC)
    run.error = str(exc) if isinstance(exc, CatalogError) else f"{type(exc).__name__}: {exc}"
    lake.write_run(asdict(run))


def harvest_portal(
    portal: Portal,
    lake: Lake,
    *,
    full: bool = False,
    since: datetime | None = None,
    settings: HttpSettings | None = None,
    client_factory: Callable[[Portal, HttpSettings | None], PortalClient] = client_for,
    progress: Progress | None = None,
) -> HarvestRun:
    """Both stages, for the CLI and tests: the portal's catalogue, published or not at all.

    Incremental from the watermark by default (see `watermark`), full when asked or when the portal
    has never been harvested; `since` overrides the watermark.
    """
    if since is None and not full:
        since = watermark(lake, portal.id)
    client = client_factory(portal, settings)
    try:
        raw = fetch_raw(portal, lake, client, since=since, progress=progress)
    finally:
        client.close()
    return normalise_and_publish(raw, lake, portal)
