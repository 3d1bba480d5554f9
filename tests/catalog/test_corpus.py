"""The conformance corpus: documents that others published (specifications' examples, API documentation,
software test suites), each served on loopback as its API serves it, harvested through the real client,
and compared with the values its own text gives (`tests/corpus/<software>/corpus.toml`: where each
comes from, under which licence, and what it says). Then harvested again: nothing may change.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from catalog.errors import HarvestError
from catalog.harvest import HarvestRun, harvest_portal
from catalog.lake import Lake
from catalog.normalise.licences import canonical_licence
from catalog.sources.arcgis.client import FEED_PATH, SEARCH_PATH
from catalog.sources.opendatasoft.client import DATASETS_PATH
from tests.catalog.sources.test_dkan import dkan_routes
from tests.conftest import FAST, portal_at, rows
from tests.routes import Responder, serve_routes, static

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
DERIVED_DISTRIBUTIONS = {"socrata", "opendatasoft"}
"""Softwares whose records list no files: their distributions are the exports the platform serves for
every dataset (see their normalisers), so only the records' own lists are compared."""
RDF_TYPES = {"turtle": ("text/turtle", "ttl"), "xml": ("application/rdf+xml", "rdf")}
RDF_TYPES |= {"json-ld": ("application/ld+json", "jsonld"), "nt": ("application/n-triples", "nt")}
IANA = re.compile(r"^https?://www\.iana\.org/assignments/media-types/", re.IGNORECASE)


@dataclass(frozen=True)
class Document:
    folder: str
    entry: dict[str, Any]

    @property
    def body(self) -> bytes:
        return (CORPUS / self.folder / self.entry["file"]).read_bytes()

    @property
    def name(self) -> str:
        return f"{self.folder}/{self.entry['file']}"


def corpus() -> list[Document]:
    found = []
    for manifest in sorted(CORPUS.glob("*/corpus.toml")):
        for entry in tomllib.loads(manifest.read_text(encoding="utf-8"))["document"]:
            found.append(Document(manifest.parent.name, entry))
    return found


DOCUMENTS = corpus()


def ckan_page(records: list[Any], count: int | None = None) -> bytes:
    result = {"count": len(records) if count is None else count, "results": records}
    return orjson.dumps({"help": "", "success": True, "result": result})


Served = tuple[str, dict[str, Responder], str | None]
"""(software, routes, api path) that serve a document as its API does."""
EMPTY_CKAN = static(b'{"help": "", "success": true, "result": []}')


def served_rdf(document: Document, base_url: str) -> Served:
    content_type, suffix = RDF_TYPES[document.entry["format"]]
    return "dcat", {f"/catalog.{suffix}": static(document.body, content_type)}, f"/catalog.{suffix}"


def served_ckan(document: Document, base_url: str) -> Served:
    body = document.body
    if document.entry["endpoint"] == "package_show":  # the package, on the page a package_search would list it
        body = ckan_page([orjson.loads(body)["result"]])
    return "ckan", {"/api/3/action/package_search": static(body), "/api/3/action/organization_list": EMPTY_CKAN}, None


def served_dkan(document: Document, base_url: str) -> Served:
    if document.entry["endpoint"].startswith("data.json"):  # DKAN 2 publishes its catalogue as a data.json
        return "datajson", {"/data.json": static(document.body)}, "/data.json"
    result = orjson.loads(document.body)["result"]
    return "dkan", dkan_routes(result if isinstance(result, list) else [result]), None


def served_opendatasoft(document: Document, base_url: str) -> Served:
    record = orjson.loads(document.body)
    page = record if "results" in record else {"total_count": 1, "results": [record]}

    def by_offset(query: dict[str, str], _headers: Any) -> tuple[int, str, bytes]:
        first = query.get("offset", "0") == "0"  # the example is the first page; later ones are empty
        return 200, "application/json", orjson.dumps(page if first else page | {"results": []})

    return "opendatasoft", {DATASETS_PATH: by_offset}, None


def served_arcgis(document: Document, base_url: str) -> Served:
    if document.entry["endpoint"].startswith("data.json"):  # a Hub site's feed
        return "arcgis", {FEED_PATH: static(document.body)}, None
    # the Hub search mock: its next link names the mock's own host; here it is the local, empty last page
    first = document.body.replace(b"https://foo-bar.com", base_url.encode())
    following = next(link["href"] for link in orjson.loads(first)["links"] if link["rel"] == "next")
    last = orjson.dumps({"type": "FeatureCollection", "features": [], "numberMatched": 1, "links": []})
    return "arcgis", {SEARCH_PATH: static(first, "application/geo+json"), urlsplit(following).path: static(last)}, None


SERVED = {
    "dcat": served_rdf,
    "datajson": lambda document, _: ("datajson", {"/data.json": static(document.body)}, "/data.json"),
    "ckan": served_ckan,
    "dkan": served_dkan,
    "socrata": lambda document, _: ("socrata", {"/api/catalog/v1": static(document.body)}, None),
    "opendatasoft": served_opendatasoft,
    "arcgis": served_arcgis,
}


def harvest_document(document: Document, lake: Lake, sent: list[bytes] | None = None) -> tuple[HarvestRun, HarvestRun]:
    """The document's portal harvested twice, as a user's two runs would; `sent` collects every body
    the portal answered with."""
    with serve_routes({}) as server:
        software, routes, api_path = SERVED[document.folder](document, server.base_url)
        if sent is not None:
            routes = {path: recorded(answer, sent) for path, answer in routes.items()}
        server.routes.update(routes)
        portal = portal_at(server.base_url, software=software, api_url=server.base_url + api_path if api_path else None)
        first = harvest_portal(portal, lake, settings=FAST)
        second = harvest_portal(portal, lake, settings=FAST, full=True)
    return first, second


def recorded(answer: Responder, sent: list[bytes]) -> Responder:
    def answering(query: dict[str, str], headers: Any) -> Any:
        answered = answer(query, headers)
        sent.append(answered[2])
        return answered

    return answering


def expected_datasets(document: Document) -> list[dict[str, Any]]:
    return document.entry.get("dataset", [])


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if d.entry["datasets"]], ids=lambda d: d.name)
def test_a_document_normalises_to_what_its_text_says_and_reharvests_unchanged(document, lake) -> None:
    first, second = harvest_document(document, lake)
    assert first.status == "complete", first.error
    datasets = rows(lake, "SELECT * FROM datasets")
    for dataset in datasets:
        dataset["distributions"] = rows(lake, "SELECT * FROM distributions WHERE dataset_id = ?", dataset["dataset_id"])
    expected, seen = [], set()
    for wanted in expected_datasets(document):  # a portal repeating an id: its first record stands
        if not wanted["id"] or wanted["id"] not in seen:
            expected.append(wanted)
            seen.add(wanted["id"])
    assert len(datasets) == len(expected)
    for wanted in expected:
        found = matching(datasets, wanted)
        datasets.remove(found)
        compare(lake, found, wanted, derived=document.folder in DERIVED_DISTRIBUTIONS)
    assert (second.added, second.modified, second.deleted) == (0, 0, 0)
    assert rows(lake, "SELECT count(*) AS n FROM lake_datasets WHERE harvest_id = ?", second.harvest_id) == [{"n": 0}]


SEARCH_APIS = {"ckan", "dkan", "socrata", "opendatasoft", "arcgis"}


def read_from_api_pages(document: Document) -> bool:
    """Served as pages of an API's search (not a data.json feed, not RDF)."""
    return document.folder in SEARCH_APIS and not document.entry["endpoint"].startswith("data.json")


@pytest.mark.parametrize(
    "document", [d for d in DOCUMENTS if d.entry["datasets"] and read_from_api_pages(d)], ids=lambda d: d.name
)
def test_raw_is_each_record_in_the_bytes_the_portal_sent(document, lake) -> None:
    """What the README promises of `raw` for the softwares read page by page: the record exactly as the
    portal's answer has it, spacing and escapes included; a whole JSON object, cut from a page."""
    sent: list[bytes] = []
    first, _ = harvest_document(document, lake, sent)
    assert first.status == "complete", first.error
    kept = [row["raw"].encode() for row in rows(lake, "SELECT raw FROM datasets")]
    assert len(kept) == first.datasets > 0
    for raw in kept:
        assert isinstance(orjson.loads(raw), dict)
        assert any(raw in body for body in sent), raw[:200]


def test_the_documented_error_answer_is_a_clear_failure(lake) -> None:
    document = next(d for d in DOCUMENTS if d.entry["file"] == "ckan-docs-error-response.json")
    with pytest.raises(HarvestError, match=r"package_search: HTTP 200, success=false \(Authorization Error: "):
        harvest_document(document, lake)


def matching(datasets: list[dict[str, Any]], wanted: dict[str, Any]) -> dict[str, Any]:
    """The harvested dataset the manifest means: by id, by title, or (a blank node with neither) by the
    access URL of its first distribution among the datasets keyed by their content."""
    candidates = [d for d in datasets if wanted["id"] and wanted["id"] in (d["dataset_id"], d["name"])]
    candidates = candidates or [d for d in datasets if wanted["title"] and d["title"] == wanted["title"].strip()]
    if not wanted["id"] and not wanted["title"]:
        urls = {d["access_url"] or d["download_url"] for d in wanted.get("distribution", [])}
        candidates = [
            d
            for d in datasets
            if d["dataset_id"].startswith("_:")
            and urls
            <= {row["access_url"] for row in d["distributions"]} | {row["download_url"] for row in d["distributions"]}
        ]
    assert candidates, f"no dataset {wanted['id'] or wanted['title']!r} among {[d['title'] for d in datasets]}"
    return candidates[0]


def compare(lake: Lake, found: dict[str, Any], wanted: dict[str, Any], *, derived: bool) -> None:
    where = wanted["id"] or wanted["title"]
    assert found["title"] == (wanted["title"].strip() or None), where
    assert (found["description"] or "").startswith(wanted["description_starts"].strip()), where
    if wanted["publisher"]:
        assert wanted["publisher"] in (found["publisher_name"], found["publisher_id"]), where
    assert (found["contact_name"] or "") == wanted["contact_name"], where
    assert (found["contact_email"] or "") == wanted["contact_email"].removeprefix("mailto:").strip(), where
    stated = [found["license_id"], found["license_url"], found["license_title"]]
    if wanted["licence"]:
        assert (
            wanted["licence"] in stated or found["license_key"] == canonical_licence(wanted["licence"], None, None).key
        ), where
    for column in ("issued", "modified"):
        if wanted[column] and not isinstance(wanted[column], int):
            assert found[f"{column}_text"] == wanted[column], (where, column)
    assert sorted(found["keywords"]) == sorted(wanted["keywords"]), where
    distributions = found["distributions"]
    if not derived:
        assert len(distributions) == len(wanted.get("distribution", [])), where
    for want in wanted.get("distribution", []):
        url = want["download_url"] or want["access_url"]
        match = [d for d in distributions if url in (d["download_url"], d["access_url"])]
        assert match, (where, url)
        got = max(match, key=lambda d: sum(IANA.sub("", str(d[k] or "")) == IANA.sub("", want[k]) for k in want))
        assert (got["title"] or "") == want["title"].strip(), (where, url)
        if want["media_type"]:
            assert IANA.sub("", got["media_type"] or "") == IANA.sub("", want["media_type"]), (where, url)
        if want["format"]:
            assert got["format"] in (want["format"], want["format"].rstrip("/").rsplit("/", 1)[-1]), (where, url)
