"""How a harvest shows it is alive: a progress bar on a terminal, a log line now and then elsewhere."""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm

log = logging.getLogger("catalog.harvest")


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
                from tqdm import tqdm  # noqa: PLC0415 - on a terminal only: 13 ms of every other start-up

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
