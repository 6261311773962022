"""The dataset as a product: VoID + DCAT at /.well-known/void and /dataset, dumps with SHA-256
checksums, regenerated when the data change."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import requests
from flask.testing import FlaskClient
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, XSD

from kg.config import Settings
from kg.engine.local import OxigraphStore
from kg.engine.process import OxigraphProcess
from kg.rdf.names import Names
from server.app import create_app
from tests.linked_support import BASE, ID
from tests.server_support import Live, assert_error

pytest_plugins = ["tests.server_support", "tests.linked_support"]

VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
DATASET = URIRef(BASE + "dataset#it")


def void_graph(live: Live, path: str = "/.well-known/void", accept: str = "text/turtle") -> Graph:
    response = requests.get(live.url + path, headers={"Accept": accept}, timeout=30)
    assert response.status_code == 200, response.text
    g = Graph()
    g.parse(data=response.text, format="turtle" if "turtle" in accept else "xml")
    return g


def test_void_and_dcat_describe_the_dataset(real_live: Live) -> None:
    g = void_graph(real_live)
    assert (DATASET, RDF.type, VOID.Dataset) in g and (DATASET, RDF.type, DCAT.Dataset) in g
    for lang in ("kk", "ru", "en"):
        assert any(t.language == lang for t in g.objects(DATASET, DCTERMS.title)), lang
        assert any(d.language == lang for d in g.objects(DATASET, DCTERMS.description)), lang
    assert (DATASET, DCTERMS.license, URIRef("https://creativecommons.org/licenses/by/4.0/")) in g
    publisher = g.value(DATASET, DCTERMS.publisher)
    assert g.value(publisher, FOAF.name) == Literal("Alatau KG project")
    sources = set(g.objects(DATASET, DCTERMS.source))
    assert sources == {URIRef(ID + "source/article-2025-09-29"), URIRef(ID + "source/article-2026-01-17")}
    assert g.value(DATASET, VOID.sparqlEndpoint) == URIRef(real_live.url + "/sparql")
    assert URIRef("http://schema.org/") in set(g.objects(DATASET, VOID.vocabulary))
    assert g.value(DATASET, DCTERMS.modified) == Literal("2026-01-17", datatype=XSD.date)
    # triples per graph: the same figures as the health check
    health = requests.get(real_live.url + "/-/health", timeout=30).json()
    for graph, count in health["graphs"].items():
        assert (URIRef(graph), VOID.triples, Literal(count)) in g, graph
    assert g.value(DATASET, VOID.triples) == Literal(health["triples"])
    dumps = set(g.objects(DATASET, VOID.dataDump))
    assert {str(d).rsplit("/", 1)[1] for d in dumps} == {"alatau-kg.trig", "alatau-kg.nq", "alatau-kg.ttl"}
    for dump in dumps:
        checksum = g.value(dump, SPDX.checksum)
        value = str(g.value(checksum, SPDX.checksumValue))
        assert hashlib.sha256(requests.get(str(dump), timeout=30).content).hexdigest() == value


def test_dataset_page_and_formats(real_live: Live) -> None:
    page = requests.get(real_live.url + "/dataset", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Alatau KG project" in page.text and "CC BY 4.0" in page.text
    rdfxml = void_graph(real_live, "/dataset", "application/rdf+xml")
    assert (DATASET, RDF.type, VOID.Dataset) in rdfxml
    browser = requests.get(real_live.url + "/.well-known/void", headers={"Accept": "text/html"}, timeout=30)
    assert browser.headers["Content-Type"].startswith("text/turtle")


def test_dumps_have_checksums(real_live: Live) -> None:
    sums = requests.get(real_live.url + "/dumps/SHA256SUMS", timeout=30).text.splitlines()
    assert len(sums) == 3
    health = requests.get(real_live.url + "/-/health", timeout=30).json()
    for line in sums:
        digest, name = line.split("  ")
        response = requests.get(f"{real_live.url}/dumps/{name}", timeout=30)
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == digest
        assert (
            response.headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:"
        )
        single = requests.get(f"{real_live.url}/dumps/{name}.sha256", timeout=30).text
        assert single == f"{digest}  {name}\n"
        fmt = ox.RdfFormat.from_extension(name.rsplit(".", 1)[1])
        assert fmt is not None
        parsed = list(ox.parse(response.content, fmt))
        if name.endswith((".trig", ".nq")):  # the named graphs are kept
            assert len(parsed) == health["triples"]
            assert {q.graph_name.value for q in parsed} == set(health["graphs"])
        again = requests.get(
            f"{real_live.url}/dumps/{name}", headers={"If-None-Match": response.headers["ETag"]}, timeout=30
        )
        assert again.status_code == 304
    assert_error(requests.get(real_live.url + "/dumps/nothing.zip", timeout=30), 404, "not_found")
    index = requests.get(real_live.url + "/dumps/", timeout=30)
    assert index.status_code == 200 and "alatau-kg.trig" in index.text


@pytest.fixture
def scratch(real_settings: Settings) -> Iterator[tuple[FlaskClient, OxigraphProcess]]:
    """An engine of its own over the real data, so that a test may change them (the app is driven
    in-process: the engine is the real one, over HTTP)."""
    store = OxigraphStore(Names(), real_settings.store_path, read_only=True)
    with OxigraphProcess.from_quads(list(store.quads())) as engine:
        yield create_app(real_settings, engine).test_client(), engine


def test_dumps_are_regenerated_when_the_data_change(scratch: tuple[FlaskClient, OxigraphProcess]) -> None:
    client, engine = scratch
    before = client.get("/dumps/SHA256SUMS").get_data(as_text=True)
    etag = client.get("/dumps/alatau-kg.nq").headers["ETag"]
    assert client.get("/dumps/SHA256SUMS").get_data(as_text=True) == before  # cached, same version
    # a write (as the writes engine makes them): one more statement in a graph
    update = (
        f"INSERT DATA {{ GRAPH <{BASE}graph/changes> {{ <{BASE}id/change/1> "
        "<http://www.w3.org/ns/prov#endedAtTime> "
        '"2026-02-01T10:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> } }'
    )
    response = requests.post(
        engine.query_url.replace("/query", "/update"), data={"update": update}, timeout=30
    )
    assert response.status_code in (200, 204), response.text
    # a writer moves the store's version on after each commit (kg.changes.versions): so does this
    client.application.extensions["alatau_kg"].version.advance()
    after = client.get("/dumps/SHA256SUMS").get_data(as_text=True)
    assert after != before
    fresh = client.get("/dumps/alatau-kg.nq")
    assert fresh.headers["ETag"] != etag
    assert b"id/change/1" in fresh.data
    g = Graph()
    g.parse(data=client.get("/.well-known/void").get_data(as_text=True), format="turtle")
    assert g.value(DATASET, DCTERMS.modified) == Literal("2026-02-01T10:00:00Z", datatype=XSD.dateTime)
