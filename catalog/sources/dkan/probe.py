"""DKAN 7 answers `site_read` in the CKAN envelope, on either of its two API paths."""

from __future__ import annotations

from typing import Any

from catalog.sources.base import DetectionProbe
from catalog.sources.dkan.client import API_PATHS


def answers_site_read(data: Any, _body: bytes, _type: str) -> str | None:
    if isinstance(data, dict) and data.get("success") is True and "result" in data:
        return "CKAN-compatible API without status_show"
    return None


PROBES = tuple(DetectionProbe(f"/{path}site_read", answers_site_read) for path in API_PATHS)
