"""The harvest side of bench/harvest_throughput.py: runs one checkout's `catalog` command and says what it used.

    python bench/harvest_child.py CHECKOUT REPORT.json catalog-arguments...

CHECKOUT goes first on sys.path, so a baseline worktree's `catalog` is the one imported, and the
function its `catalog` command runs is called, as that command would; REPORT.json
names the `catalog/__init__.py` actually imported, so the caller can check. It also gives the seconds
the harvest spent in `pyrate_limiter.Limiter.try_acquire` (the call the rate-limited adapter of
catalog/http.py makes before each request, which sleeps until the host's bucket has room) and how
many calls there were: catalog/http.py keeps no such count, so it is measured from outside. Only this
process's calls count, not those of processes it starts.

With BENCH_MAPPING_FREE=1 in the environment, the CKAN mapping is replaced (`mapping_free`): the
harvest then costs everything but the mapping, a bound on what any faster mapping could give.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib
import json
import os
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

    if os.environ.get("BENCH_MAPPING_FREE") == "1":
        mapping_free()

    atexit.register(lambda: Path(report).write_text(json.dumps({"catalog_file": catalog.__file__, **waited})))
    sys.argv[1:] = arguments
    return console_script(Path(checkout))()


def mapping_free() -> None:
    """Make the CKAN mapping cost (almost) nothing: each bench record is one of a few templates, so the
    rows of the first record of each template are copied for the others, under their own id and name,
    with their own raw JSON and content hash (which every harvest computes whatever the software). The
    workers, forked from this process, inherit the replacement. Everything else runs as shipped: fetch,
    parse, the content hash, Arrow tables, the spool, change classification and Parquet writes."""
    from catalog import sources  # noqa: PLC0415 - the checkout's, imported after sys.path is set
    from catalog.normalise.rows import NormalisedDataset, content_hash  # noqa: PLC0415
    from catalog.normalise.values import json_bytes  # noqa: PLC0415

    ckan = sources.SOURCES["ckan"]
    mapped = ckan.normaliser.dataset
    templates: dict[tuple[Any, int], NormalisedDataset] = {}

    def copied(record: Any, context: Any, raw: bytes | None = None) -> NormalisedDataset:
        key = (record.get("title"), len(record.get("resources") or ()))
        template = templates.get(key)
        if template is None:
            template = templates[key] = mapped(record, context, raw)
        raw = json_bytes(record) if raw is None else raw
        dataset_id = record["id"]
        row = dict(template.dataset, dataset_id=dataset_id, name=record["name"], raw=raw)
        row["content_hash"] = content_hash(record, raw)
        distributions = [dict(distribution, dataset_id=dataset_id) for distribution in template.distributions]
        return NormalisedDataset(row, distributions, [], publisher=template.publisher)

    normaliser = dataclasses.replace(ckan.normaliser, dataset=copied)
    sources.SOURCES["ckan"] = dataclasses.replace(ckan, normaliser=normaliser)


def console_script(checkout: Path) -> Callable[[], int]:
    """The function the checkout's `catalog` command runs ([project.scripts] in its pyproject.toml), so
    that the harvest measured starts and ends as a user's does."""
    scripts = tomllib.loads((checkout / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["catalog"].split(":")
    return getattr(importlib.import_module(module), function)


if __name__ == "__main__":
    sys.exit(main())
