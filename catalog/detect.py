"""Which portal software a URL runs, and where its catalogue API answers.

Each software has cheap probes (`catalog/sources/<software>/probe.py`): an endpoint only it serves,
and a test of the answer's shape (CKAN's `status_show` names a CKAN version; Socrata's catalogue
answers `resultSetSize`; a data.json has a `dataset` list). All probes run, so a portal serving
several APIs (CKAN with ckanext-dcat, a Hub site with its DCAT-US feed) is seen whole; the richest
API wins (`catalog.sources.RICHEST_FIRST`) and the result says which others answered. A host that
cannot be reached at all stops the probing at once.

Probes read at most `PEEK_BYTES` of a body: a data.json can be hundreds of megabytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from catalog.http import FetchError, HttpSettings, PortalSession
from catalog.sources import RICHEST_FIRST, SOURCES
from catalog.sources.base import DetectionProbe, Source

PEEK_BYTES = 1 << 16
DOCUMENT_SUFFIXES = (".json", ".ttl", ".rdf", ".xml", ".jsonld", ".nt")
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


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def probes_for(base: str) -> list[tuple[Source, DetectionProbe, str]]:
    """(software, probe, URL) for every probe of a portal at `base`, richest software first."""
    return [(source, probe, probe.url(base)) for source in SOURCES.values() for probe in source.probes]


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
        for source, spec, probe_url in probes_for(base):
            found = {p.software for p in detection.probes if p.found}
            if source.name in found or found.intersection(source.defers_to):
                continue  # one answering probe per software; a CKAN needs no DKAN probe
            probe = _probe(session, source.name, probe_url, spec)
            detection.probes.append(probe)
            if probe.status is None and probe.detail.startswith(UNREACHABLE):
                detection.reachable = False
                return detection
        found = [p for p in detection.probes if p.found]
        if found:
            # A document the user named outright is what they meant; otherwise the richest API wins.
            best = direct or min(found, key=lambda probe: RICHEST_FIRST.index(probe.software))
            detection.software, detection.detail = best.software, best.detail
            detection.api_url = best.url if SOURCES[best.software].document else base
    finally:
        session.close()
    return detection


def is_document_url(url: str) -> bool:
    """Whether a URL names a catalogue document (a data.json, a catalog.ttl) rather than a site."""
    path = urlsplit(url).path.lower()
    return path.endswith(DOCUMENT_SUFFIXES) and "/api/" not in path


def _direct_document(session: PortalSession, url: str, detection: Detection) -> Probe | None:
    """The URL itself, probed as each document software before any well-known path: a user may name a
    catalogue document anywhere, with any suffix or a query string (a GeoNetwork CSW GetRecords). The
    plainest format first: its test is the strictest (a data.json is JSON-LD and may name DCAT terms)."""
    documents = [source for source in reversed(SOURCES.values()) if source.document]
    for source in documents:
        spec = source.probes[0]
        probe = _probe(session, source.name, url, spec)
        detection.probes.append(probe)
        if probe.found:
            return probe
        if probe.status is None and probe.detail.startswith(UNREACHABLE):
            detection.reachable = False
            return None
    return None


def _probe(session: PortalSession, software: str, url: str, spec: DetectionProbe) -> Probe:
    started = time.monotonic()
    try:
        with session.stream(url, accept=spec.accept) as body:
            head = body.read(PEEK_BYTES)
            status, content_type = body.status, body.content_type
    except FetchError as failure:
        return Probe(software, url, found=False, detail=failure.cause, status=failure.status)
    latency = round((time.monotonic() - started) * 1000, 1)
    if status >= 400:
        return Probe(software, url, False, f"HTTP {status}", status, latency)
    detail = spec.check(_json(head), head, content_type)
    return Probe(software, url, detail is not None, detail or f"HTTP {status}, not {software}", status, latency)
