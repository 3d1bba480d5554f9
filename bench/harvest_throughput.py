"""Harvest throughput, CPU and all-process memory against a local CKAN portal, beside a baseline revision.

    python bench/harvest_throughput.py [--sizes 20000 100000 300000] [--record-scale 1] [--baseline REV]
                                       [--rate-cost-at 20000] [--dump-max 100000] [--rounds 1]
                                       [--mapping-free]

Each dataset is one of the 15 real CKAN records in the fixtures (8.7 KB of JSON on average) with a
fresh id, name and creation time. `--record-scale K` gives each record K times its resources (fresh
ids) and repeats its notes until its JSON is about K times its usual size; the mean record size is
printed. The portal runs in its own process. Each harvest is the real `catalog harvest URL --software
ckan --rate 0` command in a process of its own (started through bench/harvest_child.py, which imports
`catalog` from the checkout under test and prints which file it imported). Engines: `current` is this
working tree; with `--baseline REV`, `baseline` is REV checked out with `git worktree add` in a
temporary folder (removed at the end), run against the same portal in the same invocation; with
`--mapping-free`, `mapping_free` is the working tree with the CKAN mapping replaced by copies of rows
already mapped (bench/harvest_child.py), in the full harvests only: everything a harvest does but the
mapping, so its ratio is the best that any faster mapping could reach on this machine. Each
engine's `catalog` is compiled to bytecode first, as installing a package does: where
PYTHONDONTWRITEBYTECODE is set, Python would otherwise compile the package again at every start, about
0.1 s of each harvest that no installed harvester spends.

For each N (and engine) it prints:

- the full harvest: wall time (process start to exit: start-up and the database refresh after the
  harvest included), datasets/s, the run record's own duration (`run_record_s`,
  its started_at to finished_at), requests, MB received, lake size;
- the floor, as the issue defines it, "the curl time of the same pages in the same run": right after
  each full harvest, one `curl` process downloads every request the portal answered during it (logged
  by the portal), over one connection, bodies discarded; and the harvest's wall time over it (`ratio`).
  For comparison with figures before 2026-12-03, also the floor used until then: the catalogue
  downloaded with plain `requests` GETs in pages of the CKAN maximum (1,000 rows), timed once per round.
  It is 1.7 times curl's replay of the harvest's own pages of about 3 MB, so its ratios read 0.6 times
  as high: on a 20k portal (medians of 5), requests took 0.95 s for the 1,000-row pages and 0.68 for
  the harvest's; curl 0.68 and 0.55;
- CPU seconds, user + system, of the harvest process and every process it starts (this process is their
  subreaper, so orphans are reaped and counted too), in all and per 100k datasets;
- peak RSS of all the harvest's processes together, from one more full harvest per engine after the
  timed ones: VmRSS from /proc/<pid>/status of the harvest and its descendants, summed every 20 ms; the
  largest of those sums, or the largest single process's ru_maxrss if that is higher (a peak between
  two samples); the largest single process is printed too; and the same sum of PSS
  (/proc/<pid>/smaps_rollup), which counts the pages a forked worker shares with its parent once in
  all, not once per process: what the processes occupy together. Timed runs are not polled: polling
  (smaps_rollup walks every mapping of every process) took 0.59-0.64 s of CPU during a 20k harvest of
  3.3-3.7 s, a sixth of one of the two cores the harvest is bound by, and made it 0.2-0.4 s slower;
- `ckanapi search datasets` and `ckanapi dump datasets --all -p 2` on the same portal, and ratios
  (dump makes one request per dataset, so it is skipped above --dump-max);
- at N = --rate-cost-at: the same full harvest with the default rate limit (no `--rate 0`), its wall
  time against `--rate 0`, the seconds the harvest process spent waiting in the rate limiter, and its
  peak PSS, all processes (polled: the harvest waits for the rate, not for CPU, so polling costs it no
  time; its pages grow to 6 MB, 4 for records over 24 KB, while the limiter holds requests back);
- an incremental harvest after 1 % of datasets changed: requests, bytes and their share of the full run;
- then a full harvest of the same portal again: every dataset classified against the current state,
  none written (a daily full harvest of an unchanged portal).

With `--rounds K`, the full harvest runs K times per engine, the engines taking turns (A B, B A...),
and the floor is timed again before each round: the figures are medians over the rounds, and
`cpu_vs_baseline` is the median of each round's CPU over the baseline's in the same round, the share
that the machine's drifts (±30 % from one hour to the next on a shared machine) touch least.

It ends with one markdown table. Figures, not assertions: timings on shared machines are noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import requests

from catalog.lake import Lake
from catalog.sample.server import organizations_of, serve_portal
from catalog.sources.ckan.client import MAX_ROWS, SEARCH_SORT

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the recorded records are test material, read from the fixtures

from tests.recorded import real_packages  # noqa: E402

HARVEST_CHILD = Path(__file__).with_name("harvest_child.py")
DEFAULT_FIXTURES = REPO.parent / "shared" / "fixtures"
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
CKANAPI = str(Path(sys.executable).with_name("ckanapi"))  # its console script, beside this Python
CURL = "curl"
CHANGED_EVERY = 100  # 1 % of datasets change between the full and the incremental run
MEMORY_POLL_S = 0.02
PR_SET_CHILD_SUBREAPER = 36  # from <linux/prctl.h>
LEFTOVER_GRACE_S = 30.0  # how long processes a harvest leaves behind may take to end before they are killed


class TemplatedCatalogue:
    """N packages made on request from byte templates: cheap to serve, nothing held per dataset.

    After `mutate()`, every 100th dataset has a new title and a current metadata_modified.
    """

    def __init__(self, records: list[dict[str, Any]], size: int, record_scale: int = 1) -> None:
        self.size = size
        self.mutated_at: str | None = None
        self.organizations = organizations_of(records)
        self.templates = []
        for record in (scaled(record, record_scale) for record in records):
            template = dict(record, id="@@ID@@", name="@@NAME@@", metadata_created="@@CREATED@@")
            template["title"] = f"@@TITLE@@{record.get('title') or ''}"
            template["metadata_modified"] = "@@MODIFIED@@"
            template["resources"] = [
                dict(resource, id=f"@@ID@@-{position}", package_id="@@ID@@")
                for position, resource in enumerate(record.get("resources") or [])
            ]
            self.templates.append(orjson.dumps(template))

    def mean_record_bytes(self) -> float:
        """Mean size of the records as served (the catalogue cycles through the templates)."""
        return sum(len(self.package(index)) for index in range(len(self.templates))) / len(self.templates)

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


def scaled(record: dict[str, Any], scale: int) -> dict[str, Any]:
    """The record with `scale` times its resources and its notes repeated until its JSON is about `scale`
    times its usual size: the weight of a heavier portal's records, in the shape of real ones."""
    if scale == 1:
        return record
    bigger = dict(record, resources=(record.get("resources") or []) * scale)
    shortfall = scale * len(orjson.dumps(record)) - len(orjson.dumps(bigger))
    if shortfall <= 0:
        return bigger
    paragraph = record.get("notes") or record.get("title") or "No description."
    notes_bytes = len(orjson.dumps(record.get("notes") or "")) - 2 + shortfall
    paragraph_bytes = len(orjson.dumps(paragraph + "\n\n")) - 2
    return dict(bigger, notes="\n\n".join([paragraph] * max(1, round(notes_bytes / paragraph_bytes))))


def _id(index: int) -> str:
    return f"00000000-0000-4000-8000-{index:012d}"


def serve(size: int, record_scale: int, fixtures: Path) -> None:
    """Child process: serve the catalogue and print its URL and mean record size. On stdin, `mutate`
    changes 1 %; `served` prints the paths of the requests answered since it was last asked, as one JSON
    list; EOF stops."""
    catalogue = TemplatedCatalogue(real_packages(fixtures), size, record_scale)
    with serve_portal(catalogue) as portal:
        print(portal.url, round(catalogue.mean_record_bytes()), flush=True)
        log = portal.server.log
        for line in sys.stdin:
            if line.strip() == "mutate":
                catalogue.mutate()
                print("mutated", flush=True)
            elif line.strip() == "served":
                answered = len(log)
                print(json.dumps([path for path, _ in log[:answered]]), flush=True)
                del log[:answered]


class BenchPortal:
    """The portal's process, seen from the bench."""

    def __init__(self, size: int, record_scale: int, fixtures: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(size), "--record-scale", str(record_scale),
             "--fixtures", str(fixtures)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.url, record_bytes = self._ask(None).split()
        self.record_bytes = int(record_bytes)

    def _ask(self, command: str | None) -> str:
        assert self.process.stdin and self.process.stdout
        if command is not None:
            self.process.stdin.write(f"{command}\n")
            self.process.stdin.flush()
        return self.process.stdout.readline()

    def mutate(self) -> None:
        self._ask("mutate")

    def served(self) -> list[str]:
        """The URLs of the requests answered since last asked."""
        return [self.url + path for path in json.loads(self._ask("served"))]

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(timeout=60)


def curl_transfer(urls: list[str]) -> float:
    """Seconds for one curl process to download these URLs over one connection, bodies discarded: the
    issue's floor, "the curl time of the same pages"."""
    with tempfile.NamedTemporaryFile("w", suffix=".curlrc") as config:
        config.writelines(f'url = "{url}"\noutput = "/dev/null"\n' for url in urls)
        config.flush()
        started = time.perf_counter()
        subprocess.run([CURL, "--silent", "--show-error", "--fail", "--config", config.name], check=True)
        return time.perf_counter() - started


def plain_gets(url: str, size: int) -> float:
    """Seconds to download every search page with requests, in pages of the CKAN maximum, without parsing:
    the floor of figures before 2026-12-03, kept for comparison with them."""
    session = requests.Session()
    started = time.perf_counter()
    for start in range(0, size, MAX_ROWS):
        params = {"q": "*:*", "sort": SEARCH_SORT, "rows": MAX_ROWS, "start": start}
        session.get(f"{url}/api/3/action/package_search", params=params).content  # noqa: B018
    return time.perf_counter() - started


# --- measuring a process and everything it starts --------------------------------------------------


def adopt_orphans() -> None:
    """Become the subreaper of every process started from here: a worker its harvest leaves behind is
    re-parented to us, not to init, so its memory is still polled and its CPU time reaped and counted."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _parent(pid: int) -> int | None:
    """A process's parent id from /proc (None once it is gone). The name in parentheses may hold spaces."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _resident_bytes(pid: int) -> tuple[int, int]:
    """VmRSS and PSS of a live process; 0 for one that is gone or a zombie (which has none).

    PSS counts a page shared by n processes as 1/n in each (a forked worker shares its parent's imports),
    so PSS summed over processes is what they occupy together; VmRSS summed counts shared pages once per
    process."""
    resident = proportional = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_bytes().splitlines():
            if line.startswith(b"VmRSS:"):
                resident = int(line.split()[1]) * 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_bytes().splitlines():
            if line.startswith(b"Pss:"):
                proportional = int(line.split()[1]) * 1024
    except OSError:
        pass
    return resident, proportional


class ProcessTreeMemory:
    """Polls the summed VmRSS and PSS of a process and all its descendants in a thread, keeping the largest
    sums.

    A process joins the tree when first seen with a parent in it and stays until it ends, so a descendant
    re-parented to the subreaper still counts. /proc/<pid>/task/*/children needs CONFIG_PROC_CHILDREN,
    which not every kernel has, so parents are read from /proc/<pid>/stat, once per new process.
    """

    def __init__(self, root: int) -> None:
        self.members = {root}
        self.parents: dict[int, int | None] = {}
        self.peak_bytes = 0
        self.peak_pss_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="rss-poll", daemon=True)

    def __enter__(self) -> ProcessTreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            resident, proportional = self.sample()
            self.peak_bytes = max(self.peak_bytes, resident)
            self.peak_pss_bytes = max(self.peak_pss_bytes, proportional)
            self._stop.wait(MEMORY_POLL_S)

    def sample(self) -> tuple[int, int]:
        """The tree's summed VmRSS and PSS now, after taking in the processes started since the last sample."""
        alive = _pids()
        for gone in self.parents.keys() - alive:
            del self.parents[gone]
        self.members &= alive
        new = alive - self.parents.keys()
        self.parents.update((pid, _parent(pid)) for pid in new)
        while joining := {pid for pid in new - self.members if self.parents[pid] in self.members}:
            self.members |= joining
        sizes = [_resident_bytes(pid) for pid in self.members]
        return sum(rss for rss, _ in sizes), sum(pss for _, pss in sizes)


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    peak_rss_bytes: int | None
    """All processes together: the largest summed sample, or the largest single process if higher (None
    unless polled)."""
    peak_pss_bytes: int | None
    """All processes together, each shared page counted once: the largest summed PSS sample (None unless
    polled)."""
    largest_process_rss_bytes: int
    left_behind: int
    """Processes still running when the command's own process ended (killed after LEFTOVER_GRACE_S)."""
    outlived_s: float
    """How long after the command's own process the last of them ended."""


class CommandError(Exception):
    pass


def _pids() -> set[int]:
    return {int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()}


def _our_children() -> set[int]:
    me = os.getpid()
    return {pid for pid in _pids() if _parent(pid) == me}


def _reap_left_behind(ours_before: set[int]) -> tuple[int, float]:
    """Wait for the processes a command left running (re-parented to us) to end, killing those still running
    after the grace period, so their CPU time is counted too. How many there were, and how many seconds the
    last one outlived the command by."""
    started = time.monotonic()
    seen: set[int] = set()
    while left := _our_children() - ours_before:
        seen |= left
        for pid in left:
            if time.monotonic() > started + LEFTOVER_GRACE_S:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.01)
    return len(seen), time.monotonic() - started if seen else 0.0


def run_measured(
    command: list[str], cwd: Path = REPO, *, memory: bool = False, environment: dict[str, str] | None = None
) -> Measured:
    """Run a command to its end, with the wall time and CPU time of it and all it starts, and with
    `memory`, their peak memory polled (which costs the machine CPU: see the module's docstring).
    `environment`: variables set for it, beside this process's own."""
    # ckanapi's dump workers start `ckanapi` by name: put this Python's scripts first on PATH
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    environment = os.environ | {"PATH": path} | (environment or {})
    children_before = _our_children()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: ckanapi logs a line per dataset
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors, env=environment)
        poller = ProcessTreeMemory(process.pid) if memory else None
        with poller or contextlib.nullcontext():
            _, status, usage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - started
        left_behind, outlived_s = _reap_left_behind(children_before)
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if status != 0:
            errors.seek(0)
            said = errors.read().decode(errors="replace").strip()[-2000:]
            raise CommandError(f"exit {os.waitstatus_to_exitcode(status)}: {said}")
    return Measured(
        wall_s=wall_s,
        cpu_s=(cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime),
        peak_rss_bytes=max(poller.peak_bytes, usage.ru_maxrss * 1024) if poller else None,
        peak_pss_bytes=poller.peak_pss_bytes if poller else None,
        largest_process_rss_bytes=usage.ru_maxrss * 1024,
        left_behind=left_behind,
        outlived_s=outlived_s,
    )


# --- the engines under test ------------------------------------------------------------------------


@dataclass(frozen=True)
class Engine:
    name: str
    label: str
    checkout: Path
    mapping_free: bool = False
    """The CKAN mapping replaced by copies of rows already mapped (bench/harvest_child.py): a bound, not
    an engine a user runs. It takes part in the full harvests only."""


@contextlib.contextmanager
def engines(baseline: str | None, *, mapping_free: bool = False) -> Iterator[list[Engine]]:
    """The current working tree, after the baseline revision checked out in a temporary worktree if asked,
    and before the working tree with its mapping made free if asked."""
    current = compiled(Engine("current", "current (working tree)", REPO))
    bound = [Engine("mapping_free", "current, mapping free (bound)", REPO, mapping_free=True)] if mapping_free else []
    if baseline is None:
        yield [current, *bound]
        return
    revision = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", f"{baseline}^{{commit}}"],
                              check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as folder:
        worktree = Path(folder) / revision
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(worktree), revision],
                       check=True)  # fmt: skip
        try:
            yield [compiled(Engine("baseline", f"baseline ({revision})", worktree)), current, *bound]
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=True)


def compiled(engine: Engine) -> Engine:
    """`engine`, its `catalog` package compiled to bytecode (compileall writes it whatever
    PYTHONDONTWRITEBYTECODE says; Python reads it either way)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(engine.checkout / "catalog")], check=True)
    return engine


def harvest(
    engine: Engine, url: str, lake: Path, *, full: bool, rate_limited: bool = False, memory: bool = False
) -> dict[str, Any]:
    """One `catalog harvest` of `engine`, measured (with `memory`, its peak memory polled), with what
    bench/harvest_child.py reports about it."""
    with tempfile.TemporaryDirectory(prefix="bench-child-") as folder:
        report = Path(folder) / "report.json"
        command = [sys.executable, str(HARVEST_CHILD), str(engine.checkout), str(report), "harvest", url,
                   "--portal", "bench", "--software", "ckan", "--lake", str(lake)]  # fmt: skip
        command += ["--full"] if full else []
        command += [] if rate_limited else ["--rate", "0"]
        environment = {"BENCH_MAPPING_FREE": "1"} if engine.mapping_free else {}
        measured = run_measured(command, cwd=engine.checkout, memory=memory, environment=environment)
        child = json.loads(report.read_text())
    imported = Path(child["catalog_file"]).resolve()
    if not imported.is_relative_to(engine.checkout.resolve()):
        raise CommandError(f"{engine.name} imported catalog from {imported}, not from {engine.checkout}")
    if measured.left_behind:
        print(f"  {engine.name}: {measured.left_behind} process(es) outlived the harvest, the last by "
              f"{measured.outlived_s:.2f} s{' (killed)' if measured.outlived_s > LEFTOVER_GRACE_S else ''}",
              flush=True)  # fmt: skip
    return {"measured": measured, "catalog_file": str(imported), **child}


def folder_size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())


def last_run(lake: Path) -> dict[str, Any]:
    return max(Lake(lake).runs("bench"), key=lambda run: run["started_at"])


def measure(size: int, record_scale: int, under_test: list[Engine], args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per engine at one size, from full, rate-limited and incremental harvests of one portal."""
    portal = BenchPortal(size, record_scale, args.fixtures)
    try:
        url = portal.url
        print(f"{size:,} datasets, record scale {record_scale} (mean record {portal.record_bytes / 1000:.1f} KB)",
              flush=True)  # fmt: skip
        shared = {"datasets": size, "record_scale": record_scale}
        rows = {engine.name: {"engine": engine.label, **shared} for engine in under_test}
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            work = Path(folder)
            _full_harvests(under_test, portal, work, rows, args.rounds)
            search_s = run_measured([CKANAPI, "search", "datasets", "q=*:*",
                                     "-O", str(work / "search.jsonl"), "-g", "-r", url]).wall_s  # fmt: skip
            dump_s = None
            if size <= args.dump_max:
                dump_s = run_measured([CKANAPI, "dump", "datasets", "--all", "-p", "2",
                                       "-O", str(work / "dump.jsonl"), "-g", "-r", url]).wall_s  # fmt: skip
            for row in rows.values():
                row |= {"ckanapi_search_s": search_s, "ckanapi_dump_s": dump_s}
                if "wall_s" in row:
                    row["ratio_to_ckanapi_search"] = row["wall_s"] / search_s
                    row["ratio_to_ckanapi_dump"] = dump_s and row["wall_s"] / dump_s
            engines_run_by_users = [engine for engine in under_test if not engine.mapping_free]
            if size == args.rate_cost_at:
                for engine in engines_run_by_users:
                    _rate_limited_harvest(engine, url, work / f"{engine.name}-rate", rows[engine.name])
            portal.mutate()
            for engine in engines_run_by_users:
                _incremental_harvest(engine, url, work / engine.name, rows[engine.name])
                _full_reharvest(engine, url, work / engine.name, rows[engine.name])
        return list(rows.values())
    finally:
        portal.close()


def _full_harvests(
    under_test: list[Engine], portal: BenchPortal, work: Path, rows: dict[str, dict[str, Any]], rounds: int
) -> None:
    """`rounds` full harvests by each engine, interleaved (A B, B A, A B...), so that the machine's drifts
    fall on every engine alike. Right after each harvest, curl downloads the very requests it made: its
    floor (`raw_transfer_s`). Each round also times the earlier floor, plain GETs of 1,000-row pages.
    Each figure is the median over the rounds; `cpu_vs_baseline` is the median of each round's CPU over
    the baseline's in the same round. Then one more full harvest per engine, its memory polled, gives the
    peaks (the timed ones are not polled: polling slows them); its lakes stay for the runs that follow."""
    samples: dict[str, list[dict[str, Any]]] = {engine.name: [] for engine in under_test}
    for round_ in range(rounds):
        plain_s = plain_gets(portal.url, rows[under_test[0].name]["datasets"])
        for engine in under_test if round_ % 2 == 0 else under_test[::-1]:
            row = rows[engine.name]
            if "failed" in row:
                continue
            shutil.rmtree(work / engine.name, ignore_errors=True)
            portal.served()
            sample = _full_harvest(engine, portal.url, work / engine.name, row["datasets"])
            if isinstance(sample, str):
                row["failed"] = sample
                print(f"  {engine.name}: FAILED: {sample}", flush=True)
                continue
            transfer_s = curl_transfer(portal.served())
            sample |= {
                "raw_transfer_s": transfer_s,
                "ratio_to_raw": sample["wall_s"] / transfer_s,
                "plain_gets_s": plain_s,
                "ratio_to_plain_gets": sample["wall_s"] / plain_s,
            }
            samples[engine.name].append(sample)
            print(f"  round {round_ + 1}: {engine.name} wall {sample['wall_s']:.2f} s, the same requests by curl "
                  f"{transfer_s:.2f} s (ratio {sample['ratio_to_raw']:.2f}), 1,000-row pages by requests "
                  f"{plain_s:.2f} s (ratio {sample['ratio_to_plain_gets']:.2f}), CPU {sample['cpu_s']:.1f} s",
                  flush=True)  # fmt: skip
    for engine in under_test:
        taken = samples[engine.name]
        if "failed" in rows[engine.name] or not taken:
            continue
        rows[engine.name] |= {key: statistics.median(sample[key] for sample in taken) for key in taken[0]}
        rows[engine.name] |= {
            "rounds": len(taken),
            "ratio_range": _range(sample["ratio_to_raw"] for sample in taken),
            "plain_gets_ratio_range": _range(sample["ratio_to_plain_gets"] for sample in taken),
        }
        shutil.rmtree(work / engine.name, ignore_errors=True)
        polled = _full_harvest(engine, portal.url, work / engine.name, rows[engine.name]["datasets"], memory=True)
        if isinstance(polled, str):
            rows[engine.name]["failed"] = polled
            print(f"  {engine.name}: FAILED: {polled}", flush=True)
            continue
        rows[engine.name] |= {key: polled[key] for key in PEAKS}
        print(f"  memory: {engine.name} peak PSS {polled['peak_pss_mb']:.0f} MB, RSS {polled['peak_rss_mb']:.0f} MB "
              f"(wall {polled['wall_s']:.1f} s while polled)", flush=True)  # fmt: skip
    baseline = samples.get("baseline")
    for engine in under_test:
        if engine.name != "baseline" and baseline and len(baseline) == len(samples[engine.name]):
            pairs = zip(samples[engine.name], baseline, strict=True)
            paired = [ours["cpu_s"] / theirs["cpu_s"] for ours, theirs in pairs]
            rows[engine.name] |= {"cpu_vs_baseline": statistics.median(paired), "cpu_vs_baseline_range": _range(paired)}


PEAKS = ("peak_rss_mb", "peak_pss_mb", "largest_process_rss_mb")


def _range(values: Iterable[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[0]:.2f}-{ordered[-1]:.2f}"


def _full_harvest(engine: Engine, url: str, lake: Path, datasets: int, *, memory: bool = False) -> dict[str, Any] | str:
    """One full harvest's figures (with `memory`, its peak memory polled), or why it failed."""
    try:
        result = harvest(engine, url, lake, full=True, memory=memory)
        full = last_run(lake)
        if full["status"] != "complete" or full["added"] != datasets:
            raise CommandError(f"full harvest ended {full['status']} with {full['added']:,} added")
    except CommandError as failure:
        return str(failure)
    measured: Measured = result["measured"]
    return {
        "wall_s": measured.wall_s,
        "datasets_per_s": datasets / measured.wall_s,
        "cpu_s": measured.cpu_s,
        "cpu_s_per_100k": measured.cpu_s / datasets * 100_000,
        "largest_process_rss_mb": measured.largest_process_rss_bytes / 2**20,
        **(
            {"peak_rss_mb": measured.peak_rss_bytes / 2**20, "peak_pss_mb": measured.peak_pss_bytes / 2**20}
            if measured.peak_rss_bytes is not None and measured.peak_pss_bytes is not None
            else {}
        ),
        "run_record_s": (full["finished_at"] - full["started_at"]).total_seconds(),
        "requests": full["requests"],
        "mb_received": full["bytes_received"] / 1e6,
        "full_bytes": full["bytes_received"],
        "lake_mb": folder_size(lake) / 2**20,
    }


def _rate_limited_harvest(engine: Engine, url: str, lake: Path, row: dict[str, Any]) -> None:
    if "failed" in row:
        return
    try:
        result = harvest(engine, url, lake, full=True, rate_limited=True, memory=True)
    except CommandError as failure:
        row["failed"] = f"with the default rate: {failure}"
        return
    wall_s = result["measured"].wall_s
    row |= {
        "default_rate_wall_s": wall_s,
        "default_rate_extra_s": wall_s - row["wall_s"],
        "default_rate_requests": last_run(lake)["requests"],
        "default_rate_peak_pss_mb": result["measured"].peak_pss_bytes / 2**20,
        "limiter_wait_s": result["limiter_wait_s"] if result["limiter_calls"] else None,
        "limiter_calls": result["limiter_calls"],
    }


def _incremental_harvest(engine: Engine, url: str, lake: Path, row: dict[str, Any]) -> None:
    if "failed" in row:
        return
    try:
        wall_s = harvest(engine, url, lake, full=False)["measured"].wall_s
        incremental = last_run(lake)
        if incremental["mode"] != "incremental" or incremental["modified"] != row["datasets"] // CHANGED_EVERY:
            raise CommandError(f"incremental run: {incremental['mode']}, {incremental['modified']:,} modified")
    except CommandError as failure:
        row["failed"] = f"incremental: {failure}"
        return
    row |= {
        "incr_wall_s": wall_s,
        "incr_requests": incremental["requests"],
        "incr_mb": incremental["bytes_received"] / 1e6,
        "incr_share_of_full_bytes": incremental["bytes_received"] / row["full_bytes"],
    }


def _full_reharvest(engine: Engine, url: str, lake: Path, row: dict[str, Any]) -> None:
    """A full harvest of what the lake already holds: every dataset fetched, classified against the
    current state, none written (what a daily full harvest of an unchanged portal costs)."""
    if "failed" in row:
        return
    try:
        measured = harvest(engine, url, lake, full=True)["measured"]
        again = last_run(lake)
        if again["status"] != "complete" or again["added"] or again["modified"]:
            raise CommandError(
                f"re-harvest ended {again['status']}: {again['added']} added, {again['modified']} modified"
            )
    except CommandError as failure:
        row["failed"] = f"re-harvest: {failure}"
        return
    row |= {"reharvest_wall_s": measured.wall_s, "reharvest_cpu_s": measured.cpu_s}


# --- printing ----------------------------------------------------------------------------------------

COLUMNS = ["datasets", "record_scale", "wall_s", "run_record_s", "datasets_per_s", "requests", "mb_received", "lake_mb",
           "raw_transfer_s", "ratio_to_raw", "ratio_range", "plain_gets_s", "ratio_to_plain_gets",
           "plain_gets_ratio_range", "rounds", "cpu_s", "cpu_vs_baseline",
           "cpu_vs_baseline_range", "cpu_s_per_100k", "peak_rss_mb", "peak_pss_mb",
           "largest_process_rss_mb",
           "ckanapi_search_s", "ratio_to_ckanapi_search", "ckanapi_dump_s", "ratio_to_ckanapi_dump",
           "default_rate_wall_s", "default_rate_extra_s", "default_rate_requests", "default_rate_peak_pss_mb",
           "limiter_wait_s", "limiter_calls", "incr_wall_s", "incr_requests", "incr_mb", "incr_share_of_full_bytes",
           "reharvest_wall_s", "reharvest_cpu_s"]  # fmt: skip
TABLE = [("size", "datasets", "{:,}"), ("record scale", "record_scale", "{}"), ("engine", "engine", "{}"),
         ("wall s", "wall_s", "{:.2f}"), ("curl s", "raw_transfer_s", "{:.2f}"),
         ("ratio", "ratio_to_raw", "{:.2f}"), ("ratio range", "ratio_range", "{}"),
         ("plain GETs s", "plain_gets_s", "{:.2f}"), ("ratio to them", "ratio_to_plain_gets", "{:.2f}"),
         ("CPU s", "cpu_s", "{:.1f}"),
         ("CPU s per 100k", "cpu_s_per_100k", "{:.1f}"), ("CPU vs baseline", "cpu_vs_baseline", "{:.2f}"),
         ("its range", "cpu_vs_baseline_range", "{}"), ("peak RSS MB (all processes)", "peak_rss_mb", "{:.0f}"),
         ("peak PSS MB (all processes)", "peak_pss_mb", "{:.0f}"),
         ("datasets/s", "datasets_per_s", "{:,.0f}"), ("re-harvest wall s", "reharvest_wall_s", "{:.1f}"),
         ("re-harvest CPU s", "reharvest_cpu_s", "{:.1f}")]  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 1 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_figures(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'':>26}  " + "  ".join(f"{row['engine'].split()[0]:>12}" for row in rows))
    for column in COLUMNS:
        print(f"{column:>26}  " + "  ".join(f"{_cell(row.get(column)):>12}" for row in rows))
    print("ratio_* = catalog harvest wall time / the other's; incr_* = incremental run after 1 % changed;")
    print("reharvest_* = a full harvest again after that, nothing changed since;")
    print("default_rate_* = the full harvest without --rate 0; limiter_wait_s = time in the limiter's acquire;")
    print("run_record_s = the run record's finished_at - started_at (no start-up, no database refresh after)")
    for row in rows:
        if "failed" in row:
            print(f"{row['datasets']:,} x{row['record_scale']} {row['engine']} FAILED: {row['failed']}")
    print("\n| " + " | ".join(title for title, _, _ in TABLE) + " |")
    print("|" + "---|" * len(TABLE))
    for row in rows:
        cells = ["-" if row.get(key) is None else form.format(row[key]) for _, key, form in TABLE]
        print("| " + " | ".join(cells) + " |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000, 300_000])
    parser.add_argument("--record-scale", type=int, default=1, help="records K times their usual size")
    parser.add_argument("--baseline", metavar="REV", help="also run this revision's harvest, from a git worktree")
    parser.add_argument("--rate-cost-at", type=int, default=20_000, help="N at which to time the default rate too")
    parser.add_argument("--dump-max", type=int, default=100_000, help="largest N to run ckanapi dump on")
    parser.add_argument("--rounds", type=int, default=1, help="full harvests per engine, interleaved; medians shown")
    parser.add_argument("--mapping-free", action="store_true", help="also the bound: the harvest, its mapping free")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record_scale < 1 or args.rounds < 1:
        parser.error("--record-scale and --rounds must be 1 or more")
    if args.serve is not None:
        serve(args.serve, args.record_scale, args.fixtures)
        return 0
    if shutil.which(CURL) is None:
        parser.error("curl is needed: the floor is its time to download the harvest's requests")
    adopt_orphans()
    with engines(args.baseline, mapping_free=args.mapping_free) as under_test:
        rows = [row for size in args.sizes for row in measure(size, args.record_scale, under_test, args)]
    print_figures(rows)
    return 1 if any("failed" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
