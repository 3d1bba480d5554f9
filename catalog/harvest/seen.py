"""The ids a harvest has handed on, so that each record is handed on once however many pages show it."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from catalog.versions import IdIndex

RECENT_IDS = 32_768
"""Ids kept in a Python set before they are folded into the index: about 4 MB of them."""
LOOKED_UP_PER_SLICE = 65_536
"""Ids of an Arrow array turned into Python strings at a time to be looked up."""


class SeenIds:
    """A set of ids, exact, at about 60 bytes an id where a Python set of strings takes 130.

    The set grows with the catalogue: at 300,000 datasets a set of strings held 38 MB of the harvest's
    memory. Here only the newest ids wait in a set; every `RECENT_IDS` they are folded into one Arrow
    array indexed by its hashes (`IdIndex`), where a page's ids are looked up at once. An id discarded
    after it was folded (a record a worker found unstorable) is masked until the next fold drops it.
    """

    def __init__(self) -> None:
        self._recent: set[str] = set()
        self._folded = IdIndex(pa.chunked_array([], pa.string()))
        self._discarded: set[str] = set()
        """Folded ids since discarded."""

    def __len__(self) -> int:
        return len(self._folded.ids) - len(self._discarded) + len(self._recent)

    def add(self, ids: Sequence[str | None]) -> list[bool]:
        """Add these ids; for each, whether it is new: not seen before, not None, and the first of any
        repeats among `ids`."""
        recent, fresh = self._recent, []
        for dataset_id, folded in zip(ids, self._in_folded(ids), strict=True):
            new = dataset_id is not None and not folded and dataset_id not in recent
            if new:
                recent.add(dataset_id)
            fresh.append(new)
        if len(recent) >= RECENT_IDS:
            self._fold()
        return fresh

    def missing(self, ids: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Those of `ids` not in the set (a portal's previous datasets, to tell which are gone), looked up
        a slice at a time: no hash table of all of them, as `pc.is_in` would build (20 MB at 300,000)."""
        missing: list[str] = []
        for start in range(0, len(ids), LOOKED_UP_PER_SLICE):
            values = ids.slice(start, LOOKED_UP_PER_SLICE).to_pylist()
            missing += (value for value, member in zip(values, self._members(values), strict=True) if not member)
        return pa.array(missing, pa.string())

    def discard(self, ids: Sequence[str]) -> list[str]:
        """Take these ids out of the set; returns those that were in it."""
        members = [dataset_id for dataset_id, member in zip(ids, self._members(ids), strict=True) if member]
        for dataset_id in members:
            if dataset_id in self._recent:
                self._recent.remove(dataset_id)
            else:
                self._discarded.add(dataset_id)
        return members

    def _members(self, ids: Sequence[str]) -> list[bool]:
        recent = self._recent
        return [folded or dataset_id in recent for dataset_id, folded in zip(ids, self._in_folded(ids), strict=True)]

    def _in_folded(self, ids: Sequence[str | None]) -> list[bool]:
        """For each id, whether it was folded and not discarded since; None never was."""
        if not len(self._folded.ids):
            return [False] * len(ids)
        present = [dataset_id for dataset_id in ids if dataset_id is not None]
        found = iter(pc.is_valid(self._folded.positions(pa.array(present, pa.string()))).to_pylist())
        return [dataset_id is not None and next(found) and dataset_id not in self._discarded for dataset_id in ids]

    def _kept_folded(self) -> pa.Array:
        """The folded ids, less those discarded since: one array."""
        folded = self._folded.ids.combine_chunks()
        if not self._discarded:
            return folded
        return folded.filter(pc.invert(pc.is_in(folded, value_set=pa.array(list(self._discarded), pa.string()))))

    def _fold(self) -> None:
        recent = pa.array(list(self._recent), pa.string())
        if self._discarded:  # rare: rebuilt without them
            self._folded = IdIndex(pa.chunked_array([self._kept_folded(), recent]))
            self._discarded = set()
        else:
            self._folded = self._folded.extended(recent)
        self._recent = set()
