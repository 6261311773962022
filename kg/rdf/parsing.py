"""Reading and writing RDF: the formats we speak, parsing with line numbers, term conversion.

Parsing goes through Oxigraph's parsers (fast, strict, line/column in errors, no network: a remote
JSON-LD ``@context`` is never fetched). rdflib terms are produced where reasoning or validation need
them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.config import CANONICAL_BASE
from kg.errors import LoadError, UsageError
from kg.rdf.names import Names


@dataclass(frozen=True)
class RdfFormatInfo:
    name: str
    ox_format: ox.RdfFormat
    media_types: tuple[str, ...]
    extensions: tuple[str, ...]
    datasets: bool  # can hold named graphs


FORMATS: tuple[RdfFormatInfo, ...] = (
    RdfFormatInfo("turtle", ox.RdfFormat.TURTLE, ("text/turtle", "application/x-turtle"), ("ttl",), False),
    RdfFormatInfo("trig", ox.RdfFormat.TRIG, ("application/trig",), ("trig",), True),
    RdfFormatInfo("ntriples", ox.RdfFormat.N_TRIPLES, ("application/n-triples",), ("nt",), False),
    RdfFormatInfo("nquads", ox.RdfFormat.N_QUADS, ("application/n-quads",), ("nq",), True),
    RdfFormatInfo("jsonld", ox.RdfFormat.JSON_LD, ("application/ld+json",), ("jsonld", "json"), True),
    RdfFormatInfo("rdfxml", ox.RdfFormat.RDF_XML, ("application/rdf+xml",), ("rdf", "owl", "xml"), False),
)
_BY_NAME = {f.name: f for f in FORMATS}
_ALIASES = {"nt": "ntriples", "nq": "nquads", "ttl": "turtle", "xml": "rdfxml", "json-ld": "jsonld"}


def format_by_name(name: str) -> RdfFormatInfo:
    key = _ALIASES.get(name.lower(), name.lower())
    info = _BY_NAME.get(key)
    if info is None:
        known = ", ".join(f.name for f in FORMATS)
        raise UsageError(f"unknown RDF format {name!r} (known: {known})")
    return info


def format_by_media_type(media_type: str) -> RdfFormatInfo | None:
    media_type = media_type.split(";")[0].strip().lower()
    return next((f for f in FORMATS if media_type in f.media_types), None)


def format_for_path(path: Path) -> RdfFormatInfo:
    ext = path.suffix.lstrip(".").lower()
    info = next((f for f in FORMATS if ext in f.extensions), None)
    if info is None:
        raise LoadError(f"cannot tell the RDF format of {path.name!r} from its extension", source=str(path))
    return info


_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_POSITION = re.compile(r"line (\d+) column (\d+)")


def parse_bytes(
    data: bytes,
    fmt: RdfFormatInfo,
    *,
    source: str = "input",
    base_iri: str | None = None,
    to_graph: ox.NamedNode | ox.DefaultGraph | None = None,
) -> list[ox.Quad]:
    """Parse a whole document, or raise :class:`LoadError` naming the line. Nothing is half-read."""
    if fmt.name == "rdfxml" and _DTD.search(data):
        # Internal entities allow "billion laughs"; external ones read files. Neither is needed.
        raise LoadError("RDF/XML with a DOCTYPE or entity declarations is refused", source=source)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8: byte {exc.start} cannot be decoded", source=source) from exc
    try:
        quads = list(ox.parse(data, format=fmt.ox_format, base_iri=base_iri))
    except SyntaxError as exc:
        line = exc.lineno
        if line is None and (m := _POSITION.search(str(exc))):
            line = int(m.group(1))
        raise LoadError(f"{fmt.name} syntax error: {exc.msg}", source=source, line=line) from exc
    if to_graph is not None:
        quads = [
            ox.Quad(q.subject, q.predicate, q.object, to_graph)
            if isinstance(q.graph_name, ox.DefaultGraph)
            else q
            for q in quads
        ]
    return quads


def parse_file(path: Path, fmt: RdfFormatInfo | None = None, **kwargs) -> list[ox.Quad]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}", source=str(path)) from exc
    return parse_bytes(data, fmt or format_for_path(path), source=str(path), **kwargs)


def rebase_quads(quads: Iterable[ox.Quad], names: Names) -> Iterator[ox.Quad]:
    """Rewrite canonical-base IRIs to the deployment base (no-op under the canonical base)."""
    if names.base == CANONICAL_BASE:
        yield from quads
        return

    def fix(term):
        if isinstance(term, ox.NamedNode):
            return ox.NamedNode(names.rebase(term.value))
        if isinstance(term, ox.Literal) and term.datatype.value.startswith(CANONICAL_BASE):
            return ox.Literal(term.value, datatype=ox.NamedNode(names.rebase(term.datatype.value)))
        return term

    for q in quads:
        yield ox.Quad(fix(q.subject), fix(q.predicate), fix(q.object), fix(q.graph_name))


# --- term conversion -------------------------------------------------------------------------


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
