"""Peak memory and time of `catalog harvest` against answers built to exhaust it, beside a baseline.

    python bench/hostile_memory.py [--cases hugepage bigturtle] [--baseline /path/to/older/checkout]

- `hugepage`: one CKAN package_search page of 450 MB (1,000 records of 450 KB), under the 512 MB
  response cap: what it costs to be refused (or, in older versions, to parse it).
- `bigturtle`: a 107 MB Turtle catalogue, over the 32 MB RDF document cap.

Each harvest runs as the real command in its own process (so its peak RSS is its own), against a
server on loopback in another process (so the harvest never shares the server's memory). With
`--baseline`, the same harvest runs again with that checkout first on PYTHONPATH, and the ratios are
printed. Figures, not assertions: timings on shared machines are noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
PAGE_RECORDS, RECORD_BYTES = 1000, 450_000
TURTLE_BYTES = 107 * 2**20


def huge_page() -> bytes:
    records = (
        orjson.dumps({"id": f"r{i}", "name": f"r{i}", "title": "t", "notes": "y" * RECORD_BYTES})
        for i in range(PAGE_RECORDS)
    )
    return b'{"success": true, "result": {"count": 1000, "results": [' + b",".join(records) + b"]}}"


def big_turtle() -> bytes:
    lines = [b"@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> ."]
    size, number = 0, 0
    while size < TURTLE_BYTES:
        subject = f"<http://e.org/d/{number}> a dcat:Dataset"
        lines.append(f'{subject} ; dct:title "Dataset {number}" ; dct:description "{"d" * 400}" .'.encode())
        size, number = size + len(lines[-1]), number + 1
    return b"\n".join(lines)


CASES = {  # name -> (software, path under the server, content type, body)
    "hugepage": ("ckan", "", "application/json", huge_page),
    "bigturtle": ("dcat", "/catalog.ttl", "text/turtle", big_turtle),
}


def serve(name: str) -> None:
    """Child process: serve the case's body on loopback, print the URL, stop at EOF on stdin."""
    _, path, content_type, make = CASES[name]
    body = make()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature from the stdlib
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the harvester hung up, as it should
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}{path} {len(body)}", flush=True)
    sys.stdin.read()


def harvest(url: str, software: str, checkout: Path) -> dict[str, object]:
    """Exit status, last stderr line, seconds and peak RSS of one `catalog harvest` run from `checkout`."""
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as folder, tempfile.TemporaryFile() as errors:
        command = [sys.executable, "-m", "catalog.cli", "harvest", url, "--portal", "bench", "--software", software]
        command += ["--lake", f"{folder}/lake", "--rate", "0", "--retries", "0"]
        environment = os.environ | {"PYTHONPATH": str(checkout)}
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=checkout, stdout=subprocess.DEVNULL, stderr=errors, env=environment)
        _, status, usage = os.wait4(process.pid, 0)
        errors.seek(0)
        lines = errors.read().decode(errors="replace").strip().splitlines()
    return {
        "exit": os.waitstatus_to_exitcode(status),
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "said": (lines[-1] if lines else "")[:160],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=sorted(CASES))
    parser.add_argument("--baseline", type=Path, help="an older checkout of this repository to compare with")
    parser.add_argument("--serve", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    for name in args.cases:
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert server.stdin and server.stdout
        url, size = server.stdout.readline().split()
        software = CASES[name][0]
        now = harvest(url, software, REPO)
        print(f"{name} ({int(size) / 2**20:.0f} MB): {now['peak_rss_mb']:.0f} MB peak, {now['seconds']:.1f} s, "
              f"exit {now['exit']}: {now['said']}")  # fmt: skip
        if args.baseline:
            before = harvest(url, software, args.baseline.resolve())
            print(f"  baseline: {before['peak_rss_mb']:.0f} MB peak, {before['seconds']:.1f} s, "
                  f"exit {before['exit']}: {before['said']}")  # fmt: skip
            print(f"  ratio now/baseline: memory {now['peak_rss_mb'] / before['peak_rss_mb']:.2f}, "
                  f"time {now['seconds'] / before['seconds']:.2f}")  # fmt: skip
        server.stdin.close()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
