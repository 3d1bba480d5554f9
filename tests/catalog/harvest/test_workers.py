"""Normalising in worker processes: the same rows as in one process, memory bounded per batch, and a
failure stops the workers and publishes nothing."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.errors import HarvestError
from catalog.harvest import Parallelism, changes, harvest_portal, workers
from catalog.harvest.workers import (
    BATCH_BYTES,
    BATCH_RECORDS,
    SPOOL_PREFIX,
    Normalising,
    batches,
    changed_rows,
    normalise_batch,
    remove_left_spools,
)
from catalog.lake import Lake
from catalog.normalise.rows import HarvestContext
from catalog.normalise.values import json_bytes
from catalog.sources.base import FIRST_PAGE_ROWS, ReceivedRecords
from catalog.versions import CurrentState
from tests.conftest import FAST, portal_at, real_packages
from tests.hostile import ckan_envelope
from tests.recorded import multiplied

IN_ONE_PROCESS = Parallelism(workers=0)
ALWAYS_PARALLEL = Parallelism(workers=2, from_records=0, pending_batches=1)
PER_HARVEST = {"harvest_id", "harvested_at"}
CONTEXT = HarvestContext("p", "h", "https://data.example.org", datetime(2026, 1, 1, tzinfo=UTC))


def harvested_table(lake: Lake, run, table: str) -> pa.Table:
    """A harvest's table without the columns that differ from one harvest to the next."""
    data = pq.read_table(lake.harvest_path(run.portal_id, run.harvest_id) / f"{table}.parquet")
    return data.drop_columns([name for name in data.column_names if name in PER_HARVEST])


def test_workers_write_exactly_what_one_process_writes(serve, tmp_path) -> None:
    packages = multiplied(real_packages(), 1_234)
    portal = serve(packages)
    runs = {}
    for name, parallelism in (("one", IN_ONE_PROCESS), ("workers", ALWAYS_PARALLEL)):
        lake = Lake(tmp_path / name)
        runs[name] = (lake, harvest_portal(portal_at(portal.url), lake, settings=FAST, parallelism=parallelism))
    for table in ("datasets", "distributions", "publishers"):
        one, workers = (harvested_table(lake, run, table) for lake, run in runs.values())
        assert one.num_rows > 0 and workers.equals(one), table
    one, workers = (run for _, run in runs.values())
    assert (workers.datasets, workers.distributions, workers.publishers) == (1_234, one.distributions, 6)
    assert (workers.added, workers.warnings) == (one.added, one.warnings)


def test_a_page_in_its_bytes_normalises_as_its_records_serialised() -> None:
    """Every recorded CKAN record, left in a page's bytes (spaced as a portal may send them) or sent as
    compact JSON: the same rows and content hashes; `raw` is the record's bytes as the page has them."""
    packages = real_packages()
    page = received_page(packages)
    received = normalise_batch("ckan", CONTEXT, page)
    serialised = normalise_batch("ckan", CONTEXT, [json_bytes(package) for package in packages])
    assert received.datasets.num_rows == len(packages)
    assert received.datasets.drop_columns(["raw"]).equals(serialised.datasets.drop_columns(["raw"]))
    assert received.datasets["raw"].to_pylist() == [indented(package).decode() for package in packages]
    assert received.distributions.num_rows > 0 and received.distributions.equals(serialised.distributions)
    assert (received.warnings, received.publishers) == (serialised.warnings, serialised.publishers)
    assert received.unstorable == serialised.unstorable == {}


def test_a_full_reharvest_in_workers_leaves_unchanged_datasets_there_and_writes_what_one_process_writes(
    serve, tmp_path, monkeypatch
) -> None:
    """1,234 datasets, then 3 edited, 1 added and 1 removed: the second full harvest's workers hand back
    only the rows of the 4 new or changed datasets (the harvest took 1,234 and 1,234 then), and both
    harvests write, count and warn exactly as in one process, and as workers that leave nothing out."""
    packages = multiplied(real_packages(), 1_235)
    portal = serve(packages[:1_234])
    taken_rows: list[int] = []
    take = changes.ChangeWriter.take

    def counted(writer, batch) -> None:
        taken_rows.append(batch.datasets.num_rows)
        take(writer, batch)

    monkeypatch.setattr(changes.ChangeWriter, "take", counted)
    runs: dict[str, list] = {"one": [], "workers": [], "leaving nothing out": []}
    for step in ("first", "second"):
        if step == "second":
            for index in (5, 600, 1_200):
                portal.catalogue.update(dict(packages[index], title=f"Edited {index}"))
            portal.catalogue.add(packages[1_234])
            portal.catalogue.remove(packages[7]["id"])
        for name, parallelism in zip(runs, (IN_ONE_PROCESS, ALWAYS_PARALLEL, ALWAYS_PARALLEL), strict=True):
            lake = Lake(tmp_path / name)
            taken_rows.clear()
            with monkeypatch.context() as patched:
                if name == "leaving nothing out":  # the workers, forked during the harvest, inherit it
                    patched.setattr(
                        workers, "changed_rows", lambda datasets, distributions, _: (datasets, distributions)
                    )
                run = harvest_portal(portal_at(portal.url), lake, settings=FAST, parallelism=parallelism, full=True)
            runs[name].append((lake, run, sum(taken_rows)))
    assert [taken for _, _, taken in runs["workers"]] == [1_234, 4] and runs["one"][1][2] == 4
    assert runs["leaving nothing out"][1][2] == 1_234
    lake, reharvest, _ = runs["workers"][1]
    assert (reharvest.datasets, reharvest.added, reharvest.modified, reharvest.deleted) == (1_234, 1, 3, 1)
    changed = [packages[index] for index in (5, 600, 1_200, 1_234)]
    assert reharvest.distributions == sum(len(package["resources"]) for package in changed) > 0
    counts = ("added", "modified", "deleted", "distributions", "publishers", "warnings")
    for other in ("one", "leaving nothing out"):
        other_lake, expected, _ = runs[other][1]
        assert [getattr(reharvest, name) for name in counts] == [getattr(expected, name) for name in counts], other
        for table in ("datasets", "distributions", "publishers"):
            written = harvested_table(other_lake, expected, table)
            assert written.num_rows > 0 and harvested_table(lake, reharvest, table).equals(written), (other, table)


IDS = st.one_of(st.none(), st.sampled_from("abcdef"))
HASHES = st.one_of(st.none(), st.sampled_from("12"))
ROWS = pa.schema(
    [("dataset_id", pa.string()), ("content_hash", pa.string()), ("change", pa.string()), ("n", pa.int64())]
)
DISTRIBUTION_ROWS = pa.schema([("dataset_id", pa.string()), ("n", pa.int64())])


@settings(max_examples=300, deadline=None)
@given(
    previous=st.lists(st.tuples(IDS, HASHES), max_size=6),
    datasets=st.lists(st.tuples(IDS, HASHES), max_size=8),
    distributions=st.lists(IDS, max_size=10),
)
def test_leaving_unchanged_rows_out_early_writes_exactly_what_the_harvest_would(previous, datasets, distributions):
    """Ids repeated within a batch, missing ids, hashes missing on either side, distributions of no dataset
    of the batch: a batch's rows less `changed_rows` write what the whole batch writes."""
    ids, hashes = [dataset_id for dataset_id, _ in previous], [value for _, value in previous]
    state = {"dataset_id": pa.array(ids, pa.string()), "content_hash": pa.array(hashes, pa.string())}
    current = CurrentState.of(pa.table(state))
    rows = [{"dataset_id": i, "content_hash": h, "change": None, "n": n} for n, (i, h) in enumerate(datasets)]
    parts = [{"dataset_id": i, "n": n} for n, i in enumerate(distributions)]
    whole = current.written(pa.Table.from_pylist(rows, ROWS), pa.Table.from_pylist(parts, DISTRIBUTION_ROWS))
    kept_rows, kept_parts = changed_rows(rows, parts, current)
    early = current.written(pa.Table.from_pylist(kept_rows, ROWS), pa.Table.from_pylist(kept_parts, DISTRIBUTION_ROWS))
    assert early[0].equals(whole[0]) and early[1].equals(whole[1])


def test_a_batch_normalised_against_the_current_state_leaves_out_what_is_current() -> None:
    """Real records: the rows of the datasets current as they are (same id, same hash) are left out with
    their distributions; new and changed ones stay, with every record's warnings and publishers."""
    serialised = [json_bytes(package) for package in real_packages()]
    whole = normalise_batch("ckan", CONTEXT, serialised)
    ids, hashes = whole.datasets["dataset_id"].to_pylist(), whole.datasets["content_hash"].to_pylist()
    previous = pa.table({"dataset_id": ids[:4], "content_hash": [*hashes[:3], "0" * 32]})
    batch = normalise_batch("ckan", CONTEXT, serialised, CurrentState.of(previous))
    assert batch.datasets.equals(whole.datasets.slice(3))
    kept = whole.distributions.filter(pa.compute.is_in(whole.distributions["dataset_id"], pa.array(ids[3:])))
    assert 0 < kept.num_rows < whole.distributions.num_rows and batch.distributions.equals(kept)
    assert (batch.warnings, batch.publishers) == (whole.warnings, whole.publishers)


def indented(package: dict) -> bytes:
    return orjson.dumps(package, option=orjson.OPT_INDENT_2)


def received_page(packages: list[dict]) -> ReceivedRecords:
    """A CKAN search page holding `packages`, indented as a portal may send it, left in its bytes."""
    listed = b",\n  ".join(map(indented, packages))
    body = ckan_envelope(b'{"count": %d, "results": [%s]}' % (len(packages), listed))
    return ReceivedRecords(body, ("result", "results"), list(range(len(packages))), [p["id"] for p in packages])


def test_pages_and_results_reach_and_leave_the_workers_through_a_spool_gone_afterwards(tmp_path) -> None:
    """Workers read pages from files and leave their tables in files: the rows are those of one process,
    and the spool folder, in the folder it was given (a harvest's staging folder), is gone afterwards."""
    packages = real_packages()
    serialised = [json_bytes(package) for package in packages]
    taken = []
    with Normalising("ckan", CONTEXT, taken.append, ALWAYS_PARALLEL, spool_in=tmp_path) as normalising:
        normalising.submit(received_page(packages))
        normalising.submit(serialised)
        assert normalising.spool.parent == tmp_path
    assert list(tmp_path.iterdir()) == []
    in_one_process = [normalise_batch("ckan", CONTEXT, records) for records in (received_page(packages), serialised)]
    assert len(taken) == 2 and in_one_process[0].datasets.num_rows == len(packages)
    for batch, expected in zip(taken, in_one_process, strict=True):
        assert batch.datasets.equals(expected.datasets) and batch.distributions.equals(expected.distributions)
        assert (batch.warnings, batch.publishers) == (expected.warnings, expected.publishers)


def test_a_failure_while_batches_wait_in_the_spool_leaves_nothing_in_it(tmp_path) -> None:
    """The harvest's `take` fails on the first batch back, with pages and results still waiting as files."""
    packages = real_packages()

    def take(_batch) -> None:
        raise OSError("disk full")

    normalising = Normalising("ckan", CONTEXT, take, Parallelism(workers=2, from_records=0), spool_in=tmp_path)
    with pytest.raises(OSError, match="disk full"), normalising as work:
        for _ in range(6):
            work.submit(received_page(packages))
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_the_shipped_parallelism_starts_workers_before_a_large_portals_first_record(
    serve, lake, caplog, monkeypatch
) -> None:
    """The portal reports 2,100 datasets on its first page: every record is normalised in a worker, none
    in the harvesting process (whose heap the workers would otherwise inherit)."""
    in_this_process = []

    def counted(software, context, records, current=None):
        in_this_process.append(len(records))
        return normalise_batch(software, context, records, current)

    monkeypatch.setattr(workers, "normalise_batch", counted)  # the workers, forked later, count in their own copy
    portal = serve(multiplied(real_packages(), 2_100))
    with caplog.at_level(logging.INFO, logger="catalog.harvest.workers"):
        run = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (run.status, run.datasets) == ("complete", 2_100)
    assert "test-portal: 2,100 datasets or more, normalising in 2 worker processes" in caplog.messages
    assert in_this_process == []
    assert multiprocessing.active_children() == []


def test_records_of_a_portal_that_reports_no_count_start_workers_past_five_hundred(caplog) -> None:
    taken = []
    with (
        caplog.at_level(logging.INFO, logger="catalog.harvest.workers"),
        Normalising("ckan", CONTEXT, taken.append) as normalising,
    ):
        for _ in range(3):
            normalising.submit([json_bytes(package) for package in multiplied(real_packages(), 200)])
    assert "p: 600 datasets or more, normalising in 2 worker processes" in caplog.messages
    assert sum(batch.datasets.num_rows for batch in taken) == 600
    assert multiprocessing.active_children() == []


def test_a_small_portal_starts_no_worker(serve, lake, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="catalog.harvest.workers"):
        harvest_portal(portal_at(serve(real_packages()).url), lake, settings=FAST)
    assert not [message for message in caplog.messages if "worker processes" in message]


def test_a_failure_while_workers_run_stops_them_and_publishes_nothing(serve, lake) -> None:
    portal = serve(multiplied(real_packages(), 900))
    portal.options.intercept = lambda action, params: (
        (404, b"gone", "text/plain") if action == "package_search" and int(params["start"]) >= 500 else None
    )
    with pytest.raises(HarvestError, match="package_search: HTTP 404"):
        harvest_portal(portal_at(portal.url), lake, settings=FAST, parallelism=ALWAYS_PARALLEL)
    assert multiprocessing.active_children() == []
    assert lake.runs("test-portal")[0]["status"] == "failed"
    assert list(lake.table_files("datasets")) == []


def test_a_worker_killed_mid_harvest_fails_it_in_one_line_and_publishes_nothing(serve, lake) -> None:
    """The kernel's out-of-memory killer picks the largest process, often a worker: the harvest fails
    with a harvest error saying so (not concurrent.futures' traceback), and its other worker is gone."""
    portal = serve(multiplied(real_packages(), 900))
    before, killed = set(multiprocessing.active_children()), []

    def kill_a_worker(action, params) -> None:
        if action == "package_search" and int(params["start"]) >= 500 and not killed:
            # the portal runs in the harvest's process: its children are the harvest's workers
            killed.append(next(iter(set(multiprocessing.active_children()) - before)).pid)
            os.kill(killed[0], signal.SIGKILL)

    portal.options.intercept = kill_a_worker
    with pytest.raises(HarvestError, match=r"^normalising test-portal: a worker process ended abruptly or failed"):
        harvest_portal(portal_at(portal.url), lake, settings=FAST, parallelism=ALWAYS_PARALLEL)
    assert len(killed) == 1 and multiprocessing.active_children() == []
    run = lake.runs("test-portal")[0]
    assert run["status"] == "failed" and run["error"].startswith("normalising test-portal: a worker process")
    assert list(lake.table_files("datasets")) == []


def test_a_system_that_refuses_to_fork_the_workers_fails_the_harvest_saying_so(tmp_path, monkeypatch) -> None:
    """Not as a spool error, nor as a bare errno: at its limit of processes, the system refuses the fork."""

    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    refusal = r"^normalising p: no worker process: \[Errno 11\] Resource temporarily unavailable; `catalog harvest"
    with (
        pytest.raises(HarvestError, match=refusal),
        Normalising("ckan", CONTEXT, [].append, ALWAYS_PARALLEL, spool_in=tmp_path) as normalising,
    ):
        normalising.submit([json_bytes(package) for package in real_packages()])
    assert list(tmp_path.iterdir()) == [] and multiprocessing.active_children() == []


def test_only_spool_folders_of_the_lakes_own_runs_of_the_portal_are_removed(lake, tmp_path) -> None:
    """Names are `<prefix><portal>-<harvest>-<random>`; portal ids may hold `-`, harvest ids do."""
    ours, another_lakes = "20260101T000000000000Z-ab12", "20260101T000000000000Z-cd34"
    for portal_id in ("p", "p-x"):
        lake.write_run({"portal_id": portal_id, "harvest_id": ours, "status": "failed"})
    temporary = tmp_path / "tmp"
    names = [
        f"{SPOOL_PREFIX}p-{ours}-k2j_x9a1",  # left by a killed harvest of this lake's portal `p`
        f"{SPOOL_PREFIX}p-{another_lakes}-q8r7s6t5",  # another lake's harvest of a portal also called `p`
        f"{SPOOL_PREFIX}p-x-{ours}-a1b2c3d4",  # this lake's portal `p-x`
        "unrelated-folder",
    ]
    for name in names:
        (temporary / name).mkdir(parents=True)
        (temporary / name / "page-1.json").write_bytes(b"{}")
    assert remove_left_spools(lake, "p", temporary) == 1
    assert sorted(path.name for path in temporary.iterdir()) == sorted(names[1:])


def test_batches_hold_so_many_records_and_so_many_bytes() -> None:
    light = [b"x" * 100] * (2 * BATCH_RECORDS + 1)
    assert [len(batch) for batch in batches(light)] == [BATCH_RECORDS, BATCH_RECORDS, 1]
    heavy = [b"x" * (BATCH_BYTES // 3)] * 7
    assert [len(batch) for batch in batches(heavy)] == [3, 3, 1]
    assert [len(batch) for batch in batches([b"x" * 2 * BATCH_BYTES, b"y"])] == [1, 1]  # one huge record alone


def test_pages_are_sized_by_bytes_so_heavy_records_come_in_fewer_rows(serve, lake) -> None:
    """Records ten times heavier (ten times the resources) are asked for in about a tenth of the rows."""
    light = multiplied(real_packages(), 3_000)
    heavy = [dict(record, resources=record["resources"] * 10) for record in light]
    asked = {}
    for name, packages in (("light", light), ("heavy", heavy)):
        portal = serve(packages)
        harvest_portal(portal_at(portal.url, portal_id=name), lake, settings=FAST, parallelism=IN_ONE_PROCESS)
        asked[name] = [
            int(parse_qs(urlsplit(path).query)["rows"][0]) for path, _ in portal.server.log if "package_search" in path
        ]
    assert asked["light"][0] == asked["heavy"][0] == FIRST_PAGE_ROWS  # the first page: nothing known yet
    light_rows, heavy_rows = asked["light"][1], asked["heavy"][1]
    assert 70 <= light_rows <= 1000 and 4 <= light_rows / heavy_rows <= 12
