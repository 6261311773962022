"""RDF terms between the two libraries: pyoxigraph (parsing, storing, querying) and rdflib (reasoning
and pySHACL validation need rdflib terms)."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import LoadError


def to_rdflib(term: object) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise LoadError(f"RDF-star terms are not supported: {term}")


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot convert {term!r}")


def triples_to_graph(quads: Iterable[ox.Quad], graph: Graph | None = None) -> Graph:
    """Add the triples of ``quads`` to one rdflib graph (graph names dropped)."""
    g = graph if graph is not None else Graph()
    for q in quads:
        g.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    return g


def to_quads(triples: Iterable[tuple[Node, Node, Node]], graph: str | None = None) -> list[ox.Quad]:
    """rdflib triples as Oxigraph quads, in the named graph ``graph`` (None: the default graph)."""
    g: ox.NamedNode | ox.DefaultGraph = ox.NamedNode(graph) if graph is not None else ox.DefaultGraph()
    quads = []
    for s, p, o in triples:
        subject, predicate = to_oxigraph(s), to_oxigraph(p)
        assert not isinstance(subject, ox.Literal) and isinstance(predicate, ox.NamedNode)
        quads.append(ox.Quad(subject, predicate, to_oxigraph(o), g))
    return quads
