"""Normalising raw records on the machine's other cores, while the portal's next pages download.

Mapping a record to rows is pure Python (about 0.1-0.3 ms a dataset), the one part of a harvest that
is CPU-bound; the fetch waits on the network and the writes are Arrow and Parquet. So batches of raw
records go to worker processes (`Parallelism.workers`), each parsing its records once and returning
Arrow tables; the harvesting process takes the results back in the order it sent them, so the output
is the same, row for row, as normalising in one process. A batch is either records as compact JSON or a
whole page in the bytes received (`ReceivedRecords`: search pages), parsed here, not before, a record at
a time.
Such pages and all results travel as files in a spool folder on local disk (a page as received, a
result as Arrow IPC), each mapped by the process that reads it: through a pipe, pickled, a page or a
batch's rows were copied five times, each copy into freshly mapped memory, and a quarter of a
harvest's CPU went to page faults.

A small harvest is normalised in its own process: below `Parallelism.from_records` datasets, starting
processes would cost more than it saves (forked, two start in well under 0.1 s, so the threshold is
low: at 2,000 a 20k harvest spent its first second on one core). A portal that reports more gets its
workers before its first record is parsed. Workers are forked
from the harvesting process, all at once, by the thread that normalises: they share its imported
code and data copy-on-write, so together they add only what they allocate (a spawned or forkserver
worker would import everything again: about 100 MB more). The other thread then running, the
fetch, holds no lock a worker takes: a worker touches only the mappings, orjson and Arrow (which
re-initialises its thread pools after a fork). Workers ignore SIGINT, so a Ctrl-C reaches the
harvest alone, which shuts them down. A worker whose harvest ended without shutting it down (killed
with SIGKILL) exits within `PARENT_CHECK_S`, and the next harvest of the portal removes the spool
folder it left (`remove_left_spools`).
"""

from __future__ import annotations

import gc
import glob
import itertools
import logging
import mmap
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from catalog.errors import HarvestError
from catalog.harvest.heap import WORKER_HEAP_SLACK, keep_heap_slack
from catalog.lake import HARVEST_ID_PATTERN, Lake
from catalog.normalise.rows import HarvestContext, rows_table
from catalog.normalise.values import RecordTooDeepError, json_bytes, loads_lenient
from catalog.schemas import DATASETS, DISTRIBUTIONS
from catalog.sources import normaliser_for
from catalog.sources.base import ReceivedRecords
from catalog.versions import CurrentState

log = logging.getLogger(__name__)

BATCH_RECORDS = 500
BATCH_BYTES = 4 * 2**20
"""A batch sent to a worker holds at most this many records and, past the first, this much JSON:
large enough to amortise the hand-over, small enough that the batches in flight stay a few tens of
megabytes however heavy a portal's records are."""
SPOOL_PREFIX = "catalog-normalising-"
"""A spool folder is named `<SPOOL_PREFIX><portal>-<harvest>-<random>`, in the system's temporary folder."""
PARENT_CHECK_S = 0.5
"""How often a worker checks that the process that forked it is still there."""


@dataclass(frozen=True)
class Parallelism:
    """How many processes normalise a harvest's records. The defaults are what users get."""

    workers: int = 2
    """Worker processes; 0 normalises in the harvesting process."""
    from_records: int = 500
    """A portal reporting more datasets than this starts the workers before its first record is
    normalised; one that reports no count, once this many records have come (about 0.2 s of work,
    several times what forking the workers costs). A small portal never starts them. Started while the
    harvesting process has parsed nothing, the workers inherit none of the heap that parsing leaves
    behind: started after 500 records of 90 KB, each copied 40 MB of it (a harvest's peak: 320 MB
    against 230)."""
    pending_batches: int = 2
    """Batches waiting per worker: enough to keep each busy, few enough to bound memory."""

    def __post_init__(self) -> None:
        if self.workers < 0 or self.from_records < 0 or self.pending_batches < 1:
            raise ValueError(f"invalid parallelism {self}")


@dataclass
class NormalisedBatch:
    """The rows of one batch of raw records, and what normalising them noticed."""

    datasets: pa.Table
    distributions: pa.Table
    warnings: list[str] = field(default_factory=list)
    publishers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Publishers the records name (first seen first), for portals that list none of their own."""
    unstorable: dict[str, str] = field(default_factory=dict)
    """Records of a received page nested too deep to store (id: why), dropped here."""


def normalise_batch(
    software: str,
    context: HarvestContext,
    records: list[bytes] | ReceivedRecords,
    current: CurrentState | None = None,
) -> NormalisedBatch:
    """Parse and normalise a batch of raw records (in a worker, or in the harvesting process). With the
    portal's `current` state, the rows of datasets current as they are are left out (`changed_rows`);
    their warnings and the publishers they name are kept."""
    normaliser = normaliser_for(software)
    datasets, distributions, warnings, publishers, unstorable = [], [], [], {}, {}
    if isinstance(records, ReceivedRecords):
        parsed = _with_json(records, unstorable)
    else:
        parsed = ((loads_lenient(raw)[0], raw, raw) for raw in records)
    for record, compact, as_sent in parsed:
        result = normaliser.dataset(record, context, compact)
        result.dataset["raw"] = as_sent
        datasets.append(result.dataset)
        distributions.extend(result.distributions)
        warnings.extend(result.warnings)
        if result.publisher is not None:
            publishers.setdefault(result.publisher["id"], result.publisher)
    if current is not None:
        datasets, distributions = changed_rows(datasets, distributions, current)
    return NormalisedBatch(
        rows_table(datasets, DATASETS),
        rows_table(distributions, DISTRIBUTIONS),
        warnings,
        publishers,
        unstorable,
    )


def changed_rows(
    datasets: list[dict[str, Any]], distributions: list[dict[str, Any]], current: CurrentState
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of new and changed datasets and their distributions: the harvest would drop the others
    (`ChangeWriter`), and leaving them out before they become Arrow tables spares building, spooling and
    reading them back, for most datasets of a full harvest of a portal that changed little (a daily
    harvest of any portal that cannot be harvested incrementally). Kept as the harvest keeps them
    (`CurrentState.written`): a distribution goes with any kept dataset of its id."""
    unchanged = current.unchanged([row["dataset_id"] for row in datasets], [row["content_hash"] for row in datasets])
    if not any(unchanged):
        return datasets, distributions
    kept = [row for row, same in zip(datasets, unchanged, strict=True) if not same]
    kept_ids = {row["dataset_id"] for row in kept}
    return kept, [row for row in distributions if row["dataset_id"] in kept_ids]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The garbage collector off while a worker normalises a batch: parsed JSON and rows hold no
    reference cycles, and with a page's records alive each of its passes walked them all again (a 20k
    harvest: 14.0 -> 13.1 s of CPU). Whatever a normaliser does leave in a cycle (rdflib's) is collected
    after the batch. Only in workers: in the harvesting process it would pause the fetch thread's too."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class SpooledBatch:
    """A normalised batch whose tables a worker left in Arrow IPC files, for the harvesting process to map."""

    tables: tuple[Path, Path]
    warnings: list[str]
    publishers: dict[str, dict[str, Any]]
    unstorable: dict[str, str]

    def load(self) -> NormalisedBatch:
        """The batch, its tables mapped from their files, which are gone once this returns (the mappings
        stay valid until the tables are freed)."""
        datasets, distributions = (_mapped(path) for path in self.tables)
        return NormalisedBatch(datasets, distributions, self.warnings, self.publishers, self.unstorable)


@dataclass(frozen=True)
class SpooledPage:
    """A received page on its way to a worker: its body left in a file, the rest as `ReceivedRecords`."""

    path: Path
    at: tuple[str, ...]
    positions: list[int]
    ids: list[str | None]


_spool_names = itertools.count()
_current: CurrentState | None = None
"""In a worker, the portal's current state, from the harvest that forked it (`_start_worker`)."""


def normalise_into(
    folder: Path, software: str, context: HarvestContext, records: list[bytes] | SpooledPage
) -> SpooledBatch:
    """`normalise_batch` in a worker, reading a spooled page from its file (mapped, not copied), its
    tables left in `folder` for the harvesting process to map."""
    with _collector_paused():
        if isinstance(records, SpooledPage):
            with _mapped_bytes(records.path) as body:
                page = ReceivedRecords(body, records.at, records.positions, records.ids)
                batch = normalise_batch(software, context, page, _current)
        else:
            batch = normalise_batch(software, context, records, _current)
    stem = f"{os.getpid()}-{next(_spool_names)}"
    paths = (folder / f"{stem}-datasets.arrow", folder / f"{stem}-distributions.arrow")
    for table, path in zip((batch.datasets, batch.distributions), paths, strict=True):
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return SpooledBatch(paths, batch.warnings, batch.publishers, batch.unstorable)


@contextmanager
def _mapped_bytes(path: Path) -> Iterator[memoryview]:
    """A file's bytes, mapped for as long as the block runs; the file is gone afterwards."""
    try:
        if path.stat().st_size == 0:  # mmap refuses an empty file
            yield memoryview(b"")
            return
        with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                yield view
            finally:
                view.release()
    finally:
        path.unlink(missing_ok=True)


def _mapped(path: Path) -> pa.Table:
    table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
    path.unlink()
    return table


def _with_json(page: ReceivedRecords, unstorable: dict[str, str]) -> Iterator[tuple[Any, bytes, bytes]]:
    """A received page's records, parsed, each with its compact JSON (`json_bytes`, what the content
    hash reads) and the bytes its row's `raw` keeps: the record as the portal sent it, cut from the page
    (`ReceivedRecords.as_sent`), or where it cannot be cut, the compact JSON. A record nested too deep
    to serialise goes to `unstorable` instead.

    Records cut from the page are parsed one by one, not the whole page at once: a worker's memory
    follows its rows, not the size of the page it was handed."""
    as_sent = page.as_sent()
    parsed = iter(page) if as_sent is None else (loads_lenient(source)[0] for source in as_sent)
    for index, (dataset_id, record) in enumerate(zip(page.ids, parsed, strict=True)):
        try:
            compact = json_bytes(record)
        except RecordTooDeepError as exc:
            unstorable[str(dataset_id)] = exc.warning(dataset_id)
            continue
        yield record, compact, compact if as_sent is None else as_sent[index]


def batches(raws: list[bytes]) -> Iterator[list[bytes]]:
    """`raws` cut into batches of at most BATCH_RECORDS records and (past a batch's first) BATCH_BYTES."""
    batch: list[bytes] = []
    size = 0
    for raw in raws:
        if batch and (len(batch) == BATCH_RECORDS or size + len(raw) > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(raw)
        size += len(raw)
    if batch:
        yield batch


def _start_worker(parent: int, current: CurrentState | None) -> None:
    """Keep the portal's `current` state, handed over by the fork itself (not pickled: it holds every
    current id). Ignore SIGINT (the harvest shuts its workers down), and exit once `parent`, the harvesting
    process, is gone. Leave what the fork inherited out of the garbage collector's full passes: a worker
    allocates millions of short-lived objects, and each full pass would otherwise walk every imported
    module's too. Keep more of the heap a batch frees than the harvesting process does
    (`catalog.harvest.heap`)."""
    global _current  # noqa: PLW0603 - a worker process serves one harvest, set once as it starts
    _current = current
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_without, args=(parent,), name="parent-check", daemon=True).start()
    gc.freeze()
    keep_heap_slack(WORKER_HEAP_SLACK)


def _exit_without(parent: int) -> None:
    """Exit the worker once the process that forked it has ended: a harvest killed with SIGKILL never
    shuts its workers down, and they waited forever for another batch, each holding its memory and a
    copy of the harvest's connections and open files. An orphan's parent is another process, so the
    check is portable (`os.getppid`) and immune to a pid being reused."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def left_spools(lake: Lake, portal_id: str, folder: Path | None = None) -> list[Path]:
    """The spool folders in the temporary folder of harvests of `portal_id` that `lake` has a record of.
    Under the portal's lock no process runs any of them: they were left by harvests killed before they
    could remove them (each holds pages and results, tens of megabytes). Another lake's harvests of a
    portal by the same id are not among them."""
    prefix = f"{SPOOL_PREFIX}{portal_id}-"
    return [
        path
        for path in sorted(Path(folder or tempfile.gettempdir()).glob(f"{glob.escape(prefix)}*"))
        if path.is_dir() and _is_harvest_of(lake, portal_id, path.name.removeprefix(prefix).rpartition("-")[0])
    ]  # the random suffix has no "-"


def _is_harvest_of(lake: Lake, portal_id: str, harvest_id: str) -> bool:
    return bool(HARVEST_ID_PATTERN.fullmatch(harvest_id)) and lake.has_run(portal_id, harvest_id)


def remove_left_spools(lake: Lake, portal_id: str, folder: Path | None = None) -> int:
    """Remove `left_spools`; only under the portal's lock. Returns how many were removed."""
    removed = 0
    for path in left_spools(lake, portal_id, folder):
        shutil.rmtree(path, ignore_errors=True)
        removed += not path.exists()
    return removed


class Normalising:
    """Batches of raw records in, normalised batches handed to `take` in the order they were sent.

    Use as a context manager: leaving it normally takes every batch; leaving it on an error drops what
    is pending. Either way the workers have exited when it is left (a batch takes well under a second).
    """

    def __init__(
        self,
        software: str,
        context: HarvestContext,
        take: Callable[[NormalisedBatch], None],
        parallelism: Parallelism | None = None,
        *,
        current: CurrentState | None = None,
        spool_in: Path | None = None,
    ) -> None:
        """`current`: the portal's current state, if its unchanged datasets' rows are to be left out
        (`changed_rows`). `spool_in`: where the spool folder goes; the system's temporary folder by
        default (local disk: the lake's own may be a network share, where every page would travel to the
        server and back)."""
        self.software = software
        self.context = context
        self.current = current
        self.take = take
        self.parallelism = parallelism or Parallelism()
        self.records = 0
        self.executor: Executor | None = None
        self.spool_in = spool_in
        self.spool_folder: tempfile.TemporaryDirectory[str] | None = None
        self.pending: deque[Future[SpooledBatch]] = deque()

    def submit(self, records: list[bytes] | ReceivedRecords, reported: int | None = None) -> None:
        """Normalise these records; blocks while the workers are a full queue behind. `reported`: how
        many datasets the portal says it has, if it says."""
        for batch in [records] if isinstance(records, ReceivedRecords) else batches(records):
            self.records += len(batch)
            expected = max(self.records, reported or 0)
            if self.executor is None and self.parallelism.workers and expected > self.parallelism.from_records:
                log.info(
                    "%s: %s datasets or more, normalising in %d worker processes",
                    self.context.portal_id,
                    f"{expected:,}",
                    self.parallelism.workers,
                )
                self.executor = self._start()
            if self.executor is None:
                self.take(normalise_batch(self.software, self.context, batch, self.current))
                continue
            with self._failures_said():
                work = self._spooled(batch) if isinstance(batch, ReceivedRecords) else batch
            with self._failures_said(starting=True):  # the first submit forks the workers
                self.pending.append(self.executor.submit(normalise_into, self.spool, self.software, self.context, work))
            while len(self.pending) > self.parallelism.workers * self.parallelism.pending_batches:
                self._take_first()

    @property
    def spool(self) -> Path:
        """The folder where pages and results wait for the process that reads them (workers started)."""
        if self.spool_folder is None:
            raise RuntimeError("no spool before the workers start")
        return Path(self.spool_folder.name)

    def _spooled(self, page: ReceivedRecords) -> SpooledPage:
        path = self.spool / f"page-{next(_spool_names)}.json"
        path.write_bytes(page.body)
        return SpooledPage(path, page.at, page.positions, page.ids)

    def finish(self) -> None:
        """Take every batch still in the workers."""
        while self.pending:
            self._take_first()

    def _take_first(self) -> None:
        with self._failures_said():
            batch = self.pending.popleft().result().load()
        self.take(batch)

    @contextmanager
    def _failures_said(self, *, starting: bool = False) -> Iterator[None]:
        """What fails in the workers or their spool, said as a harvest error naming it, in one line,
        rather than as concurrent.futures' traceback or a bare errno. A worker that died (the kernel's
        out-of-memory killer picks the largest process) or whose start-up failed breaks the pool; the
        system may refuse to fork one (`starting`); a temporary folder that is full or refuses a file
        fails the spool, where the harvest writes pages and its workers their results."""
        in_one_process = "`catalog harvest --normalise-workers 0` normalises in the harvest's own process"
        try:
            yield
        except BrokenProcessPool as exc:
            raise HarvestError(
                f"normalising {self.context.portal_id}",
                "a worker process ended abruptly or failed to start (killed by a signal, perhaps by the "
                f"system for lack of memory); {in_one_process}",
            ) from exc
        except OSError as exc:
            if starting:
                where, cause = f"normalising {self.context.portal_id}", f"no worker process: {exc}; {in_one_process}"
            else:
                where, cause = f"spool folder {self.spool}", f"{exc} (TMPDIR sets where it goes)"
            raise HarvestError(where, cause) from exc

    def _start(self) -> ProcessPoolExecutor:
        gc.freeze()  # see `_start_worker`; here, so that the harvest's own collections leave shared pages shared
        self.spool_folder = tempfile.TemporaryDirectory(
            prefix=f"{SPOOL_PREFIX}{self.context.portal_id}-{self.context.harvest_id}-",
            dir=self.spool_in,
            ignore_cleanup_errors=True,
        )
        context = multiprocessing.get_context("fork")
        return ProcessPoolExecutor(
            self.parallelism.workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(), self.current),
        )

    def __enter__(self) -> Normalising:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                self.finish()
        finally:
            if self.executor is not None:
                self.executor.shutdown(wait=True, cancel_futures=True)
                gc.unfreeze()
            if self.spool_folder is not None:
                self.spool_folder.cleanup()
