"""Socrata's Discovery API answers `resultSetSize` for the portal's own domain."""

from __future__ import annotations

from typing import Any

from catalog.sources.base import DetectionProbe
from catalog.sources.socrata.client import CATALOG_PATH


def answers_catalog(data: Any, _body: bytes, _type: str) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("results"), list) and "resultSetSize" in data:
        return f"{data['resultSetSize']} datasets"
    return None


PROBES = (DetectionProbe(CATALOG_PATH + "?domains={host}&only=dataset&limit=1", answers_catalog),)
