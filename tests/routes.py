"""A loopback HTTP server answering fixed routes: how tests play portals that are not CKAN.

Each route maps a path to a responder `(query, headers) -> (status, content type, body[, headers])`, so
a test can serve a recorded document as it is, page through generated answers, or misbehave on
purpose. A body may be bytes, or an iterable of chunks sent one by one as they come (a server that
drips, or never ends); then there is no Content-Length and the connection closes at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

Body = bytes | Iterable[bytes]
Answer = tuple[int, str, Body] | tuple[int, str, Body, dict[str, str]]
Responder = Callable[[dict[str, str], Mapping[str, str]], Answer]


def static(body: bytes | str, content_type: str = "application/json", status: int = 200) -> Responder:
    """Always the same answer."""
    data = body.encode() if isinstance(body, str) else body
    return lambda _query, _headers: (status, content_type, data)


def redirect(location: str, status: int = 302) -> Responder:
    """Always a redirect to `location`, with the query string of the request carried over."""

    def answer(query: dict[str, str], _headers: Mapping[str, str]) -> Answer:
        target = f"{location}{'&' if '?' in location else '?'}{urlencode(query)}" if query else location
        return status, "text/plain", b"", {"Location": target}

    return answer


@dataclass
class RouteServer:
    base_url: str
    routes: dict[str, Responder]
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]


@contextmanager
def serve_routes(routes: dict[str, Responder], host: str = "127.0.0.1") -> Iterator[RouteServer]:
    """Serve `routes` on a free port of `host` until the block ends; unknown paths answer 404."""
    state = RouteServer("", dict(routes))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            headers = {key.lower(): value for key, value in self.headers.items()}
            state.requests.append((parts.path, query, headers))
            responder = state.routes.get(parts.path)
            answer = responder(query, headers) if responder else (404, "text/html", b"<h1>404</h1>")
            status, content_type, body = answer[:3]
            extra = answer[3] if len(answer) > 3 else {}  # type: ignore[misc]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in extra.items():
                self.send_header(name, value)
            if isinstance(body, bytes):
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for chunk in body:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except OSError:
                pass  # the client hung up, as it should on a server that never ends

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
