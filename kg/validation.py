"""SHACL validation, and the report as plain data (SHACL's own field names).

Two validators give the same :class:`Report`: :func:`validate` (pySHACL over an rdflib graph, node by
node; the guard uses it for the few nodes a change touches) and :func:`validate_store` (the shapes
compiled to SPARQL by :mod:`kg.shacl_compiled`, set at a time on an Oxigraph store; the build uses it).
pySHACL is the reference the tests hold the compiled path to.

A :class:`Report` conforms when it holds no ``sh:Violation``; warnings and infos are reported but do
not make data non-conformant. The RDF ``sh:ValidationReport`` is kept for clients that want RDF.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pyshacl
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.errors import ShapesError
from kg.names import SH, SKOS
from kg.rdfio import to_oxigraph, to_rdflib

SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}
LANGUAGES = ("en", "ru", "kk")


@dataclass(frozen=True)
class ValidationResult:
    """One ``sh:ValidationResult``; attribute names follow SHACL."""

    focusNode: str
    resultSeverity: str
    sourceConstraintComponent: str
    sourceShape: str | None
    resultPath: str | None
    value: str | None
    resultMessage: dict[str, str]
    focusLabel: dict[str, str] = field(default_factory=dict)
    valueLabel: dict[str, str] = field(default_factory=dict)
    valueText: str | None = None  # the value as a person reads it (lexical form of a literal)

    def message(self, lang: str = "en") -> str:
        return _pick(self.resultMessage, lang) or f"constraint {_local(self.sourceConstraintComponent)}"

    def sentence(self, lang: str = "en") -> str:
        """One line a person can act on: which entity, which property, which value, what to do."""
        name = _pick(self.focusLabel, lang)
        entity = f"{name} <{self.focusNode}>" if name else f"<{self.focusNode}>"
        parts = [f"{self.resultSeverity}: {entity}"]
        if self.resultPath:
            parts.append(f"{'свойство' if lang == 'ru' else 'property'} {self.resultPath}")
        if self.value is not None:
            shown = _pick(self.valueLabel, lang) or self.valueText or self.value
            parts.append(f"{'значение' if lang == 'ru' else 'value'} {shown}")
        return " — ".join(parts) + f": {self.message(lang)}"

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "focusNode": self.focusNode,
            "focusLabel": _pick(self.focusLabel, lang),
            "resultPath": self.resultPath,
            "value": self.value,
            "resultSeverity": self.resultSeverity,
            "sourceConstraintComponent": self.sourceConstraintComponent,
            "sourceShape": self.sourceShape,
            "resultMessage": self.message(lang),
            "sentence": self.sentence(lang),
        }


@dataclass
class Report:
    conforms: bool
    results: list[ValidationResult]
    graph: Graph

    @property
    def violation_count(self) -> int:
        return sum(1 for r in self.results if r.resultSeverity == "Violation")

    def count(self, severity: str) -> int:
        return sum(1 for r in self.results if r.resultSeverity == severity)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "conforms": self.conforms,
            "counts": {s: self.count(s) for s in SEVERITY_ORDER},
            "results": [r.to_dict(lang) for r in self.results],
        }

    def to_text(self, lang: str = "en") -> str:
        head = "Conforms." if self.conforms else "Does NOT conform."
        if lang == "ru":
            head = "Соответствует." if self.conforms else "НЕ соответствует."
        counts = ", ".join(f"{self.count(s)} {s.lower()}(s)" for s in SEVERITY_ORDER)
        lines = [f"{head} {counts}"]
        lines += [f"  {r.sentence(lang)}" for r in self.results]
        return "\n".join(lines)

    def to_turtle(self) -> str:
        return self.graph.serialize(format="turtle")


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
        _mark_conformance(report_graph)
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
    """Validate the triples of an Oxigraph store against ``shapes``, set at a time (``kg.shacl_compiled``).

    ``focus_nodes`` restricts validation to those nodes (the nodes a change touches).

    The data graph is the store's default graph, or the union of the named ``graphs``; it already holds
    its inferences. Every targeted shape the compiler translates is checked by SPARQL queries over all
    its focus nodes at once; a shape it refuses is validated by pySHACL (over ``data``, an rdflib copy
    of the same triples, made from the store when not given). The report is the one :func:`validate`
    gives.
    """
    from kg.shacl_compiled import StoreData, validate_compiled

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
        from kg.shacl_compiled import StoreData, prepare

        self.shapes = shapes
        self.source = StoreData(store)
        core, sparql_constraints = split_sparql(shapes)
        self.prepared = prepare(self.source, core, sparql_constraints=sparql_constraints, focused=True)

    def validate(self, focus_nodes: Iterable[str]) -> Report:
        from kg.shacl_compiled import run_prepared

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
    _mark_conformance(report_graph)
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
        name = _local(str(found.component)).removesuffix("ConstraintComponent")
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


class StoreLabels:
    """Labels of report nodes, read from an Oxigraph store (default graph, or the union of ``graphs``)."""

    def __init__(self, store: ox.Store, graphs: Iterable[str] | None = None):
        self.store = store
        self.graphs: list[ox.NamedNode | ox.DefaultGraph] = (
            [ox.NamedNode(g) for g in graphs] if graphs is not None else [ox.DefaultGraph()]
        )

    def of(self, node: Node | None) -> dict[str, str]:
        if not isinstance(node, URIRef):
            return {}
        found: dict[str, str] = {}
        subject = ox.NamedNode(str(node))
        for prop in (RDFS.label, SKOS.prefLabel):
            for graph in self.graphs:
                for q in self.store.quads_for_pattern(subject, ox.NamedNode(str(prop)), None, graph):
                    if isinstance(q.object, ox.Literal):
                        found.setdefault(q.object.language or "", q.object.value)
        return found


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


_MESSAGE_VAR = re.compile(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute_message(message: str, bound: dict[str, Any], this: Any) -> str:
    """An sh:message with its ``{?var}`` / ``{$var}`` replaced by a solution's values (SHACL §5.3.2)."""
    return _MESSAGE_VAR.sub(partial(_substitute, bound, this), message)


def _substitute(bound: dict[str, Any], this: Any, match: re.Match[str]) -> str:
    """``{?var}`` / ``{$var}`` in an sh:message, replaced by the solution's value (SHACL §5.3.2)."""
    name = match.group(1)
    term = this if name == "this" else bound.get(name)
    if term is None:
        return ""
    return str(term.value) if hasattr(term, "value") else str(term)


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


def report_root(report: Graph) -> Node:
    root = report.value(None, RDF.type, SH.ValidationReport, any=True)
    if root is None:
        root = BNode()
        report.add((root, RDF.type, SH.ValidationReport))
    return root


def _mark_conformance(report: Graph) -> None:
    root = report_root(report)
    violated = any(
        report.value(r, SH.resultSeverity) == SH.Violation for r in report.objects(root, SH.result)
    )
    report.set((root, SH.conforms, Literal(not violated)))


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


def report_from_graph(report_graph: Graph, labels: Graph | StoreLabels) -> Report:
    label = partial(labels_of, labels) if isinstance(labels, Graph) else labels.of
    results = []
    # The report's results are its sh:result values; pySHACL also types the nested results of a failed
    # sh:node (linked by sh:detail) as sh:ValidationResult, and those are not results of the report.
    for node in set(report_graph.objects(None, SH.result)):
        focus = report_graph.value(node, SH.focusNode)
        value = report_graph.value(node, SH.value)
        path = report_graph.value(node, SH.resultPath)
        severity = report_graph.value(node, SH.resultSeverity)
        messages: dict[str, str] = {}
        for m in report_graph.objects(node, SH.resultMessage):
            if isinstance(m, Literal):
                messages.setdefault(m.language or "", str(m))
        results.append(
            ValidationResult(
                focusNode=str(focus),
                resultSeverity=_local(str(severity)) if severity else "Violation",
                sourceConstraintComponent=str(report_graph.value(node, SH.sourceConstraintComponent)),
                sourceShape=_opt(report_graph.value(node, SH.sourceShape)),
                resultPath=_path_text(report_graph, path),
                value=_term_text(value),
                resultMessage=messages,
                focusLabel=label(focus),
                valueLabel=label(value),
                valueText=f'"{value}"' if isinstance(value, Literal) else None,
            )
        )
    results.sort(key=lambda r: (SEVERITY_ORDER.get(r.resultSeverity, 9), r.focusNode, r.resultPath or ""))
    conforms = not any(r.resultSeverity == "Violation" for r in results)
    return Report(conforms, results, report_graph)


def labels_of(graph: Graph, node: Node | None) -> dict[str, str]:
    if not isinstance(node, URIRef):
        return {}
    found: dict[str, str] = {}
    for prop in (RDFS.label, SKOS.prefLabel):
        for label in graph.objects(node, prop):
            if isinstance(label, Literal):
                found.setdefault(label.language or "", str(label))
    return found


@cache
def _meta_shapes() -> Graph:
    path = Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl"
    return Graph().parse(path, format="turtle")


def validate_shapes(shapes: Graph) -> Report:
    """Check a shapes graph against SHACL's own shapes (shacl-shacl, the meta-SHACL check)."""
    _, report_graph, _ = pyshacl.validate(shapes, shacl_graph=_meta_shapes(), inference="none")
    return report_from_graph(report_graph, shapes)


def _pick(texts: dict[str, str], lang: str) -> str | None:
    for candidate in (lang, "en", "ru", "kk", ""):
        if candidate in texts:
            return texts[candidate]
    return next(iter(texts.values()), None)


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _opt(node: Node | None) -> str | None:
    return None if node is None or not isinstance(node, URIRef) else str(node)


def _term_text(node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, Literal):
        return node.n3()
    return str(node)


def _path_text(graph: Graph, path: Node | None) -> str | None:
    if path is None:
        return None
    if isinstance(path, URIRef):
        return str(path)
    inverse = graph.value(path, SH.inversePath)
    if inverse is not None:
        return f"^{_path_text(graph, inverse)}"
    if graph.value(path, RDF.first) is not None:  # a sequence path: an RDF list of steps
        return "/".join(_path_text(graph, step) or "?" for step in Collection(graph, path))
    for modifier, mark in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = graph.value(path, modifier)
        if inner is not None:
            return f"({_path_text(graph, inner)}){mark}"
    return path.n3()
