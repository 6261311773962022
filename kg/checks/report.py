"""The validation report as plain data, with SHACL's own field names (``focusNode``, ``resultPath``,
``resultSeverity``, ``sourceConstraintComponent``, …), read from a ``sh:ValidationReport`` graph.

A :class:`Report` conforms when it holds no ``sh:Violation``; warnings and infos are reported but do
not make data non-conformant. The RDF ``sh:ValidationReport`` is kept for clients that want RDF.
Both validators (:mod:`kg.checks.validation`, :mod:`kg.checks.compiled`) produce it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pyoxigraph as ox
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.rdf.names import SH, SKOS

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
        return _pick(self.resultMessage, lang) or f"constraint {shacl_local(self.sourceConstraintComponent)}"

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


def report_root(report: Graph) -> Node:
    root = report.value(None, RDF.type, SH.ValidationReport, any=True)
    if root is None:
        root = BNode()
        report.add((root, RDF.type, SH.ValidationReport))
    return root


def mark_conformance(report: Graph) -> None:
    root = report_root(report)
    violated = any(
        report.value(r, SH.resultSeverity) == SH.Violation for r in report.objects(root, SH.result)
    )
    report.set((root, SH.conforms, Literal(not violated)))


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
                resultSeverity=shacl_local(str(severity)) if severity else "Violation",
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


def _pick(texts: dict[str, str], lang: str) -> str | None:
    for candidate in (lang, "en", "ru", "kk", ""):
        if candidate in texts:
            return texts[candidate]
    return next(iter(texts.values()), None)


def shacl_local(iri: str) -> str:
    """The local name of a SHACL term (``Violation``, ``MinCountConstraintComponent``)."""
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
