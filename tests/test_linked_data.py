"""Dereferencing (303 to /page or /data), content negotiation, descriptions with named graphs, and
real consumers: rdflib following the redirects, pyld expanding the JSON-LD."""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import requests
from pyld import jsonld
from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from kg.build import build
from kg.config import Settings
from kg.engine.process import OxigraphProcess
from server.app import create_app
from tests.linked_support import AK, BASE, ID, context_from_app
from tests.server_support import Live, assert_error, fixture_settings, serving

pytest_plugins = ["tests.server_support", "tests.linked_support"]

SCHEMA = Namespace("http://schema.org/")
ALATAU = URIRef(ID + "place/alatau")
GATE = URIRef(ID + "place/gate-district")
INFERRED = URIRef(BASE + "graph/inferred")
ARTICLE_2026 = URIRef(BASE + "graph/source/article-2026-01-17")
ARTICLE_2025 = URIRef(BASE + "graph/source/article-2025-09-29")


def get(live: Live, path: str, accept: str | None = None, **params: str) -> requests.Response:
    headers = {"Accept": accept} if accept is not None else {}
    return requests.get(live.url + path, headers=headers, params=params, allow_redirects=False, timeout=30)


@pytest.mark.parametrize(
    ("accept", "location"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "/page/id/place/alatau"),
        ("text/turtle", "/data/id/place/alatau.ttl"),
        ("application/n-triples", "/data/id/place/alatau.nt"),
        ("application/ld+json", "/data/id/place/alatau.jsonld"),
        ("application/rdf+xml", "/data/id/place/alatau.rdf"),
        ("application/trig", "/data/id/place/alatau.trig"),
        ("application/n-quads", "/data/id/place/alatau.nq"),
        ("text/turtle;q=0.5, application/ld+json", "/data/id/place/alatau.jsonld"),
        ("application/rdf+xml;q=0.9, text/turtle;q=0.2, text/html;q=0.1", "/data/id/place/alatau.rdf"),
        ("*/*", "/page/id/place/alatau"),
    ],
)
def test_id_answers_303_by_accept(real_live: Live, accept: str, location: str) -> None:
    response = get(real_live, "/id/place/alatau", accept)
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == location
    assert "Accept" in response.headers["Vary"]
    assert 'rel="alternate"; type="application/trig"' in response.headers["Link"]


def test_id_by_extension_and_format_parameter(real_live: Live) -> None:
    by_extension = get(real_live, "/id/place/alatau.ttl", "text/html")
    assert (by_extension.status_code, by_extension.headers["Location"]) == (303, "/data/id/place/alatau.ttl")
    by_parameter = get(real_live, "/id/place/alatau", "text/html", format="jsonld")
    assert by_parameter.headers["Location"] == "/data/id/place/alatau.jsonld"
    by_media_type = get(real_live, "/id/place/alatau", None, format="application/n-triples")
    assert by_media_type.headers["Location"] == "/data/id/place/alatau.nt"
    assert_error(get(real_live, "/id/place/alatau", None, format="png"), 400, "unknown_format")


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "text/turtle"),
        ("application/ld+json", "application/ld+json"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/n-triples", "application/n-triples"),
        ("application/trig", "application/trig"),
        ("application/n-quads", "application/n-quads"),
        ("text/html, */*;q=0.1", "text/turtle"),
    ],
)
def test_data_negotiates_and_names_its_alternates(
    real_live: Live, accept: str | None, media_type: str
) -> None:
    response = get(real_live, "/data/id/place/alatau", accept)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] == media_type
    assert "Accept" in response.headers["Vary"]
    extension = response.headers["Content-Location"].rsplit(".", 1)[1]
    assert response.headers["Content-Location"] == f"/data/id/place/alatau.{extension}"
    links = response.headers["Link"]
    for alternate in (
        "text/turtle",
        "application/ld+json",
        "application/rdf+xml",
        "application/n-triples",
        "application/trig",
        "application/n-quads",
        "text/html",
    ):
        assert f'type="{alternate}"' in links, alternate
    # the document is what it says it is (JSON-LD's remote context: see the pyld test)
    if media_type == "application/ld+json":
        options = {"format": "application/n-quads", "documentLoader": context_from_app(real_live)}
        nquads = jsonld.to_rdf(response.json(), options).encode()
        quads = list(ox.parse(nquads, ox.RdfFormat.N_QUADS))
    else:
        fmt = ox.RdfFormat.from_media_type(media_type)
        assert fmt is not None
        quads = list(ox.parse(response.content, fmt))
    assert any(q.subject == ox.NamedNode(str(ALATAU)) for q in quads)


def test_not_acceptable_and_unknown(real_live: Live) -> None:
    assert_error(get(real_live, "/data/id/place/alatau", "image/png"), 406, "not_acceptable")
    assert_error(get(real_live, "/id/place/nowhere", "text/turtle"), 404, "not_found")
    assert_error(get(real_live, "/data/id/place/nowhere.ttl"), 404, "not_found")
    assert_error(get(real_live, "/id/place/nowhere", "application/json"), 404, "not_found")
    page = get(real_live, "/id/place/nowhere", "text/html")
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert ID + "place/nowhere" in page.text
    assert get(real_live, "/page/id/place/nowhere", "text/html").status_code == 404


def test_rdflib_follows_the_negotiation(real_live: Live) -> None:
    g = Graph()
    g.parse(real_live.url + "/id/place/alatau")
    assert (ALATAU, RDFS.label, Literal("Алатау", lang="kk")) in g
    assert (ALATAU, RDFS.label, Literal("Alatau", lang="en")) in g
    assert (GATE, URIRef(AK + "locatedIn"), ALATAU) in g  # an incoming link
    assert (GATE, RDFS.label, Literal("Gate District", lang="en")) in g  # a neighbour's label
    assert (ALATAU, RDF.type, SCHEMA.Place) in g  # inferred, in the union


def test_trig_says_which_graph_holds_each_statement(real_live: Live) -> None:
    response = get(real_live, "/data/id/place/alatau.trig")
    ds = Dataset()
    ds.parse(data=response.text, format="trig")
    inferred = ds.graph(INFERRED)
    assert (ALATAU, RDF.type, SCHEMA.Place) in inferred
    assert (ALATAU, RDFS.label, Literal("Alatau", lang="en")) not in inferred
    for graph in (ARTICLE_2026, ARTICLE_2025):
        assert (ALATAU, RDFS.label, Literal("Alatau", lang="en")) in ds.graph(graph)
    turtle = get(real_live, "/data/id/place/alatau.ttl").text
    assert turtle.startswith("# The description of <") and "/data/id/place/alatau.trig" in turtle


def test_pyld_reads_the_json_ld_as_the_union_and_its_graphs_when_asked(real_live: Live) -> None:
    """JSON-LD holds the union, as Turtle does (tests/test_linked_jsonld.py reads every document so);
    with ``?graphs=named`` it keeps the named graphs, as N-Quads does."""
    loader = context_from_app(real_live)  # pyld loads our context from the app, not the network
    from_nquads = set(ox.parse(get(real_live, "/data/id/place/alatau.nq").content, ox.RdfFormat.N_QUADS))
    document = get(real_live, "/data/id/place/alatau", "application/ld+json").json()
    assert document["@context"] == real_live.url + "/context.jsonld"  # the published context
    expanded = jsonld.expand(document, {"documentLoader": loader})
    assert not [node for node in expanded if "@graph" in node]
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": loader})
    union = set(ox.parse(nquads.encode(), ox.RdfFormat.N_QUADS))
    assert union == {ox.Quad(q.subject, q.predicate, q.object) for q in from_nquads}
    named = get(real_live, "/data/id/place/alatau.jsonld", graphs="named").json()
    graph_ids = {g["@id"] for g in jsonld.expand(named, {"documentLoader": loader}) if "@graph" in g}
    assert {str(ARTICLE_2026), str(ARTICLE_2025), str(INFERRED)} <= graph_ids
    nquads = jsonld.to_rdf(named, {"format": "application/n-quads", "documentLoader": loader})
    assert set(ox.parse(nquads.encode(), ox.RdfFormat.N_QUADS)) == from_nquads
    context = requests.get(real_live.url + "/context.jsonld", timeout=30)
    assert context.headers["Content-Type"].startswith("application/ld+json")
    assert context.json()["@context"]["ak"] == AK


def test_ontology_and_concepts_dereference(real_live: Live) -> None:
    to_data = get(real_live, "/def/ontology", "text/turtle")
    assert to_data.headers["Location"] == "/data/def/ontology.ttl"
    to_page = get(real_live, "/def/ontology", "text/html")
    assert to_page.headers["Location"] == "/page/def/ontology"
    g = Graph()
    g.parse(real_live.url + "/def/ontology")  # the whole ontology document
    school = URIRef(AK + "School")
    assert (school, RDF.type, OWL.Class) in g
    assert (school, RDFS.label, Literal("мектеп", lang="kk")) in g
    assert (URIRef(AK + "locatedIn"), RDF.type, OWL.TransitiveProperty) in g
    page = requests.get(real_live.url + "/def/ontology", headers={"Accept": "text/html"}, timeout=30)
    assert page.url.endswith("/page/def/ontology") and 'id="School"' in page.text
    concept = Graph()
    concept.parse(real_live.url + "/def/facility-status/operating")
    operating = URIRef(BASE + "def/facility-status/operating")
    assert (operating, SKOS.prefLabel, Literal("жұмыс істеп тұр", lang="kk")) in concept


@pytest.fixture(scope="module")
def other_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The mini project deployed under another base IRI."""
    settings: Settings = fixture_settings(
        tmp_path_factory.mktemp("base") / "store", base_iri="http://example.org/kg/"
    )
    build(settings)
    with (
        OxigraphProcess.from_settings(settings) as engine,
        serving(create_app(settings, engine), engine) as live,
    ):
        yield live


def test_base_iri_is_configurable(other_base: Live) -> None:
    response = get(other_base, "/id/place/enbek", "text/turtle")
    assert response.headers["Location"] == "/data/id/place/enbek.ttl"
    g = Graph()
    g.parse(other_base.url + "/id/place/enbek")
    enbek = URIRef("http://example.org/kg/id/place/enbek")
    assert (
        enbek,
        URIRef("http://example.org/kg/def/ontology#locatedIn"),
        URIRef("http://example.org/kg/id/place/alatau"),
    ) in g
    assert not any(str(s).startswith(BASE) for s in g.subjects())
    assert get(other_base, "/id/place/nowhere", "text/turtle").status_code == 404


def test_iri_outside_the_dataset_is_refused(real_live: Live) -> None:
    assert get(real_live, "/id/place/a%3Eb", "text/turtle").status_code in (400, 404)
    assert get(real_live, "/data/id/x%20y.ttl").status_code in (400, 404)


def test_every_named_graph_dereferences(real_live: Live) -> None:
    health = requests.get(real_live.url + "/-/health", timeout=30).json()
    for graph, count in health["graphs"].items():
        path = graph[len(BASE) - 1 :]  # /graph/…: the graph store's (its content); its description:
        g = Graph()
        g.parse(data=get(real_live, "/data" + path + ".ttl").text, format="turtle")
        assert (URIRef(graph), URIRef("http://rdfs.org/ns/void#triples"), Literal(count)) in g
        assert requests.get(real_live.url + "/page" + path, timeout=30).status_code == 200
