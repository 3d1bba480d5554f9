"""CKAN is told apart by `status_show`, which names the CKAN version (DKAN's CKAN-compatible API lacks it)."""

from __future__ import annotations

from typing import Any

from catalog.sources.base import DetectionProbe
from catalog.sources.ckan.client import CkanActionApi


def answers_status_show(data: Any, _body: bytes, _type: str) -> str | None:
    result = data.get("result") if isinstance(data, dict) and data.get("success") is True else None
    if isinstance(result, dict) and result.get("ckan_version"):
        return f"CKAN {result['ckan_version']}"
    return None


PROBES = (DetectionProbe(f"/{CkanActionApi.base_url}status_show", answers_status_show),)
