"""RDF documents of a set of quads, in every format of :mod:`kg.rdf.formats`.

A document holds either the **union** of the graphs (every statement once, in the default graph) or
the **named graphs** (each statement in the graph that holds it). TriG and N-Quads keep the named
graphs; Turtle, N-Triples, RDF/XML and JSON-LD hold the union (:func:`serialize`). JSON-LD could
hold named graphs too, but its consumers read "the" graph of a document (rdflib's ``Graph``, the
default graph of pyld's ``to_rdf``) and would find nothing there: it keeps them only when asked
(``named_graphs=True``). JSON-LD documents are compacted with the service's ``@context``
(:func:`jsonld_context`), referred to by URL or embedded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pyoxigraph as ox

from kg.errors import UsageError
from kg.rdf.formats import JSONLD, NQUADS, NTRIPLES, RDF_FORMATS, RDFXML, TRIG, TURTLE, Format
from kg.rdf.iris import curie
from kg.rdf.names import RDF_TYPE, XSD_STRING

# The formats whose documents keep the named graphs unless asked for the union.
KEEPS_GRAPHS: tuple[Format, ...] = (TRIG, NQUADS)
# JSON-LD 1.1 §4.4: a term is used as a prefix only if its IRI ends with one of these (a gen-delim),
# unless its definition says "@prefix": true.
_GEN_DELIMS = tuple(":/?#[]@")


def union(quads: Iterable[ox.Quad]) -> list[ox.Triple]:
    """The triples of all graphs, each once, in first-seen order."""
    seen: dict[ox.Triple, None] = {}
    for q in quads:
        seen.setdefault(ox.Triple(q.subject, q.predicate, q.object), None)
    return list(seen)


def sort_quads(quads: Iterable[ox.Quad]) -> list[ox.Quad]:
    return sorted(quads, key=lambda q: (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object)))


def serialize(
    quads: Sequence[ox.Quad],
    fmt: Format,
    prefixes: dict[str, str],
    *,
    named_graphs: bool | None = None,
    context_url: str = "",
    header: str = "",
) -> bytes:
    """``quads`` in ``fmt``: their named graphs if ``named_graphs`` (None: if ``fmt`` is TriG or
    N-Quads), else their union in the default graph. ``header`` becomes a leading comment in Turtle,
    N-Triples, TriG and N-Quads; JSON-LD refers to the context at ``context_url`` (none: embedded)."""
    keep = fmt in KEEPS_GRAPHS if named_graphs is None else named_graphs
    if keep and not fmt.datasets:
        holding = ", ".join(f.name for f in RDF_FORMATS if f.datasets)
        raise UsageError(f"{fmt.name} holds no named graphs (these do: {holding})")
    if keep:
        ordered = sort_quads(quads)
    else:
        ordered = sort_quads(ox.Quad(t.subject, t.predicate, t.object) for t in union(quads))
    if fmt is JSONLD:
        document = to_jsonld(ordered, context_url, prefixes)
        return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode()
    used = _used_prefixes(ordered, prefixes)
    body = ox.serialize(
        ordered if fmt.datasets else [q.triple for q in ordered],
        format=fmt.ox,
        prefixes=used if fmt in (TURTLE, RDFXML, TRIG) else None,
    )
    assert body is not None
    if header and fmt in (TURTLE, NTRIPLES, TRIG, NQUADS):
        body = "".join(f"# {line}\n" for line in header.splitlines()).encode() + body
    return bytes(body)


def _used_prefixes(quads: Sequence[ox.Quad], prefixes: dict[str, str]) -> dict[str, str]:
    """Only the prefixes a document uses, so that small descriptions stay small."""
    iris = set()
    for q in quads:
        for term in (q.subject, q.predicate, q.object, q.graph_name):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal):
                iris.add(term.datatype.value)
    return {p: ns for p, ns in prefixes.items() if any(i.startswith(ns) for i in iris)}


def jsonld_context(prefixes: dict[str, str]) -> dict[str, Any]:
    """The published ``@context``: the prefixes only, so every key and value stays a plain IRI
    or compact IRI and any JSON-LD processor expands it to exactly the quads. A namespace that does
    not end with a gen-delim is declared a prefix explicitly (JSON-LD 1.1 would not use it as one)."""
    terms: dict[str, Any] = {
        prefix: ns if ns.endswith(_GEN_DELIMS) else {"@id": ns, "@prefix": True}
        for prefix, ns in sorted(prefixes.items())
    }
    return {"@context": {"@version": 1.1, **terms}}


def _compact(iri: str, prefixes: dict[str, str]) -> str:
    short = curie(iri, prefixes)
    # a compact IRI whose suffix starts with "//" would be read as an absolute IRI
    return short if short != iri and not short.split(":", 1)[1].startswith("//") else iri


def _node_id(term: ox.NamedNode | ox.BlankNode, prefixes: dict[str, str]) -> str:
    return _compact(term.value, prefixes) if isinstance(term, ox.NamedNode) else f"_:{term.value}"


def _jsonld_value(term: ox.NamedNode | ox.BlankNode | ox.Literal, prefixes: dict[str, str]) -> dict[str, str]:
    if not isinstance(term, ox.Literal):
        return {"@id": _node_id(term, prefixes)}
    if term.language:
        return {"@value": term.value, "@language": term.language}
    if term.datatype.value == XSD_STRING:
        return {"@value": term.value}
    return {"@value": term.value, "@type": _compact(term.datatype.value, prefixes)}


def to_jsonld(quads: Sequence[ox.Quad], context_url: str, prefixes: dict[str, str]) -> dict[str, Any]:
    """JSON-LD 1.1, compacted with the context of ``prefixes`` (at ``context_url``, else embedded):
    the default graph's nodes in the top-level ``@graph``, each named graph as a graph object there
    (https://www.w3.org/TR/json-ld11/#named-graphs), on the node of the same name when the default
    graph describes the graph too."""
    graphs: dict[str, dict[str, dict[str, Any]]] = {}
    for q in quads:
        s = q.subject
        if isinstance(s, ox.Triple):
            continue
        graph = "" if isinstance(q.graph_name, ox.DefaultGraph) else _node_id(q.graph_name, prefixes)
        nodes = graphs.setdefault(graph, {})
        sid = _node_id(s, prefixes)
        node = nodes.setdefault(sid, {"@id": sid})
        if q.predicate.value == RDF_TYPE and isinstance(q.object, ox.NamedNode):
            node.setdefault("@type", []).append(_compact(q.object.value, prefixes))
        else:
            key = _compact(q.predicate.value, prefixes)
            node.setdefault(key, []).append(_jsonld_value(q.object, prefixes))  # type: ignore[arg-type]
    default = graphs.pop("", {})
    for graph, nodes in graphs.items():
        default.setdefault(graph, {"@id": graph})["@graph"] = list(nodes.values())
    context = context_url or jsonld_context(prefixes)["@context"]
    return {"@context": context, "@graph": list(default.values())}
