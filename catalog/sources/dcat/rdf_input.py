"""Making an untrusted RDF document safe to hand to rdflib: bounded, entity-free, and never fetching.

- Size: rdflib holds a graph at about 45 times the document's size (a 107 MB Turtle file needed
  4.7 GB), so documents are capped (`MAX_DOCUMENT_BYTES`) before parsing, with an error that says why.
- RDF/XML: any DTD entity declaration is refused (defusedxml), as well-kept XML consumers do: entity
  expansion below expat's own limits can still take minutes (billion laughs), and external entities
  could read local files.
- JSON-LD: rdflib fetches a remote `@context` itself, outside our HTTP layer (no timeout, no cap, no
  User-Agent, even `file:` URLs). So every document is parsed here and every `@context` (and `@import`)
  resolved first, however its key is spelt (`"\u0040context"` too): contexts catalogues commonly use come
  from local copies (`contexts/`), any other http(s) context through the portal's session, under its
  limits; other schemes are refused. rdflib then only sees inline contexts, and should one ever reach it,
  its context loader refuses to fetch (`refuse_rdflib_fetches`, applied on import).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urljoin, urlsplit
from xml.sax import ContentHandler, SAXException

from defusedxml import DefusedXmlException
from defusedxml.sax import parseString

from catalog.normalise.values import RecordTooDeepError, json_text, loads_lenient

MAX_DOCUMENT_BYTES = 32 * 2**20
"""The largest RDF document parsed (about 1.5 GB of graph). Larger catalogues page (Hydra, CSW)."""
MAX_CONTEXT_BYTES = 2 * 2**20
MAX_CONTEXT_NESTING = 32
MAX_CONTEXTS = 16
"""Remote contexts one document may pull in, chains and imports included."""
CONTEXTS_DIR = Path(__file__).with_name("contexts")


class UnsafeDocumentError(ValueError):
    """An RDF document refused before parsing; the message says why."""


def refuse_xml_entities(document: bytes) -> None:
    """Raise UnsafeDocumentError if an XML document declares DTD entities or refers to external ones."""
    try:
        parseString(document, ContentHandler(), forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeDocumentError(f"XML declares DTD entities, refused ({type(exc).__name__})") from None
    except SAXException:
        pass  # not well-formed: rdflib reports that in its own words


@cache
def known_contexts() -> dict[str, Path]:
    """Context URL (normalised, see `_context_key`) -> the local copy shipped with the library."""
    manifest = CONTEXTS_DIR / "contexts.toml"
    if not manifest.is_file():
        return {}
    entries = tomllib.loads(manifest.read_text(encoding="utf-8")).get("context", [])
    return {_context_key(url): CONTEXTS_DIR / entry["file"] for entry in entries for url in entry["urls"]}


def _context_key(url: str) -> str:
    """http and https, a trailing slash and a fragment do not make another context."""
    parts = urlsplit(url)
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


class ContextResolver:
    """Resolves a JSON-LD document's remote contexts into inline ones, fetching through `fetch`."""

    def __init__(self, fetch: Callable[[str], bytes]) -> None:
        self.fetch = fetch
        self.loaded: dict[str, Any] = {}

    def inline(self, document: bytes, base_url: str) -> bytes:
        """The document, parsed and written again with every `@context` inline."""
        try:
            data, _ = loads_lenient(document)
        except ValueError:
            raise UnsafeDocumentError("not a JSON document") from None
        try:
            self._walk(data, base_url)
            return json_text(data).encode()
        except (RecursionError, RecordTooDeepError):
            raise UnsafeDocumentError("JSON-LD nested too deeply to read") from None

    def _walk(self, data: Any, base_url: str) -> None:
        """Replace every `@context` value in `data`, at any depth, without recursion."""
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if "@context" in node:
                    node["@context"] = self._resolve(node["@context"], base_url)
                stack.extend(value for key, value in node.items() if key != "@context")
            elif isinstance(node, list):
                stack.extend(node)

    def _resolve(self, value: Any, base_url: str, depth: int = 0) -> Any:
        if depth > MAX_CONTEXT_NESTING:
            raise UnsafeDocumentError("JSON-LD @context nested too deeply")
        if isinstance(value, str):
            return self._load(urljoin(base_url, value))
        if isinstance(value, list):
            return [self._resolve(item, base_url, depth + 1) for item in value]
        if isinstance(value, dict):
            resolved = dict(value)
            if isinstance(imported := resolved.pop("@import", None), str):
                loaded = self._load(urljoin(base_url, imported))
                resolved = (loaded if isinstance(loaded, dict) else {}) | resolved
            self._walk([term for term in resolved.values() if isinstance(term, dict)], base_url)
            return resolved
        return value

    def _load(self, url: str) -> Any:
        """The `@context` of the context document at `url`, from a local copy or fetched under limits."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise UnsafeDocumentError(f"JSON-LD @context {url!r} refused: only http(s) contexts are read")
        key = _context_key(url)
        if key not in self.loaded:
            local = known_contexts().get(key)
            if local is None and len(self.loaded) >= MAX_CONTEXTS:
                raise UnsafeDocumentError(f"JSON-LD document pulls in more than {MAX_CONTEXTS} remote contexts")
            body = local.read_bytes() if local is not None else self.fetch(url)
            try:
                document, _ = loads_lenient(body)
            except ValueError:
                raise UnsafeDocumentError(f"JSON-LD @context {url} is not JSON") from None
            context = document.get("@context") if isinstance(document, dict) else None
            self.loaded[key] = None  # a context that names itself must not loop
            self.loaded[key] = self._resolve(context, url) if context is not None else {}
        return self.loaded[key]


def _refuse_fetch(*_: object, **__: object) -> NoReturn:
    raise UnsafeDocumentError("rdflib was about to fetch a JSON-LD context itself; refused")


def refuse_rdflib_fetches() -> None:
    """Make rdflib's JSON-LD context loader refuse every fetch: the resolver above inlines contexts first,
    so nothing legitimate reaches it."""
    from rdflib.plugins.shared.jsonld.context import Context  # noqa: PLC0415 - rdflib's internals, patched once

    Context._fetch_context = _refuse_fetch  # type: ignore[method-assign]


refuse_rdflib_fetches()
