"""Which portal software a URL runs, and where its catalogue API answers.

Each software has one cheap probe: an endpoint only it serves, and a test of the answer's shape
(CKAN's `status_show` names a CKAN version; Socrata's catalogue answers `resultSetSize`; a data.json
has a `dataset` list). All probes run, so a portal serving several APIs (CKAN with ckanext-dcat, a
Hub site with its DCAT-US feed) is seen whole; the richest API wins (`RICHNESS`) and the result says
which others answered. A host that cannot be reached at all stops the probing at once.

Probes read at most `PEEK_BYTES` of a body: a data.json can be hundreds of megabytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from catalog.http import FetchError, HttpSettings, PortalSession

PEEK_BYTES = 1 << 16
RDF_ACCEPT = "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8"
# Richest first: full search APIs with paging and publishers, then catalogue documents.
RICHNESS = ("ckan", "dkan", "socrata", "opendatasoft", "arcgis", "dcat", "datajson")
DOCUMENT_SUFFIXES = (".json", ".ttl", ".rdf", ".xml", ".jsonld", ".nt")
DOCUMENT_SOFTWARE = ("datajson", "dcat")
"""Softwares read from one document (or its pages) at a URL, rather than an API under a site."""
UNREACHABLE = ("connection refused", "host name does not resolve", "timed out", "request failed")


@dataclass(frozen=True)
class Probe:
    """One request made to find the software, and what it showed."""

    software: str
    url: str
    found: bool
    detail: str
    status: int | None = None
    latency_ms: float | None = None


@dataclass
class Detection:
    """The outcome: the software and endpoint chosen (None if nothing answered), and every probe."""

    url: str
    software: str | None = None
    api_url: str | None = None
    detail: str = ""
    probes: list[Probe] = field(default_factory=list)
    reachable: bool = True

    @property
    def also(self) -> list[str]:
        """Other softwares' APIs the URL answered, less rich than the one chosen."""
        return [p.software for p in self.probes if p.found and p.software != self.software]

    @property
    def summary(self) -> str:
        if not self.reachable:
            return f"{self.url}: unreachable ({self.probes[-1].detail})"
        if self.software is None:
            return f"{self.url}: no known catalogue API answered"
        line = f"{self.url}: {self.software} at {self.api_url}" + (f" ({self.detail})" if self.detail else "")
        if self.also:
            line += f"; also serves {', '.join(self.also)}: chose {self.software}, the richer API"
        return line

    @property
    def latency_ms(self) -> float | None:
        times = [p.latency_ms for p in self.probes if p.latency_ms is not None]
        return min(times) if times else None

    @property
    def status(self) -> int | None:
        chosen = [p.status for p in self.probes if p.found]
        answered = [p.status for p in self.probes if p.status is not None]
        return (chosen or answered or [None])[0]


Check = Callable[[Any, bytes, str], str | None]
"""(parsed JSON or None, first bytes, content type) -> a detail when the answer is this software's."""


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _ckan(data: Any, _body: bytes, _type: str) -> str | None:
    result = data.get("result") if isinstance(data, dict) and data.get("success") is True else None
    if isinstance(result, dict) and result.get("ckan_version"):
        return f"CKAN {result['ckan_version']}"
    return None


def _dkan(data: Any, _body: bytes, _type: str) -> str | None:
    if isinstance(data, dict) and data.get("success") is True and "result" in data:
        return "CKAN-compatible API without status_show"
    return None


def _socrata(data: Any, _body: bytes, _type: str) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("results"), list) and "resultSetSize" in data:
        return f"{data['resultSetSize']} datasets"
    return None


def _opendatasoft(data: Any, _body: bytes, _type: str) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("results"), list) and "total_count" in data:
        return f"{data['total_count']} datasets"
    return None


def _arcgis(data: Any, _body: bytes, _type: str) -> str | None:
    if isinstance(data, dict) and data.get("type") == "FeatureCollection" and "numberMatched" in data:
        return f"{data['numberMatched']} items"
    return None


def _datajson(data: Any, body: bytes, _type: str) -> str | None:
    head = body.lstrip()[:1]
    if isinstance(data, dict) and isinstance(data.get("dataset"), list):
        return f"{len(data['dataset'])} datasets"
    if data is None and head in (b"{", b"[") and (b'"dataset"' in body or b'"identifier"' in body):
        return "DCAT-US document (larger than the probe read)"
    return None


def _dcat(_data: Any, body: bytes, content_type: str) -> str | None:
    rdf_type = any(kind in content_type for kind in ("turtle", "rdf+xml", "ld+json", "n-triples"))
    if b"http://www.w3.org/ns/dcat#" in body or (rdf_type and b"dcat" in body):
        return f"DCAT RDF ({content_type.split(';', maxsplit=1)[0] or 'unlabelled'})"
    return None


def probes_for(base: str) -> list[tuple[str, str, Check, str | None]]:
    """(software, URL, check, Accept) for every probe of a portal at `base`."""
    host = urlsplit(base).hostname or ""
    return [
        ("ckan", f"{base}/api/3/action/status_show", _ckan, None),
        ("dkan", f"{base}/api/3/action/site_read", _dkan, None),
        ("dkan", f"{base}/api/action/site_read", _dkan, None),
        ("socrata", f"{base}/api/catalog/v1?domains={host}&only=dataset&limit=1", _socrata, None),
        ("opendatasoft", f"{base}/api/explore/v2.1/catalog/datasets?limit=1", _opendatasoft, None),
        ("arcgis", f"{base}/api/search/v1/collections/dataset/items?limit=1", _arcgis, None),
        ("dcat", f"{base}/catalog.ttl", _dcat, RDF_ACCEPT),
        ("datajson", f"{base}/data.json", _datajson, None),
    ]


def base_of(url: str) -> str:
    """The portal's base URL: the given one without a trailing slash, API path or document name."""
    parts = urlsplit(url.rstrip("/"))
    path = parts.path.split("/api/")[0] if "/api/" in parts.path + "/" else parts.path
    if is_document_url(url):
        path = path.rsplit("/", 1)[0]
    return urlunsplit(parts._replace(path=path.rstrip("/"), query="", fragment=""))


def detect(url: str, settings: HttpSettings | None = None) -> Detection:
    """Probe `url` for every known catalogue API and choose the richest that answered.

    The URL's own host is trusted even on a private address (the user named it); redirects elsewhere
    are not."""
    settings = settings or HttpSettings(retries=0, read_timeout=20)
    detection = Detection(url)
    session = PortalSession(settings, home=[url])
    try:
        direct = _direct_document(session, url, detection)
        if not detection.reachable:
            return detection
        base = base_of(url)
        for software, probe_url, check, accept in probes_for(base):
            if software == "dkan" and any(p.found and p.software in ("ckan", "dkan") for p in detection.probes):
                continue  # a CKAN (or a DKAN already found) needs no second DKAN probe
            probe = _probe(session, software, probe_url, check, accept)
            detection.probes.append(probe)
            if probe.status is None and probe.detail.startswith(UNREACHABLE):
                detection.reachable = False
                return detection
        found = [p for p in detection.probes if p.found]
        if found:
            # A document the user named outright is what they meant; otherwise the richest API wins.
            best = direct or min(found, key=lambda probe: RICHNESS.index(probe.software))
            detection.software, detection.detail = best.software, best.detail
            detection.api_url = best.url if best.software in DOCUMENT_SOFTWARE else base
    finally:
        session.close()
    return detection


def is_document_url(url: str) -> bool:
    """Whether a URL names a catalogue document (a data.json, a catalog.ttl) rather than a site."""
    path = urlsplit(url).path.lower()
    return path.endswith(DOCUMENT_SUFFIXES) and "/api/" not in path


def _direct_document(session: PortalSession, url: str, detection: Detection) -> Probe | None:
    """The URL itself, probed as data.json and as RDF before any well-known path: a user may name a
    catalogue document anywhere, with any suffix or a query string (a GeoNetwork CSW GetRecords)."""
    for software, check in (("datajson", _datajson), ("dcat", _dcat)):
        probe = _probe(session, software, url, check, RDF_ACCEPT if software == "dcat" else None)
        detection.probes.append(probe)
        if probe.found:
            return probe
        if probe.status is None and probe.detail.startswith(UNREACHABLE):
            detection.reachable = False
            return None
    return None


def _probe(session: PortalSession, software: str, url: str, check: Check, accept: str | None) -> Probe:
    started = time.monotonic()
    try:
        with session.stream(url, accept=accept) as body:
            head = body.read(PEEK_BYTES)
            status, content_type = body.status, body.content_type
    except FetchError as failure:
        return Probe(software, url, found=False, detail=failure.cause, status=failure.status)
    latency = round((time.monotonic() - started) * 1000, 1)
    if status >= 400:
        return Probe(software, url, False, f"HTTP {status}", status, latency)
    detail = check(_json(head), head, content_type)
    return Probe(software, url, detail is not None, detail or f"HTTP {status}, not {software}", status, latency)
