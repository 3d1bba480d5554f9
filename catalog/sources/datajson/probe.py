"""A DCAT-US data.json is an object with a `dataset` list (or, past the probe's peek, starts like one)."""

from __future__ import annotations

from typing import Any

from catalog.sources.base import DetectionProbe
from catalog.sources.datajson.client import USUAL_PATH


def is_data_json(data: Any, body: bytes, _type: str) -> str | None:
    head = body.lstrip()[:1]
    if isinstance(data, dict) and isinstance(data.get("dataset"), list):
        return f"{len(data['dataset'])} datasets"
    if data is None and head in (b"{", b"[") and (b'"dataset"' in body or b'"identifier"' in body):
        return "DCAT-US document (larger than the probe read)"
    return None


PROBES = (DetectionProbe(USUAL_PATH, is_data_json),)
