"""The history of the data, read from the public change log (the graph ``<base>graph/changes``)
through the engine: the latest changes (a recent-changes page, an Atom feed), the changes of one
entity, and one change with its statements and the comments of the proposal it came from.

The log's vocabulary is :mod:`kg.changes.log`'s (and :mod:`kg.changes.proposals`'s for approvals):
each change an ``ak:Change`` with ``ak:sequence``, ``prov:endedAtTime``, ``prov:wasAssociatedWith``
(who made it), ``ak:operation``, ``dcterms:source``, ``rdfs:comment``, ``ak:reverts``, the counts,
and every quad added or removed as an ``rdf:Statement`` (``ak:addition``, ``ak:removal``); an approved
proposal's change also ``ak:proposal``, ``ak:approvedBy``, ``ak:subject`` (the entity its form
edited) and ``ak:comment`` (``schema:Comment`` nodes: author, date, text, action, position).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.engine import Engine
from kg.publish.describe import select
from kg.rdf.iris import sparql_iri
from kg.rdf.names import DCTERMS, PROV, RDF, RDFS, SCHEMA, Names

KINDS = ("addition", "removal", "inferredAddition", "inferredRemoval")


@dataclass
class ChangeSummary:
    iri: str
    sequence: int | None
    time: str
    agent: str
    operation: str
    added: int
    removed: int
    source: str | None = None
    comment: str | None = None
    reverts: str | None = None
    approved_by: str | None = None
    proposal: str | None = None
    subject: str | None = None

    @property
    def id(self) -> str:
        return self.iri.rsplit("/", 1)[-1]


@dataclass
class Statement:
    kind: str  # addition, removal, inferredAddition, inferredRemoval
    quad: ox.Quad
    change: str = ""


@dataclass(frozen=True)
class LoggedComment:
    position: int
    author: str
    created: str
    action: str
    text: str


@dataclass
class ChangeDetail:
    summary: ChangeSummary
    statements: list[Statement] = field(default_factory=list)
    comments: list[LoggedComment] = field(default_factory=list)
    truncated: bool = False


def _summary_query(names: Names, where: str, limit: int, offset: int = 0) -> str:
    ak = str(names.ak)
    return f"""SELECT ?change ?sequence ?time ?agent ?operation ?added ?removed ?source ?comment ?reverts
       ?approvedBy ?proposal ?subject
WHERE {{ GRAPH <{names.changes_graph}> {{
  {where}
  ?change a <{ak}Change> ; <{PROV}endedAtTime> ?time ; <{PROV}wasAssociatedWith> ?agentNode ;
          <{ak}operation> ?operation ; <{ak}addedCount> ?added ; <{ak}removedCount> ?removed .
  OPTIONAL {{ ?agentNode <{RDFS}label> ?agentLabel }}
  BIND(COALESCE(?agentLabel, REPLACE(STR(?agentNode), "^.*/", "")) AS ?agent)
  OPTIONAL {{ ?change <{ak}sequence> ?sequence }}
  OPTIONAL {{ ?change <{DCTERMS}source> ?source }}
  OPTIONAL {{ ?change <{RDFS}comment> ?comment }}
  OPTIONAL {{ ?change <{ak}reverts> ?reverts }}
  OPTIONAL {{ ?change <{ak}approvedBy> ?approver . OPTIONAL {{ ?approver <{RDFS}label> ?approverLabel }} }}
  BIND(IF(BOUND(?approver), COALESCE(?approverLabel, REPLACE(STR(?approver), "^.*/", "")), ?unbound)
       AS ?approvedBy)
  OPTIONAL {{ ?change <{ak}proposal> ?proposal }}
  OPTIONAL {{ ?change <{ak}subject> ?subject }}
}} }} ORDER BY DESC(?sequence) DESC(?time) DESC(?change) LIMIT {int(limit)} OFFSET {int(offset)}"""


def _summaries(engine: Engine, query: str) -> list[ChangeSummary]:
    found: dict[str, ChangeSummary] = {}
    for row in select(engine, query):
        change = row["change"]
        if not isinstance(change, ox.NamedNode) or change.value in found:
            continue
        text = {name: (row[name].value if row[name] is not None else None) for name in _COLUMNS}  # type: ignore[union-attr]
        found[change.value] = ChangeSummary(
            iri=change.value,
            sequence=_number(text["sequence"]),
            time=text["time"] or "",
            agent=text["agent"] or "",
            operation=text["operation"] or "",
            added=_number(text["added"]) or 0,
            removed=_number(text["removed"]) or 0,
            source=text["source"],
            comment=text["comment"],
            reverts=text["reverts"],
            approved_by=text["approvedBy"],
            proposal=text["proposal"],
            subject=text["subject"],
        )
    return list(found.values())


_COLUMNS = (
    "sequence",
    "time",
    "agent",
    "operation",
    "added",
    "removed",
    "source",
    "comment",
    "reverts",
    "approvedBy",
    "proposal",
    "subject",
)


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def recent(
    engine: Engine, names: Names, *, limit: int = 50, offset: int = 0, agent: str | None = None
) -> list[ChangeSummary]:
    """The latest changes, newest first (``agent``: only those that token's holder made)."""
    where = ""
    if agent:
        where = f"?change <{PROV}wasAssociatedWith> {sparql_iri(names.base + 'id/agent/' + agent)} ."
    return _summaries(engine, _summary_query(names, where, limit, offset))


def of_entity(engine: Engine, names: Names, iri: str, *, limit: int = 50) -> list[ChangeSummary]:
    """The changes that added or removed a statement about ``iri``, or edited it through a form."""
    ak, e = str(names.ak), sparql_iri(iri)
    where = f"""{{ SELECT DISTINCT ?change WHERE {{
        {{ ?change <{ak}subject> {e} }}
        UNION {{ VALUES ?kind {{ <{ak}addition> <{ak}removal> }} ?change ?kind ?st . ?st <{RDF}subject> {e} }}
    }} }}"""
    return _summaries(engine, _summary_query(names, where, limit))


def change(engine: Engine, names: Names, iri: str, *, limit: int = 5000) -> ChangeDetail | None:
    """One logged change: its summary, its statements (at most ``limit``), its comments."""
    summaries = _summaries(engine, _summary_query(names, f"VALUES ?change {{ {sparql_iri(iri)} }}", 1))
    if not summaries:
        return None
    detail = ChangeDetail(summaries[0])
    detail.statements = statements(engine, names, [iri], limit=limit + 1)
    if len(detail.statements) > limit:
        detail.statements, detail.truncated = detail.statements[:limit], True
    detail.comments = comments(engine, names, iri)
    return detail


def statements(
    engine: Engine, names: Names, changes: list[str], *, about: str | None = None, limit: int = 5000
) -> list[Statement]:
    """The statements of ``changes``; with ``about``, only those about that entity and about the
    nodes the same change links it to (its capacity, its status record), and all of a change made
    by editing that entity's form (``ak:subject``)."""
    if not changes:
        return []
    ak = str(names.ak)
    values = " ".join(sparql_iri(c) for c in changes)
    kinds = " ".join(f"<{ak}{k}>" for k in KINDS)
    restrict = ""
    if about is not None:
        e = sparql_iri(about)
        restrict = f"""{{ FILTER(?s = {e}) }} UNION {{ ?change <{ak}subject> {e} }} UNION {{
            ?change ?kind2 ?st2 . ?st2 <{RDF}subject> {e} ; <{RDF}object> ?s . FILTER(isIRI(?s)) }}"""
    query = f"""SELECT DISTINCT ?change ?kind ?s ?p ?o ?g WHERE {{ GRAPH <{names.changes_graph}> {{
        VALUES ?change {{ {values} }} VALUES ?kind {{ {kinds} }}
        ?change ?kind ?st . ?st <{RDF}subject> ?s ; <{RDF}predicate> ?p ; <{RDF}object> ?o ; <{ak}graph> ?g .
        {restrict}
    }} }} ORDER BY ?change ?kind ?s ?p ?o LIMIT {int(limit)}"""
    found = []
    for row in select(engine, query):
        s, p, o, g, kind = row["s"], row["p"], row["o"], row["g"], row["kind"]
        if not isinstance(p, ox.NamedNode) or not isinstance(kind, ox.NamedNode) or s is None or o is None:
            continue
        if isinstance(s, ox.Literal | ox.Triple) or isinstance(o, ox.Triple):
            continue
        graph = g if isinstance(g, ox.NamedNode) else ox.DefaultGraph()
        change_iri = row["change"].value if row["change"] is not None else ""
        found.append(Statement(kind.value[len(ak) :], ox.Quad(s, p, o, graph), change_iri))
    return found


def comments(engine: Engine, names: Names, iri: str) -> list[LoggedComment]:
    """The comments an approved proposal's change carries, in order."""
    ak = str(names.ak)
    rows = select(
        engine,
        f"""SELECT ?position ?author ?created ?action ?text WHERE {{ GRAPH <{names.changes_graph}> {{
            {sparql_iri(iri)} <{ak}comment> ?c . ?c <{SCHEMA}text> ?text .
            OPTIONAL {{ ?c <{ak}position> ?position }} OPTIONAL {{ ?c <{SCHEMA}author> ?author }}
            OPTIONAL {{ ?c <{SCHEMA}dateCreated> ?created }} OPTIONAL {{ ?c <{ak}action> ?action }}
        }} }} ORDER BY ?position""",
    )
    found = []
    for row in rows:
        position = row["position"]
        author = row["author"]
        found.append(
            LoggedComment(
                int(position.value) if isinstance(position, ox.Literal) else 0,
                author.value.rsplit("/", 1)[-1] if author is not None else "",
                row["created"].value if row["created"] is not None else "",
                row["action"].value if row["action"] is not None else "comment",
                row["text"].value if row["text"] is not None else "",
            )
        )
    return found
