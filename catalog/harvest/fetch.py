"""Reading a portal's datasets: the passes over its pages, the listing of its ids, and healing.

Pages come through a background thread (`prefetched`) as compact as they can travel: a page whose
records the client left in the bytes received (`ReceivedRecords`) goes on as those bytes, to be parsed
once by whoever normalises it; parsed records are reduced to (id, compact JSON) pairs on that thread. A
record is handed on once, however many passes or pages show it; a record too deep to store is dropped
with one warning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.harvest.limits import Budget
from catalog.harvest.prefetch import prefetched
from catalog.harvest.progress import Progress
from catalog.lake import StagedHarvest, TableWriter
from catalog.normalise.values import RecordTooDeepError, json_bytes
from catalog.runs import HarvestRun
from catalog.schemas import LISTED_IDS, RAW_PUBLISHERS
from catalog.sources.base import DatasetPage, IncrementalClient, PortalClient, ReceivedRecords
from catalog.versions import SeenIds

HEAL_ONE_BY_ONE = 50
"""Up to this many listed datasets missing from the lake are fetched one by one; more, by a full pass."""
LISTED_IDS_PER_GROUP = 5_000
PUBLISHERS_PER_CHECK = 100


Serialised = list[tuple[str | None, bytes]]
"""(dataset id, the record as compact JSON: `json_bytes`) pairs."""
Unparsed = list[bytes] | ReceivedRecords
"""Records on their way to normalisation: compact JSON, or a page's records in the bytes received."""


@dataclass
class SerialisedPage:
    """A page reduced to (id, compact JSON) pairs, or left in its bytes: a fraction of the memory of the
    parsed records."""

    records: Serialised | ReceivedRecords
    reported_count: int | None
    notes: list[str]
    dropped: dict[str, str]
    """Records dropped as unstorable: their id (or a placeholder) and why."""
    one_document: bool


class Fetch:
    """One fetch of a portal's datasets: its passes share the run, the budget and the ids seen, and hand
    every record not seen before, as compact JSON, to `normalise`, with the count the portal first reported."""

    def __init__(
        self,
        client: PortalClient,
        run: HarvestRun,
        budget: Budget,
        normalise: Callable[[Unparsed, int | None], None],
    ) -> None:
        self.client = client
        self.run = run
        self.budget = budget
        self.normalise = normalise
        self.seen = SeenIds()
        self.dropped: set[str] = set()
        self.read_one_document = False
        """The last pass read the catalogue as one document: offsets cannot have shifted under it."""

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
        run, last_count, one_document = self.run, None, True
        for page in prefetched(self._serialised(self.client.iter_dataset_pages(since))):
            one_document = one_document and page.one_document
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
        self.read_one_document = one_document
        return last_count

    def list_ids(self, staged: StagedHarvest) -> None:
        """Every id the portal has now, into `listed_ids`; `run.listed` only if the listing is complete."""
        if not isinstance(self.client, IncrementalClient):
            return
        pages = self.client.iter_dataset_ids()
        run, listed, last_count = self.run, set[str](), None
        with TableWriter(staged.table("listed_ids"), LISTED_IDS, rows_per_group=LISTED_IDS_PER_GROUP) as writer:
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
        if self.run.listed is None or not isinstance(self.client, IncrementalClient):
            return
        listed = pq.read_table(staged.table("listed_ids"), columns=["dataset_id"]).column(0).combine_chunks()
        absent = listed.filter(pc.invert(pc.is_in(listed, value_set=previous["dataset_id"])))
        missing = absent.filter(self.seen.unseen(absent)).to_pylist()
        if not missing:
            return
        before = self.run.datasets
        if len(missing) <= HEAL_ONE_BY_ONE:
            for dataset_id in missing:
                records, dropped = serialise(self.client, [self.client.fetch_dataset(dataset_id)])
                self._drop(dropped)
                self._write(records, count_duplicates=True)
                self.budget.check_time()
            how = "one by one"
        else:
            self.pages(None, None)
            how = "by reading the whole catalogue"
        fetched = self.run.datasets - before
        self.run.notes.append(f"{len(missing)} listed datasets were missing from the lake: fetched {fetched} {how}")

    def _serialised(self, pages: Iterator[DatasetPage]) -> Iterator[SerialisedPage]:
        """Runs on the fetch thread, so only compact text or bytes ever wait in the prefetch queue."""
        for page in pages:
            records, dropped = page.records, {}
            if not isinstance(records, ReceivedRecords):
                records, dropped = serialise(self.client, records)
            yield SerialisedPage(records, page.reported_count, page.notes, dropped, page.one_document)

    def _write(self, records: Serialised | ReceivedRecords, *, count_duplicates: bool) -> int:
        """Write records not seen before; returns how many were new."""
        received = isinstance(records, ReceivedRecords)
        ids = records.ids if received else [dataset_id for dataset_id, _ in records]
        run, kept = self.run, []
        for position, (dataset_id, new) in enumerate(zip(ids, self.seen.add(ids), strict=True)):
            if dataset_id is None:
                start = None if received else records[position][1][:80].decode(errors="replace")
                what = f"record {position} of a page" if start is None else repr(start)
                run.warn([f"a record without id or name was dropped: {what}"])
            elif not new:
                run.duplicates_dropped += count_duplicates
            else:
                kept.append(position if received else records[position][1])
        if kept:
            self.normalise(records.keeping(kept) if received else kept, self.run.source_count)
        run.datasets += len(kept)
        return len(kept)

    def unstorable(self, dropped: dict[str, str]) -> None:
        """Records a worker found too deep to store after they were counted: dropped as `serialise` drops
        them, so the counts and the listing stay those of the records stored."""
        fresh = {key: dropped[key] for key in self.seen.discard(list(dropped))}
        self.run.datasets -= len(fresh)
        self._drop(fresh)


def serialise(client: PortalClient, records: Iterable[dict[str, Any]]) -> tuple[Serialised, dict[str, str]]:
    """(id, compact JSON) of each record; a record nested too deep to store is dropped, with a warning."""
    serialised, dropped = [], {}
    for record in records:
        record_id = client.record_id(record)
        try:
            serialised.append((record_id, json_bytes(record)))
        except RecordTooDeepError as exc:
            key = record_id or f"record {len(dropped)} of a page"
            dropped[key] = exc.warning(record_id)
    return serialised, dropped


def fetch_publishers(client: PortalClient, run: HarvestRun, budget: Budget, staged: StagedHarvest) -> None:
    """The publishers the portal lists, as compact JSON, into `raw_publishers` (few: kept apart from datasets)."""
    with TableWriter(staged.table("raw_publishers"), RAW_PUBLISHERS, rows_per_group=LISTED_IDS_PER_GROUP) as writer:
        for count, record in enumerate(client.iter_publishers(), start=1):
            publisher_id = client.record_id(record)
            if publisher_id:
                row = {"portal_id": run.portal_id, "harvest_id": run.harvest_id, "publisher_id": publisher_id}
                writer.write([row | {"raw": json_bytes(record)}])
            if count % PUBLISHERS_PER_CHECK == 0:
                budget.publishers(count)
