"""A loopback HTTP server answering fixed routes: how tests play portals that are not CKAN.

Each route maps a path to a responder `(query, headers) -> (status, content type, body)`, so a test
can serve a recorded document as it is, page through generated answers, or misbehave on purpose.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

Answer = tuple[int, str, bytes]
Responder = Callable[[dict[str, str], Mapping[str, str]], Answer]


def static(body: bytes | str, content_type: str = "application/json", status: int = 200) -> Responder:
    """Always the same answer."""
    data = body.encode() if isinstance(body, str) else body
    return lambda _query, _headers: (status, content_type, data)


@dataclass
class RouteServer:
    base_url: str
    routes: dict[str, Responder]
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]


@contextmanager
def serve_routes(routes: dict[str, Responder]) -> Iterator[RouteServer]:
    """Serve `routes` on a free loopback port until the block ends; unknown paths answer 404."""
    state = RouteServer("", dict(routes))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            headers = {key.lower(): value for key, value in self.headers.items()}
            state.requests.append((parts.path, query, headers))
            responder = state.routes.get(parts.path)
            status, content_type, body = responder(query, headers) if responder else (404, "text/html", b"<h1>404</h1>")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
