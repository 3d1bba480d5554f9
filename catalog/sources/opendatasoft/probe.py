"""OpenDataSoft's Explore API v2.1 answers `total_count` with a list of results."""

from __future__ import annotations

from typing import Any

from catalog.sources.base import DetectionProbe
from catalog.sources.opendatasoft.client import DATASETS_PATH


def answers_datasets(data: Any, _body: bytes, _type: str) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("results"), list) and "total_count" in data:
        return f"{data['total_count']} datasets"
    return None


PROBES = (DetectionProbe(DATASETS_PATH + "?limit=1", answers_datasets),)
