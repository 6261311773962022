"""Resource descriptions for linked data and pages, read through the engine (no web framework).

A description (:func:`describe`) is a list of quads: the resource's own statements, the statements
pointing at it, the statements of blank nodes it points at, and the labels of every neighbour, each
in the named graph that holds it. Quad formats (TriG, N-Quads, JSON-LD) keep the graphs; triple
formats (Turtle, N-Triples, RDF/XML) hold the union (:func:`serialize`).

Languages: a reader's language comes first, then the others in the order kk → ru → en
(:data:`LANGS`), then untagged strings (:func:`pick`). :func:`fold` is the key search matches on:
case-insensitive, with the Kazakh-specific letters mapped to their Russian look-alikes.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from kg.engine import Engine
from kg.rdf.formats import JSONLD, NQUADS, NTRIPLES, RDFXML, TRIG, TURTLE, Format
from kg.rdf.names import SKOS, Names

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_PREF = str(SKOS.prefLabel)
SKOS_ALT = str(SKOS.altLabel)
XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
LABEL_PREDICATES = (RDFS_LABEL, SKOS_PREF)

LANGS: tuple[str, ...] = ("kk", "ru", "en")  # also the fallback order
DEFAULT_LANG = LANGS[0]

# Kazakh letters that have a Russian look-alike (and ё, which Russian writers often drop): a search
# for "Коянкус" finds "Қоянқұс" and the other way round.
_FOLD = str.maketrans(
    {"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и", "ё": "е"}
)

TSV_RESULTS = "text/tab-separated-values"
DESCRIPTION_LIMIT = 20_000  # statements in one description: far more than any resource here has


def fold(text: str) -> str:
    """The search key of a text: NFC, case-folded, Kazakh letters as their Russian look-alikes,
    whitespace collapsed."""
    text = unicodedata.normalize("NFC", text).casefold().translate(_FOLD)
    return " ".join(text.split())


def language_order(lang: str) -> tuple[str, ...]:
    """The reader's language, then the others in the order of :data:`LANGS`."""
    return (lang, *(other for other in LANGS if other != lang))


def lang_of(term: ox.Literal) -> str:
    return (term.language or "").split("-")[0].lower()


def pick(literals: Iterable[ox.Literal], lang: str) -> ox.Literal | None:
    """The literal to show a reader of ``lang``: by :func:`language_order`, then untagged, then any."""
    found = list(literals)
    if not found:
        return None
    rank = {code: i for i, code in enumerate(language_order(lang))}
    return min(
        found, key=lambda lit: (rank.get(lang_of(lit), len(rank) + (0 if not lit.language else 1)), lit.value)
    )


def local_name(iri: str) -> str:
    for sep in ("#", "/"):
        if sep in iri.rstrip(sep):
            tail = iri.rstrip(sep).rsplit(sep, 1)[1]
            if tail:
                return tail
    return iri


def curie(iri: str, prefixes: dict[str, str]) -> str:
    """``prefix:local`` for an IRI under a known namespace (the longest wins), else the IRI."""
    best = ""
    for prefix, ns in prefixes.items():
        if iri.startswith(ns) and len(ns) > len(prefixes.get(best, "")) and "/" not in iri[len(ns) :]:
            best = prefix
    return f"{best}:{iri[len(prefixes[best]) :]}" if best else iri


def is_iri(text: str) -> bool:
    """Whether ``text`` can be written as ``<…>`` in a query (no character that would break out)."""
    return bool(text) and not any(c in text for c in '<>"{}|^`\\ \n\r\t')


def sparql_iri(iri: str) -> str:
    """An IRI for a query, refusing what would break out of ``<…>``."""
    if not is_iri(iri):
        raise ValueError(f"not an IRI: {iri!r}")
    return f"<{iri}>"


# --- reading through the engine ------------------------------------------------------------------


def select(engine: Engine, query: str, *, union: bool = False) -> list[ox.QuerySolution]:
    """Run a SELECT and parse its rows (TSV: compact and exact)."""
    response = engine.query(query, accept=TSV_RESULTS, union_default_graph=union)
    solutions = ox.parse_query_results(response.body, ox.QueryResultsFormat.TSV)
    assert isinstance(solutions, ox.QuerySolutions)
    return list(solutions)


def select_quads(engine: Engine, query: str) -> list[ox.Quad]:
    """The quads of a ``SELECT ?g ?s ?p ?o`` (rows with an unbound ``?g`` go to the default graph)."""
    quads = []
    for row in select(engine, query):
        s, p, o, g = row["s"], row["p"], row["o"], row["g"]
        if s is None or p is None or o is None or not isinstance(p, ox.NamedNode):
            continue
        if isinstance(s, ox.Literal) or isinstance(o, ox.Triple) or isinstance(s, ox.Triple):
            continue
        graph = g if isinstance(g, ox.NamedNode) else ox.DefaultGraph()
        quads.append(ox.Quad(s, p, o, graph))
    return quads


def _describe_query(iri: str) -> str:
    r = sparql_iri(iri)
    labels = " ".join(f"<{p}>" for p in LABEL_PREDICATES)
    return f"""SELECT DISTINCT ?g ?s ?p ?o WHERE {{
  {{ GRAPH ?g {{ {r} ?p ?o }} BIND({r} AS ?s) }}
  UNION {{ GRAPH ?g {{ ?s ?p {r} }} BIND({r} AS ?o) }}
  UNION {{ GRAPH ?g0 {{ {r} ?p0 ?s }} FILTER(isBlank(?s)) GRAPH ?g {{ ?s ?p ?o }} }}
  UNION {{
    {{ SELECT DISTINCT ?s WHERE {{ {{ GRAPH ?g1 {{ {r} ?p1 ?s }} }} UNION {{ GRAPH ?g1 {{ ?s ?p1 {r} }} }}
                                   UNION {{ GRAPH ?g1 {{ {r} <{RDF_TYPE}> ?s }} }} FILTER(isIRI(?s)) }} }}
    VALUES ?p {{ {labels} }}
    GRAPH ?g {{ ?s ?p ?o }}
  }}
}} LIMIT {DESCRIPTION_LIMIT}"""


def exists(engine: Engine, iri: str) -> bool:
    """Whether any graph has a statement about or pointing at ``iri``."""
    if not is_iri(iri):
        return False
    r = sparql_iri(iri)
    response = engine.query(
        f"ASK {{ {{ GRAPH ?g {{ {r} ?p ?o }} }} UNION {{ GRAPH ?g {{ ?s ?p {r} }} }} }}",
        accept="application/sparql-results+json",
    )
    return bool(json.loads(response.body).get("boolean"))


@dataclass
class Description:
    """What the dataset says about one resource, graph by graph."""

    iri: str
    quads: list[ox.Quad]

    @property
    def subject(self) -> ox.NamedNode:
        return ox.NamedNode(self.iri)

    def __bool__(self) -> bool:
        return any(q.subject == self.subject or q.object == self.subject for q in self.quads)

    def outgoing(self) -> list[ox.Quad]:
        return [q for q in self.quads if q.subject == self.subject]

    def incoming(self) -> list[ox.Quad]:
        return [q for q in self.quads if q.object == self.subject and q.subject != self.subject]

    def types(self) -> list[str]:
        return sorted(
            {
                q.object.value
                for q in self.outgoing()
                if q.predicate.value == RDF_TYPE and isinstance(q.object, ox.NamedNode)
            }
        )

    def labels(self) -> dict[str, list[ox.Literal]]:
        """The labels of every node of the description (``rdfs:label`` and ``skos:prefLabel``)."""
        found: dict[str, list[ox.Literal]] = {}
        for q in self.quads:
            if q.predicate.value in LABEL_PREDICATES and isinstance(q.object, ox.Literal):
                if isinstance(q.subject, ox.Triple):
                    continue
                bucket = found.setdefault(q.subject.value, [])
                if q.object not in bucket:
                    bucket.append(q.object)
        return found


def describe(engine: Engine, iri: str) -> Description:
    """The description of ``iri`` (empty when the dataset does not know it)."""
    if not is_iri(iri):
        return Description(iri, [])
    return Description(iri, select_quads(engine, _describe_query(iri)))


def graph_quads(engine: Engine, graph: str | None = None) -> list[ox.Quad]:
    """Every quad of one named graph, or of the whole dataset (named graphs and the default graph)."""
    if graph is not None:
        g = sparql_iri(graph)
        return select_quads(
            engine, f"SELECT ?s ?p ?o ?g WHERE {{ GRAPH {g} {{ ?s ?p ?o }} BIND({g} AS ?g) }}"
        )
    return select_quads(engine, "SELECT ?g ?s ?p ?o WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }")


# --- serialising -------------------------------------------------------------------------------


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


# --- JSON-LD ---------------------------------------------------------------------------------------


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


# --- what pages need -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphInfo:
    """A named graph as a page shows it: its role and, for a source graph, the article."""

    iri: str
    role: str  # source, inferred, ontology, shapes, changes, other
    article: str | None = None
    date: str | None = None
    labels: tuple[ox.Literal, ...] = ()


def graph_infos(engine: Engine, names: Names) -> dict[str, GraphInfo]:
    rows = select(
        engine,
        """PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <http://schema.org/>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?g ?a ?date ?label WHERE {
  { SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } }
  OPTIONAL { ?g prov:wasDerivedFrom ?a .
             OPTIONAL { ?a schema:datePublished|dcterms:issued ?date }
             OPTIONAL { ?a <http://www.w3.org/2000/01/rdf-schema#label> ?label } }
}""",
        union=True,
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        g = row["g"]
        if not isinstance(g, ox.NamedNode):
            continue
        entry = found.setdefault(g.value, {"article": None, "date": None, "labels": []})
        if isinstance(row["a"], ox.NamedNode):
            entry["article"] = row["a"].value
        if isinstance(row["date"], ox.Literal):
            entry["date"] = row["date"].value
        if isinstance(row["label"], ox.Literal) and row["label"] not in entry["labels"]:
            entry["labels"].append(row["label"])
    roles = {
        names.inferred_graph: "inferred",
        names.ontology_graph: "ontology",
        names.shapes_graph: "shapes",
        names.changes_graph: "changes",
    }
    return {
        g: GraphInfo(
            g,
            roles.get(g, "source" if names.is_source_graph(g) else "other"),
            e["article"],
            e["date"],
            tuple(e["labels"]),
        )
        for g, e in found.items()
    }


def vocabulary_labels(engine: Engine) -> dict[str, list[ox.Literal]]:
    """Labels of every IRI that has one (classes, properties, concepts, things): the dataset is small,
    so one query serves every page until the data change."""
    labels = " ".join(f"<{p}>" for p in LABEL_PREDICATES)
    rows = select(
        engine,
        f"SELECT DISTINCT ?s ?l WHERE {{ VALUES ?p {{ {labels} }} ?s ?p ?l "
        "FILTER(isIRI(?s) && isLiteral(?l)) }",
        union=True,
    )
    found: dict[str, list[ox.Literal]] = {}
    for row in rows:
        s, label = row["s"], row["l"]
        if isinstance(s, ox.NamedNode) and isinstance(label, ox.Literal):
            found.setdefault(s.value, []).append(label)
    return found


@dataclass
class SearchEntry:
    iri: str
    labels: list[ox.Literal] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    keys: list[tuple[str, ox.Literal]] = field(default_factory=list)  # (fold(label), label)


def search_index(engine: Engine, names: Names) -> list[SearchEntry]:
    """Every resource under the base with a label, its labels (also alternative ones) and types."""
    rows = select(
        engine,
        f"""SELECT DISTINCT ?s ?l ?t WHERE {{
  VALUES ?p {{ <{RDFS_LABEL}> <{SKOS_PREF}> <{SKOS_ALT}> }}
  ?s ?p ?l FILTER(isIRI(?s) && isLiteral(?l) && STRSTARTS(STR(?s), {json.dumps(names.base)}))
  OPTIONAL {{ ?s a ?t FILTER(STRSTARTS(STR(?t), {json.dumps(names.base)})) }}
}}""",
        union=True,
    )
    entries: dict[str, SearchEntry] = {}
    for row in rows:
        s, label, t = row["s"], row["l"], row["t"]
        if not isinstance(s, ox.NamedNode) or not isinstance(label, ox.Literal):
            continue
        entry = entries.setdefault(s.value, SearchEntry(s.value))
        if label not in entry.labels:
            entry.labels.append(label)
            entry.keys.append((fold(label.value), label))
        if isinstance(t, ox.NamedNode) and t.value not in entry.types:
            entry.types.append(t.value)
    return list(entries.values())


def search(index: Sequence[SearchEntry], text: str, limit: int = 50) -> list[tuple[SearchEntry, ox.Literal]]:
    """Entries whose label contains ``text`` (by :func:`fold`), each with the label that matched:
    exact matches first, then labels starting with it, then the rest; shorter labels first."""
    key = fold(text)
    if not key:
        return []
    ranked = []
    for entry in index:
        best: tuple[int, int, ox.Literal] | None = None
        for folded, label in entry.keys:
            if key not in folded:
                continue
            if folded == key:
                rank = 0
            elif folded.startswith(key):
                rank = 1
            elif f" {key}" in folded or f"«{key}" in folded or f"({key}" in folded:
                rank = 2  # a word starts with it
            else:
                rank = 3
            candidate = (rank, len(folded), label)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
        if best is not None:
            ranked.append((best[0], best[1], entry.iri, entry, best[2]))
    ranked.sort(key=lambda r: r[:3])
    return [(entry, label) for *_, entry, label in ranked[:limit]]
