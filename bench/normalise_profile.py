"""CPU cost of normalising CKAN records, per dataset, through the real normaliser.

    python bench/normalise_profile.py [--records 20000] [--repeat 3] [--profile] [--fixtures PATH]

The records are the 15 real CKAN packages in the fixtures (as `bench/harvest_throughput.py` serves
them), each copy with a fresh id, name and creation time. Each is handed to the normaliser as the
harvest's workers do: parsed from its compact JSON, with that JSON alongside. Parsing is not
timed; only `normaliser_for("ckan").dataset(record, context, raw)` is. Prints the best of
`--repeat` runs in CPU µs per dataset; `--profile` adds cProfile's top 25 functions by own time.

Titles, keywords and URLs repeat every 15 records here. Our code remembers none of them; what it does
remember (licence statements, declared formats and frequencies) repeats on real portals just as much.
The standard library's `urlsplit` keeps its last 128 URLs, which flatters every run alike.

Figures, not assertions: timings on shared machines are noisy.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from catalog.normalise.rows import HarvestContext
from catalog.normalise.values import json_bytes, loads_lenient
from catalog.sources import normaliser_for

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the recorded records are test material, read from the fixtures

from tests.recorded import multiplied, real_packages  # noqa: E402

DEFAULT_FIXTURES = REPO.parent / "shared" / "fixtures"
CONTEXT = HarvestContext("bench", "bench-harvest", "https://data.example.org", datetime(2026, 1, 1, tzinfo=UTC))
PROFILE_LINES = 25


def staged_records(fixtures: Path, count: int) -> list[tuple[dict[str, Any], bytes]]:
    """`count` (record, raw JSON) pairs, each parsed from its JSON as a worker parses the records it is sent."""
    serialised = [json_bytes(package) for package in multiplied(real_packages(fixtures), count)]
    return [(loads_lenient(raw)[0], raw) for raw in serialised]


def normalise_all(records: list[tuple[dict[str, Any], bytes]]) -> int:
    """Normalise every record; returns the number of distributions, so the work cannot be skipped."""
    normalise = normaliser_for("ckan").dataset
    return sum(len(normalise(record, CONTEXT, raw).distributions) for record, raw in records)


def best_seconds(records: list[tuple[dict[str, Any], bytes]], repeat: int) -> tuple[float, float]:
    """(CPU, wall) seconds of the fastest of `repeat` passes over `records`: the least disturbed by other
    load. CPU time is the figure to compare: other processes on the machine inflate wall time."""
    timings = []
    for _ in range(repeat):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        normalise_all(records)
        timings.append((time.process_time() - started_cpu, time.perf_counter() - started_wall))
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000, help="CKAN datasets to normalise per pass")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the fastest is reported")
    parser.add_argument("--profile", action="store_true", help="also print cProfile's top functions by own time")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    options = parser.parse_args()

    records = staged_records(options.fixtures, options.records)
    normalise_all(records[: len(records) // 10])  # warm caches (licence vocabulary, compiled patterns)
    cpu, wall = best_seconds(records, options.repeat)
    print(f"{options.records} CKAN datasets: {cpu / options.records * 1e6:.1f} µs CPU per dataset", end=" ")
    print(f"({cpu:.2f} s CPU, {wall:.2f} s wall)")
    print(f"CPU per 100k datasets: {cpu / options.records * 100_000:.1f} s (normalisation alone)")
    if options.profile:
        profiler = cProfile.Profile()
        profiler.runcall(normalise_all, records)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(PROFILE_LINES)


if __name__ == "__main__":
    main()
