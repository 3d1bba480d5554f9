"""What bounds one harvest: a listing that never ends, a paging loop, a wall-clock budget."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from catalog.errors import CatalogError


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
