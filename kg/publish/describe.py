"""Resource descriptions for linked data and pages, read through the engine (no web framework).

A description (:func:`describe`) is a list of quads: the resource's own statements, the statements
pointing at it, the statements of blank nodes it points at, and the labels of every neighbour, each
in the named graph that holds it. :mod:`kg.publish.documents` writes them in any RDF format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyoxigraph as ox

from kg.engine import Engine, in_pages, wrapped
from kg.errors import ResultTruncated
from kg.rdf.iris import is_iri, sparql_iri
from kg.rdf.names import LABEL_PREDICATES, RDF_TYPE

TSV_RESULTS = "text/tab-separated-values"
DESCRIPTION_LIMIT = 20_000  # statements in one description: far more than any resource here has


# --- reading through the engine ------------------------------------------------------------------


def select(engine: Engine, query: str, *, union: bool = False) -> list[ox.QuerySolution]:
    """Run a SELECT and parse its rows (TSV: compact and exact); every row, in pages where the store
    cuts results at a row cap (Virtuoso's ResultSetMaxRows)."""
    try:
        return _rows(engine, query, union)
    except ResultTruncated as exc:
        if not exc.store_limit:
            raise
        head = _solutions(engine, wrapped(query, "LIMIT 0"), union)
        variables = [v.value for v in head.variables]
        return in_pages(query, exc.store_limit, variables, lambda page: _rows(engine, page, union))


def _solutions(engine: Engine, query: str, union: bool) -> ox.QuerySolutions:
    response = engine.query(query, accept=TSV_RESULTS, union_default_graph=union)
    solutions = ox.parse_query_results(response.body, ox.QueryResultsFormat.TSV)
    assert isinstance(solutions, ox.QuerySolutions)
    return solutions


def _rows(engine: Engine, query: str, union: bool) -> list[ox.QuerySolution]:
    return list(_solutions(engine, query, union))


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
    # the default graph's own triples: on a store whose default graph is the union (Virtuoso's always
    # is; Fuseki's may be), every triple is there too, and must not come back twice
    return select_quads(
        engine,
        "SELECT ?g ?s ?p ?o WHERE { { ?s ?p ?o FILTER NOT EXISTS { GRAPH ?x { ?s ?p ?o } } } "
        "UNION { GRAPH ?g { ?s ?p ?o } } }",
    )


# --- serialising -------------------------------------------------------------------------------


# --- JSON-LD ---------------------------------------------------------------------------------------


# --- what pages need -------------------------------------------------------------------------------
