"""The DCAT RDF adapter over real DCAT-AP records (../shared/fixtures/dcat-ap), in three serialisations,
a real paged GeoNetwork CSW sequence, and Hydra-paged catalogues as ckanext-dcat serves them
(https://docs.ckan.org/projects/ckanext-dcat/en/latest/endpoints/#catalog-endpoint: `?page=N`, with
`hydra:PagedCollection` / `hydra:nextPage` / `hydra:totalItems`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rdflib import Graph, URIRef

from catalog.errors import HarvestError
from tests.conftest import fixture_bytes, rows
from tests.routes import static

EXAMPLES = "dcat-ap/ckanext-dcat-examples/"
UDATA = "dcat-ap/udata-harvest-tests/"
MADRID_TITLE = (
    "Estudio de Satisfacción con el Programa de Escuelas Municipales de Promoción Deportiva en centros escolares"
)
DCT_ABSTRACT = URIRef("http://purl.org/dc/terms/abstract")
DCT_DESCRIPTION = URIRef("http://purl.org/dc/terms/description")
GEO2FRANCE_PAGES = {1: "geonetwork-dcat-page-1.xml", 3: "geonetwork-dcat-page-3.xml", 5: "geonetwork-dcat-page-5.xml"}


@pytest.mark.parametrize(
    "case",
    [
        (
            EXAMPLES + "dataset_gob_es.ttl",
            "text/turtle",
            MADRID_TITLE,
            "Ayuntamiento de Madrid",
            1,
        ),
        (EXAMPLES + "dataset_sweden.rdf", "application/rdf+xml", "Linked Nobel prizes", "Nobel Media AB", 1),
        (
            EXAMPLES + "catalog_pod.jsonld",
            "application/ld+json",
            "U.S. Widget Manufacturing Statistics",
            "Widget Services",
            4,
        ),
        (
            UDATA + "datara--5a26b0f6-0ccf-46ad-ac58-734054b91977.rdf.xml",
            "application/rdf+xml",
            "Campings issus de la BDTopo de Auvergne Rhône-Alpes",
            "IGN",  # no dct:publisher: its rights holder (GeoDCAT-AP's owner role) stands in
            1,
        ),
    ],
)
def test_each_serialisation(harvest_served, lake, case) -> None:
    relative, content_type, title, publisher, distributions = case
    run = harvest_served({"/catalog": static(fixture_bytes(relative), content_type)}, "dcat", api_path="/catalog")
    assert (run.status, run.datasets, run.distributions) == ("complete", 1, distributions)
    dataset = rows(lake, "SELECT title, publisher_name FROM datasets")[0]
    assert dataset == {"title": title, "publisher_name": publisher}


def test_gob_es_fields(harvest_served, lake) -> None:
    document = fixture_bytes(EXAMPLES + "dataset_gob_es.ttl")
    harvest_served({"/catalog.ttl": static(document, "text/turtle")}, "dcat")  # the default endpoint
    dataset = rows(lake, "SELECT * FROM datasets")[0]
    assert dataset["dataset_id"].startswith("https://datos.gob.es/catalogo/l01280796-estudio-de-satisfaccion")
    assert dataset["name"] == "https://datos.madrid.es/egob/catalogo/300676-0-deporte-encuesta-escuelas"
    assert dataset["modified"] == datetime(2024, 4, 15, 7, 8, 10, tzinfo=UTC)  # +02:00 to UTC
    assert dataset["modified_text"] == "2024-04-15T09:08:10+02:00"
    assert dataset["keywords"] == ["deporte escolar", "escuelas", "promoción"]
    assert dataset["themes"] == ["http://datos.gob.es/kos/sector-publico/sector/deporte"]
    assert dataset["license_id"] == "https://datos.madrid.es/egob/catalogo/aviso-legal"
    distribution = rows(lake, "SELECT format, byte_size FROM distributions")[0]
    assert distribution == {"format": "XLS", "byte_size": 43008}  # "43008.0"^^xsd:decimal; an IMT node's label


def test_sweden_licence_comes_from_the_distribution(harvest_served, lake) -> None:
    harvest_served(
        {"/c": static(fixture_bytes(EXAMPLES + "dataset_sweden.rdf"), "application/rdf+xml")}, "dcat", api_path="/c"
    )
    dataset = rows(lake, "SELECT license_id, frequency, modified FROM datasets")[0]
    assert dataset == {
        "license_id": "http://creativecommons.org/licenses/by-nc/3.0/",
        "frequency": "http://purl.org/cld/freq/daily",
        "modified": datetime(2014, 8, 27, tzinfo=UTC),
    }


def test_geonetwork_csw_pages_are_followed(harvest_served, lake) -> None:
    """The real GeoNetwork sequence: 6 records matched, 2 per page, nextRecord 3, 5, then 0."""

    def page(query, _headers):
        start = int(query.get("startPosition", 1))
        return 200, "application/xml", fixture_bytes(UDATA + GEO2FRANCE_PAGES[start])

    run = harvest_served({"/geonetwork/srv/fre/csw": page}, "dcat", api_path="/geonetwork/srv/fre/csw?service=CSW")
    assert (run.status, run.datasets, run.source_count) == ("complete", 6, 6)
    titles = [row["title"] for row in rows(lake, "SELECT title FROM datasets ORDER BY title")]
    assert len(titles) == 6 and all(titles)
    assert run.requests == 3


def paged_catalogue() -> dict[int, bytes]:
    """Three Turtle pages in ckanext-dcat's shape, from three real records, with Hydra paging triples."""
    sources = [
        (EXAMPLES + "dataset_gob_es.ttl", "turtle"),
        (EXAMPLES + "dataset_sweden.rdf", "xml"),
        (EXAMPLES + "catalog_pod.jsonld", "json-ld"),
    ]
    pages = {}
    for number, (relative, rdf_format) in enumerate(sources, start=1):
        graph = Graph().parse(data=fixture_bytes(relative), format=rdf_format)
        following = f'hydra:nextPage "/catalog.ttl?page={number + 1}" ;' if number < len(sources) else ""
        hydra = f"""@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
            </catalog.ttl?page={number}> a hydra:PagedCollection ; {following} hydra:totalItems 3 ."""
        graph.parse(data=hydra, format="turtle", publicID="http://portal.test/")
        pages[number] = graph.serialize(format="turtle").encode()
    return pages


def test_hydra_pages_are_followed(harvest_served, lake) -> None:
    pages = paged_catalogue()
    seen_accept = []

    def catalogue(query, headers):
        seen_accept.append(headers["accept"])
        return 200, "text/turtle", pages[int(query.get("page", 1))]

    run = harvest_served({"/catalog.ttl": catalogue}, "dcat")
    assert (run.datasets, run.distributions, run.source_count) == (3, 6, 3)
    assert seen_accept[0].startswith("text/turtle")  # content negotiation asks for Turtle first
    publishers = [row["name"] for row in rows(lake, "SELECT name FROM publishers ORDER BY name")]
    assert publishers == ["Ayuntamiento de Madrid", "Nobel Media AB", "Widget Services"]


def test_a_page_seen_before_ends_the_harvest(harvest_served) -> None:
    pages = paged_catalogue()
    looping = pages[2].replace(b"page=3", b"page=1")  # page 2 points back to page 1

    def catalogue(query, _headers):
        number = int(query.get("page", 1))
        return 200, "text/turtle", looping if number == 2 else pages[number]

    run = harvest_served({"/catalog.ttl": catalogue}, "dcat")
    assert run.datasets == 2
    assert any("served before" in note for note in run.notes)


def test_broken_rdf_is_a_clear_error(harvest_served) -> None:
    with pytest.raises(HarvestError, match=r"/catalog.ttl: not valid turtle RDF"):
        harvest_served({"/catalog.ttl": static(b"@prefix broken", "text/turtle")}, "dcat")


RECORDED_CONTACT = (
    b"<vcard:fn>G\xc3\xa9o2France</vcard:fn>",
    b'<vcard:hasEmail rdf:resource="mailto:contact@geo2france.fr" />',
)
ORGANISATION_NAME = b"<vcard:organisation-name>G\xc3\xa9o2France</vcard:organisation-name>"
SPACED_MAILTO = b"<vcard:hasEmail>mailto: contact@geo2france.fr</vcard:hasEmail>"
NESTED_ORG = b"<vcard:org><vcard:Organization>" + ORGANISATION_NAME + b"</vcard:Organization></vcard:org>"


@pytest.mark.parametrize(
    "contact",
    [
        RECORDED_CONTACT,
        # the same contact as other GeoDCAT-AP writers give it: an organisation name, a vcard:org, and
        # GeoNetwork's `mailto: ` with a space, as a literal
        (ORGANISATION_NAME, SPACED_MAILTO),
        (NESTED_ORG, RECORDED_CONTACT[1]),
    ],
    ids=["recorded", "organisation-name-spaced-mailto", "vcard-org"],
)
def test_geodcat_descriptions_and_contacts_as_geonetwork_writes_them(harvest_served, lake, contact) -> None:
    """GeoNetwork's records put the description in dct:abstract and the contact in vCard: each dataset's
    description is its abstract as the document gives it, its contact the organisation and address."""
    pages, abstracts = {}, {}
    for start, name in GEO2FRANCE_PAGES.items():
        document = fixture_bytes(UDATA + name)
        rdf = document[document.index(b"<rdf:RDF") : document.index(b"</rdf:RDF>") + len(b"</rdf:RDF>")]
        graph = Graph().parse(data=rdf, format="xml")
        abstracts |= {  # datasets described only by an abstract
            str(dataset): str(text)
            for dataset, text in graph.subject_objects(predicate=DCT_ABSTRACT)
            if graph.value(dataset, DCT_DESCRIPTION) is None
        }
        pages[start] = document.replace(RECORDED_CONTACT[0], contact[0]).replace(RECORDED_CONTACT[1], contact[1])

    def page(query, _headers):
        return 200, "application/xml", pages[int(query.get("startPosition", 1))]

    harvest_served({"/geonetwork/srv/fre/csw": page}, "dcat", api_path="/geonetwork/srv/fre/csw?service=CSW")
    found = rows(lake, "SELECT dataset_id, description, contact_name, contact_email FROM datasets")
    described = {row["dataset_id"]: row["description"] for row in found if row["dataset_id"] in abstracts}
    assert len(found) == 6 and abstracts and described == abstracts
    assert {(row["contact_name"], row["contact_email"]) for row in found} == {("Géo2France", "contact@geo2france.fr")}
