"""The change log: every committed change as a ``prov:Activity`` in the changes graph.

A change's record holds its sequence number, who (the token's name), when, the operation, an
optional source and comment, and every quad added and removed (``ak:addition``/``ak:removal``) and
every inference it added or withdrew (``ak:inferredAddition``/``ak:inferredRemoval``) as an
``rdf:Statement`` with ``ak:graph``: queryable by SPARQL, enough to revert the change, and enough for
another writer (or a rebuild) to replay it exactly. Here the log is written (:func:`record`) and read
(:func:`entries`, :func:`changes`, :func:`change_quads`, :func:`logged_changes`).
"""

from __future__ import annotations

from typing import Any, Protocol

import pyoxigraph as ox

from kg.changes.model import Change, LogEntry, now
from kg.errors import NotFound
from kg.rdf.names import DCTERMS, PROV, RDF, RDFS, XSD, Names

Quad = ox.Quad
STATEMENT_KINDS = ("addition", "removal", "inferredAddition", "inferredRemoval")
# more nodes a record may hold (kg.changes.proposals): the admin who approved a proposal, its comments
RECORD_LINKS = ("approvedBy", "comment")


class Selects(Protocol):
    def select(self, sparql: str) -> list[dict[str, Any]]: ...


def record(
    names: Names,
    change: Change,
    iri: str,
    *,
    agent: str,
    source: str,
    comment: str,
    sequence: int,
    inferred: tuple[set[Quad], set[Quad]] = (set(), set()),
) -> set[Quad]:
    """The quads that log ``change`` as change number ``sequence``, named ``iri``."""
    g = ox.NamedNode(names.changes_graph)
    node = ox.NamedNode(iri)
    ak = str(names.ak)
    agent_node = ox.NamedNode(f"{names.base}id/agent/{agent}")
    stamp = ox.Literal(now(), datatype=ox.NamedNode(f"{XSD}dateTime"))
    quads = {
        Quad(node, ox.NamedNode(f"{RDF}type"), ox.NamedNode(ak + "Change"), g),
        Quad(node, ox.NamedNode(f"{RDF}type"), ox.NamedNode(f"{PROV}Activity"), g),
        Quad(node, ox.NamedNode(f"{PROV}endedAtTime"), stamp, g),
        Quad(node, ox.NamedNode(f"{PROV}wasAssociatedWith"), agent_node, g),
        Quad(agent_node, ox.NamedNode(f"{RDF}type"), ox.NamedNode(f"{PROV}Agent"), g),
        Quad(agent_node, ox.NamedNode(f"{RDFS}label"), ox.Literal(agent), g),
        Quad(node, ox.NamedNode(ak + "operation"), ox.Literal(change.operation), g),
        Quad(node, ox.NamedNode(ak + "sequence"), _int(sequence), g),
        Quad(node, ox.NamedNode(ak + "addedCount"), _int(len(change.added)), g),
        Quad(node, ox.NamedNode(ak + "removedCount"), _int(len(change.removed)), g),
    }
    label = f"{change.operation} by {agent}: +{len(change.added)} −{len(change.removed)}"
    quads.add(Quad(node, ox.NamedNode(f"{RDFS}label"), ox.Literal(label), g))
    if source:
        quads.add(Quad(node, ox.NamedNode(f"{DCTERMS}source"), ox.Literal(source), g))
    if comment:
        quads.add(Quad(node, ox.NamedNode(f"{RDFS}comment"), ox.Literal(comment), g))
    if change.reverts:
        quads.add(Quad(node, ox.NamedNode(ak + "reverts"), ox.NamedNode(change.reverts), g))
    kinds = zip(STATEMENT_KINDS, (change.added, change.removed, *inferred), strict=True)
    for kind, items in kinds:
        for i, q in enumerate(sorted(items, key=str), start=1):
            st = ox.NamedNode(f"{iri}/{kind}/{i}")
            graph_term = (
                q.graph_name
                if isinstance(q.graph_name, ox.NamedNode)
                else ox.NamedNode(names.base + "graph/default")
            )
            quads |= {
                Quad(node, ox.NamedNode(ak + kind), st, g),
                Quad(st, ox.NamedNode(f"{RDF}type"), ox.NamedNode(f"{RDF}Statement"), g),
                Quad(st, ox.NamedNode(f"{RDF}subject"), q.subject, g),
                Quad(st, ox.NamedNode(f"{RDF}predicate"), q.predicate, g),
                Quad(st, ox.NamedNode(f"{RDF}object"), q.object, g),
                Quad(st, ox.NamedNode(ak + "graph"), graph_term, g),
            }
    return quads


def records_after(store: Selects, names: Names, version: int) -> list[Quad]:
    """The change log's quads for the changes after ``version``: the changes and their statements."""
    ak = str(names.ak)
    links = " ".join(f"<{ak}{k}>" for k in (*STATEMENT_KINDS, *RECORD_LINKS)) + f" <{PROV}wasAssociatedWith>"
    rows = store.select(
        f"""SELECT ?s ?p ?o WHERE {{ GRAPH <{names.changes_graph}> {{
            ?change <{ak}sequence> ?n . FILTER(?n > {int(version)})
            {{ ?change ?p ?o . BIND(?change AS ?s) }}
            UNION {{ VALUES ?link {{ {links} }} ?change ?link ?s . ?s ?p ?o }} }} }}"""
    )
    graph = ox.NamedNode(names.changes_graph)
    return [Quad(r["s"], r["p"], r["o"], graph) for r in rows]


def entries(log: ox.Store, names: Names) -> list[LogEntry]:
    """The changes logged in ``log``'s changes graph, in commit order (sequence number, then time)."""
    ak = str(names.ak)
    kinds = " ".join(f"<{ak}{k}>" for k in STATEMENT_KINDS)
    query = f"""SELECT ?change ?seq ?kind ?s ?p ?o ?g WHERE {{ GRAPH <{names.changes_graph}> {{
        ?change a <{ak}Change> ; <{PROV}endedAtTime> ?time ; ?kind ?st .
        OPTIONAL {{ ?change <{ak}sequence> ?seq }}
        VALUES ?kind {{ {kinds} }}
        ?st <{RDF}subject> ?s ; <{RDF}predicate> ?p ; <{RDF}object> ?o ; <{ak}graph> ?g . }} }}
        ORDER BY ?seq ?time ?change"""
    found: dict[str, LogEntry] = {}
    rows: Any = log.query(query)
    graph = ox.NamedNode(names.changes_graph)
    for row in rows:
        iri = row["change"].value
        if iri not in found:
            found[iri] = LogEntry(int(row["seq"].value) if row["seq"] is not None else None, Change())
        entry = found[iri]
        quad = Quad(row["s"], row["p"], row["o"], row["g"])
        kind = row["kind"].value[len(ak) :]
        {
            "addition": entry.change.added,
            "removal": entry.change.removed,
            "inferredAddition": entry.inferred_added,
            "inferredRemoval": entry.inferred_removed,
        }[kind].add(quad)
    for iri, entry in found.items():
        entry.record.update(_record_quads(log, ox.NamedNode(iri), graph, names))
    return list(found.values())


def entries_after(store: Selects, names: Names, version: int) -> list[LogEntry]:
    """The numbered changes after ``version``, read from ``store``, in order."""
    log = ox.Store()
    log.bulk_extend(records_after(store, names, version))
    return [entry for entry in entries(log, names) if entry.sequence is not None]


def logged_changes(store: ox.Store, names: Names) -> tuple[list[Change], list[Quad]]:
    """The changes logged in ``store``, oldest first, and the change log's own quads (for a rebuild)."""
    graph = ox.NamedNode(names.changes_graph)
    log_quads = list(store.quads_for_pattern(None, None, None, graph))
    if not log_quads:
        return [], []
    return [entry.change for entry in entries(store, names)], log_quads


def changes(log: ox.Store, names: Names, limit: int = 100) -> list[dict[str, Any]]:
    """The latest changes, newest first, as rows for people and programs."""
    ak = str(names.ak)
    query = f"""
        SELECT ?change ?sequence ?time ?agent ?operation ?added ?removed ?source ?comment ?reverts
        WHERE {{
          GRAPH <{names.changes_graph}> {{
            ?change a <{ak}Change> ; <{PROV}endedAtTime> ?time ;
                    <{PROV}wasAssociatedWith>/<{RDFS}label> ?agent ;
                    <{ak}operation> ?operation ; <{ak}addedCount> ?added ; <{ak}removedCount> ?removed .
            OPTIONAL {{ ?change <{DCTERMS}source> ?source }}
            OPTIONAL {{ ?change <{RDFS}comment> ?comment }}
            OPTIONAL {{ ?change <{ak}reverts> ?reverts }}
            OPTIONAL {{ ?change <{ak}sequence> ?sequence }}
          }}
        }} ORDER BY DESC(?sequence) DESC(?time) DESC(?change) LIMIT {int(limit)}"""
    result: Any = log.query(query)
    rows = []
    for solution in result:
        row: dict[str, Any] = {
            v.value: (solution[v].value if solution[v] is not None else None) for v in result.variables
        }
        row["added"] = int(row["added"])
        row["sequence"] = int(row["sequence"]) if row["sequence"] is not None else None
        row["removed"] = int(row["removed"])
        rows.append(row)
    return rows


def change_quads(log: ox.Store, names: Names, change_iri: str) -> Change:
    """The quads a logged change added and removed."""
    ak = str(names.ak)
    typed = log.quads_for_pattern(
        ox.NamedNode(change_iri),
        ox.NamedNode(f"{RDF}type"),
        ox.NamedNode(ak + "Change"),
        ox.NamedNode(names.changes_graph),
    )
    if not any(True for _ in typed):
        raise NotFound(f"no change {change_iri}")
    query = f"""
        SELECT ?kind ?s ?p ?o ?g WHERE {{ GRAPH <{names.changes_graph}> {{
            VALUES ?kind {{ <{ak}addition> <{ak}removal> }}
            <{change_iri}> ?kind ?st . ?st <{RDF}subject> ?s ; <{RDF}predicate> ?p ;
                <{RDF}object> ?o ; <{ak}graph> ?g . }} }}"""
    change = Change()
    solutions: Any = log.query(query)
    for row in solutions:
        quad = Quad(row["s"], row["p"], row["o"], row["g"])
        (change.added if row["kind"].value.endswith("addition") else change.removed).add(quad)
    return change


def _record_quads(log: ox.Store, change: ox.NamedNode, graph: ox.NamedNode, names: Names) -> set[Quad]:
    """A change's own quads in the log: the change, its statements and its agent."""
    quads = set(log.quads_for_pattern(change, None, None, graph))
    links = {f"{RDF}type", f"{names.ak}reverts"}  # links to things the record does not hold
    for q in list(quads):
        if isinstance(q.object, ox.NamedNode) and q.predicate.value not in links:
            quads.update(log.quads_for_pattern(q.object, None, None, graph))
    return quads


def _int(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=ox.NamedNode(f"{XSD}integer"))
