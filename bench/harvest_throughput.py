"""Harvest throughput, memory and incremental cost against a local CKAN portal with N realistic datasets.

    python bench/harvest_throughput.py [--sizes 20000 100000 300000] [--dump-max 100000]

Each dataset is one of the 15 real CKAN records in the fixtures (8.7 KB of JSON on average) with a
fresh id, name and creation time. The portal runs in its own process, and the harvest runs as the
real `catalog harvest` command in another, so its peak RSS is its own. For each N it prints:

- the full harvest: wall time, datasets/s, requests, MB received, peak RSS, lake size;
- the same pages downloaded with plain GETs (no parsing), and the harvest's ratio to that;
- `ckanapi search datasets` and `ckanapi dump datasets --all -p 2` on the same portal, and ratios
  (dump makes one request per dataset, so it is skipped above --dump-max);
- an incremental harvest after 1 % of datasets changed: requests, bytes and their share of the full run.

Figures, not assertions: timings on shared machines are noisy.
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
import requests

from catalog.lake import Lake
from catalog.portals.ckan import MAX_ROWS, SEARCH_SORT
from catalog.sample.recorded import real_packages
from catalog.sample.server import organizations_of, serve_portal

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = REPO.parent / "shared" / "fixtures"
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
CKANAPI = str(Path(sys.executable).with_name("ckanapi"))  # its console script, beside this Python
CHANGED_EVERY = 100  # 1 % of datasets change between the full and the incremental run


class TemplatedCatalogue:
    """N packages made on request from byte templates: cheap to serve, nothing held per dataset.

    After `mutate()`, every 100th dataset has a new title and a current metadata_modified.
    """

    def __init__(self, records: list[dict[str, Any]], size: int) -> None:
        self.size = size
        self.mutated_at: str | None = None
        self.organizations = organizations_of(records)
        self.templates = []
        for record in records:
            template = dict(record, id="@@ID@@", name="@@NAME@@", metadata_created="@@CREATED@@")
            template["title"] = f"@@TITLE@@{record.get('title') or ''}"
            template["metadata_modified"] = "@@MODIFIED@@"
            template["resources"] = [
                dict(resource, id=f"@@ID@@-{position}", package_id="@@ID@@")
                for position, resource in enumerate(record.get("resources") or [])
            ]
            self.templates.append(orjson.dumps(template))

    def mutate(self) -> None:
        self.mutated_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")

    def changed(self, index: int) -> bool:
        return self.mutated_at is not None and index % CHANGED_EVERY == 0

    def package(self, index: int) -> bytes:
        template = self.templates[index % len(self.templates)]
        created = (EPOCH + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        changed = self.changed(index)
        return (
            template.replace(b"@@ID@@", _id(index).encode())
            .replace(b"@@NAME@@", f"dataset-{index}".encode())
            .replace(b"@@CREATED@@", created.encode())
            .replace(b"@@MODIFIED@@", (self.mutated_at if changed else created).encode())  # type: ignore[union-attr]
            .replace(b"@@TITLE@@", b"Changed: " if changed else b"")
        )

    def search(
        self, fq: str | None, sort: str | None, start: int, rows: int, fields: list[str] | None = None
    ) -> tuple[int, list[bytes]]:
        """Index order is metadata_created order, the harvester's sort. fq: only the harvester's window."""
        if fq and "metadata_modified" in fq:
            indexes = [i for i in range(0, self.size, CHANGED_EVERY) if self.changed(i)]
            selected = indexes[start : start + rows]
            return len(indexes), [self.package(i) for i in selected]
        window = range(start, min(start + rows, self.size))
        if fields:
            return self.size, [orjson.dumps({"id": _id(i)}) for i in window]
        return self.size, [self.package(i) for i in window]

    def show(self, package_id: str) -> bytes | None:
        return self.package(int(package_id.rsplit("-", 1)[-1]))

    def names(self) -> list[str]:
        return [f"dataset-{i}" for i in range(self.size)]


def _id(index: int) -> str:
    return f"00000000-0000-4000-8000-{index:012d}"


def serve(size: int, fixtures: Path) -> None:
    """Child process: serve the catalogue and print its URL; `mutate` on stdin changes 1 %; EOF stops."""
    catalogue = TemplatedCatalogue(real_packages(fixtures), size)
    with serve_portal(catalogue) as portal:
        print(portal.url, flush=True)
        for line in sys.stdin:
            if line.strip() == "mutate":
                catalogue.mutate()
                print("mutated", flush=True)


def raw_transfer(url: str, size: int) -> float:
    """Seconds to download every search page with plain GETs, without parsing."""
    session = requests.Session()
    started = time.perf_counter()
    for start in range(0, size, MAX_ROWS):
        params = {"q": "*:*", "sort": SEARCH_SORT, "rows": MAX_ROWS, "start": start}
        session.get(f"{url}/api/3/action/package_search", params=params).content  # noqa: B018
    return time.perf_counter() - started


def timed_process(command: list[str]) -> tuple[float, int]:
    """Seconds and peak RSS (bytes) of a command in its own process."""
    # ckanapi's dump workers start `ckanapi` by name: put this Python's scripts first on PATH
    environment = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: ckanapi logs a line per dataset
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=environment)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        if status != 0:
            errors.seek(0)
            raise SystemExit(f"{command[:4]} failed: {errors.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss * 1024


def harvest_command(url: str, lake: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "catalog.cli", "harvest", url, "--portal", "bench", "--lake", str(lake),
            "--rate", "0", *extra]  # fmt: skip


def folder_size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def last_run(lake: Path) -> dict[str, Any]:
    return max(Lake(lake).runs("bench"), key=lambda run: run["started_at"])


def measure(size: int, fixtures: Path, dump_max: int) -> dict[str, Any]:
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(size), "--fixtures", str(fixtures)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin and server.stdout
    try:
        url = server.stdout.readline().strip()
        result: dict[str, Any] = {"datasets": size, "raw_transfer_s": raw_transfer(url, size)}
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            work = Path(folder)
            wall, rss = timed_process(harvest_command(url, work / "lake", "--full"))
            full = last_run(work / "lake")
            assert full["status"] == "complete" and full["added"] == size, full
            result |= {
                "wall_s": wall,
                "datasets_per_s": size / wall,
                "requests": full["requests"],
                "mb_received": full["bytes_received"] / 1e6,
                "peak_rss_mb": rss / 2**20,
                "lake_mb": folder_size(work / "lake") / 2**20,
                "ratio_to_raw": wall / result["raw_transfer_s"],
            }
            search_s, _ = timed_process([CKANAPI, "search", "datasets", "q=*:*",
                                         "-O", str(work / "search.jsonl"), "-g", "-r", url])  # fmt: skip
            result |= {"ckanapi_search_s": search_s, "ratio_to_ckanapi_search": wall / search_s}
            if size <= dump_max:
                dump_s, _ = timed_process([CKANAPI, "dump", "datasets", "--all", "-p", "2",
                                           "-O", str(work / "dump.jsonl"), "-g", "-r", url])  # fmt: skip
                result |= {"ckanapi_dump_s": dump_s, "ratio_to_ckanapi_dump": wall / dump_s}
            server.stdin.write("mutate\n")
            server.stdin.flush()
            server.stdout.readline()
            wall, _ = timed_process(harvest_command(url, work / "lake"))
            incremental = last_run(work / "lake")
            assert incremental["mode"] == "incremental" and incremental["modified"] == size // CHANGED_EVERY
            result |= {
                "incr_wall_s": wall,
                "incr_requests": incremental["requests"],
                "incr_mb": incremental["bytes_received"] / 1e6,
                "incr_share_of_full_bytes": incremental["bytes_received"] / full["bytes_received"],
            }
        return result
    finally:
        server.stdin.close()
        server.wait(timeout=60)


COLUMNS = ["datasets", "wall_s", "datasets_per_s", "requests", "mb_received", "peak_rss_mb", "lake_mb",
           "raw_transfer_s", "ratio_to_raw", "ckanapi_search_s", "ratio_to_ckanapi_search", "ckanapi_dump_s",
           "ratio_to_ckanapi_dump", "incr_wall_s", "incr_requests", "incr_mb", "incr_share_of_full_bytes"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000, 300_000])
    parser.add_argument("--dump-max", type=int, default=100_000, help="largest N to run ckanapi dump on")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.fixtures)
        return
    results = [measure(size, args.fixtures, args.dump_max) for size in args.sizes]
    for column in COLUMNS:
        values = [r.get(column) for r in results]
        cells = [("-" if v is None else f"{v:.3f}" if isinstance(v, float) and v < 1 else
                  f"{v:,.1f}" if isinstance(v, float) else f"{v:,}") for v in values]  # fmt: skip
        print(f"{column:>26}  " + "  ".join(f"{cell:>12}" for cell in cells), flush=True)
    print("ratio_* = catalog harvest wall time / the other's; incr_* = incremental run after 1 % changed")


if __name__ == "__main__":
    main()
