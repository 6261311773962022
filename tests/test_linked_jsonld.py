"""JSON-LD as its consumers read it: every JSON-LD document the service answers is the graph it
represents, the same graph as its Turtle (compared as RDF, rdflib.compare.isomorphic).

The consumers are real: rdflib's own HTTP fetching with content negotiation (``Graph().parse(url,
format="json-ld")``, which sends ``Accept: application/ld+json`` and follows the 303s, and
``Graph().parse(url)`` reading a JSON-LD document by its Content-Type), and pyld's ``to_rdf``, whose
default graph must hold the statements. pyld fetches nothing from the network: its document loader
serves our ``@context`` from the app itself, or refuses everything for documents with the context
embedded (``?context=inline``). The server is the real graph on a real server on loopback.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
import pytest
import requests
from pyld import jsonld
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic

from tests.linked_support import BASE, JsonLdLoader, context_from_app, refuse_everything
from tests.server_support import Live, assert_error

pytest_plugins = ["tests.server_support", "tests.linked_support"]

# (what it is, the URL a consumer dereferences, the URL of its JSON-LD document)
DOCUMENTS = [
    ("entity", "/id/place/alatau", "/data/id/place/alatau.jsonld"),
    ("concept", "/def/facility-status/operating", "/data/def/facility-status/operating.jsonld"),
    ("ontology", "/def/ontology", "/data/def/ontology.jsonld"),
    ("named graph's description", "/data/graph/inferred", "/data/graph/inferred.jsonld"),
    ("dataset description", "/dataset", "/dataset?format=jsonld"),
    ("VoID at the well-known URL", "/.well-known/void", "/.well-known/void?format=jsonld"),
]
ENGINE_DOCUMENTS = [
    ("service description", "/sparql", "/sparql?format=jsonld"),
    ("graph store, direct", "/graph/ontology", "/graph/ontology?format=jsonld"),
    ("graph store, indirect", f"/store?graph={quote(BASE + 'graph/inferred', safe='')}", ""),
]
CONSTRUCT = (
    "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <https://w3id.org/alatau-kg/graph/source/article-2026-01-17> "
    "{ ?s ?p ?o } }"
)
DESCRIBE = "DESCRIBE <https://w3id.org/alatau-kg/id/place/alatau>"


def turtle_of(url: str) -> Graph:
    g = Graph()
    g.parse(url, format="turtle")
    assert len(g) > 0, url
    return g


def pyld_quads(document: Any, loader: JsonLdLoader) -> list[ox.Quad]:
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": loader})
    return list(ox.parse(nquads.encode(), ox.RdfFormat.N_QUADS))


def as_graph(quads: list[ox.Quad]) -> Graph:
    """The default graph of ``quads`` as an rdflib graph (asserting there is nothing else)."""
    named = {q.graph_name for q in quads if not isinstance(q.graph_name, ox.DefaultGraph)}
    assert not named, f"statements outside the default graph, in {named}"
    g = Graph()
    g.parse(data=ox.serialize([q.triple for q in quads], format=ox.RdfFormat.N_TRIPLES), format="nt")
    return g


def get_jsonld(url: str) -> requests.Response:
    response = requests.get(url, headers={"Accept": "application/ld+json"}, timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/ld+json"), response.headers
    return response


# --- the service's own documents ------------------------------------------------------------------


@pytest.mark.parametrize(("what", "path", "document"), DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_rdflib_reads_the_json_ld_as_the_turtle_graph(
    real_live: Live, what: str, path: str, document: str
) -> None:
    turtle = turtle_of(real_live.url + path)
    negotiated = Graph()
    negotiated.parse(real_live.url + path, format="json-ld")  # Accept: application/ld+json
    assert isomorphic(negotiated, turtle), f"{what}: {len(negotiated)} triples, Turtle has {len(turtle)}"
    by_content_type = Graph()
    by_content_type.parse(real_live.url + document)  # rdflib's Accept; the parser by Content-Type
    assert isomorphic(by_content_type, turtle), what


@pytest.mark.parametrize(("what", "path", "document"), DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_pyld_default_graph_is_the_turtle_graph(real_live: Live, what: str, path: str, document: str) -> None:
    turtle = turtle_of(real_live.url + path)
    remote = get_jsonld(real_live.url + path).json()
    assert remote["@context"] == real_live.url + "/context.jsonld"  # the service's own context
    assert isomorphic(as_graph(pyld_quads(remote, context_from_app(real_live))), turtle), what
    separator = "&" if "?" in document else "?"
    inline = get_jsonld(real_live.url + document + separator + "context=inline").json()
    assert isinstance(inline["@context"], dict)
    assert isomorphic(as_graph(pyld_quads(inline, refuse_everything)), turtle), what


def test_the_context_loads_from_the_service_and_needs_nothing_else(real_live: Live) -> None:
    response = requests.get(real_live.url + "/context.jsonld", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/ld+json")
    context = response.json()["@context"]
    assert context["@version"] == 1.1
    # only prefixes: no @import, no nested remote context, no term that is not a namespace
    for term, value in context.items():
        if term == "@version":
            continue
        assert not term.startswith("@"), term
        iri = value if isinstance(value, str) else value["@id"]
        assert iri.startswith(("http://", "https://")), (term, value)
    # the prefixes of every document (the dataset's description uses spdx: and sd:)
    assert context["spdx"] == "http://spdx.org/rdf/terms#"
    assert context["sd"] == "http://www.w3.org/ns/sparql-service-description#"
    inline = get_jsonld(real_live.url + "/data/id/place/alatau.jsonld?context=inline").json()
    assert inline["@context"] == context


# --- named graphs: TriG, N-Quads, and JSON-LD when asked ---------------------------------------------


def test_named_graphs_are_a_json_ld_variant_for_dataset_parsers(real_live: Live) -> None:
    trig = Dataset()
    trig.parse(real_live.url + "/data/id/place/alatau.trig", format="trig")
    graphs = {g.identifier for g in trig.graphs() if len(g)}
    assert URIRef(BASE + "graph/inferred") in graphs and len(graphs) >= 3
    negotiated = requests.get(
        real_live.url + "/id/place/alatau?graphs=named",
        headers={"Accept": "application/ld+json"},
        allow_redirects=False,
        timeout=30,
    )
    assert negotiated.status_code == 303
    assert negotiated.headers["Location"] == "/data/id/place/alatau.jsonld?graphs=named"
    named = Dataset()
    named.parse(real_live.url + "/id/place/alatau?graphs=named", format="json-ld")
    for name in graphs:
        assert isomorphic(named.graph(name), trig.graph(name)), name
    # pyld sees the same graphs, and nothing in the default graph
    document = get_jsonld(real_live.url + "/data/id/place/alatau.jsonld?graphs=named").json()
    quads = pyld_quads(document, context_from_app(real_live))
    assert {q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)} == {
        str(g) for g in graphs
    }
    assert not [q for q in quads if isinstance(q.graph_name, ox.DefaultGraph)]
    # the default stays the graph a Graph reads
    assert len(Graph().parse(real_live.url + "/data/id/place/alatau.jsonld?graphs=union")) == len(
        Graph().parse(real_live.url + "/data/id/place/alatau.ttl")
    )


def test_graph_options_that_do_not_fit_are_refused(real_live: Live) -> None:
    def get(path: str) -> requests.Response:
        return requests.get(real_live.url + path, timeout=30)

    refused = assert_error(get("/data/id/place/alatau.ttl?graphs=named"), 400, "bad_request")
    assert "application/ld+json" in refused["available"]
    assert_error(get("/.well-known/void?format=rdfxml&graphs=named"), 400, "bad_request")
    assert_error(get("/data/id/place/alatau.jsonld?graphs=some"), 400, "bad_request")
    assert_error(get("/data/id/place/alatau.jsonld?context=remote"), 400, "bad_request")
    assert_error(get("/dataset?format=jsonld&context=x"), 400, "bad_request")
    # TriG and N-Quads keep the graphs by default; asked for the union, they hold it
    union = Dataset()
    union.parse(data=get("/data/id/place/alatau.trig?graphs=union").text, format="trig")
    assert {g.identifier for g in union.graphs() if len(g)} == {union.default_graph.identifier}
    assert isomorphic(union.default_graph, turtle_of(real_live.url + "/id/place/alatau"))


# --- what the engine writes: SPARQL results, the service description, the Graph Store ---------------


@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
def test_sparql_graph_results_in_json_ld_are_graphs(real_live: Live, query: str) -> None:
    url = f"{real_live.url}/sparql?query={quote(query)}"
    turtle = turtle_of(url)
    negotiated = Graph()
    negotiated.parse(url, format="json-ld")
    assert isomorphic(negotiated, turtle)
    document = get_jsonld(url).json()  # Oxigraph's JSON-LD: node objects, no named graph
    assert isomorphic(as_graph(pyld_quads(document, refuse_everything)), turtle)


@pytest.mark.parametrize(("what", "path", "document"), ENGINE_DOCUMENTS, ids=[d[0] for d in ENGINE_DOCUMENTS])
def test_engine_written_json_ld_is_the_graph(real_live: Live, what: str, path: str, document: str) -> None:
    turtle = turtle_of(real_live.url + path)
    negotiated = Graph()
    negotiated.parse(real_live.url + path, format="json-ld")
    assert isomorphic(negotiated, turtle), what
    if document:
        by_parameter = Graph()
        by_parameter.parse(real_live.url + document, format="json-ld")
        assert isomorphic(by_parameter, turtle), what
    pyld_graph = as_graph(pyld_quads(get_jsonld(real_live.url + path).json(), refuse_everything))
    assert isomorphic(pyld_graph, turtle), what
