"""An ArcGIS Hub site's OGC API Records search answers a FeatureCollection with `numberMatched`."""

from __future__ import annotations

from typing import Any

from catalog.sources.arcgis.client import SEARCH_PATH
from catalog.sources.base import DetectionProbe


def answers_search(data: Any, _body: bytes, _type: str) -> str | None:
    if isinstance(data, dict) and data.get("type") == "FeatureCollection" and "numberMatched" in data:
        return f"{data['numberMatched']} items"
    return None


PROBES = (DetectionProbe(SEARCH_PATH + "?limit=1", answers_search),)
