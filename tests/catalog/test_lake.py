"""The lake writer: names that become paths are validated; publishing is one rename."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.errors import LakeError, RegistryError
from catalog.lake import Lake, TableWriter, lock_holder, new_harvest_id, resolve_lake
from catalog.normalise.values import json_text
from catalog.schemas import LISTED_IDS, RAW_PUBLISHERS
from tests.conftest import real_packages
from tests.recorded import multiplied


@pytest.mark.parametrize("harvest_id", ["../../etc", "20260101T000000000000Z-zzzz", "", "a/b"])
def test_harvest_ids_that_could_escape_the_lake_are_rejected(lake, harvest_id) -> None:
    with pytest.raises(LakeError, match="invalid harvest id"):
        lake.harvest_path("p", harvest_id)
    with pytest.raises(LakeError):
        lake.stage("p", harvest_id)


def test_portal_ids_that_could_escape_the_lake_are_rejected(lake) -> None:
    with pytest.raises(RegistryError):
        lake.stage("../outside", new_harvest_id())


def test_staged_harvest_is_invisible_until_published(lake) -> None:
    staged = lake.stage("p", new_harvest_id())
    with TableWriter(staged.table("listed_ids"), LISTED_IDS, rows_per_group=2) as writer:
        for index in range(5):  # a page at a time, as the harvest writes
            writer.write([{"portal_id": "p", "harvest_id": staged.harvest_id, "dataset_id": str(index)}])
    assert list(lake.table_files("listed_ids")) == []
    published = lake.publish(staged)
    assert [str(Path(path).parent) for path in lake.table_files("listed_ids")] == [published]
    metadata = pq.read_metadata(Path(published) / "listed_ids.parquet")
    assert (metadata.num_rows, metadata.num_row_groups) == (5, 3)
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert not (lake.root / "_staging" / "p").exists()


def test_raw_json_is_written_without_dictionary_or_statistics(tmp_path) -> None:
    """No two records' JSON is alike: a dictionary of it is wasted work, its min/max useless for pruning."""
    path = tmp_path / "raw_publishers.parquet"
    rows = [
        {"portal_id": "p", "harvest_id": "h", "publisher_id": f"org-{i % 3}", "raw": f'{{"id": {i}}}'} for i in range(9)
    ]
    with TableWriter(path, RAW_PUBLISHERS, rows_per_group=100) as writer:
        writer.write(rows)
    group = pq.read_metadata(path).row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    assert "RLE_DICTIONARY" not in columns["raw"].encodings
    assert not columns["raw"].is_stats_set
    assert "RLE_DICTIONARY" in columns["publisher_id"].encodings
    assert columns["publisher_id"].statistics.min == "org-0"
    assert pq.read_table(path)["raw"].to_pylist() == [row["raw"] for row in rows]


def test_a_group_written_in_batches_is_the_file_written_at_once(tmp_path) -> None:
    """Workers hand tables over a page at a time: their chunks must fill a group's pages as one table
    would, or each chunk's raw JSON is compressed apart (heavy records' came out 1.5-2.7 times larger)."""
    rows = [
        {"portal_id": "p", "harvest_id": "h", "publisher_id": package["id"], "raw": json_text(package)}
        for package in multiplied(real_packages(), 600)
    ]
    whole = pa.Table.from_pylist(rows, schema=RAW_PUBLISHERS)
    at_once, in_batches = tmp_path / "at_once.parquet", tmp_path / "in_batches.parquet"
    with TableWriter(at_once, RAW_PUBLISHERS, rows_per_group=300) as writer:
        writer.write_table(whole.slice(0, 300).combine_chunks())
        writer.write_table(whole.slice(300).combine_chunks())
    with TableWriter(in_batches, RAW_PUBLISHERS, rows_per_group=300) as writer:
        for start in range(0, len(rows), 20):  # as a worker hands a page's tables over
            writer.write_table(whole.slice(start, 20).combine_chunks())
    metadata = [pq.read_metadata(path) for path in (at_once, in_batches)]
    assert [(m.num_rows, m.num_row_groups) for m in metadata] == [(600, 2), (600, 2)]
    raw = RAW_PUBLISHERS.get_field_index("raw")
    raw_sizes = [[m.row_group(g).column(raw).total_compressed_size for g in range(2)] for m in metadata]
    assert raw_sizes[0] == raw_sizes[1]
    assert pq.read_table(in_batches).equals(whole)


def test_lake_root_option_then_environment_then_default(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CATALOG_LAKE", str(tmp_path / "from-env"))
    assert resolve_lake(tmp_path / "given") == str(tmp_path / "given")
    assert resolve_lake(None) == str(tmp_path / "from-env")
    assert resolve_lake("s3://bucket/lake") == "s3://bucket/lake"  # object storage: taken as given
    monkeypatch.delenv("CATALOG_LAKE")
    monkeypatch.chdir(tmp_path)
    assert resolve_lake(None) == str(tmp_path / "lake")


def test_harvest_ids_sort_chronologically() -> None:
    first, second = new_harvest_id(), new_harvest_id()
    assert first[:22] <= second[:22]
    assert Lake("x").harvest_path("p", first).name == f"harvest_id={first}"


def test_a_process_forked_while_a_lock_is_held_does_not_keep_it(lake) -> None:
    """A flock belongs to the open file, which a fork shares: a harvest's workers, outliving the harvest,
    kept its portal locked. Forked under the lock, the child holds no copy of it."""
    fork = multiprocessing.get_context("fork")
    started = fork.Event()
    child = fork.Process(target=_sleep_once_started, args=(started,), daemon=True)
    try:
        with lake.portal_lock("p", holder=lock_holder("forking")):
            child.start()
            assert started.wait(30) and lake.is_locked("p")
        assert child.is_alive() and not lake.is_locked("p")
        with lake.portal_lock("p", holder=lock_holder("next")):
            assert lake.is_locked("p")
    finally:
        if child.pid is not None:
            child.kill()
            child.join()


def test_a_child_forked_under_a_lock_that_carries_on_past_it_keeps_its_own_files(lake, tmp_path) -> None:
    """Leaving the `with` block closes the lock's descriptor number in the child too: a file the child
    opened since must not be what that number names."""
    with lake.portal_lock("p", holder=lock_holder("forking")):
        child = os.fork()
        if child == 0:
            own = os.open(tmp_path / "the-childs-own", os.O_WRONLY | os.O_CREAT)
    if child == 0:
        code = 1
        try:
            code = 0 if os.write(own, b"still mine") == 10 else 1
        finally:
            os._exit(code)  # never back into pytest
    assert os.waitpid(child, 0)[1] == 0
    assert (tmp_path / "the-childs-own").read_bytes() == b"still mine"


def _sleep_once_started(started) -> None:
    started.set()  # the child's own code runs after what a fork runs in the child
    time.sleep(60)
