"""Broken and hostile portals (tests/hostile.py), one regression test per finding: the harvester never
loses published data, never hangs or grows without bound, never reaches where it must not, and never
leaks a secret."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from rdflib import Graph

from catalog.cli import main
from catalog.doctor import examine, repair
from catalog.errors import CatalogError, HarvestError, SuspiciousHarvestError
from catalog.harvest import HarvestLimitError, HarvestLimits, harvest_portal
from catalog.lake import ABANDONED, Lake, PortalBusyError, lock_holder
from catalog.sources import base as portals_base
from catalog.sources import pagers, portal_settings
from catalog.sources.base import FIRST_PAGE_ROWS
from catalog.sources.ckan.client import CkanClient
from catalog.sources.dcat import rdf_input
from catalog.sources.dcat.client import DcatClient
from catalog.sources.dcat.rdf_input import UnsafeDocumentError
from catalog.views import query
from tests.conftest import FAST, REPO, portal_at, published_files, real_packages
from tests.hostile import (
    billion_laughs,
    dripping,
    empty_search_index,
    endless_pages,
    jsonld_with_context,
    page_served_twice,
    pages_with_deep_records,
)
from tests.recorded import multiplied
from tests.routes import redirect, serve_routes, static


def view(lake: Lake) -> list[tuple]:
    return query(lake, "SELECT portal_id, dataset_id, harvest_id FROM datasets ORDER BY ALL")[1]


def runs(lake: Lake, portal_id: str = "test-portal") -> list[dict]:
    return sorted(lake.runs(portal_id), key=lambda run: run["harvest_id"])


@pytest.fixture
def harvested(serve, lake):
    """A CKAN portal of 100 real-record datasets, harvested once."""
    packages = multiplied(real_packages(), 100)
    portal = serve(packages, rows_max=50)
    harvest_portal(portal_at(portal.url), lake, settings=FAST)
    return portal, packages


# --- never lose published data -------------------------------------------------------------------


def test_an_empty_answer_publishes_nothing_and_says_so(harvested, lake, capsys) -> None:
    portal, _ = harvested
    before_files, before_view = published_files(lake), view(lake)
    portal.options.intercept = empty_search_index()
    command = ["harvest", portal.url, "--portal", "test-portal", "--software", "ckan", "--lake", str(lake.root)]
    for mode in ([], ["--full"]):  # incremental (the listing is empty) and full: an empty answer never confirms
        code = main(command + mode)
        err = capsys.readouterr().err
        assert code == 3
        assert (
            "SUSPICIOUS, NOTHING PUBLISHED: would delete 100 of 100 datasets (100%, more than the 20% allowed)" in err
        )
    assert published_files(lake) == before_files and view(lake) == before_view
    statuses = [(run["status"], run["deleted"]) for run in runs(lake)]
    assert statuses == [("complete", 0), ("suspicious", 100), ("suspicious", 100)]
    assert "fetched nothing" in runs(lake)[1]["error"]


def test_an_explicit_allowance_deletes_and_the_next_incremental_run_heals(harvested, lake) -> None:
    portal, _ = harvested
    portal.options.intercept = empty_search_index()
    gone = harvest_portal(portal_at(portal.url), lake, settings=FAST, full=True, allow_mass_deletion=True)
    assert (gone.status, gone.deleted) == ("complete", 100)
    assert view(lake) == []
    portal.options.intercept = None  # the index is rebuilt; nothing was modified since the watermark
    healed = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (healed.mode, healed.added, healed.deleted) == ("incremental", 100, 0)
    assert "100 listed datasets were missing from the lake: fetched 100 by reading the whole catalogue" in healed.notes
    assert len(view(lake)) == 100


def test_a_few_listed_datasets_missing_from_the_lake_are_fetched_one_by_one(harvested, lake) -> None:
    portal, packages = harvested
    for package in packages[:3]:
        portal.catalogue.remove(package["id"])
    harvest_portal(portal_at(portal.url), lake, settings=FAST)  # 3 % deleted: within the share
    for package in packages[:3]:  # back, but their metadata_modified is old: `since` alone would miss them
        portal.catalogue.add(package)
    healed = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (healed.added, healed.modified, healed.deleted) == (3, 0, 0)
    assert "3 listed datasets were missing from the lake: fetched 3 one by one" in healed.notes
    assert len(view(lake)) == 100


def test_a_share_above_the_limit_is_suspicious_until_a_full_harvest_confirms_it(harvested, lake) -> None:
    portal, packages = harvested
    for package in packages[:30]:
        portal.catalogue.remove(package["id"])
    with pytest.raises(SuspiciousHarvestError, match="would delete 30 of 100 datasets"):
        harvest_portal(portal_at(portal.url), lake, settings=FAST)
    confirmed = harvest_portal(portal_at(portal.url), lake, settings=FAST, full=True)
    assert (confirmed.status, confirmed.deleted) == ("complete", 30)
    assert any("a full harvest confirmed the 30 deletions" in note for note in confirmed.notes)
    assert len(view(lake)) == 70


def test_the_deletion_share_is_set_per_portal(harvested, lake) -> None:
    portal, packages = harvested
    for package in packages[:30]:
        portal.catalogue.remove(package["id"])
    run = harvest_portal(portal_at(portal.url, max_deletion_share=0.5), lake, settings=FAST)
    assert (run.status, run.deleted) == ("complete", 30)


def test_a_since_in_the_future_is_refused(harvested, lake, capsys) -> None:
    portal, _ = harvested
    before = published_files(lake)
    future = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    command = ["harvest", portal.url, "--portal", "test-portal", "--software", "ckan", "--lake", str(lake.root)]
    assert main([*command, "--since", future]) == 1
    assert "is later than now" in capsys.readouterr().err
    with pytest.raises(CatalogError, match="is later than now"):
        harvest_portal(portal_at(portal.url), lake, settings=FAST, since=datetime.now(UTC) + timedelta(hours=1))
    assert published_files(lake) == before and len(runs(lake)) == 1


def harvest_process(
    url: str, lake: Lake, *extra: str, temporary: Path | None = None, file_size_cap: int | None = None
) -> subprocess.Popen:
    """`catalog harvest` in a process of its own. `temporary`: its temporary folder (where workers
    spool); `file_size_cap`: the most any file it writes may hold, as `ulimit -f` sets (the OS refuses
    a write past it, as a full disk does), its bytecode cache left alone so no cut-short file is kept."""
    command = [sys.executable, "-m", "catalog.cli", "harvest", url, "--portal", "test-portal", "--software", "ckan"]
    command += ["--lake", str(lake.root), "--rate", "0", *extra]
    env = dict(os.environ)
    if temporary is not None:
        env["TMPDIR"] = str(temporary)
    if file_size_cap is not None:
        command = ["prlimit", f"--fsize={file_size_cap}", *command]
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_harvests_of_one_portal_never_run_at_once(serve, lake) -> None:
    packages = multiplied(real_packages(), 60)
    portal = serve(packages, rows_max=10)
    release = threading.Event()  # the portal stalls the first harvest until the second has been refused
    portal.options.intercept = lambda action, params: release.wait(60) and None
    first = harvest_process(portal.url, lake)
    deadline = time.monotonic() + 30
    while not (lake.lock_path("test-portal").exists() and lake.lock_path("test-portal").stat().st_size):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    second = harvest_process(portal.url, lake)
    _, second_err = second.communicate(timeout=60)
    assert second.returncode == 1
    assert "portal test-portal is being harvested into this lake already (pid" in second_err
    release.set()
    assert first.wait(timeout=60) == 0, first.stderr.read()
    waited = harvest_process(portal.url, lake, "--wait", "30")  # the lock is free again: a clean incremental run
    assert waited.wait(timeout=60) == 0, waited.stderr.read()
    assert [run["status"] for run in runs(lake)] == ["complete", "complete"]
    assert query(lake, "SELECT count(*) FROM changes")[1] == [(60,)]


def interrupt_mid_harvest(url: str, lake: Lake, sig: int) -> None:
    """Start a harvest in another process and send it `sig` once it is fetching."""
    before = set((lake.root / "_staging").glob("test-portal/*"))
    process = harvest_process(url, lake)
    deadline = time.monotonic() + 30
    while not set((lake.root / "_staging").glob("test-portal/*")) - before:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(sig)
    process.wait(timeout=30)


def test_a_killed_harvest_is_abandoned_by_the_next_and_sigterm_is_recorded(serve, lake) -> None:
    portal = serve(multiplied(real_packages(), 60), rows_max=10)
    portal.options.intercept = lambda action, params: time.sleep(0.3)
    interrupt_mid_harvest(portal.url, lake, signal.SIGKILL)
    assert [run["status"] for run in runs(lake)] == ["running"]  # nobody left to record it
    assert list((lake.root / "_staging").glob("test-portal/*"))  # nor to clean up
    interrupt_mid_harvest(portal.url, lake, signal.SIGTERM)  # what Dagster, Kubernetes and systemd send
    statuses = [(run["status"], run["error"]) for run in runs(lake)]
    assert statuses[0] == ("failed", ABANDONED)  # the second harvest, holding the lock, cleared the first
    assert statuses[1] == ("failed", "interrupted (SIGINT or SIGTERM)")
    assert not list((lake.root / "_staging").glob("test-portal/*"))
    portal.options.intercept = None
    assert harvest_portal(portal_at(portal.url), lake, settings=FAST).status == "complete"


def test_a_harvest_killed_while_its_workers_run_leaves_nothing_running_locked_or_spooled(serve, lake, tmp_path) -> None:
    """SIGKILL (the out-of-memory killer, Dagster's forced termination) gives a harvest no chance to
    stop its workers or remove their spool. Its portal is unlocked at once; its workers exit by
    themselves; the next harvest removes the spool and runs."""
    portal = serve(multiplied(real_packages(), 1_200), rows_max=100)  # the shipped parallelism starts workers
    portal.options.intercept = lambda action, params: time.sleep(0.2)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process, workers = harvest_process(portal.url, lake, temporary=temporary), []
    try:
        wait_for(lambda: len(forked_by(process.pid)) == 2, process)
        workers = forked_by(process.pid)
        spooled = wait_for(lambda: list(temporary.iterdir()), process)
        process.kill()
        process.wait(timeout=30)
        assert not lake.is_locked("test-portal")
        wait_for(lambda: not any(map(running, workers)))
    finally:  # never leave a process to the rest of the suite (workers first: they hold its pipes)
        for pid in filter(running, workers):
            os.kill(pid, signal.SIGKILL)
        process.kill()
        process.communicate(timeout=30)
    assert [path.name.startswith("catalog-normalising-test-portal-") for path in spooled] == [True]
    assert spooled[0].exists() and [run["status"] for run in runs(lake)] == ["running"]
    portal.options.intercept = None
    code, err = outcome(harvest_process(portal.url, lake, temporary=temporary))
    assert code == 0, err
    assert "test-portal: removed 1 spool folder(s) that killed harvests left" in err
    assert [(run["status"], run["error"]) for run in runs(lake)] == [("failed", ABANDONED), ("complete", None)]
    assert list(temporary.iterdir()) == []


def test_a_spool_the_system_refuses_fails_the_harvest_naming_the_folder(serve, lake, tmp_path) -> None:
    """A temporary folder that refuses a page (full; here, files capped at 512 KB, as `ulimit -f` does,
    where a page is about 3 MB): the harvest fails in one line naming the folder and how to move it, and
    leaves nothing behind."""
    portal = serve(multiplied(real_packages(), 1_200))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    cap = 512 * 1024  # the first page, of 20 records, fits; the lake's files come later
    process = harvest_process(portal.url, lake, temporary=temporary, file_size_cap=cap)
    said = failure_said(process)
    assert re.fullmatch(
        rf"catalog harvest: spool folder {re.escape(str(temporary))}/catalog-normalising-test-portal-\S+: "
        r"\[Errno 27\] File too large \(TMPDIR sets where it goes\)",
        said,
    ), said
    assert [(run["status"], run["error"]) for run in runs(lake)] == [("failed", said.removeprefix("catalog harvest: "))]
    assert list(temporary.iterdir()) == [] and not lake.is_locked("test-portal")


def test_a_lake_the_system_refuses_fails_the_harvest_naming_the_file_and_keeps_the_last_good_one(
    harvested, serve, lake
) -> None:
    """A lake's disk full (here, files capped at 64 KB, as `ulimit -f` does): the harvest fails in one
    line naming the file it could not write, is recorded so, and the published harvest stays as it was."""
    before = published_files(lake)
    grown = serve(multiplied(real_packages(), 1_200))  # the portal, moved, with 1,100 datasets more to write
    cap = 64 * 1024
    process = harvest_process(grown.url, lake, "--same-portal", "--normalise-workers", "0", file_size_cap=cap)
    said = failure_said(process)
    staging = re.escape(str(lake.root / "_staging" / "test-portal"))
    file = rf"{staging}/\S+/(datasets|distributions)\.parquet"
    assert re.fullmatch(rf"catalog harvest: {file}: \[Errno 27\] .*", said), said
    assert runs(lake)[-1]["status"] == "failed" and runs(lake)[-1]["error"] == said.removeprefix("catalog harvest: ")
    assert published_files(lake) == before and not any((lake.root / "_staging").glob("*/*"))


def test_doctor_lists_and_removes_the_spool_a_killed_harvest_left(harvested, lake, tmp_path, monkeypatch) -> None:
    """A portal not harvested again keeps what its killed harvest's workers spooled, until `catalog doctor
    --fix`; a spool of another lake's harvest of a portal by the same id is not this lake's to remove."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    [run] = runs(lake)
    left = temporary / f"catalog-normalising-test-portal-{run['harvest_id']}-k2j_x9a1"
    another_lakes = temporary / "catalog-normalising-test-portal-20260101T000000000000Z-cd34-q8r7s6t5"
    for folder in (left, another_lakes):
        folder.mkdir()
        (folder / "page-1.json").write_bytes(b"{}")
    findings = examine(lake)
    assert [(finding.kind, finding.path, finding.action) for finding in findings] == [
        ("leftover spool", str(left), "remove")
    ]
    assert [(finding.kind, finding.action) for finding in repair(lake, findings)] == [("leftover spool", "removed")]
    assert list(temporary.iterdir()) == [another_lakes] and examine(lake) == []


def outcome(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    """A harvest process's exit code and what it wrote to stderr, once it ends (killed past `timeout`)."""
    try:
        _, err = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return process.returncode, err


def failure_said(process: subprocess.Popen) -> str:
    """The last line a harvest process wrote to stderr, once it ended with exit code 1."""
    code, err = outcome(process)
    assert code == 1, err
    return err.strip().splitlines()[-1]


def wait_for(condition, process: subprocess.Popen | None = None, timeout: float = 30) -> Any:
    """`condition()`'s first true value, asked every 50 ms while `process` (if any) runs."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline and (process is None or process.poll() is None)
        time.sleep(0.05)
    return value


def forked_by(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux)."""
    return [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat") if _stat(stat)[1:2] == [str(pid)]]


def running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has, whoever reaps it)."""
    state = _stat(Path(f"/proc/{pid}/stat"))[:1]
    return bool(state) and state != ["Z"]


def _stat(path: Path) -> list[str]:
    """The fields of a /proc stat file after the command's name: state, parent, ...; [] once it is gone."""
    try:
        return path.read_text().rpartition(")")[2].split()
    except OSError:
        return []


def test_a_lock_held_by_a_live_process_is_named(lake) -> None:
    with (
        lake.portal_lock("p", holder=lock_holder("20260101T000000000000Z-abcd")),
        pytest.raises(PortalBusyError, match=rf"pid {os.getpid()} on .*, harvest 20260101T000000000000Z-abcd"),
        lake.portal_lock("p", holder=lock_holder("x")),
    ):
        pass
    with lake.portal_lock("p", holder=lock_holder("again")):  # released with its holder
        assert lake.is_locked("p")


def test_damaged_parquet_files_are_skipped_named_and_quarantined(harvested, serve, lake, caplog, capsys) -> None:
    portal, _ = harvested
    other = serve(multiplied(real_packages(), 20))
    harvest_portal(portal_at(other.url, "other-portal"), lake, settings=FAST)
    truncated = next((lake.root / "harvests" / "portal_id=test-portal").rglob("datasets.parquet"))
    truncated.write_bytes(truncated.read_bytes()[:100])  # power loss mid-write
    empty_run = next((lake.root / "harvest_runs" / "portal_id=other-portal").glob("*.parquet"))
    empty_run.write_bytes(b"")
    # every reader goes on without them, and says what it skipped
    assert query(lake, "SELECT portal_id, count(*) FROM datasets GROUP BY ALL")[1] == []
    assert f"skipping {truncated.parent}: datasets.parquet: truncated (no Parquet footer)" in caplog.text
    assert main(["report", "--lake", str(lake.root)]) == 0
    # harvests of both portals still work: each re-reads what its damaged files held
    assert harvest_portal(portal_at(other.url, "other-portal"), lake, settings=FAST).added == 20
    assert harvest_portal(portal_at(portal.url), lake, settings=FAST, full=True).added == 100
    assert query(lake, "SELECT portal_id, count(*) FROM datasets GROUP BY ALL ORDER BY 1")[1] == [
        ("other-portal", 20),
        ("test-portal", 100),
    ]
    other_first = min((lake.root / "harvests" / "portal_id=other-portal").iterdir())
    kinds = sorted((finding.kind, Path(finding.path).name) for finding in examine(lake))
    assert kinds == [
        ("damaged", empty_run.name),
        ("damaged", truncated.parent.name),
        ("unrecorded harvest", other_first.name),  # its run record was the empty file
    ]
    capsys.readouterr()
    assert main(["doctor", "--fix", "--lake", str(lake.root), "--format", "csv"]) == 0
    assert capsys.readouterr().out.count("moved to") == 3
    assert examine(lake) == []
    assert len(list((lake.root / "_quarantine").rglob("*.parquet"))) == 7  # two harvests of 3 tables, the run


def test_catalog_sql_cannot_write_or_read_outside_the_lake(harvested, lake, tmp_path, capsys) -> None:
    before = published_files(lake)
    target = next((lake.root / "harvests").rglob("datasets.parquet"))
    attempts = {
        f"COPY (SELECT * FROM datasets LIMIT 1) TO '{target}' (FORMAT parquet)": "COPY statements are refused",
        f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{target}'": "EXPLAIN ANALYZE statements are refused",
        "CREATE TABLE x AS SELECT 1": "CREATE statements are refused",
        "ATTACH 'elsewhere.db'": "ATTACH statements are refused",
        "SET enable_external_access = true": "SET statements are refused",
        "SELECT * FROM read_csv('/etc/passwd')": "Permission Error",
        "SELECT 1; SELECT 2": "one statement at a time",
        "": "no SQL statement given",
    }
    for sql, refusal in attempts.items():
        assert main(["sql", sql, "--lake", str(lake.root)]) == 1
        err = capsys.readouterr().err
        assert refusal in err and err.count("\n") == 1, (sql, err)
    assert published_files(lake) == before
    saved = tmp_path / "out.csv"
    assert main(["sql", "SELECT count(*) AS n FROM datasets", "--lake", str(lake.root), "--out", str(saved)]) == 0
    assert saved.read_text() == "n\n100\n"
    inside = lake.root / "x.parquet"
    assert main(["sql", "SELECT 1", "--lake", str(lake.root), "--out", str(inside)]) == 1
    assert "--out must be outside the lake" in capsys.readouterr().err and not inside.exists()


# --- never hang, never grow without bound ---------------------------------------------------------


def test_a_portal_dripping_a_byte_a_second_fails_within_the_deadline(lake) -> None:
    settings = dataclasses.replace(FAST, request_deadline=2.0, read_timeout=5.0)
    with serve_routes({"/api/3/action/package_search": dripping(interval=0.5)}) as server:
        started = time.monotonic()
        with pytest.raises(HarvestError, match=r"package_search: no complete answer within the 2 s deadline"):
            harvest_portal(portal_at(server.base_url), lake, settings=dataclasses.replace(settings, retries=0))
    assert time.monotonic() - started < 60  # halving rows retries each page size once: 1000 .. 10 rows
    assert runs(lake)[-1]["status"] == "failed"


def test_endless_pagination_stops_at_a_limit_from_the_portals_history(harvested, lake) -> None:
    portal, _ = harvested
    portal.options.intercept = endless_pages()
    # a first page of 20 rows, then 1,000 (tiny records: the byte target allows more, the cap does not)
    plausible = rf"stopped after {50_000 + FIRST_PAGE_ROWS:,} datasets in 51 pages, more than is plausible \(50,000: "
    plausible += "the portal reported "
    with pytest.raises(HarvestLimitError, match=plausible + r"1000000000000, its largest harvest had 100\)"):
        harvest_portal(portal_at(portal.url), lake, settings=FAST, full=True)
    assert runs(lake)[-1]["status"] == "failed" and "a listing that never ends?" in runs(lake)[-1]["error"]
    assert len(view(lake)) == 100


def test_a_catch_up_pass_over_many_pages_is_not_a_paging_loop(serve, lake) -> None:
    """A shift near the start of a 40-page catalogue: the catch-up pass re-reads 40 pages of known ids."""
    packages = multiplied(real_packages(), 400)
    portal = serve(packages, rows_max=10)
    portal.options.intercept = page_served_twice(portal)
    run = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (run.status, run.datasets) == ("complete", 400)
    assert "catch-up pass found 10 datasets the first pass missed" in run.notes


def test_a_broken_document_twice_is_no_confirmation(lake) -> None:
    """A software that can only read everything (a data.json): its daily runs are full by nature, but only a
    full harvest asked for as such confirms mass deletions."""
    whole = orjson.dumps({"dataset": [{"identifier": f"d{n}", "title": f"D {n}"} for n in range(20)]})
    stub = orjson.dumps({"dataset": [{"identifier": "d0", "title": "D 0"}]})
    documents = iter([whole, stub, stub, stub])
    with serve_routes({"/data.json": lambda query, headers: (200, "application/json", next(documents))}) as server:
        portal = portal_at(server.base_url, software="datajson", api_url=server.base_url + "/data.json")
        harvest_portal(portal, lake, settings=FAST)
        for _ in range(2):
            with pytest.raises(SuspiciousHarvestError):
                harvest_portal(portal, lake, settings=FAST)
        confirmed = harvest_portal(portal, lake, settings=FAST, full=True)
    assert (confirmed.status, confirmed.deleted) == ("complete", 19)


def test_endless_pagination_of_a_new_portal_stops_at_the_ceiling(serve, lake) -> None:
    portal = serve([])
    portal.options.intercept = endless_pages()
    limits = HarvestLimits(max_datasets=3_000)
    with pytest.raises(HarvestLimitError, match=rf"stopped after {3_000 + FIRST_PAGE_ROWS:,} datasets in 4 pages"):
        harvest_portal(portal_at(portal.url), lake, settings=FAST, limits=limits)
    assert HarvestLimits().max_datasets == 2_000_000  # the shipped ceiling


def ckan_with_rows(rows: int):
    """A client factory: CKAN asking `rows` a page (the shipped default asks 1000)."""
    return lambda portal, settings: CkanClient(portal.url, settings=portal_settings(portal, settings), rows=rows)


def test_a_page_over_its_memory_budget_is_asked_again_smaller(serve, lake, monkeypatch) -> None:
    monkeypatch.setattr(pagers, "FIRST_PAGE_ROWS", 100)  # the first page asks the client's whole 100 rows
    monkeypatch.setattr(portals_base, "PAGE_BYTES_PER_ROW", 4 * 1024)
    monkeypatch.setattr(portals_base, "PAGE_BYTES_FLOOR", 100 * 1024)
    packages = multiplied(real_packages()[:10], 200)  # Birmingham's records: about 7.8 KB each
    run = harvest_portal(portal_at(serve(packages).url), lake, settings=FAST, client_factory=ckan_with_rows(100))
    assert (run.status, run.datasets) == ("complete", 200)
    assert run.notes[0].startswith("package_search failed with rows=100 (package_search: response of ")
    assert run.notes[0].endswith("bytes exceeds the 409,600-byte budget); retried with rows=50")


def test_the_shipped_page_budget_refuses_a_huge_page(serve, lake) -> None:
    assert (portals_base.page_budget(1000), portals_base.page_budget(10)) == (1000 * 48 * 1024, 8 * 2**20)
    huge = [dict(package, notes="x" * 2_000_000) for package in multiplied(real_packages(), 5)]  # 10 MB in 5 rows
    budget = r"package_search: response of [\d,]+ bytes exceeds the 8,388,608-byte budget"
    with pytest.raises(HarvestError, match=budget):
        harvest_portal(portal_at(serve(huge).url), lake, settings=FAST, client_factory=ckan_with_rows(10))


def test_an_rdf_document_over_the_cap_is_refused_before_parsing(lake) -> None:
    assert rdf_input.MAX_DOCUMENT_BYTES == 32 * 2**20
    document = jsonld_with_context({})
    with serve_routes({"/c.jsonld": static(document, "application/ld+json")}) as server:
        portal = portal_at(server.base_url, software="dcat", api_url=server.base_url + "/c.jsonld")

        def small_cap(portal, settings):
            return DcatClient(portal.api_url, settings=settings, max_document_bytes=100)

        cap = r"RDF document larger than 100 bytes: parsing RDF takes about 45 times a document's size in memory"
        with pytest.raises(HarvestError, match=cap):
            harvest_portal(portal, lake, settings=FAST, client_factory=small_cap)


def test_billion_laughs_is_refused_at_once(harvest_served) -> None:
    started = time.monotonic()
    with pytest.raises(HarvestError, match=r"XML declares DTD entities, refused \(EntitiesForbidden\)"):
        harvest_served({"/c.rdf": static(billion_laughs(9), "application/rdf+xml")}, "dcat", api_path="/c.rdf")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("depths", "reasons"),
    [
        ([995], ["nested too deep to serialise"]),  # orjson parses the page; no encoder writes it back
        ([995, 5_000, 100_000], ["nested more than 512 levels deep"] * 3),  # the page needs the iterative parser
    ],
)
def test_records_nested_absurdly_deep_are_dropped_and_the_rest_kept(serve, lake, depths, reasons) -> None:
    packages = multiplied(real_packages(), 5)
    portal = serve(packages)
    portal.options.intercept = pages_with_deep_records([orjson.dumps(package) for package in packages], depths)
    run = harvest_portal(portal_at(portal.url), lake, settings=FAST)
    assert (run.status, run.datasets) == ("complete", 5)
    dropped = [warning for warning in run.warnings if "dropped" in warning]
    assert dropped == [
        f"dataset deep-{depth}: {reason}; dropped" for depth, reason in zip(depths, reasons, strict=True)
    ]


# --- never reach where it must not ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "refusal"),
    [
        ("file:///etc/passwd", "JSON-LD @context 'file:///etc/passwd' refused: only http(s) contexts are read"),
        ("http://169.254.169.254/latest/context.jsonld", "refused to connect to 169.254.169.254"),
        (["ftp://example.org/ctx"], "refused: only http(s) contexts are read"),
        ("file:///etc/hostname#escaped-key", "JSON-LD @context 'file:///etc/hostname#escaped-key' refused"),
    ],
)
def test_a_jsonld_context_is_never_fetched_by_the_parser(harvest_served, context, refusal) -> None:
    document = jsonld_with_context(context)
    if isinstance(context, str) and context.endswith(
        "#escaped-key"
    ):  # the key spelt with a JSON escape is the same key
        document = document.replace(b'"@context"', b'"\\u0040context"')
    with pytest.raises(HarvestError, match=re.escape(refusal)):
        harvest_served({"/c.jsonld": static(document, "application/ld+json")}, "dcat", api_path="/c.jsonld")


def test_rdflib_itself_refuses_to_fetch_a_context() -> None:
    """Behind the resolver: rdflib's own context loader is switched off (should a context ever reach it)."""
    with pytest.raises(UnsafeDocumentError, match="rdflib was about to fetch a JSON-LD context itself"):
        Graph().parse(data=jsonld_with_context("http://127.0.0.1:9/context.jsonld"), format="json-ld")


def test_known_contexts_come_from_local_copies_and_others_through_our_limits(harvest_served, lake) -> None:
    pod = jsonld_with_context("https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld")
    run = harvest_served({"/c.jsonld": static(pod, "application/ld+json")}, "dcat", api_path="/c.jsonld")
    assert run.datasets == 1  # offline: the POD context is shipped
    slow = jsonld_with_context("/slow-context.jsonld")
    routes = {"/c.jsonld": static(slow, "application/ld+json"), "/slow-context.jsonld": dripping(0.5)}
    with serve_routes(routes) as server:
        portal = portal_at(server.base_url, software="dcat", api_url=server.base_url + "/c.jsonld")
        settings = dataclasses.replace(FAST, request_deadline=1.0, retries=0)
        started = time.monotonic()
        with pytest.raises(HarvestError, match=r"@context .*/slow-context.jsonld: no complete answer within the 1 s"):
            harvest_portal(portal, Lake(lake.root.parent / "slow"), settings=settings)
    assert time.monotonic() - started < 10
    assert [path for path, _, headers in server.requests] == ["/c.jsonld", "/slow-context.jsonld"]
    assert all(headers["user-agent"].startswith("catalog-harvester/") for _, _, headers in server.requests)


def test_a_redirect_to_the_metadata_address_is_refused_mid_harvest(lake) -> None:
    metadata = {"/api/3/action/package_search": redirect("http://169.254.169.254/latest/meta-data/")}
    refused = pytest.raises(HarvestError, match=r"refused to connect to 169\.254\.169\.254")
    with serve_routes(metadata) as server, refused:
        harvest_portal(portal_at(server.base_url), lake, settings=FAST)
    assert "refused to connect to 169.254.169.254" in runs(lake)[-1]["error"]


@pytest.mark.parametrize(
    ("name", "decoy"),
    [("lake[1]", "lake1"), ("star*", "starX"), ("q?mark", "qXmark"), ("back\\slash", None), ("brace{1}", None)],
)
def test_a_lake_path_is_only_ever_a_path(serve, tmp_path, capsys, name, decoy) -> None:
    """A glob `lake[1]` would read `lake1`, `star*` would read `starX`: paths reach DuckDB escaped."""
    portal = serve(multiplied(real_packages(), 7))
    if decoy:
        harvest_portal(portal_at(portal.url, "decoy"), Lake(tmp_path / decoy), settings=FAST)
    lake = tmp_path / name
    assert main(["harvest", portal.url, "--portal", "real", "--software", "ckan", "--lake", str(lake)]) == 0
    capsys.readouterr()
    assert main(["sql", "SELECT portal_id, count(*) FROM datasets GROUP BY 1", "--lake", str(lake)]) == 0
    assert capsys.readouterr().out.splitlines()[2].split() == ["real", "7"]
