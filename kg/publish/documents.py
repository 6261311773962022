"""RDF documents of a set of quads, in every format of :mod:`kg.rdf.formats`.

Quad formats (TriG, N-Quads) keep the graphs; triple formats (Turtle, N-Triples, RDF/XML) hold the
union (:func:`serialize`). JSON-LD documents are compacted with the service's ``@context``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pyoxigraph as ox

from kg.rdf.formats import JSONLD, NQUADS, NTRIPLES, RDFXML, TRIG, TURTLE, Format
from kg.rdf.iris import curie
from kg.rdf.names import RDF_TYPE, XSD_STRING


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
    context_url: str = "",
    header: str = "",
) -> bytes:
    """``quads`` in ``fmt``; a triple format gets their union. ``header`` becomes a leading comment
    in Turtle and N-Triples; JSON-LD refers to the context at ``context_url``."""
    ordered = sort_quads(quads)
    if fmt is JSONLD:
        return (
            json.dumps(to_jsonld(ordered, context_url, prefixes), ensure_ascii=False, indent=1) + "\n"
        ).encode()
    used = _used_prefixes(ordered, prefixes)
    if fmt.datasets:
        body = ox.serialize(ordered, format=fmt.ox, prefixes=used if fmt is TRIG else None)
    else:
        body = ox.serialize(union(ordered), format=fmt.ox, prefixes=used if fmt in (TURTLE, RDFXML) else None)
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
    or compact IRI and any JSON-LD processor expands it to exactly the quads."""
    return {"@context": {"@version": 1.1, **dict(sorted(prefixes.items()))}}


def _compact(iri: str, prefixes: dict[str, str]) -> str:
    short = curie(iri, prefixes)
    # a compact IRI whose suffix starts with "//" would be read as an absolute IRI
    return short if short != iri and not short.split(":", 1)[1].startswith("//") else iri


def _jsonld_value(term: ox.NamedNode | ox.BlankNode | ox.Literal, prefixes: dict[str, str]) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"@id": _compact(term.value, prefixes)}
    if isinstance(term, ox.BlankNode):
        return {"@id": f"_:{term.value}"}
    if term.language:
        return {"@value": term.value, "@language": term.language}
    if term.datatype.value == XSD_STRING:
        return {"@value": term.value}
    return {"@value": term.value, "@type": _compact(term.datatype.value, prefixes)}


def to_jsonld(quads: Sequence[ox.Quad], context_url: str, prefixes: dict[str, str]) -> dict[str, Any]:
    """JSON-LD 1.1 with one named graph object per graph (the default graph's nodes at the top)."""
    graphs: dict[str, dict[str, dict[str, Any]]] = {}
    for q in quads:
        graph = "" if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name.value
        nodes = graphs.setdefault(graph, {})
        s = q.subject
        if isinstance(s, ox.Triple):
            continue
        sid = _compact(s.value, prefixes) if isinstance(s, ox.NamedNode) else f"_:{s.value}"
        node = nodes.setdefault(sid, {"@id": sid})
        if q.predicate.value == RDF_TYPE and isinstance(q.object, ox.NamedNode):
            node.setdefault("@type", []).append(_compact(q.object.value, prefixes))
        else:
            key = _compact(q.predicate.value, prefixes)
            node.setdefault(key, []).append(_jsonld_value(q.object, prefixes))  # type: ignore[arg-type]
    top: list[dict[str, Any]] = list(graphs.pop("", {}).values())
    for graph, nodes in graphs.items():
        top.append({"@id": _compact(graph, prefixes), "@graph": list(nodes.values())})
    document: dict[str, Any] = {"@context": context_url or jsonld_context(prefixes)["@context"]}
    document["@graph"] = top
    return document
