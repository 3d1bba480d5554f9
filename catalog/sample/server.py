"""A small CKAN Action API server over an in-memory catalogue (standard library only).

Implements what harvesters call: status_show, package_search (q=*:*, fq=`field:value`, sort, rows,
start, with a configurable rows cap), package_show, package_list, organization_list (all_fields,
limit, offset), and the resources' download URLs (some gone, some a web page: `download_answer`), so
the sample's links can be checked too. Packages are serialised once and pages are assembled from
bytes, so it can serve large catalogues quickly. Tests can mutate the catalogue between or during
requests, and intercept a request to answer it differently (an HTML error page, `success: false`, ...).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import orjson

JSON = "application/json;charset=utf-8"
RESET = "reset"
"""An intercept answer: close the connection without a response, as a crashing or overloaded server does."""
Answer = tuple[int, bytes, str] | tuple[int, bytes, str, dict[str, str]] | str
Intercept = Callable[[str, dict[str, str]], Answer | None]


class Catalogue(Protocol):
    """What the server needs from a catalogue: packages as encoded JSON, and organisations."""

    organizations: list[dict[str, Any]]

    def search(
        self, fq: str | None, sort: str | None, start: int, rows: int, fields: list[str] | None = None
    ) -> tuple[int, list[bytes]]: ...

    def show(self, package_id: str) -> bytes | None: ...

    def names(self) -> list[str]: ...


def _field(package: Mapping[str, Any], name: str) -> Any:
    """A package field for filtering/sorting; `extras_X` reads extra X, as CKAN's Solr index does."""
    if name.startswith("extras_"):
        key = name.removeprefix("extras_")
        for extra in package.get("extras") or []:
            if extra.get("key") == key:
                return extra.get("value")
        return None
    return package.get(name)


@dataclass
class InMemoryCatalogue:
    """Packages and organisations held in memory; mutations invalidate the caches."""

    packages: list[dict[str, Any]]
    organizations: list[dict[str, Any]] = field(default_factory=list)
    _encoded: dict[str, bytes] = field(default_factory=dict, init=False, repr=False)
    _orders: dict[tuple[str, str | None], list[str]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {package["id"]: package for package in self.packages}

    def add(self, package: dict[str, Any]) -> None:
        with self._lock:
            self.packages.append(package)
            self._by_id[package["id"]] = package
            self._orders.clear()

    def remove(self, package_id: str) -> None:
        with self._lock:
            self.packages = [package for package in self.packages if package["id"] != package_id]
            self._by_id.pop(package_id, None)
            self._encoded.pop(package_id, None)
            self._orders.clear()

    def update(self, package: dict[str, Any]) -> None:
        """Replace the package with this id (an edit on the portal)."""
        with self._lock:
            self.packages = [package if p["id"] == package["id"] else p for p in self.packages]
            self._by_id[package["id"]] = package
            self._encoded.pop(package["id"], None)
            self._orders.clear()

    def search(
        self, fq: str | None, sort: str | None, start: int, rows: int, fields: list[str] | None = None
    ) -> tuple[int, list[bytes]]:
        with self._lock:
            order = self._order(fq, sort)
            ids = order[start : start + rows]
            if fields:
                return len(order), [orjson.dumps({f: self._by_id[i].get(f) for f in fields}) for i in ids]
            return len(order), [self._encode(package_id) for package_id in ids]

    def show(self, package_id: str) -> bytes | None:
        with self._lock:
            if package_id not in self._by_id:
                matches = [p["id"] for p in self.packages if p.get("name") == package_id]
                if not matches:
                    return None
                package_id = matches[0]
            return self._encode(package_id)

    def names(self) -> list[str]:
        with self._lock:
            return [package["name"] for package in self.packages]

    def _encode(self, package_id: str) -> bytes:
        if package_id not in self._encoded:
            self._encoded[package_id] = orjson.dumps(self._by_id[package_id])
        return self._encoded[package_id]

    def _order(self, fq: str | None, sort: str | None) -> list[str]:
        key = (fq or "", sort)
        if key not in self._orders:
            selected = [p for p in self.packages if _matches(p, fq)]
            for name, direction in reversed(_sort_keys(sort)):
                selected.sort(key=lambda p, n=name: str(_field(p, n) or ""), reverse=direction == "desc")
            self._orders[key] = [p["id"] for p in selected]
        return self._orders[key]


def _matches(package: Mapping[str, Any], fq: str | None) -> bool:
    """Solr-ish filter: clauses `field:value` or `field:[low TO high]` (`*` open), joined by AND."""
    if not fq:
        return True
    for clause in fq.split(" AND "):
        name, _, value = clause.partition(":")
        actual, value = str(_field(package, name.strip())), value.strip()
        if value.startswith("[") and value.endswith("]"):
            low, _, high = value[1:-1].partition(" TO ")
            if (low != "*" and actual < low.rstrip("Z")) or (high != "*" and actual > high.rstrip("Z")):
                return False
        elif actual != value.strip('"'):
            return False
    return True


def _sort_keys(sort: str | None) -> list[tuple[str, str]]:
    keys = []
    for part in (sort or "").split(","):
        words = part.split()
        if words:
            keys.append((words[0], words[1].lower() if len(words) > 1 else "asc"))
    return keys


@dataclass
class PortalOptions:
    """Behaviours of the served portal that tests and benchmarks set."""

    rows_max: int = 1000
    count_offset: int = 0
    """Added to every reported count: a portal whose count disagrees with what it serves."""
    intercept: Intercept | None = None
    """Called with (action, params) before answering; may return (status, body, content type[, headers])
    to answer instead, or RESET to hang up. A Content-Length header larger than the body truncates it."""
    on_search: list[Callable[[int], None]] = field(default_factory=list)
    """Called with `start` before each package_search is answered: mutate the catalogue mid-run."""
    organization_paging: bool = True
    """False: organization_list ignores limit/offset and returns everything, as CKAN before 2.9 does."""
    organizations_max: int | None = None
    """The most organizations one organization_list answers whatever its `limit` (CKAN 2.9+ with
    `all_fields`: `ckan.group_and_organization_list_all_fields_max`, 25 by default)."""


class _Handler(BaseHTTPRequestHandler):
    server: _CkanServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this, 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the stdlib
        pass

    def do_HEAD(self) -> None:
        self._download(urlsplit(self.path).path, head=True)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        params = {key: values[-1] for key, values in parse_qs(url.query).items()}
        action = url.path.rstrip("/").rsplit("/", 1)[-1]
        if DOWNLOAD.fullmatch(url.path):
            self._download(url.path, head=False)
            return
        if not (url.path.startswith("/api/3/action/") or url.path.startswith("/api/action/")):
            self._send(404, NOT_FOUND, "text/html")
            return
        self.server.requests += 1
        self.server.log.append((self.path, dict(self.headers.items())))
        options = self.server.options
        if options.intercept and (answer := options.intercept(action, params)):
            if answer == RESET:
                self.close_connection = True
            else:
                self._send(*answer)  # type: ignore[misc]
            return
        handler = getattr(self.server, f"action_{action}", None)
        if handler is None:
            self._send(400, _envelope_error("Bad request", f"Action name not known: {action}"), JSON)
            return
        status, body = handler(params)
        self._send(status, body, JSON)

    def _download(self, path: str, *, head: bool) -> None:
        """A resource's file, as CKAN's FileStore serves it: so the sample's links can be checked. Like a
        real portal, some files are gone (404) and some "CSV"s are a web page (`download_answer`)."""
        match = DOWNLOAD.fullmatch(path)
        status, content_type = download_answer(match.group("resource"), match.group("name")) if match else (404, "")
        body = NOT_FOUND if status == 404 else FILE_BODY
        if head:
            self.send_response(status)
            self.send_header("Content-Type", content_type or "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return
        self._send(status, body, content_type or "text/html")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": content_type, "Content-Length": str(len(body))} | (headers or {})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        if headers["Content-Length"] != str(len(body)):
            self.close_connection = True


DOWNLOAD = re.compile(r"/dataset/[^/]+/resource/(?P<resource>[0-9a-f-]{36})/download/(?P<name>[^/]+)")
NOT_FOUND = b"<html><body>Not found</body></html>"
FILE_BODY = b"ma_tinh,ten,gia_tri\n01,Ha Noi,1\n"
DOWNLOAD_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "geojson": "application/geo+json",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def download_answer(resource_id: str, name: str) -> tuple[int, str]:
    """How the sample serves a resource's file, the same on every run: one in 12 is gone, one in 12 is a
    web page whatever its name says, the rest are served with their type (unknown: octet-stream)."""
    bucket = int(resource_id.replace("-", ""), 16) % 12
    if bucket == 0:
        return 404, "text/html"
    if bucket == 1:
        return 200, "text/html; charset=utf-8"
    return 200, DOWNLOAD_TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream")


def _envelope(result: bytes, help_action: str = "package_search") -> bytes:
    return (
        b'{"help":"http://localhost/api/3/action/help_show?name='
        + help_action.encode()
        + b'","success":true,"result":'
        + result
        + b"}"
    )


def _envelope_error(kind: str, message: str) -> bytes:
    return orjson.dumps({"help": "", "success": False, "error": {"__type": kind, "message": message}})


class _CkanServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], catalogue: Catalogue, options: PortalOptions) -> None:
        super().__init__(address, _Handler)
        self.catalogue = catalogue
        self.options = options
        self.requests = 0
        self.log: list[tuple[str, dict[str, str]]] = []
        """Every API request's path and headers, for tests."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts under test) are not server errors worth printing."""

    def action_status_show(self, params: dict[str, str]) -> tuple[int, bytes]:
        status = {"ckan_version": "2.10.4", "site_title": "Sample portal", "site_url": "", "extensions": []}
        return 200, _envelope(orjson.dumps(status), "status_show")

    def action_package_search(self, params: dict[str, str]) -> tuple[int, bytes]:
        try:
            rows = min(int(params.get("rows", 10)), self.options.rows_max)
            start = int(params.get("start", 0))
        except ValueError:
            return 409, _envelope_error("Validation Error", "rows and start must be integers")
        for hook in list(self.options.on_search):
            hook(start)
        fields = [f for f in params.get("fl", "").replace(" ", ",").split(",") if f] or None
        count, packages = self.catalogue.search(params.get("fq"), params.get("sort"), start, rows, fields)
        head = orjson.dumps({"count": count + self.options.count_offset, "sort": params.get("sort", "score desc")})
        body = head[:-1] + b',"facets":{},"search_facets":{},"results":[' + b",".join(packages) + b"]}"
        return 200, _envelope(body)

    def action_package_show(self, params: dict[str, str]) -> tuple[int, bytes]:
        package = self.catalogue.show(params.get("id", ""))
        if package is None:
            return 404, _envelope_error("Not Found Error", "Not found")
        return 200, _envelope(package, "package_show")

    def action_package_list(self, params: dict[str, str]) -> tuple[int, bytes]:
        return 200, _envelope(orjson.dumps(self.catalogue.names()), "package_list")

    def action_organization_list(self, params: dict[str, str]) -> tuple[int, bytes]:
        page = organizations = self.catalogue.organizations
        if self.options.organization_paging:
            offset = int(params.get("offset", 0))
            limit = int(params.get("limit", len(organizations) or 1))
            page = organizations[offset : offset + min(limit, self.options.organizations_max or limit)]
        if params.get("all_fields", "").lower() not in ("true", "1"):
            page = [org["name"] for org in page]
        return 200, _envelope(orjson.dumps(page), "organization_list")


@dataclass
class RunningPortal:
    """A served portal: its base URL, the catalogue and options to change, and a request counter."""

    url: str
    catalogue: Any
    options: PortalOptions
    server: _CkanServer

    @property
    def requests(self) -> int:
        return self.server.requests


@contextmanager
def serve_portal(
    catalogue: Catalogue,
    options: PortalOptions | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[RunningPortal]:
    """Serve `catalogue` over HTTP on loopback in a background thread (port 0 picks a free port)."""
    options = options or PortalOptions()
    server = _CkanServer((host, port), catalogue, options)
    thread = threading.Thread(target=server.serve_forever, name="ckan-portal", daemon=True)
    thread.start()
    try:
        yield RunningPortal(f"http://{host}:{server.server_address[1]}", catalogue, options, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def organizations_of(packages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The distinct organisations embedded in packages, as organization_list(all_fields) would list them."""
    found: dict[str, dict[str, Any]] = {}
    for package in packages:
        organization = package.get("organization")
        if isinstance(organization, dict) and organization.get("id"):
            found.setdefault(organization["id"], dict(organization))
    return list(found.values())
