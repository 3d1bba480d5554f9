"""Harvest throughput and memory: a local CKAN portal with N realistic datasets, harvested end to end.

    python bench/harvest_throughput.py [--sizes 20000 100000] [--fixtures ../shared/fixtures]

Each dataset is one of the 15 real CKAN records in the fixtures (8.7 KB of JSON on average) with a
fresh id, name and creation time. The portal runs in its own process; the harvest runs as the real
`catalog harvest` command in another, so its peak RSS is its own. For each N it prints wall time,
datasets/s, requests, peak RSS and lake size, plus the time to merely download the same pages (plain
GETs, no parsing) and the ratio of the two. Figures, not assertions: timings on shared machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import requests

from catalog.portals.ckan import MAX_ROWS, SEARCH_SORT
from catalog.sample.recorded import real_packages
from catalog.sample.server import organizations_of, serve_portal

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = REPO.parent / "shared" / "fixtures"
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


class TemplatedCatalogue:
    """N packages made on request from byte templates: cheap to serve, nothing held per dataset."""

    def __init__(self, records: list[dict[str, Any]], size: int) -> None:
        self.size = size
        self.organizations = organizations_of(records)
        self.templates = []
        for record in records:
            template = dict(record, id="@@ID@@", name="@@NAME@@", metadata_created="@@CREATED@@")
            template["resources"] = [
                dict(resource, id=f"@@ID@@-{position}", package_id="@@ID@@")
                for position, resource in enumerate(record.get("resources") or [])
            ]
            self.templates.append(orjson.dumps(template))

    def package(self, index: int) -> bytes:
        template = self.templates[index % len(self.templates)]
        created = (EPOCH + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        return (
            template.replace(b"@@ID@@", f"00000000-0000-4000-8000-{index:012d}".encode())
            .replace(b"@@NAME@@", f"dataset-{index}".encode())
            .replace(b"@@CREATED@@", created.encode())
        )

    def search(
        self, fq: str | None, sort: str | None, start: int, rows: int, fields: list[str] | None = None
    ) -> tuple[int, list[bytes]]:
        """Index order is metadata_created order, the harvester's sort."""
        indexes = range(start, min(start + rows, self.size))
        if fields:
            return self.size, [orjson.dumps({"id": f"00000000-0000-4000-8000-{i:012d}"}) for i in indexes]
        return self.size, [self.package(i) for i in indexes]

    def show(self, package_id: str) -> bytes | None:
        return self.package(int(package_id.rsplit("-", 1)[-1]))

    def names(self) -> list[str]:
        return [f"dataset-{i}" for i in range(self.size)]


def serve(size: int, fixtures: Path) -> None:
    """Child process: serve the catalogue, print its URL, stop when stdin closes."""
    with serve_portal(TemplatedCatalogue(real_packages(fixtures), size)) as portal:
        print(portal.url, flush=True)
        sys.stdin.read()


def raw_transfer(url: str, size: int) -> tuple[float, int, int]:
    """Seconds, requests and bytes to download every search page, without parsing."""
    session = requests.Session()
    started = time.perf_counter()
    received = requests_made = 0
    for start in range(0, size, MAX_ROWS):
        response = session.get(
            f"{url}/api/3/action/package_search",
            params={"q": "*:*", "sort": SEARCH_SORT, "rows": MAX_ROWS, "start": start},
        )
        received += len(response.content)
        requests_made += 1
    return time.perf_counter() - started, requests_made, received


def harvest(url: str, lake: Path) -> tuple[float, int]:
    """Seconds and peak RSS (bytes) of `catalog harvest` in its own process."""
    command = [sys.executable, "-m", "catalog.cli", "harvest", url, "--portal", "bench", "--lake", str(lake)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"harvest failed: {process.stderr.read().decode() if process.stderr else status}")
    return elapsed, usage.ru_maxrss * 1024


def folder_size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def measure(size: int, fixtures: Path) -> dict[str, float]:
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(size), "--fixtures", str(fixtures)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip() if server.stdout else ""
        transfer_s, _, transfer_bytes = raw_transfer(url, size)
        with tempfile.TemporaryDirectory(prefix="bench-lake-") as folder:
            lake = Path(folder)
            wall_s, peak_rss = harvest(url, lake)
            run = pq.read_table(next((lake / "harvest_runs").rglob("*.parquet"))).to_pylist()[0]
            assert run["status"] == "complete" and run["datasets"] == size, run
            return {
                "datasets": size,
                "wall_s": wall_s,
                "datasets_per_s": size / wall_s,
                "requests": run["requests"],
                "mb_received": run["bytes_received"] / 1e6,
                "peak_rss_mb": peak_rss / 2**20,
                "lake_mb": folder_size(lake) / 2**20,
                "raw_transfer_s": transfer_s,
                "raw_mb": transfer_bytes / 1e6,
                "ratio": wall_s / transfer_s,
            }
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.fixtures)
        return
    columns = ["datasets", "wall_s", "datasets_per_s", "requests", "mb_received", "peak_rss_mb", "lake_mb",
               "raw_transfer_s", "raw_mb", "ratio"]  # fmt: skip
    print("  ".join(f"{c:>14}" for c in columns), flush=True)
    for size in args.sizes:
        result = measure(size, args.fixtures)
        print("  ".join(f"{result[c]:>14.1f}" if isinstance(result[c], float) else f"{result[c]:>14}" for c in columns),
              flush=True)  # fmt: skip
    print("ratio = harvest wall time / time to download the same pages without parsing", flush=True)


if __name__ == "__main__":
    main()
