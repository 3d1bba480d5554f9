"""Portal liveness: probe every registered portal, in bounded time and with bounded concurrency.

Each check runs software detection (`catalog.detect`) against the portal and records whether it
answered, its HTTP status, the software it showed and how fast, as one row per portal in the lake's
`portal_checks` table. Checks accumulate, so availability over time is a query
(`portal_availability`). A portal the network cannot reach fails on its first probe within the
connect timeout, so a machine without internet finishes a check of the whole registry quickly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from catalog.detect import Detection, detect
from catalog.http import HttpSettings
from catalog.lake import Lake, new_harvest_id
from catalog.registry import Portal

CHECK_SETTINGS = HttpSettings(connect_timeout=5, read_timeout=15, retries=0, requests_per_second=2)
"""Liveness wants an answer, not persistence: no retries, short timeouts, a gentle rate."""
MAX_WORKERS = 16


def check_row(check_id: str, portal: Portal, detection: Detection, checked_at: datetime) -> dict[str, Any]:
    """One `portal_checks` row from a detection."""
    return {
        "check_id": check_id,
        "portal_id": portal.id,
        "url": portal.url,
        "registered_software": portal.software,
        "country": portal.country,
        "province": portal.province,
        "city": portal.city,
        "ascn_pilot_city": portal.ascn_pilot_city,
        "checked_at": checked_at,
        "reachable": detection.reachable and any(p.status is not None for p in detection.probes),
        "status": detection.status,
        "detected_software": detection.software,
        "api_url": detection.api_url,
        "matches_registry": detection.software == portal.software if detection.software else None,
        "latency_ms": detection.latency_ms,
        "detail": detection.summary,
        "probes": len(detection.probes),
    }


def check_portals(
    portals: Iterable[Portal],
    lake: Lake,
    *,
    settings: HttpSettings = CHECK_SETTINGS,
    workers: int = MAX_WORKERS,
    detector: Callable[[str, HttpSettings], Detection] = detect,
) -> list[dict[str, Any]]:
    """Check every portal (`workers` at a time), write the rows to the lake, and return them."""
    check_id = new_harvest_id()
    portals = list(portals)

    def one(portal: Portal) -> dict[str, Any]:
        started = datetime.now(UTC)
        return check_row(check_id, portal, detector(portal.api_url or portal.url, settings), started)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="check") as pool:
        rows = list(pool.map(one, portals))
    lake.write_checks(check_id, rows)
    return rows
