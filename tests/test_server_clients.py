"""Standard clients against the live endpoint: SPARQLWrapper and rdflib's SPARQLStore."""

from __future__ import annotations

import csv
import io

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, POST, POSTDIRECTLY, RDFXML, TURTLE, XML, SPARQLWrapper

from tests.server_support import SOURCE, Live

pytest_plugins = ["tests.server_support"]

ENBEK = URIRef("https://w3id.org/alatau-kg/id/place/enbek")
LABELS = f"SELECT ?label WHERE {{ <{ENBEK}> <http://www.w3.org/2000/01/rdf-schema#label> ?label }}"
CONSTRUCT = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{SOURCE}> {{ ?s ?p ?o }} }}"
EXPECTED = {"Enbek", "Енбек", "Еңбек"}


def wrapper(live: Live, query: str, fmt: str, method: str | None = None) -> SPARQLWrapper:
    client = SPARQLWrapper(live.sparql)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    if method == POSTDIRECTLY:
        client.setMethod(POST)
        client.setRequestMethod(POSTDIRECTLY)
    elif method:
        client.setMethod(method)
    return client


@pytest.mark.parametrize("method", [None, POST, POSTDIRECTLY], ids=["get", "post-form", "post-direct"])
def test_sparqlwrapper_json(live: Live, method: str | None) -> None:
    result = wrapper(live, LABELS, JSON, method).queryAndConvert()
    assert {b["label"]["value"] for b in result["results"]["bindings"]} == EXPECTED  # type: ignore[index]


def test_sparqlwrapper_xml(live: Live) -> None:
    document = wrapper(live, LABELS, XML).queryAndConvert()
    literals = document.getElementsByTagName("literal")  # type: ignore[union-attr]
    assert {el.firstChild.data for el in literals} == EXPECTED


def test_sparqlwrapper_csv(live: Live) -> None:
    data = wrapper(live, LABELS, CSV).queryAndConvert()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))  # type: ignore[union-attr]
    assert rows[0] == ["label"] and {r[0] for r in rows[1:]} == EXPECTED


def test_sparqlwrapper_ask(live: Live) -> None:
    assert wrapper(live, f"ASK {{ <{ENBEK}> ?p ?o }}", JSON).queryAndConvert()["boolean"] is True  # type: ignore[index]


def test_sparqlwrapper_construct_into_rdflib(live: Live) -> None:
    graph = wrapper(live, CONSTRUCT, RDFXML).queryAndConvert()
    assert isinstance(graph, Graph) and len(graph) == 15
    assert (ENBEK, None, Literal("Еңбек", lang="kk")) in graph
    turtle = wrapper(live, CONSTRUCT, TURTLE).queryAndConvert()
    assert len(Graph().parse(data=turtle, format="turtle")) == 15  # type: ignore[arg-type]


def test_rdflib_sparqlstore(live: Live) -> None:
    store = SPARQLStore(live.sparql, returnFormat="json")
    graph = Graph(store=store)
    labels = {str(row[0]) for row in graph.query(LABELS)}  # type: ignore[index]
    assert labels == EXPECTED
    assert graph.query(f"ASK {{ <{ENBEK}> ?p ?o }}").askAnswer is True
    assert len(graph.query(CONSTRUCT).graph) == 15  # type: ignore[arg-type]
    assert (ENBEK, None, None) in graph  # triple patterns go through SPARQL too
    store.close()


def test_rdflib_sparqlstore_with_its_default_xml(live: Live) -> None:
    """SPARQLStore asks for SPARQL XML results even for CONSTRUCT: it gets RDF/XML."""
    graph = Graph(store=SPARQLStore(live.sparql))
    assert {str(row[0]) for row in graph.query(LABELS)} == EXPECTED  # type: ignore[index]
    assert len(graph.query(CONSTRUCT).graph) == 15  # type: ignore[arg-type]
