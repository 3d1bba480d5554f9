"""The harvest's set of ids seen: it answers as a Python set would, across folds, discards and hash collisions."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from catalog import versions
from catalog.harvest import seen
from catalog.harvest.seen import SeenIds
from tests.conftest import real_packages

SEED = 20261202


def recorded_ids() -> list[str]:
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
    monkeypatch.setattr(seen, "RECENT_IDS", 500)
    monkeypatch.setattr(seen, "LOOKED_UP_PER_SLICE", 7)
    if collide:
        monkeypatch.setattr(versions, "_hashes", lambda ids: versions.np.array([len(v) for v in ids.to_pylist()]))
    chooser = random.Random(SEED)
    ids = recorded_ids()
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
        missing = ids_seen.missing(pa.chunked_array([probe[:5], probe[5:]], pa.string())).to_pylist()
        assert missing == [dataset_id for dataset_id in probe if dataset_id not in expected]
    assert ids_seen.missing(pa.array(ids, pa.string())).to_pylist() == [i for i in ids if i not in expected]


def test_a_discarded_id_seen_again_is_new_again(monkeypatch) -> None:
    monkeypatch.setattr(seen, "RECENT_IDS", 2)
    ids_seen = SeenIds()
    assert ids_seen.add(["a", "b", "c"]) == [True, True, True]  # then all three are folded
    assert ids_seen.discard(["a", "c", "z"]) == ["a", "c"]
    assert ids_seen.add(["a", "b", "c", "a"]) == [True, False, True, False]
    assert ids_seen.missing(pa.array(["a", "b", "c", "d"])).to_pylist() == ["d"]
    assert len(ids_seen) == 3


def test_an_empty_set_has_nothing() -> None:
    ids_seen = SeenIds()
    assert (len(ids_seen), ids_seen.missing(pa.array(["a"])).to_pylist(), ids_seen.discard(["a"])) == (0, ["a"], [])
