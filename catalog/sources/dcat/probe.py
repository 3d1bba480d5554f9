"""A DCAT RDF document names the DCAT namespace; asked for with RDF content types, at `/catalog.ttl`."""

from __future__ import annotations

from typing import Any

from catalog.sources.base import DetectionProbe

ACCEPT = (
    "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8, "
    "application/n-triples;q=0.7, application/xml;q=0.5, */*;q=0.1"
)
USUAL_PATH = "/catalog.ttl"
"""Where a site usually serves its DCAT catalogue (ckanext-dcat, many others)."""


def is_dcat_rdf(_data: Any, body: bytes, content_type: str) -> str | None:
    rdf_type = any(kind in content_type for kind in ("turtle", "rdf+xml", "ld+json", "n-triples"))
    if b"http://www.w3.org/ns/dcat#" in body or (rdf_type and b"dcat" in body):
        return f"DCAT RDF ({content_type.split(';', maxsplit=1)[0] or 'unlabelled'})"
    return None


PROBES = (DetectionProbe(USUAL_PATH, is_dcat_rdf, ACCEPT),)
