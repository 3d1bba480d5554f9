"""Harvest twice, nothing changes: for every fixture of every software, the second harvest (a full one,
in another process with another hash seed, as tomorrow's scheduled run would be) finds 0 added,
0 modified, 0 deleted and writes no dataset rows. And one RDF graph gives one content hash, whichever
serialisation it comes in. (The conformance corpus checks the same property on its documents.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from rdflib import Graph

from catalog.harvest import harvest_portal
from catalog.lake import Lake
from catalog.sample.server import InMemoryCatalogue, organizations_of, serve_portal
from tests.catalog.sources.test_arcgis import hub_item, hub_search
from tests.catalog.sources.test_dcat import GEO2FRANCE_PAGES, UDATA, paged_catalogue
from tests.catalog.sources.test_dkan import dkan_routes, real_and_copies
from tests.catalog.sources.test_opendatasoft import ods_api, ods_record
from tests.catalog.sources.test_socrata import discovery_api, socrata_result
from tests.conftest import (
    FAST,
    FIXTURE_PORTALS,
    REPO,
    birmingham_packages,
    cassette_body,
    data_gov_uk_packages,
    fixture_bytes,
    portal_at,
    real_packages,
    rows,
)
from tests.recorded import multiplied
from tests.routes import Responder, serve_routes, static

RDF_FIXTURES = {
    "madrid.ttl": ("dcat-ap/ckanext-dcat-examples/dataset_gob_es.ttl", "text/turtle"),
    "sweden.rdf": ("dcat-ap/ckanext-dcat-examples/dataset_sweden.rdf", "application/rdf+xml"),
    "pod.jsonld": ("dcat-ap/ckanext-dcat-examples/catalog_pod.jsonld", "application/ld+json"),
    "datara.rdf": (UDATA + "datara--5a26b0f6-0ccf-46ad-ac58-734054b91977.rdf.xml", "application/rdf+xml"),
    "oreme.rdf": (UDATA + "sig.oreme.rdf", "application/rdf+xml"),
}


def geonetwork_csw(query: dict[str, str], _headers: object) -> tuple[int, str, bytes]:
    return 200, "application/xml", fixture_bytes(UDATA + GEO2FRANCE_PAGES[int(query.get("startPosition", 1))])


def hydra() -> Responder:
    pages = paged_catalogue()
    return lambda query, _headers: (200, "text/turtle", pages[int(query.get("page", 1))])


# case -> (software, routes, api path): every recorded or documented portal shape the suite has
CASES: dict[str, Callable[[], tuple[str, dict[str, Responder], str | None]]] = {
    "dkan-recorded": lambda: ("dkan", dkan_routes(real_and_copies(3)), None),
    "socrata": lambda: ("socrata", discovery_api([socrata_result(n) for n in range(30)]), None),
    "opendatasoft": lambda: ("opendatasoft", ods_api([ods_record(n) for n in range(30)]), None),
    "arcgis-search": lambda: ("arcgis", hub_search([hub_item(n) for n in range(30)]), None),
    "datajson-datos-gob-ar": lambda: (
        "datajson",
        {"/data.json": static(cassette_body("dcat-us/datos.gob.ar/vcr_datos.gob.ar_data.json_2017-08-13.yaml"))},
        "/data.json",
    ),
    "dcat-geonetwork-csw": lambda: ("dcat", {"/csw": geonetwork_csw}, "/csw?service=CSW&request=GetRecords"),
    "dcat-hydra": lambda: ("dcat", {"/catalog.ttl": hydra()}, "/catalog.ttl"),
}
for _name, (_relative, _type) in RDF_FIXTURES.items():
    CASES[f"dcat-{_name}"] = lambda r=_relative, t=_type, n=_name: (
        "dcat",
        {f"/{n}": static(fixture_bytes(r), t)},
        f"/{n}",
    )
for _portal_id, (_software, _files, _api_path) in FIXTURE_PORTALS.items():
    if _software == "datajson":
        CASES[_portal_id] = lambda f=_files: (
            "datajson",
            {p: static(fixture_bytes(n)) for p, n in f.items()},
            "/data.json",
        )


def cli_full_harvest(url: str, software: str, lake: Lake, hash_seed: str) -> None:
    """Tomorrow's run: a full harvest by the `catalog` command, in its own process and hash seed."""
    command = [sys.executable, "-m", "catalog.cli", "harvest", url, "--portal", "test-portal", "--software", software]
    environment = os.environ | {"PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [*command, "--full", "--lake", str(lake.root)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def assert_second_run_changed_nothing(lake: Lake) -> None:
    first, second = sorted(lake.runs("test-portal"), key=lambda run: run["harvest_id"])
    assert first["status"] == second["status"] == "complete"
    assert first["datasets"] > 0 and second["datasets"] == first["datasets"]
    assert (second["added"], second["modified"], second["deleted"]) == (0, 0, 0)
    assert rows(lake, "SELECT count(*) AS n FROM lake_datasets WHERE harvest_id = ?", second["harvest_id"]) == [
        {"n": 0}
    ]


@pytest.mark.parametrize("case", sorted(CASES))
def test_harvesting_twice_changes_nothing(case, lake) -> None:
    software, routes, api_path = CASES[case]()
    with serve_routes(routes) as server:
        api_url = server.base_url + api_path if api_path else None
        harvest_portal(portal_at(server.base_url, software=software, api_url=api_url), lake, settings=FAST)
        cli_full_harvest(api_url or server.base_url, software, lake, hash_seed="4242")
    assert_second_run_changed_nothing(lake)


@pytest.mark.parametrize("packages", [birmingham_packages, data_gov_uk_packages], ids=["birmingham", "data-gov-uk"])
def test_harvesting_a_ckan_portal_twice_changes_nothing(packages, lake) -> None:
    records = multiplied(packages(), 40)
    with serve_portal(InMemoryCatalogue(records, organizations_of(records))) as portal:
        harvest_portal(portal_at(portal.url), lake, settings=FAST)
        cli_full_harvest(portal.url, "ckan", lake, hash_seed="7")
    assert_second_run_changed_nothing(lake)


def test_harvesting_a_large_ckan_portal_twice_in_worker_processes_changes_nothing(lake) -> None:
    """1,200 datasets: both harvests, with the shipped settings, normalise in worker processes; the second,
    in another process with another hash seed, writes nothing. (That its workers leave the unchanged
    rows out is tests/catalog/harvest/test_workers.py's to show.)"""
    records = multiplied(real_packages(), 1_200)
    with serve_portal(InMemoryCatalogue(records, organizations_of(records))) as portal:
        harvest_portal(portal_at(portal.url), lake)
        cli_full_harvest(portal.url, "ckan", lake, hash_seed="11")
    assert_second_run_changed_nothing(lake)


def content_hashes(lake: Lake) -> dict[str, str]:
    return {
        row["dataset_id"]: row["content_hash"] for row in rows(lake, "SELECT dataset_id, content_hash FROM datasets")
    }


@pytest.mark.parametrize("relative", sorted({relative for relative, _ in RDF_FIXTURES.values()}))
def test_one_graph_has_one_hash_in_every_serialisation(relative, tmp_path) -> None:
    """Turtle, RDF/XML, JSON-LD and N-Triples of the same graph (blank nodes and all) give the same records."""
    rdf_format = {"ttl": "turtle", "jsonld": "json-ld"}.get(relative.rsplit(".", 1)[-1], "xml")
    graph = Graph().parse(data=fixture_bytes(relative), format=rdf_format)
    serialisations = {
        "turtle": ("text/turtle", graph.serialize(format="turtle")),
        "xml": ("application/rdf+xml", graph.serialize(format="xml")),
        "json-ld": ("application/ld+json", graph.serialize(format="json-ld")),
        "nt": ("application/n-triples", graph.serialize(format="nt")),
    }
    hashes = {}
    for name, (content_type, text) in serialisations.items():
        lake = Lake(tmp_path / name)
        with serve_routes({"/catalog": static(text.encode(), content_type)}) as server:
            portal = portal_at(server.base_url, software="dcat", api_url=server.base_url + "/catalog")
            harvest_portal(portal, lake, settings=FAST)
        hashes[name] = content_hashes(lake)
    assert hashes["turtle"] and all(found == hashes["turtle"] for found in hashes.values()), hashes


def test_blank_nodes_relabelled_keep_the_hash(tmp_path) -> None:
    """The same document with its blank nodes renamed and its triples reordered: the same hash."""
    document = fixture_bytes("dcat-ap/udata-harvest-tests/sig.oreme.rdf")
    graph = Graph().parse(data=document, format="xml")
    shuffled = "\n".join(reversed(graph.serialize(format="nt").splitlines())).replace("_:", "_:renamed")
    hashes = []
    for name, (content_type, body) in {
        "a": ("application/rdf+xml", document),
        "b": ("application/n-triples", shuffled.encode()),
    }.items():
        lake = Lake(tmp_path / name)
        with serve_routes({"/catalog": static(body, content_type)}) as server:
            harvest_portal(
                portal_at(server.base_url, software="dcat", api_url=server.base_url + "/catalog"), lake, settings=FAST
            )
        hashes.append(content_hashes(lake))
    assert hashes[0] and hashes[0] == hashes[1]
