"""Change detection's id index: the positions `pc.index_in` gives, without rebuilding a hash table of the
portal's current ids for every batch."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalog import versions
from catalog.versions import IdIndex
from tests.conftest import real_packages

SEED = 20261202


def recorded_ids() -> list[str]:
    return [package["id"] for package in real_packages()]


def lookups(known: list[str | None], rounds: int = 100) -> list[pa.Array]:
    """Batches of ids to look up: known ones, unknown ones, near misses, empty text and nulls, in any order."""
    chooser = random.Random(SEED)
    others = ["", "x", *(f"{value}-2" for value in known if value), *(value.upper() for value in known if value)]
    return [
        pa.array(
            [chooser.choice([chooser.choice(known), chooser.choice(others), None]) for _ in range(size)], pa.string()
        )
        for size in [0, 1, *(chooser.randint(2, 300) for _ in range(rounds))]
    ]


@pytest.mark.parametrize("with_null", [False, True])
@pytest.mark.parametrize("chunked", [False, True])
def test_positions_are_those_of_index_in(with_null: bool, chunked: bool, monkeypatch) -> None:
    """Ids in one array or in chunks as DuckDB returns them, hashed in slices that do not fit the chunks."""
    monkeypatch.setattr(versions, "HASHED_PER_SLICE", 777)
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
