"""A DCAT RDF document names the DCAT namespace; asked for with RDF content types, at `/catalog.ttl`."""

from __future__ import annotations

from typing import Any

from catalog.sources.base import DetectionProbe
from catalog.sources.dcat.client import ACCEPT, USUAL_PATH


def is_dcat_rdf(_data: Any, body: bytes, content_type: str) -> str | None:
    rdf_type = any(kind in content_type for kind in ("turtle", "rdf+xml", "ld+json", "n-triples"))
    if b"http://www.w3.org/ns/dcat#" in body or (rdf_type and b"dcat" in body):
        return f"DCAT RDF ({content_type.split(';', maxsplit=1)[0] or 'unlabelled'})"
    return None


PROBES = (DetectionProbe(USUAL_PATH, is_dcat_rdf, ACCEPT),)
