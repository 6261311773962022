"""The service description at ``GET /sparql`` (https://www.w3.org/TR/sparql11-service-description/).

It says what a client may rely on: the endpoint, SPARQL 1.1 Query only, the result formats, the
union default graph, and the dataset (every named graph with its size). The inferred graph holds the
OWL 2 RL closure of the asserted graphs, materialised at build time: its description carries
``sd:entailmentProfile`` OWL 2 RL, while queries themselves are evaluated under simple entailment.
"""

from __future__ import annotations

from flask import Response, request
from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef

from kg.rdf import formats
from kg.rdf.names import FORMATS, VOID, Names
from server.core import negotiation
from server.core.context import context

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
ENTAILMENT = Namespace("http://www.w3.org/ns/entailment/")
OWL_PROFILE_RL = URIRef("http://www.w3.org/ns/owl-profile/RL")


def describe(
    endpoint: str,
    counts: dict[str, int],
    names: Names,
    *,
    federation: bool = False,
    union_default_graph: bool = True,
) -> Graph:
    g = Graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    g.bind("formats", FORMATS)
    service = BNode()
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, URIRef(endpoint)))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    if union_default_graph:
        g.add((service, SD.feature, SD.UnionDefaultGraph))
    if federation:
        g.add((service, SD.feature, SD.BasicFederatedQuery))
    g.add((service, SD.defaultEntailmentRegime, ENTAILMENT.Simple))
    for fmt in (*negotiation.RESULTS, *negotiation.GRAPHS):
        g.add((service, SD.resultFormat, URIRef(fmt.w3c)))

    dataset = BNode()
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    default = BNode()
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    if union_default_graph:
        g.add((default, RDFS.comment, Literal("The union of all named graphs.", lang="en")))
        g.add((default, VOID.triples, Literal(sum(counts.values()))))
    for name, count in sorted(counts.items()):
        named = BNode()
        graph = BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(name)))
        g.add((named, SD.graph, graph))
        g.add((graph, RDF.type, SD.Graph))
        g.add((graph, VOID.triples, Literal(count)))
        if name == names.inferred_graph:
            g.add((named, SD.entailmentProfile, OWL_PROFILE_RL))
            g.add(
                (
                    named,
                    RDFS.comment,
                    Literal("The OWL 2 RL closure of the ontology and source graphs.", lang="en"),
                )
            )
    return g


def respond() -> Response:
    """The description in the format asked for; Turtle for browsers and anything unknown."""
    ctx = context()
    try:
        fmt = negotiation.choose(
            negotiation.DESCRIPTION, request.headers.get("Accept"), request.args.getlist("format")
        )
    except (negotiation.NotAcceptable, negotiation.UnknownFormat):
        fmt = formats.TURTLE
    graph = describe(
        request.base_url,
        ctx.engine.graph_counts(),
        ctx.names,
        federation=bool(ctx.services.allowlist),
        union_default_graph=ctx.settings.union_default_graph,
    )
    body = graph.serialize(format=fmt.rdflib, encoding="utf-8")
    response = Response(body, content_type=f"{fmt.media_type}; charset=utf-8")
    response.vary.add("Accept")
    return response
