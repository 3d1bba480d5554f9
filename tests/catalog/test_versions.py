"""Change detection: the id index (the positions `pc.index_in` gives, without rebuilding a hash table of the
portal's current ids for every batch), the set of ids seen, and the classification of a batch."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalog import versions
from catalog.harvest.workers import normalise_batch
from catalog.normalise.rows import HarvestContext
from catalog.normalise.values import json_bytes
from catalog.versions import EMPTY_STATE, CurrentState, IdIndex, SeenIds
from tests.conftest import real_packages

SEED = 20261202


def recorded_ids() -> list[str]:
    return [package["id"] for package in real_packages()]


def lookups(known: list[str | None], rounds: int = 100) -> list[pa.Array]:
    """Batches of ids to look up: known ones, unknown ones, near misses, empty text and nulls, in any order;
    and unknown ones alone (every page of a first harvest), with nulls and without."""
    chooser = random.Random(SEED)
    others = ["", "x", *(f"{value}-2" for value in known if value), *(value.upper() for value in known if value)]
    mixed, unknown, unknown_or_null = [known, others, [None]], [others], [others, [None]]
    return [
        pa.array([chooser.choice(chooser.choice(pools)) for _ in range(size)], pa.string())
        for size in [0, 1, *(chooser.randint(2, 300) for _ in range(rounds))]
        for pools in (mixed, unknown, unknown_or_null)
    ]


@pytest.mark.parametrize("with_null", [False, True])
@pytest.mark.parametrize("chunked", [False, True])
def test_positions_are_those_of_index_in(with_null: bool, chunked: bool, monkeypatch) -> None:
    """Ids in one array or in chunks as DuckDB returns them, hashed in slices that do not fit the chunks."""
    monkeypatch.setattr(versions, "IDS_PER_SLICE", 777)
    known = [*recorded_ids(), *(f"dataset-{number}" for number in range(5_000))] + ([None] if with_null else [])
    ids = pa.array(known, pa.string())
    index = IdIndex(pa.chunked_array([ids[:1_000], ids[1_000:1_001], ids[1_001:]]) if chunked else ids)
    for wanted in lookups(known):
        assert index.positions(wanted).equals(pc.index_in(wanted, value_set=ids))


def test_an_extended_index_is_that_of_all_its_ids() -> None:
    """Extended twice (as the harvest's set of ids seen is), it answers as an index of them all would."""
    known = [*recorded_ids(), *(f"dataset-{number}" for number in range(5_000))]
    thirds = [pa.array(known[start : start + 1_700], pa.string()) for start in range(0, len(known), 1_700)]
    index = IdIndex(thirds[0])
    for more in thirds[1:]:
        index = index.extended(more)
    ids = pa.array(known, pa.string())
    for wanted in lookups(known):
        assert index.positions(wanted).equals(pc.index_in(wanted, value_set=ids))


def test_ids_whose_hashes_collide_are_told_apart(monkeypatch) -> None:
    """Python's string hash collides in 64 bits only by chance: here every id hashes to its length."""
    monkeypatch.setattr(versions, "_hashes", lambda ids: versions.np.array([len(v or "") for v in ids.to_pylist()]))
    known = recorded_ids()
    ids = pa.array(known, pa.string())
    index = IdIndex(ids)
    assert len(set(index.sorted_hashes.tolist())) < len(known) / 3  # the recorded UUIDs: all one length
    for wanted in lookups(known, rounds=20):
        assert index.positions(wanted).equals(pc.index_in(wanted, value_set=ids))


def test_a_portal_with_no_current_dataset_has_no_position() -> None:
    index = IdIndex(pa.array([], pa.string()))
    wanted = pa.array(recorded_ids(), pa.string())
    assert index.positions(wanted).equals(pa.nulls(len(wanted), pa.int32()))
    assert index.positions(pa.chunked_array([wanted[:3], wanted[3:]])).null_count == len(wanted)


# The harvest's set of ids seen: it answers as a Python set would, across folds, discards and collisions.


def ids_and_names() -> list[str]:
    """The recorded CKAN ids and names, and numbered ones: many pages' worth."""
    packages = real_packages()
    return [*(p["id"] for p in packages), *(p["name"] for p in packages), *(f"dataset-{n}" for n in range(3_000))]


def pages(ids: list[str], chooser: random.Random) -> list[list[str | None]]:
    """Pages of ids as a portal might send them: mostly new, some repeated from earlier pages or within the
    page, and some records without an id."""
    pages, offset = [], 0
    while offset < len(ids):
        size = chooser.randint(1, 150)
        page: list[str | None] = list(ids[offset : offset + size])
        page += [chooser.choice(ids[: offset + size]) for _ in range(chooser.randint(0, 5))]
        page += [None] * chooser.randint(0, 1)
        chooser.shuffle(page)
        pages.append(page)
        offset += size
    return pages


@pytest.mark.parametrize("collide", [False, True])
def test_the_set_answers_as_a_python_set_does(collide: bool, monkeypatch) -> None:
    """Folded every 500 ids (the harvest folds every 32,768), so most answers come from the folded index;
    with every hash colliding (each id hashes to its length), the index's own checks tell ids apart."""
    monkeypatch.setattr(versions, "RECENT_IDS", 500)
    monkeypatch.setattr(versions, "IDS_PER_SLICE", 7)
    if collide:
        monkeypatch.setattr(versions, "_hashes", lambda ids: versions.np.array([len(v) for v in ids.to_pylist()]))
    chooser = random.Random(SEED)
    ids = ids_and_names()
    chooser.shuffle(ids)
    expected: set[str] = set()
    ids_seen = SeenIds()
    for number, page in enumerate(pages(ids, chooser)):
        fresh = ids_seen.add(page)
        wanted = []
        for dataset_id in page:
            wanted.append(dataset_id is not None and dataset_id not in expected)
            if dataset_id is not None:
                expected.add(dataset_id)
        assert fresh == wanted
        if number % 7 == 0:  # a worker found some records unstorable: they are taken out again
            gone = [chooser.choice(ids), "never-seen"]
            assert ids_seen.discard(gone) == [dataset_id for dataset_id in gone if dataset_id in expected]
            expected.difference_update(gone)
        assert len(ids_seen) == len(expected)
        probe = [chooser.choice(ids) for _ in range(20)] + ["never-seen", ""]
        unseen = ids_seen.unseen(pa.chunked_array([probe[:5], probe[5:]], pa.string())).to_pylist()
        assert unseen == [dataset_id not in expected for dataset_id in probe]
    assert ids_seen.unseen(pa.array(ids, pa.string())).to_pylist() == [i not in expected for i in ids]


def test_a_discarded_id_seen_again_is_new_again(monkeypatch) -> None:
    monkeypatch.setattr(versions, "RECENT_IDS", 2)
    ids_seen = SeenIds()
    assert ids_seen.add(["a", "b", "c"]) == [True, True, True]  # then all three are folded
    assert ids_seen.discard(["a", "c", "z"]) == ["a", "c"]
    assert ids_seen.add(["a", "b", "c", "a"]) == [True, False, True, False]
    assert ids_seen.unseen(pa.array(["a", "b", "c", "d"])).to_pylist() == [False, False, False, True]
    assert len(ids_seen) == 3
    assert ids_seen.add_all(pa.chunked_array([["d", "a"], [None, "d", "e"]])).to_pylist() == [1, 0, 0, 0, 1]


def test_an_empty_set_has_nothing() -> None:
    ids_seen = SeenIds()
    assert (len(ids_seen), ids_seen.unseen(pa.array(["a"])).to_pylist(), ids_seen.discard(["a"])) == (0, [True], [])


def test_a_batch_is_classified_against_the_previous_state() -> None:
    """Real records: unchanged ones are dropped, changed ones are 'modified', unknown ones 'added'; a batch of
    nothing but new records (a first harvest) comes back whole."""
    context = HarvestContext("p", "h", "https://data.example.org", datetime(2026, 1, 1, tzinfo=UTC))
    datasets = normalise_batch("ckan", context, [json_bytes(package) for package in real_packages()]).datasets
    ids, hashes = datasets["dataset_id"].to_pylist(), datasets["content_hash"].to_pylist()
    unchanged, modified = ids[:3], ids[3:5]
    previous = pa.table({"dataset_id": unchanged + modified, "content_hash": [*hashes[:3], "0" * 32, "1" * 32]})
    current = CurrentState.of(previous)
    changed = current.changed(datasets)
    assert changed["dataset_id"].to_pylist() == ids[3:]
    assert changed["change"].to_pylist() == ["modified"] * 2 + ["added"] * (len(ids) - 5)
    assert current.unchanged(ids, hashes) == [True] * 3 + [False] * (len(ids) - 3)
    first = CurrentState.of(EMPTY_STATE).changed(datasets)
    assert first.drop_columns("change") == datasets.drop_columns("change")
    assert set(first["change"].to_pylist()) == {"added"}
    assert CurrentState.of(EMPTY_STATE).unchanged(ids, hashes) == [False] * len(ids)


def test_a_current_version_stored_without_a_hash_is_rewritten_with_one() -> None:
    """Another writer's version without a content hash cannot be told unchanged: it is 'modified' (and the
    new version has a hash), where a null comparison used to drop it from every harvest for good. A
    missing id is matched like any other; `unchanged` says true of each row `changed` drops, and of no
    other."""
    previous = pa.table({"dataset_id": ["a", "b", "c", "d", None], "content_hash": ["1", "2", None, "4", "5"]})
    ids = ["a", "b", "c", "d", "e", None]
    hashes = ["1", "changed", "3", "4", "5", "6"]
    batch = pa.table({"dataset_id": ids, "content_hash": hashes, "change": pa.nulls(6, pa.string())})
    current = CurrentState.of(previous)
    changed = current.changed(batch)
    assert changed["dataset_id"].to_pylist() == ["b", "c", "e", None]
    assert changed["change"].to_pylist() == ["modified", "modified", "added", "modified"]
    assert current.unchanged(ids, hashes) == [True, False, False, True, False, False]
