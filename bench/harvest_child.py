"""The harvest side of bench/harvest_throughput.py: runs one checkout's `catalog` command and says what it used.

    python bench/harvest_child.py CHECKOUT REPORT.json catalog-arguments...

CHECKOUT goes first on sys.path, so a baseline worktree's `catalog` is the one imported, and the
function its `catalog` command runs is called, as that command would; REPORT.json
names the `catalog/__init__.py` actually imported, so the caller can check. It also gives the seconds
the harvest spent in `pyrate_limiter.Limiter.try_acquire` (the call the rate-limited adapter of
catalog/http.py makes before each request, which sleeps until the host's bucket has room) and how
many calls there were: catalog/http.py keeps no such count, so it is measured from outside. Only this
process's calls count, not those of processes it starts.
"""

from __future__ import annotations

import atexit
import importlib
import json
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def main() -> int:
    checkout, report, *arguments = sys.argv[1:]
    sys.path.insert(0, checkout)
    import pyrate_limiter  # noqa: PLC0415 - patched before catalog imports it

    waited = {"limiter_wait_s": 0.0, "limiter_calls": 0}
    lock = threading.Lock()
    acquire = pyrate_limiter.Limiter.try_acquire

    def timed_acquire(self: pyrate_limiter.Limiter, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return acquire(self, *args, **kwargs)
        finally:
            with lock:
                waited["limiter_wait_s"] += time.perf_counter() - started
                waited["limiter_calls"] += 1

    pyrate_limiter.Limiter.try_acquire = timed_acquire  # type: ignore[method-assign]

    import catalog  # noqa: PLC0415 - only once the checkout is first on sys.path

    atexit.register(lambda: Path(report).write_text(json.dumps({"catalog_file": catalog.__file__, **waited})))
    sys.argv[1:] = arguments
    return console_script(Path(checkout))()


def console_script(checkout: Path) -> Callable[[], int]:
    """The function the checkout's `catalog` command runs ([project.scripts] in its pyproject.toml), so
    that the harvest measured starts and ends as a user's does."""
    scripts = tomllib.loads((checkout / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["catalog"].split(":")
    return getattr(importlib.import_module(module), function)


if __name__ == "__main__":
    sys.exit(main())
