"""SHACL validation: the two validators, and the shapes checked against SHACL's own meta-shapes.

Two validators give the same :class:`Report`: :func:`validate` (pySHACL over an rdflib graph, node by
node; the guard uses it for the few nodes a change touches) and :func:`validate_store` (the shapes
compiled to SPARQL by :mod:`kg.checks.compiled`, set at a time on an Oxigraph store; the build uses it).
pySHACL is the reference the tests hold the compiled path to.

A :class:`Report` conforms when it holds no ``sh:Violation``; warnings and infos are reported but do
not make data non-conformant. The RDF ``sh:ValidationReport`` is kept for clients that want RDF.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pyshacl
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.checks.compiled import StoreData, prepare, run_prepared, validate_compiled
from kg.checks.report import (
    Report,
    StoreLabels,
    mark_conformance,
    report_from_graph,
    report_root,
    shacl_local,
    substitute_message,
)
from kg.errors import ShapesError
from kg.rdf.names import SH
from kg.rdf.terms import to_oxigraph, to_rdflib


def validate(
    data: Graph,
    shapes: Graph,
    *,
    focus_nodes: Iterable[str] | None = None,
    label_graph: Graph | None = None,
    sparql_store: ox.Store | None = None,
) -> Report:
    """Validate ``data`` (already holding its inferences) against ``shapes``.

    ``focus_nodes`` restricts validation to those nodes (the nodes a change touches).
    ``sparql_store``, an Oxigraph store holding the same triples in its default graph, evaluates the
    SHACL-SPARQL constraints (``sh:sparql``) there, with ``$this`` pre-bound (SHACL §5.3.1, through
    Oxigraph's SEP-0007 substitutions); pySHACL then checks the core constraints. Without it pySHACL
    evaluates everything with rdflib's SPARQL engine, which is much slower.
    """
    if focus_nodes is not None:
        nodes = {URIRef(n) for n in focus_nodes}
        if not nodes:
            return Report(True, [], Graph())
        shapes = restrict_targets(shapes, data, nodes)
    sparql_constraints: list[SparqlConstraint] = []
    if sparql_store is not None:
        shapes, sparql_constraints = split_sparql(shapes)
    try:
        _, report_graph, _ = pyshacl.validate(
            data,
            shacl_graph=shapes,
            inference="none",
            # No SHACL-AF rules and no inference here, so nothing writes to the data graph: validating
            # it in place spares pySHACL a copy of the whole graph on every call (about half its time).
            inplace=True,
            allow_warnings=True,
            allow_infos=True,
        )
    except pyshacl.errors.ShapeLoadError as exc:
        raise ShapesError(f"the SHACL shapes cannot be loaded: {exc}") from exc
    except pyshacl.errors.ConstraintLoadError as exc:
        raise ShapesError(f"a SHACL constraint is malformed: {exc}") from exc
    if sparql_store is not None:
        for constraint in sparql_constraints:
            for node in constraint.focus(data):
                constraint.evaluate(sparql_store, node, report_graph)
        mark_conformance(report_graph)
    return report_from_graph(report_graph, label_graph if label_graph is not None else data)


def validate_store(
    store: ox.Store,
    shapes: Graph,
    *,
    graphs: Iterable[str] | None = None,
    data: Graph | None = None,
    label_graph: Graph | None = None,
    focus_nodes: Iterable[str] | None = None,
) -> Report:
    """Validate the triples of an Oxigraph store against ``shapes``, set at a time (``kg.checks.compiled``).

    ``focus_nodes`` restricts validation to those nodes (the nodes a change touches).

    The data graph is the store's default graph, or the union of the named ``graphs``; it already holds
    its inferences. Every targeted shape the compiler translates is checked by SPARQL queries over all
    its focus nodes at once; a shape it refuses is validated by pySHACL (over ``data``, an rdflib copy
    of the same triples, made from the store when not given). The report is the one :func:`validate`
    gives.
    """
    focus = None if focus_nodes is None else list(focus_nodes)
    if focus is not None and not focus:
        return Report(True, [], Graph())
    core, sparql_constraints = split_sparql(shapes)
    source = StoreData(store, graphs)
    compiled = validate_compiled(source, core, sparql_constraints=sparql_constraints, focus=focus)
    return _compiled_report(compiled, source, shapes, data=data, label_graph=label_graph, focus=focus)


class FocusedValidation:
    """:func:`validate_store` for the nodes a change touches, the shapes compiled once: the guard of
    writes runs it on its Oxigraph copy of the graph for every change."""

    def __init__(self, store: ox.Store, shapes: Graph):
        self.shapes = shapes
        self.source = StoreData(store)
        core, sparql_constraints = split_sparql(shapes)
        self.prepared = prepare(self.source, core, sparql_constraints=sparql_constraints, focused=True)

    def validate(self, focus_nodes: Iterable[str]) -> Report:
        focus = list(focus_nodes)
        if not focus:
            return Report(True, [], Graph())
        compiled = run_prepared(self.prepared, self.source, focus)
        return _compiled_report(compiled, self.source, self.shapes, focus=focus)


def _compiled_report(
    compiled: Any,
    source: Any,
    shapes: Graph,
    *,
    data: Graph | None = None,
    label_graph: Graph | None = None,
    focus: list[str] | None = None,
) -> Report:
    """The report of a compiled validation, the shapes it could not compile validated by pySHACL."""
    report_graph = Graph()
    root = report_root(report_graph)
    for found in compiled.results:
        _add_result(report_graph, root, found, shapes)
    if compiled.fallback:
        if data is None:
            data = Graph()
            for row in source.rows("SELECT ?s ?p ?o WHERE { ?s ?p ?o }"):
                data.add((to_rdflib(row["s"]), to_rdflib(row["p"]), to_rdflib(row["o"])))
        alone = only_targets_of(shapes, set(compiled.fallback))
        fallback = validate(data, alone, focus_nodes=focus)
        for t in fallback.graph:
            if t[1] in (SH.conforms,) or (t[1] == RDF.type and t[2] == SH.ValidationReport):
                continue
            if t[1] == SH.result:
                report_graph.add((root, SH.result, t[2]))
            else:
                report_graph.add(t)
    mark_conformance(report_graph)
    graphs = [g.value for g in source.graphs] if source.graphs is not None else None
    labels: Graph | StoreLabels = (
        label_graph if label_graph is not None else StoreLabels(source.store, graphs)
    )
    return report_from_graph(report_graph, labels)


def only_targets_of(shapes: Graph, keep: set[Node]) -> Graph:
    """The shapes graph with the targets of every shape but ``keep`` removed."""
    out = Graph()
    for t in shapes:
        if t[1] in _TARGETS and t[0] not in keep:
            continue
        if t[1] == RDF.type and t[2] == RDFS.Class and t[0] not in keep:
            continue  # an implicit class target
        out.add(t)
    return out


_GENERIC = {
    "MinCount": "Less than {n} values",
    "MaxCount": "More than {n} values",
    "HasValue": "Missing expected value {n}",
    "UniqueLang": "More than one String shares the same Language",
    "QualifiedMinCount": "Less than {n} values conform to the qualified value shape",
    "QualifiedMaxCount": "More than {n} values conform to the qualified value shape",
}


def _add_result(report: Graph, root: Node, found: Any, shapes: Graph) -> None:
    result = BNode()
    report.add((root, SH.result, result))
    report.add((result, RDF.type, SH.ValidationResult))
    report.add((result, SH.focusNode, found.focus))
    report.add((result, SH.resultSeverity, found.severity))
    report.add((result, SH.sourceShape, found.shape))
    report.add((result, SH.sourceConstraintComponent, found.component))
    if found.path is not None:
        report.add((result, SH.resultPath, _copy(shapes, found.path, report)))
    if found.value is not None:
        report.add((result, SH.value, found.value))
    if found.source_constraint is not None:
        report.add((result, SH.sourceConstraint, found.source_constraint))
    messages = list(found.messages)
    if not messages:
        name = shacl_local(str(found.component)).removesuffix("ConstraintComponent")
        text = _GENERIC.get(name, f"Value does not conform to sh:{name[:1].lower()}{name[1:]}")
        params = {
            "MinCount": SH.minCount,
            "MaxCount": SH.maxCount,
            "HasValue": SH.hasValue,
            "QualifiedMinCount": SH.qualifiedMinCount,
            "QualifiedMaxCount": SH.qualifiedMaxCount,
        }
        param = shapes.value(found.shape, params[name]) if name in params else None
        messages = [Literal(text.format(n=param.n3() if param is not None else "?"))]
    for message in messages:
        report.add((result, SH.resultMessage, message))


def _copy(source: Graph, node: Node, target: Graph) -> Node:
    """A path as the report shows it: blank-node structure (sequence, inverse, …) copied, ids kept."""
    if isinstance(node, BNode):
        for p, o in source.predicate_objects(node):
            target.add((node, p, _copy(source, o, target)))
    return node


@dataclass
class SparqlConstraint:
    """One ``sh:sparql`` constraint of a node shape, with the shape's targets (SHACL §5)."""

    shape: Node
    select: str
    messages: list[Literal]
    severity: Node
    target_nodes: set[Node]
    target_classes: set[Node]
    node: Node | None = None  # the sh:SPARQLConstraint itself
    prefixes: str = ""  # the PREFIX declarations of sh:prefixes ...
    body: str = ""  # ... and the sh:select as written: select == prefixes + body
    deactivated: bool = False

    def focus(self, data: Graph) -> set[Node]:
        nodes = set(self.target_nodes)
        for cls in self.target_classes:
            nodes.update(data.subjects(RDF.type, cls))
            for sub in data.subjects(RDFS.subClassOf, cls):
                nodes.update(data.subjects(RDF.type, sub))
        return nodes

    def evaluate(self, store: ox.Store, node: Node, report: Graph) -> None:
        this = to_oxigraph(node)
        solutions: Any = store.query(self.select, substitutions={ox.Variable("this"): this})
        names = [v.value for v in solutions.variables]
        for solution in solutions:
            bound = {name: solution[name] for name in names if solution[name] is not None}
            result = BNode()
            report.add((report_root(report), SH.result, result))
            report.add((result, RDF.type, SH.ValidationResult))
            report.add((result, SH.focusNode, node))
            report.add((result, SH.resultSeverity, self.severity))
            report.add((result, SH.sourceShape, self.shape))
            report.add((result, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
            value = bound.get("value")
            report.add((result, SH.value, to_rdflib(value) if value is not None else node))
            if "path" in bound:
                report.add((result, SH.resultPath, to_rdflib(bound["path"])))
            for message in self.messages:
                text = substitute_message(str(message), bound, this)
                report.add((result, SH.resultMessage, Literal(text, lang=message.language)))


def split_sparql(shapes: Graph) -> tuple[Graph, list[SparqlConstraint]]:
    """The shapes without their ``sh:sparql`` constraints, and those constraints with their targets.

    Only the constraints that can run on their own are taken out: those of a node shape targeted by
    class or by node that no other shape refers to. Any other (on a property shape, on a shape used
    through ``sh:node``, ``sh:or``, …, with other targets) stays in the shapes for pySHACL.
    """
    constraints = []
    core = Graph()
    skip: set[Node] = set()
    for shape, constraint in shapes.subject_objects(SH.sparql):
        select = shapes.value(constraint, SH.select)
        if select is None or not _runs_alone(shapes, shape):
            continue
        prefixes = "".join(
            f"PREFIX {shapes.value(d, SH.prefix)}: <{shapes.value(d, SH.namespace)}>\n"
            for source in shapes.objects(constraint, SH.prefixes)
            for d in shapes.objects(source, SH.declare)
        )
        deactivated = shapes.value(constraint, SH.deactivated)
        constraints.append(
            SparqlConstraint(
                shape=shape,
                select=prefixes + str(select),
                messages=[m for m in shapes.objects(constraint, SH.message) if isinstance(m, Literal)],
                severity=shapes.value(shape, SH.severity) or SH.Violation,
                target_nodes=set(shapes.objects(shape, SH.targetNode)),
                target_classes=set(shapes.objects(shape, SH.targetClass)),
                node=constraint,
                prefixes=prefixes,
                body=str(select),
                deactivated=isinstance(deactivated, Literal) and deactivated.toPython() is True,
            )
        )
        skip.add(constraint)
    for t in shapes:
        if t[0] in skip or (t[1] == SH.sparql and t[2] in skip):
            continue
        core.add(t)
    return core, constraints


def _runs_alone(shapes: Graph, shape: Node) -> bool:
    """Whether a shape's SPARQL constraints depend only on its own targets (see :func:`split_sparql`)."""
    if (shape, SH.path, None) in shapes or (None, None, shape) in shapes:
        return False
    if (shape, RDF.type, RDFS.Class) in shapes:
        return False  # an implicit class target
    return not any((shape, p, None) in shapes for p in (SH.targetSubjectsOf, SH.targetObjectsOf, SH.target))


_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)


def restrict_targets(shapes: Graph, data: Graph, focus: set[URIRef]) -> Graph:
    """The shapes with each target replaced by ``sh:targetNode`` for the focus nodes it targets.

    This restricts validation to ``focus`` in plain SHACL. (pySHACL's own ``focus_nodes`` option also
    filters the value nodes of nested shapes — ``sh:node``, ``sh:or``, ``sh:class``, qualified value
    shapes — so those constraints would silently pass; seen in pySHACL 0.40.1, ``Shape.validate``.)
    Targets follow SHACL: ``sh:targetClass`` covers SHACL instances (``rdf:type`` then
    ``rdfs:subClassOf*`` in the data graph).
    """
    restricted = Graph()
    for t in shapes:
        if t[1] not in _TARGETS:
            restricted.add(t)
    for shape in set(shapes.subjects(SH.targetClass)):
        classes = set(shapes.objects(shape, SH.targetClass))
        for node in focus:
            types = set(data.objects(node, RDF.type))
            if types & classes or any((c, RDFS.subClassOf, cls) in data for c in types for cls in classes):
                restricted.add((shape, SH.targetNode, node))
    for shape, target in shapes.subject_objects(SH.targetNode):
        if target in focus:
            restricted.add((shape, SH.targetNode, target))
    for shape, prop in shapes.subject_objects(SH.targetSubjectsOf):
        for node in focus:
            if (node, prop, None) in data:
                restricted.add((shape, SH.targetNode, node))
    for shape, prop in shapes.subject_objects(SH.targetObjectsOf):
        for node in focus:
            if (None, prop, node) in data:
                restricted.add((shape, SH.targetNode, node))
    if (None, SH.target, None) in shapes:
        raise ShapesError("SPARQL-based targets (sh:target) cannot be restricted to focus nodes")
    return restricted


@cache
def _meta_shapes() -> Graph:
    path = Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl"
    return Graph().parse(path, format="turtle")


def validate_shapes(shapes: Graph) -> Report:
    """Check a shapes graph against SHACL's own shapes (shacl-shacl, the meta-SHACL check)."""
    _, report_graph, _ = pyshacl.validate(shapes, shacl_graph=_meta_shapes(), inference="none")
    return report_from_graph(report_graph, shapes)
