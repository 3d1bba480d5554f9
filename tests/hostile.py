"""Hostile portals on loopback: servers broken on purpose, or malicious, beside the fault-injection server.

Each mode is something a real server did (or an attacker would do) to a harvester. CKAN modes are
intercepts for the sample CKAN server (`catalog.sample.server.PortalOptions.intercept`); the others
are responders for `tests.routes.serve_routes`. `tests/catalog/test_hostile.py` runs each against the
harvester, with a regression test per finding.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from catalog.sample.server import JSON
from tests.routes import Responder

Intercept = Callable[[str, dict[str, str]], Any]


def ckan_envelope(result: bytes) -> bytes:
    return b'{"help": "", "success": true, "result": ' + result + b"}"


def empty_search_index() -> Intercept:
    """A CKAN whose search index broke: every package_search says `count: 0, results: []`."""
    body = ckan_envelope(b'{"count": 0, "results": []}')
    return lambda action, params: (200, body, JSON) if action == "package_search" else None


def endless_pages(count: int = 10**12) -> Intercept:
    """package_search that never ends: every page full of new random ids, and an absurd count."""

    def answer(action: str, params: dict[str, str]) -> Any:
        if action != "package_search":
            return None
        rows = int(params.get("rows", 10))
        fields = params.get("fl")
        records = [
            {"id": str(uuid.uuid4())} if fields else {"id": str(uuid.uuid4()), "name": f"n{i}", "title": "spam"}
            for i in range(rows)
        ]
        return 200, ckan_envelope(orjson.dumps({"count": count, "results": records})), JSON

    return answer


def deep_record(record_id: str, depth: int) -> bytes:
    """A CKAN package whose `extras` value nests `depth` levels deep, as raw JSON (no encoder would write it)."""
    nested = b'{"a":' * depth + b"1" + b"}" * depth
    return (
        b'{"id": "'
        + record_id.encode()
        + b'", "name": "'
        + record_id.encode()
        + b'", "title": "deep", "x": '
        + nested
        + b"}"
    )


def pages_with_deep_records(normal: list[bytes], depths: list[int]) -> Intercept:
    """One package_search page: real records, plus records nested absurdly deep."""
    records = normal + [deep_record(f"deep-{depth}", depth) for depth in depths]
    body = ckan_envelope(b'{"count": ' + str(len(records)).encode() + b', "results": [' + b",".join(records) + b"]}")
    return lambda action, params: (200, body, JSON) if action == "package_search" else None


def dripping(interval: float = 1.0, chunk: bytes = b" ") -> Responder:
    """A body that never ends, a byte every `interval` seconds: every gap is within any read timeout."""

    def body() -> Iterator[bytes]:
        yield b'{"help": "", "success": true, "result": {"count": 1, "results": ['
        while True:
            yield chunk
            time.sleep(interval)

    return lambda query, headers: (200, "application/json", body())


def billion_laughs(levels: int = 9) -> bytes:
    """RDF/XML whose DTD entities expand tenfold per level (10**levels "lol"s from ~1 KB)."""
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, levels + 1)]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n' + "\n".join(entities) + "\n]>\n"
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#"'
        ' xmlns:dct="http://purl.org/dc/terms/">\n'
        f'<dcat:Dataset rdf:about="http://example.org/d/1"><dct:title>&lol{levels};</dct:title></dcat:Dataset>\n'
        "</rdf:RDF>\n"
    ).encode()


def jsonld_with_context(context: Any) -> bytes:
    """A one-dataset DCAT catalogue in JSON-LD whose `@context` is `context` (a URL, a list, an object)."""
    return orjson.dumps(
        {
            "@context": context,
            "@id": "http://example.org/catalog",
            "@type": "http://www.w3.org/ns/dcat#Catalog",
            "http://www.w3.org/ns/dcat#dataset": {
                "@id": "http://example.org/dataset/1",
                "@type": "http://www.w3.org/ns/dcat#Dataset",
                "http://purl.org/dc/terms/title": "Context test",
            },
        }
    )


def echoing(header: str, responder: Responder, *, malformed: bool = False) -> Responder:
    """Answers as `responder` does, but writes the API key it received (`header`) into the answer: into
    every `"ECHO"` of a good answer, or into a malformed one, as careless portals do in error messages."""

    def answer(query: dict[str, str], headers: Any) -> Any:
        key = headers.get(header.lower(), "").encode()
        if malformed:
            return 200, "application/json", b"{not JSON: your key " + key + b" was rejected"
        status, content_type, body, *rest = responder(query, headers)
        return (status, content_type, body.replace(b"ECHO", key), *rest)

    return answer


def page_served_twice(portal: Any, start: int = 20, instead: int = 10) -> Intercept:
    """A catalogue shifting while it is paged: package_search answers the page at `start` once with the
    page at `instead` (rows the harvester has seen already), as a real CKAN does when datasets are added
    at the front between two requests."""
    served: list[bool] = []

    def answer(action: str, params: dict[str, str]) -> Any:
        if action == "package_search" and params.get("start") == str(start) and not served:
            served.append(True)
            status, body = portal.server.action_package_search(params | {"start": str(instead)})
            return status, body, JSON
        return None

    return answer
