"""What the stewards' pages know of the graph, read through the engine and kept per data version: the
forms of the shaped classes (:class:`kg.checks.forms.FormCatalog` over the shapes and ontology
graphs), the concepts of each scheme, the sources with a graph of their own, the ``{type}`` segment of
each class's IRIs; and, per request, entities by label (the search index, Kazakh letters folded) of
the classes a field accepts, and an entity's asserted statements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Graph

from kg.changes.edits import Triple
from kg.checks.forms import Field, FormCatalog, Hints
from kg.publish import search as label_search
from kg.publish.catalog import VersionedCache
from kg.publish.describe import graph_quads, select
from kg.publish.languages import fold, pick
from kg.rdf.iris import sparql_iri
from kg.rdf.names import PROV, RDF_TYPE, SCHEMA, SKOS
from kg.rdf.terms import triples_to_graph
from server.linked.state import Linked

LOOKUP_LIMIT = 12


@dataclass(frozen=True)
class SourceInfo:
    iri: str
    graph: str
    date: str  # schema:datePublished (or dcterms:issued), when known
    url: str = ""


@dataclass
class StewardModel:
    forms: FormCatalog
    classes: list[str]
    segments: dict[str, str]
    concepts: dict[str, list[str]]  # scheme → its concepts
    sources: list[SourceInfo]
    urls: dict[str, str] = field(default_factory=dict)  # schema:url → source


def _observe(state: Linked, path: str) -> str | None:
    """The kind most of a property's values are (``iri``, ``text`` or a datatype), from a sample."""
    rows = select(
        state.engine,
        f"SELECT ?o WHERE {{ GRAPH ?g {{ ?s {sparql_iri(path)} ?o }} "
        f"FILTER(STRSTARTS(STR(?g), {json.dumps(state.names.source_graph_base)})) }} LIMIT 50",
    )
    kinds: dict[str, int] = {}
    for row in rows:
        o = row["o"]
        if isinstance(o, ox.NamedNode):
            kind = "iri"
        elif isinstance(o, ox.Literal):
            kind = "text" if o.language else o.datatype.value
        else:
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
    return max(kinds, key=lambda k: kinds[k]) if kinds else None


def _build(state: Linked) -> StewardModel:
    names, engine = state.names, state.engine
    shapes = triples_to_graph(graph_quads(engine, names.shapes_graph))
    ontology = triples_to_graph(graph_quads(engine, names.ontology_graph))
    hints = Hints(observe=lambda path: _observe(state, path))
    forms = FormCatalog(shapes, ontology, hints, prefixes=names.prefixes())
    classes = forms.shaped_classes()
    segments: dict[str, str] = {}
    if classes:
        values = " ".join(sparql_iri(c) for c in classes)
        rows = select(
            engine,
            f"SELECT ?c (SAMPLE(?s) AS ?x) WHERE {{ VALUES ?c {{ {values} }} GRAPH ?g {{ ?s a ?c }} "
            f"FILTER(STRSTARTS(STR(?s), {json.dumps(names.base + 'id/')})) }} GROUP BY ?c",
        )
        for row in rows:
            c, x = row["c"], row["x"]
            if isinstance(c, ox.NamedNode) and isinstance(x, ox.NamedNode):
                segments[c.value] = x.value[len(names.base) + 3 :].split("/", 1)[0]
    concepts: dict[str, list[str]] = {}
    for row in select(engine, f"SELECT ?c ?s WHERE {{ ?c <{SKOS}inScheme> ?s }} ORDER BY ?c", union=True):
        c, s = row["c"], row["s"]
        if isinstance(c, ox.NamedNode) and isinstance(s, ox.NamedNode):
            bucket = concepts.setdefault(s.value, [])
            if c.value not in bucket:
                bucket.append(c.value)
    sources: dict[str, SourceInfo] = {}
    urls: dict[str, str] = {}
    rows = select(
        engine,
        f"""SELECT ?g ?src ?date ?url WHERE {{
            GRAPH ?g {{ ?g <{PROV}wasDerivedFrom> ?src }}
            FILTER(STRSTARTS(STR(?g), {json.dumps(names.source_graph_base)}))
            OPTIONAL {{ ?src <{SCHEMA}datePublished> ?date }}
            OPTIONAL {{ ?src <{SCHEMA}url> ?url }}
        }}""",
        union=True,
    )
    for row in rows:
        g, src, date, url = row["g"], row["src"], row["date"], row["url"]
        if isinstance(g, ox.NamedNode) and isinstance(src, ox.NamedNode) and src.value not in sources:
            sources[src.value] = SourceInfo(
                src.value,
                g.value,
                date.value if isinstance(date, ox.Literal) else "",
                url.value if url is not None else "",
            )
            if url is not None:
                urls[url.value] = src.value
    ordered = sorted(sources.values(), key=lambda s: (s.date, s.iri), reverse=True)
    return StewardModel(forms, classes, segments, concepts, ordered, urls)


def model(state: Linked) -> StewardModel:
    cache = state.caches.setdefault("stewards", VersionedCache(lambda: _build(state)))
    return cache.get(state.version())  # type: ignore[no-any-return]


# --- choices and entities ----------------------------------------------------------------------------


def choices(state: Linked, f: Field) -> list[str]:
    """The values a choice field offers: sh:in's, or the concepts of its schemes; only the value the
    shapes require when they require one of a single-valued field."""
    found = list(f.choices)
    m = model(state)
    for scheme in f.schemes:
        found += [c for c in m.concepts.get(scheme, []) if c not in found]
    if f.fixed and f.max_count == 1:
        required = [v for v in found if v in f.fixed]
        return required or list(f.fixed)
    return found


@dataclass(frozen=True)
class Candidate:
    iri: str
    label: str
    matched: str
    exact: bool


def lookup(
    state: Linked, text: str, classes: tuple[str, ...], lang: str, limit: int = LOOKUP_LIMIT
) -> list[Candidate]:
    """Entities whose label contains ``text`` (Kazakh letters folded), of one of ``classes`` (their
    asserted or inferred types), best first."""
    text = text.strip()[:200]
    if not text:
        return []
    hits = label_search.search(state.cached("search"), text, limit=200)
    if classes and hits:
        iris = " ".join(sparql_iri(entry.iri) for entry, _ in hits)
        wanted = " ".join(sparql_iri(c) for c in classes)
        rows = select(
            state.engine,
            f"SELECT DISTINCT ?s WHERE {{ VALUES ?s {{ {iris} }} VALUES ?c {{ {wanted} }} "
            f"?s <{RDF_TYPE}> ?c }}",
            union=True,
        )
        allowed = {row["s"].value for row in rows if row["s"] is not None}
        hits = [(entry, label) for entry, label in hits if entry.iri in allowed]
    key = fold(text)
    found = []
    for entry, matched in hits[:limit]:
        best = pick(state.labels().get(entry.iri, entry.labels), lang)
        found.append(
            Candidate(
                entry.iri,
                best.value if best else entry.iri,
                matched.value,
                exact=any(folded == key for folded, _ in entry.keys),
            )
        )
    return found


def resolve(state: Linked, text: str, classes: tuple[str, ...], lang: str) -> list[str]:
    """The entities a typed label names: the one whose label is exactly it, else every candidate."""
    candidates = lookup(state, text, classes, lang, limit=50)
    exact = [c.iri for c in candidates if c.exact]
    if len(set(exact)) == 1:
        return exact[:1]
    return [c.iri for c in candidates]


def asserted(state: Linked, subjects: list[str]) -> list[Triple]:
    """The statements of the source graphs about ``subjects`` (no inferences, no ontology)."""
    if not subjects:
        return []
    values = " ".join(sparql_iri(s) for s in subjects)
    rows = select(
        state.engine,
        f"SELECT DISTINCT ?s ?p ?o WHERE {{ VALUES ?s {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} "
        f"FILTER(STRSTARTS(STR(?g), {json.dumps(state.names.source_graph_base)})) }}",
    )
    found: list[Triple] = []
    for row in rows:
        s, p, o = row["s"], row["p"], row["o"]
        if (
            isinstance(s, ox.NamedNode)
            and isinstance(p, ox.NamedNode)
            and isinstance(o, ox.NamedNode | ox.Literal)
        ):
            found.append((s, p, o))
    return found


def label(state: Linked, iri: str, lang: str) -> str:
    found = pick(state.labels().get(iri, []), lang)
    return found.value if found else iri.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def labels_by_language(state: Linked, iri: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for literal in state.labels().get(iri, []):
        found.setdefault(literal.language or "", literal.value)
    return found


def ontology_graph(state: Linked) -> Graph:
    return model(state).forms.ontology
