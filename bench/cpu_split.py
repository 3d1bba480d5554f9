"""Where a harvest's CPU goes: in the Python interpreter or in native code, against the portal's.

    python bench/cpu_split.py [--sizes 100000] [--fixtures ../shared/fixtures]

Needs `perf` (Debian's linux-perf) and the right to profile with kernel samples (root, or
kernel.perf_event_paranoid <= 1). For each N it serves the bench portal of bench/harvest_throughput.py
(the same templated real CKAN records, in a process of its own), runs this working tree's `catalog
harvest URL --software ckan --rate 0 --full` under `perf record -e cpu-clock` (the harvest and the
worker processes it forks), profiles the portal's process over the same time with a second `perf
record`, then has curl download the very requests the harvest made, as harvest_throughput.py does
(which also compiles `catalog` to bytecode first, as installing it does: here too).

It prints the harvest's CPU split by shared object: samples in libpython are the interpreter running
our code (the mappings, the glue between libraries); everything else is native: JSON parsing, hashing,
Arrow and Parquet, malloc, the kernel. With both cores busy, a harvest's wall time is about (its CPU
+ the portal's) / cores, so it ends with the same sum for a harvest whose interpreter time were
nothing at all, over curl: the ratio no rewrite of our Python could beat while the work left is
done by these libraries (their calls from Python, and the objects they build for Python, stay in it).
Figures, not assertions: timings on shared machines are noisy.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harvest_throughput import CURL, DEFAULT_FIXTURES, REPO, BenchPortal, Engine, compiled, curl_transfer, plain_gets

PERF = "perf"
SAMPLES_PER_S = 999
INTERPRETER = "libpython"


def samples_by_object(data: Path) -> collections.Counter[str]:
    """CPU samples of a `perf record` file, by the shared object they fell in."""
    report = subprocess.run(
        [PERF, "report", "-i", str(data), "--no-children", "--sort", "dso", "-F", "sample,dso", "-q", "-g", "none",
         "--stdio"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    counts: collections.Counter[str] = collections.Counter()
    for line in report.splitlines():
        fields = line.split(maxsplit=1)
        if len(fields) == 2 and fields[0].isdigit():
            counts[fields[1].strip()] += int(fields[0])
    return counts


def seconds(counts: collections.Counter[str], *, interpreter: bool | None = None) -> float:
    """CPU seconds in all, or only in the interpreter, or only outside it."""
    chosen = (n for name, n in counts.items() if interpreter is None or (INTERPRETER in name) == interpreter)
    return sum(chosen) / SAMPLES_PER_S


def measure(size: int, fixtures: Path, work: Path) -> None:
    """One full harvest of `size` datasets under perf, the portal profiled beside it; prints the split."""
    portal = BenchPortal(size, 1, fixtures)
    try:
        # as each round of harvest_throughput.py begins: a portal that has not served 1,000-row pages yet serves
        # the harvest's pages slower (curl's replay of 100,000 datasets took 4.8 s so, 3.0 s after them)
        plain_gets(portal.url, size)
        harvest_data, portal_data = work / f"harvest-{size}.data", work / f"portal-{size}.data"
        sampling = ["-e", "cpu-clock", "-F", str(SAMPLES_PER_S), "--quiet"]
        portal_perf = subprocess.Popen([PERF, "record", *sampling, "-p", str(portal.process.pid),
                                        "-o", str(portal_data)])  # fmt: skip
        try:
            time.sleep(0.5)  # perf attaches
            portal.served()
            started = time.perf_counter()
            completed = subprocess.run(
                [PERF, "record", *sampling, "-o", str(harvest_data), "--", sys.executable, "-m", "catalog", "harvest",
                 portal.url, "--portal", "bench", "--software", "ckan", "--rate", "0", "--full",
                 "--lake", str(work / f"lake-{size}")],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
            )  # fmt: skip
            wall_s = time.perf_counter() - started
        finally:
            portal_perf.send_signal(signal.SIGINT)
            portal_perf.wait(timeout=60)
        if completed.returncode != 0:
            raise SystemExit(f"the harvest of {size:,} datasets failed: {completed.stderr.strip()[-2000:]}")
        curl_s = curl_transfer(portal.served())
    finally:
        portal.close()
    harvest, served = samples_by_object(harvest_data), samples_by_object(portal_data)
    cores = len(os.sched_getaffinity(0))
    native_s, portal_s = seconds(harvest, interpreter=False), seconds(served)
    print(f"{size:,} datasets: harvest {wall_s:.2f} s (perf's start-up included), curl {curl_s:.2f} s, "
          f"ratio {wall_s / curl_s:.2f}")  # fmt: skip
    print(f"  harvest CPU {seconds(harvest):.1f} s: in the interpreter {seconds(harvest, interpreter=True):.1f} s, "
          f"native {native_s:.1f} s, of which:")  # fmt: skip
    for name, n in harvest.most_common():
        if INTERPRETER not in name and n / SAMPLES_PER_S >= 0.1:
            print(f"    {n / SAMPLES_PER_S:6.2f} s  {name}")
    print(f"  the portal's CPU meanwhile: {portal_s:.1f} s")
    bound_s = (native_s + portal_s) / cores
    print(f"  no interpreter time at all: ({native_s:.1f} + {portal_s:.1f}) / {cores} cores = {bound_s:.2f} s, "
          f"{bound_s / curl_s:.2f} times curl", flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    args = parser.parse_args()
    for tool in (PERF, CURL):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is needed")
    compiled(Engine("current", "current (working tree)", REPO))  # as harvest_throughput.py runs it: see its docstring
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as folder:
        for size in args.sizes:
            measure(size, args.fixtures, Path(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
