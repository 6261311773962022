"""Reading RDF files into harness terms, and converting between harness and pyoxigraph terms.

The harness uses pyoxigraph's *parsers* (not its store) to read the test data and the expected results:
parsing keeps every lexical form as written, and ``rename_blank_nodes`` gives each file its own blank nodes,
as the test-suite rules require when several files are loaded into one dataset.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox

from .terms import IRI, XSD_STRING, BNode, GraphName, Literal, Quad, Term

_EXTENSIONS = {".ttl": "ttl", ".nt": "nt", ".rdf": "rdf", ".nq": "nq", ".trig": "trig", ".jsonld": "jsonld"}


def rdf_format_for(path: Path | str) -> ox.RdfFormat:
    """The RDF syntax of a file, from its extension."""
    suffix = Path(str(path)).suffix.lower()
    extension = _EXTENSIONS.get(suffix)
    fmt = ox.RdfFormat.from_extension(extension) if extension else None
    if fmt is None:
        raise ValueError(f"not an RDF file extension: {path}")
    return fmt


def from_ox(term: object) -> Term:
    """A pyoxigraph term as a harness term."""
    if isinstance(term, ox.NamedNode):
        return IRI(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language is not None:
            return Literal.lang(term.value, term.language)
        return Literal(term.value, term.datatype.value)
    raise TypeError(f"unsupported RDF term (RDF-star is not used by the SPARQL 1.1 suites): {term!r}")


def from_ox_graph_name(graph_name: object) -> GraphName:
    """A pyoxigraph graph name (``DefaultGraph`` becomes ``None``)."""
    if isinstance(graph_name, ox.DefaultGraph):
        return None
    term = from_ox(graph_name)
    if isinstance(term, Literal):
        raise TypeError(f"a literal cannot name a graph: {term}")
    return term


def to_ox(term: Term) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """A harness term as a pyoxigraph term."""
    if isinstance(term, IRI):
        return ox.NamedNode(term.value)
    if isinstance(term, BNode):
        return ox.BlankNode(term.id)
    if term.language is not None:
        return ox.Literal(term.lexical, language=term.language)
    if term.datatype == XSD_STRING:
        return ox.Literal(term.lexical)
    return ox.Literal(term.lexical, datatype=ox.NamedNode(term.datatype))


def to_ox_quad(quad: Quad) -> ox.Quad:
    """A harness quad as a pyoxigraph quad."""
    s, p, o, g = quad
    graph = ox.DefaultGraph() if g is None else to_ox(g)
    return ox.Quad(to_ox(s), to_ox(p), to_ox(o), graph)  # type: ignore[arg-type]


def parse_rdf(
    data: bytes, fmt: ox.RdfFormat, base_iri: str | None = None, graph: GraphName = None
) -> list[Quad]:
    """Parse RDF; triples go to ``graph``, blank nodes get fresh labels."""
    quads: list[Quad] = []
    for quad in ox.parse(data, format=fmt, base_iri=base_iri, rename_blank_nodes=True):
        name = from_ox_graph_name(quad.graph_name)
        quads.append(
            (
                from_ox(quad.subject),
                from_ox(quad.predicate),
                from_ox(quad.object),
                graph if name is None else name,
            )
        )
    return quads


def parse_rdf_file(path: Path, base_iri: str, graph: GraphName = None) -> list[Quad]:
    """Parse an RDF file (format from its extension) with ``base_iri`` as its base."""
    return parse_rdf(path.read_bytes(), rdf_format_for(path), base_iri, graph)


def serialize_nquads(quads: Iterable[Quad]) -> bytes:
    """N-Quads (N-Triples when every quad is in the default graph), with pyoxigraph's serializer."""
    return ox.serialize((to_ox_quad(q) for q in quads), format=ox.RdfFormat.N_QUADS) or b""
