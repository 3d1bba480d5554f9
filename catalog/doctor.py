"""`catalog doctor`: what in a lake is damaged or left over, and (with `repair`) setting it right.

Readers already skip damaged files (see `catalog.lake`), so nothing here is needed to keep answers
right; it is how an operator sees what was skipped and clears it away:
- damaged harvest folders and run or check records (empty, truncated, not Parquet): quarantined,
  moved whole under `_quarantine/<when>/`, never deleted;
- published harvest folders no complete run record vouches for (a process killed between the
  publishing rename and its run record): invisible to readers, quarantined;
- runs left `running` by a process that is gone (their portal's lock is free): marked failed, abandoned;
- staging folders of harvests no process is running, the spool folders their workers left in the
  system's temporary folder, and half-written `.partial` files: removed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from catalog.errors import LakeError
from catalog.harvest import clear_what_dead_harvests_left
from catalog.harvest.workers import left_spools
from catalog.lake import (
    HARVESTS,
    QUARANTINE,
    STAGING,
    Lake,
    PortalBusyError,
    location_keys,
    lock_holder,
    new_harvest_id,
)


@dataclass(frozen=True)
class Finding:
    """One thing wrong with the lake, and what repairing it did (or would do)."""

    kind: str
    path: str
    detail: str
    action: str
    portal_id: str | None = None


def _portal_in(path: str) -> str | None:
    """The portal a lake path belongs to (its `portal_id=` folder), if any."""
    return location_keys(path).get("portal_id")


def examine(lake: Lake) -> list[Finding]:
    """Everything damaged or left over in a local lake; nothing is changed."""
    if lake.remote:
        raise LakeError("catalog doctor examines local lakes; an object store writes whole objects")
    if not lake.exists():
        raise LakeError(f"no lake at {lake.root}")
    inventory = lake.inventory()
    findings = [
        Finding("damaged", damage.path, damage.problem, "quarantine", _portal_in(damage.path))
        for damage in inventory.damaged
    ]
    damaged = {damage.path for damage in inventory.damaged}
    complete: set[tuple[str, str]] = set()
    for portal_dir in sorted((lake.root / "harvest_runs").glob("portal_id=*")):
        portal_id = portal_dir.name.removeprefix("portal_id=")
        for spool in left_spools(lake, portal_id):
            detail = "pages and rows a killed harvest's workers left in the temporary folder"
            findings.append(Finding("leftover spool", str(spool), detail, "remove", portal_id))
        for run in lake.runs(portal_id):
            if run["status"] == "complete":
                complete.add((portal_id, run["harvest_id"]))
            elif run["status"] == "running":
                path = str(portal_dir / f"{run['harvest_id']}.parquet")
                detail = "status running, but no process holds its portal"
                findings.append(Finding("abandoned run", path, detail, "mark failed", portal_id))
    for folder in sorted((lake.root / HARVESTS).glob("portal_id=*/harvest_id=*")):
        portal_id = folder.parent.name.removeprefix("portal_id=")
        if (portal_id, folder.name.removeprefix("harvest_id=")) not in complete and str(folder) not in damaged:
            detail = "no complete run record: invisible to readers"
            findings.append(Finding("unrecorded harvest", str(folder), detail, "quarantine", portal_id))
    for staged in sorted((lake.root / STAGING).glob("*/*")):
        detail = "no harvest of its portal is running"
        findings.append(Finding("leftover staging", str(staged), detail, "remove", staged.parent.name))
    for partial in sorted(lake.root.rglob(".*.partial")):
        if STAGING not in partial.parts and QUARANTINE not in partial.parts:
            findings.append(Finding("partial file", str(partial), "a write that never finished", "remove"))
    busy = {portal for portal in {finding.portal_id for finding in findings} if portal and lake.is_locked(portal)}
    return [finding for finding in findings if finding.portal_id not in busy]  # a harvest is running there


def repair(lake: Lake, findings: list[Finding]) -> list[Finding]:
    """Carry out each finding's action; returns them with what was done.

    Everything of a portal is set right under that portal's lock, as a harvest would, so a harvest
    starting meanwhile is never disturbed (the portal is then left alone); an unrecorded harvest is
    quarantined only if, under the lock, its run is still not complete.
    """
    quarantine = lake.root / QUARANTINE / new_harvest_id()
    done = []
    for portal_id in sorted({finding.portal_id for finding in findings if finding.portal_id}):
        mine = [finding for finding in findings if finding.portal_id == portal_id]
        try:
            with lake.portal_lock(portal_id, holder=lock_holder("catalog doctor")):
                complete = {run["harvest_id"] for run in lake.runs(portal_id) if run["status"] == "complete"}
                for finding in mine:
                    if finding.action == "quarantine":
                        if finding.kind == "unrecorded harvest" and finding.path.endswith(tuple(complete)):
                            done.append(replace(finding, action="left alone: its run completed meanwhile"))
                            continue
                        done.append(replace(finding, action=f"moved to {_quarantine(lake, quarantine, finding)}"))
                clear_what_dead_harvests_left(lake, portal_id)
            outcome = {"mark failed": "marked failed (abandoned)", "remove": "removed"}
        except PortalBusyError:
            outcome = {}
        done += [
            replace(f, action=outcome.get(f.action, "left alone: a harvest started"))
            for f in mine
            if f.action != "quarantine" or not outcome
        ]
    for finding in findings:
        if finding.portal_id is None and finding.action == "quarantine":
            done.append(replace(finding, action=f"moved to {_quarantine(lake, quarantine, finding)}"))
        elif finding.kind == "partial file":
            Path(finding.path).unlink(missing_ok=True)
            done.append(replace(finding, action="removed"))
    return done


def _quarantine(lake: Lake, quarantine: Path, finding: Finding) -> Path:
    path = Path(finding.path)
    target = quarantine / path.relative_to(lake.root)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, target)
    return target
