"""RDF documents of quads (kg.publish.documents): the union or the named graphs, in every format,
read back by independent parsers (pyld, rdflib) and compared as RDF."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from pyld import jsonld
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from kg.errors import UsageError
from kg.publish.documents import jsonld_context, serialize
from kg.rdf.formats import JSONLD, NQUADS, NTRIPLES, RDF_FORMATS, RDFXML, TRIG, TURTLE

EX = "http://example.org/"
# a namespace that does not end with a gen-delim: JSON-LD 1.1 uses such a term as a prefix only
# when its definition says "@prefix": true
PREFIXES = {"ex": EX, "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "ver": EX + "v_"}
G1, G2 = ox.NamedNode(EX + "graph/one"), ox.NamedNode(EX + "graph/two")
A, B = ox.NamedNode(EX + "a"), ox.NamedNode(EX + "b")
LABEL = ox.NamedNode(PREFIXES["rdfs"] + "label")
BLANK = ox.BlankNode("x1")
QUADS = [
    ox.Quad(A, LABEL, ox.Literal("a", language="en"), G1),
    ox.Quad(A, LABEL, ox.Literal("a", language="en"), G2),  # the same statement in two graphs
    ox.Quad(A, ox.NamedNode(EX + "v_1"), B, G2),
    ox.Quad(A, ox.NamedNode(EX + "size"), ox.Literal("3", datatype=ox.NamedNode(EX + "v_int")), G1),
    ox.Quad(B, ox.NamedNode(EX + "part"), BLANK, G1),
    ox.Quad(BLANK, LABEL, ox.Literal("part"), G1),
    # the default graph describes a graph that is also in the document
    ox.Quad(G1, ox.NamedNode(EX + "size"), ox.Literal("5", datatype=ox.NamedNode(EX + "v_int"))),
]


def triples_graph(quads: list[ox.Quad]) -> Graph:
    g = Graph()
    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    g.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    return g


def dataset(quads: list[ox.Quad]) -> Dataset:
    ds = Dataset()
    ds.parse(data=ox.serialize(quads, format=ox.RdfFormat.N_QUADS), format="nquads")
    return ds


def pyld(document: bytes) -> list[ox.Quad]:
    nquads = jsonld.to_rdf(json.loads(document), {"format": "application/n-quads"})
    return list(ox.parse(nquads.encode(), ox.RdfFormat.N_QUADS))


@pytest.mark.parametrize("fmt", [TURTLE, NTRIPLES, RDFXML, JSONLD], ids=lambda f: f.name)
def test_triple_formats_and_json_ld_hold_the_union(fmt: object) -> None:
    body = serialize(QUADS, fmt, PREFIXES)  # type: ignore[arg-type]
    g = Graph()
    g.parse(data=body, format=fmt.rdflib)  # type: ignore[attr-defined]
    assert isomorphic(g, triples_graph(QUADS))
    assert len(g) == len(QUADS) - 1  # the statement in two graphs, once


def test_json_ld_union_is_pyld_default_graph() -> None:
    quads = pyld(serialize(QUADS, JSONLD, PREFIXES))
    assert all(isinstance(q.graph_name, ox.DefaultGraph) for q in quads)
    assert isomorphic(triples_graph(quads), triples_graph(QUADS))


@pytest.mark.parametrize("fmt", [TRIG, NQUADS, JSONLD], ids=lambda f: f.name)
def test_named_graphs_when_asked(fmt: object) -> None:
    body = serialize(QUADS, fmt, PREFIXES, named_graphs=True)  # type: ignore[arg-type]
    ds = Dataset()
    ds.parse(data=body, format=fmt.rdflib)  # type: ignore[attr-defined]
    expected = dataset(QUADS)
    for graph in (G1, G2):
        assert isomorphic(ds.graph(graph.value), expected.graph(graph.value)), graph
    assert isomorphic(ds.default_graph, expected.default_graph)


def test_json_ld_named_graphs_sit_on_the_node_that_names_them() -> None:
    document = json.loads(serialize(QUADS, JSONLD, PREFIXES, named_graphs=True))
    top = {node["@id"]: node for node in document["@graph"]}
    assert set(top) == {G1.value, G2.value}  # one node each, not one for the statement and one for the graph
    assert "ex:size" in top[G1.value] and "@graph" in top[G1.value]
    read, expected = dataset(pyld(json.dumps(document).encode())), dataset(QUADS)
    for graph in (G1, G2):
        assert isomorphic(read.graph(graph.value), expected.graph(graph.value)), graph
    assert isomorphic(read.default_graph, expected.default_graph)


def test_trig_and_nquads_keep_graphs_unless_asked_for_the_union() -> None:
    for fmt in (TRIG, NQUADS):
        ds = Dataset()
        ds.parse(data=serialize(QUADS, fmt, PREFIXES), format=fmt.rdflib)
        assert len(ds.graph(G2.value)) == 2
        union = Dataset()
        union.parse(data=serialize(QUADS, fmt, PREFIXES, named_graphs=False), format=fmt.rdflib)
        assert not any(len(g) for g in union.graphs() if g.identifier != union.default_graph.identifier)
        assert isomorphic(union.default_graph, triples_graph(QUADS))


@pytest.mark.parametrize("fmt", [f for f in RDF_FORMATS if not f.datasets], ids=lambda f: f.name)
def test_formats_without_graphs_refuse_to_keep_them(fmt: object) -> None:
    with pytest.raises(UsageError, match="holds no named graphs"):
        serialize(QUADS, fmt, PREFIXES, named_graphs=True)  # type: ignore[arg-type]


def test_the_context_declares_prefixes_json_ld_would_not_use_as_such() -> None:
    context = jsonld_context(PREFIXES)["@context"]
    assert context["ex"] == EX
    assert context["ver"] == {"@id": EX + "v_", "@prefix": True}
    document = json.loads(serialize(QUADS, JSONLD, PREFIXES))
    assert document["@context"] == context  # embedded when no URL is given
    assert any("ver:1" in node for node in document["@graph"])  # compacted with it, and expanded back:
    assert ox.Quad(A, ox.NamedNode(EX + "v_1"), B) in pyld(serialize(QUADS, JSONLD, PREFIXES))
