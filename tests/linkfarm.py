"""A link farm on loopback: many hosts (one loopback address each, all on one port), every URL's path
saying how it answers, so the truth about each link is known before it is checked.

    /ok/<name>                 200; Content-Type by the name's extension; Content-Length; Last-Modified
    /status/<code>/<name>      that status
    /as/<type>/<name>          200 served as Content-Type <type> (URL-encoded: a "CSV" served as HTML)
    /redirect/<n>/<rest>       a chain of n redirects, then /<rest>
    /loop/<name>               a redirect to itself
    /to?url=<target>           a redirect to any target (a private address, another host)
    /no-head/<rest>            HEAD is 405; GET answers as /<rest>, honouring `Range: bytes=0-0`
    /slow/<ms>/<rest>          waits, then answers as /<rest>
    /throttle/<n>/<rest>       the first n requests get 429 with `Retry-After: 1`, then as /<rest>
    /wait/<s>/<rest>           429 with `Retry-After: <s>`, always
    /empty/<name>              HEAD is 405; an empty file: `Range: bytes=0-0` is 416, a plain GET 200
    /endless/<name>            HEAD is 405; GET streams a body for good, ignoring the range

Every request is logged (the address it reached, method, path, headers, start and end) so tests can
check the limits per host. `python -m tests.linkfarm --hosts N` serves a farm in its own process (the benchmark's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote

from aiohttp import web

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "xml": "application/xml",
}
BODY = b"id,value\n" + b"1,2\n" * 256
LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"


def farm_address(index: int) -> str:
    """The loopback address of host `index` (127.1.0.1, 127.1.0.2, ...)."""
    number = index + 1
    return f"127.1.{number // 256}.{number % 256}"


@dataclass
class Logged:
    host: str
    method: str
    path: str
    headers: dict[str, str]
    started: float
    ended: float = 0.0


@dataclass
class FarmState:
    log: list[Logged] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    most_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    keep_log: bool = True


def content_type_for(name: str) -> str:
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")


async def answer(request: web.Request, path: str, state: FarmState) -> web.StreamResponse:  # noqa: PLR0911
    """The answer `path` says to give (a branch per kind of path, as the module's docstring lists them)."""
    head, _, rest = path.lstrip("/").partition("/")
    if head == "ok":
        return full(request, BODY, content_type_for(rest))
    if head == "status":
        code, _, _ = rest.partition("/")
        return web.Response(status=int(code), text="no such thing", content_type="text/html")
    if head == "as":
        kind, _, _ = rest.partition("/")
        return full(request, b"<!doctype html><title>not the data</title>", unquote(kind))
    if head == "redirect":
        count, _, target = rest.partition("/")
        location = f"/redirect/{int(count) - 1}/{target}" if int(count) > 1 else f"/{target}"
        raise web.HTTPFound(location)
    if head == "loop":
        raise web.HTTPFound(request.path)
    if head == "to":
        raise web.HTTPFound(request.query["url"])
    if head == "no-head":
        if request.method == "HEAD":
            return web.Response(status=405)
        return await answer(request, rest, state)
    if head == "slow":
        milliseconds, _, target = rest.partition("/")
        await asyncio.sleep(int(milliseconds) / 1000)
        return await answer(request, target, state)
    if head == "throttle":
        count, _, target = rest.partition("/")
        state.counts[request.host + request.path] += 1
        if state.counts[request.host + request.path] <= int(count):
            return web.Response(status=429, headers={"Retry-After": "1"})
        return await answer(request, target, state)
    if head == "wait":
        seconds, _, _ = rest.partition("/")
        return web.Response(status=429, headers={"Retry-After": seconds})
    if head == "empty":
        if request.method == "HEAD":
            return web.Response(status=405)
        if request.headers.get("Range"):
            return web.Response(status=416, headers={"Content-Range": "bytes */0"})
        return web.Response(body=b"", content_type="text/csv")
    if head == "endless":
        if request.method == "HEAD":
            return web.Response(status=405)
        response = web.StreamResponse(headers={"Content-Type": "text/csv"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            while True:
                await response.write(b"x" * 65536)
                await asyncio.sleep(0.01)
        return response
    return web.Response(status=404, text="unknown farm path")


def full(request: web.Request, body: bytes, content_type: str) -> web.Response:
    """A whole body, or its first byte for `Range: bytes=0-0`, as a file server answers."""
    headers = {"Content-Type": content_type, "Last-Modified": LAST_MODIFIED}
    if request.headers.get("Range") == "bytes=0-0":
        headers["Content-Range"] = f"bytes 0-0/{len(body)}"
        return web.Response(status=206, body=body[:1], headers=headers)
    return web.Response(body=body, headers=headers)


def make_app(state: FarmState) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        host = request.transport.get_extra_info("sockname")[0] if request.transport else ""
        entry = Logged(host, request.method, request.path_qs, dict(request.headers), time.monotonic())
        if state.keep_log:
            state.log.append(entry)
        state.in_flight[host] += 1
        state.most_in_flight[host] = max(state.most_in_flight[host], state.in_flight[host])
        try:
            return await answer(request, request.raw_path.split("?", 1)[0], state)
        finally:
            state.in_flight[host] -= 1
            entry.ended = time.monotonic()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((farm_address(0), 0))
        return probe.getsockname()[1]


async def start_sites(state: FarmState, hosts: int, port: int) -> web.AppRunner:
    runner = web.AppRunner(make_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    for index in range(hosts):
        await web.TCPSite(runner, farm_address(index), port, backlog=1024).start()
    return runner


@dataclass
class RunningFarm:
    port: int
    hosts: int
    state: FarmState

    def url(self, host: int, path: str) -> str:
        return f"http://{farm_address(host)}:{self.port}{path}"

    def dead_url(self, path: str = "/ok/data.csv") -> str:
        """A URL on an address where nothing listens (connection refused)."""
        return f"http://{farm_address(self.hosts + 50)}:{self.port}{path}"


@contextlib.contextmanager
def serve_farm(hosts: int = 8) -> Iterator[RunningFarm]:
    """Serve a farm of `hosts` hosts in a background thread."""
    state = FarmState()
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box: list[web.AppRunner] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner_box.append(loop.run_until_complete(start_sites(state, hosts, port)))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="link-farm", daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield RunningFarm(port, hosts, state)
    finally:
        asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


@dataclass(frozen=True)
class Truth:
    """What checking a farm URL must find: link_status's state, status, error, redirects and method, and
    whether format_mismatch lists it (declared CSV)."""

    path: str
    state: str
    status: int | None
    error: str | None = None
    redirects: int = 0
    method: str | None = "HEAD"
    mismatch: bool = False


KINDS: dict[str, Truth] = {
    "ok": Truth("/ok/{name}.csv", "ok", 200),
    "missing": Truth("/status/404/{name}.csv", "broken", 404),
    "gone": Truth("/status/410/{name}.csv", "broken", 410),
    "server_error": Truth("/status/500/{name}.csv", "broken", 500, method="GET"),
    "redirected": Truth("/redirect/3/ok/{name}.csv", "ok", 200, redirects=3),
    "redirect_loop": Truth("/loop/{name}", "broken", None, "too_many_redirects", 5),
    "long_chain": Truth("/redirect/6/ok/{name}.csv", "broken", None, "too_many_redirects", 5),
    "html_as_csv": Truth("/as/text%2Fhtml/{name}.csv", "ok", 200, mismatch=True),
    "text_as_csv": Truth("/as/text%2Fplain/{name}.csv", "ok", 200),
    "octets_as_csv": Truth("/as/application%2Foctet-stream/{name}.csv", "ok", 200),
    "no_head": Truth("/no-head/ok/{name}.csv", "ok", 206, method="GET"),
    "throttled_once": Truth("/throttle/1/ok/{name}.csv", "ok", 200),
    "dead_host": Truth("", "broken", None, "refused", method=None),
    "ftp": Truth("", "not_checked", None, "unsupported_scheme", method=None),
}


def link_to(farm: RunningFarm, kind: str, number: int) -> str:
    """A URL of `kind` on one of the farm's hosts (chosen by `number`)."""
    if kind == "dead_host":
        return farm.dead_url(f"/ok/r{number}.csv")
    if kind == "ftp":
        return f"ftp://{farm_address(0)}/pub/r{number}.csv"
    return farm.url(number % farm.hosts, KINDS[kind].path.format(name=f"r{number}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    port = args.port or free_port()
    state = FarmState(keep_log=False)

    async def serve() -> None:
        await start_sites(state, args.hosts, port)
        print(port, flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
