"""SHACL validation set-at-a-time: the shapes compiled to SPARQL, evaluated on an Oxigraph store.

pySHACL validates node by node in Python over rdflib (about 1–2 ms per focus node and shape); at a
million triples that is most of an hour. Here each constraint of each targeted shape becomes one
SPARQL query that finds *every* focus node (and value node) violating it at once, and Oxigraph
evaluates it. The report is the one pySHACL gives (same focus nodes, result paths, values, source
shapes, constraint components, severities and messages), as a :class:`kg.checks.report.Report`; the
test suite checks the two agree on the city graph, on every invalid fixture and on a synthetic city.

What is compiled (SHACL Core, §4): targets (``sh:targetClass`` with ``rdfs:subClassOf*`` in the data
graph, ``sh:targetNode``, ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``, implicit class targets),
``sh:deactivated``, ``sh:severity``, ``sh:message`` (every language), paths (IRIs, sequence, inverse,
alternative, one-or-more), and the components ``sh:class``, ``sh:datatype`` (ill-formed literals fail,
as in SHACL), ``sh:nodeKind``, ``sh:minCount``/``sh:maxCount`` (up to 4/3), ``sh:minExclusive``,
``sh:minInclusive``, ``sh:maxExclusive``, ``sh:maxInclusive``, ``sh:minLength``, ``sh:maxLength``,
``sh:pattern``, ``sh:languageIn``, ``sh:uniqueLang``, ``sh:in``, ``sh:hasValue``, ``sh:node``,
``sh:property`` (nested too), ``sh:not``, ``sh:and``, ``sh:or``, ``sh:xone``,
``sh:qualifiedValueShape`` with ``sh:qualifiedMinCount``/``sh:qualifiedMaxCount`` (up to 4/3, not
disjoint). Nested shapes (``sh:node``, ``sh:or``, …) become ``EXISTS`` expressions over the value node.
SHACL-SPARQL constraints (``sh:sparql`` on a node shape) run once over all focus nodes when their query
can be joined with the targets without changing its meaning (see :func:`batched_select`), else once
per focus node with ``$this`` pre-bound, as :mod:`kg.checks.validation` always did.

Anything else (``sh:closed``, ``sh:equals``, ``sh:lessThan``, SPARQL-based targets, zero-length paths,
recursive shapes, unknown datatypes, blank-node constants, …) is *refused*: :class:`UnsupportedConstraint` is
raised while compiling, and that targeted shape is validated by pySHACL instead (logged, and listed in
:attr:`CompiledValidation.fallback`), never silently passed.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.checks.report import substitute_message
from kg.errors import UnsupportedConstraint
from kg.rdf.names import SH
from kg.rdf.terms import to_rdflib

log = logging.getLogger("alatau_kg.shacl_compiled")

_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
_SHAPE_TYPES = (SH.NodeShape, SH.PropertyShape)

# sh: predicates on a shape that do not constrain anything by themselves (or are read with another).
_NON_VALIDATING = {
    SH.path,
    *_TARGETS,
    SH.message,
    SH.severity,
    SH.deactivated,
    SH.name,
    SH.description,
    SH.order,
    SH.group,
    SH.defaultValue,
    SH.flags,
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount,
    SH.qualifiedValueShapesDisjoint,
}  # sh:sparql: taken out by kg.checks.validation.split_sparql where it runs alone; anywhere else, refused

# Datatypes whose lexical forms Oxigraph checks with a cast (an ill-formed literal does not cast).
_CASTS = {
    XSD.integer,
    XSD.decimal,
    XSD.double,
    XSD.float,
    XSD.boolean,
    XSD.date,
    XSD.dateTime,
    XSD.time,
    XSD.gYear,
    XSD.gYearMonth,
    XSD.gMonth,
    XSD.gDay,
    XSD.gMonthDay,
    XSD.duration,
    XSD.dayTimeDuration,
    XSD.yearMonthDuration,
}

_MAX_COUNT_ARITY = 4  # minCount n needs n distinct values in one pattern; beyond this, refused
PathPattern = Callable[[str, str], str]  # (subject, object) → a group pattern linking them by the path


def component(name: str) -> URIRef:
    return SH[f"{name}ConstraintComponent"]


@dataclass(frozen=True)
class Found:
    """One validation result before it becomes RDF."""

    focus: Node
    shape: Node
    component: URIRef
    severity: URIRef
    path: Node | None = None
    value: Node | None = None
    messages: tuple[Literal, ...] = ()
    source_constraint: Node | None = None


@dataclass
class Query:
    """One compiled SPARQL query and how its solutions become results."""

    shape: Node
    component: URIRef
    sparql: str
    path: Node | None
    with_value: bool  # solutions bind ?value (the value node) besides ?focus

    def __str__(self) -> str:
        return f"{_short(self.shape)} {_short(self.component)}\n{self.sparql}"


FOCUS_NODES = "#FOCUS-NODES#"  # in a focused query: replaced by the focus nodes' IRIs before it runs


@dataclass
class Prepared:
    """Shapes compiled once (:func:`prepare`) and run many times (:func:`run_prepared`)."""

    compiler: Compiler
    plans: list[tuple[Node, list[Query]]]
    sparql: list[Any]
    fallback: dict[Node, str]


@dataclass
class CompiledValidation:
    """The result of :func:`validate_compiled`: results, and which shapes pySHACL had to validate."""

    results: list[Found]
    fallback: dict[Node, str] = field(default_factory=dict)  # targeted shape → why it is not compiled
    queries: int = 0


# --- compiling ---------------------------------------------------------------------------------------


class Compiler:
    """Compiles shapes of one shapes graph; ``subclasses`` is ``rdfs:subClassOf*`` of the data graph."""

    def __init__(
        self,
        shapes: Graph,
        subclasses: Callable[[URIRef], set[Node]],
        sparql_shapes: Iterable[Node] = (),
        focused: bool = False,
    ):
        self.shapes = shapes
        self.subclasses = subclasses
        # queries restricted to given focus nodes (the nodes a change touches): their targets join a
        # VALUES block filled in at run time (FOCUS_NODES), so one compilation serves every check
        self.focused = focused
        # shapes with sh:sparql constraints (taken out of ``shapes``): run only for a targeted node shape
        self.sparql_shapes = set(sparql_shapes)
        self._vars = itertools.count()
        self._stack: list[Node] = []

    def var(self) -> str:
        return f"?x{next(self._vars)}"

    # shapes as sets of constraints ---------------------------------------------------------------

    def deactivated(self, shape: Node) -> bool:
        value = self.shapes.value(shape, SH.deactivated)
        return isinstance(value, Literal) and value.toPython() is True

    def severity(self, shape: Node) -> URIRef:
        value = self.shapes.value(shape, SH.severity)
        if value is None:
            return SH.Violation
        if not isinstance(value, URIRef):
            raise UnsupportedConstraint(f"sh:severity {value!r}")
        return value

    def messages(self, shape: Node) -> tuple[Literal, ...]:
        return tuple(m for m in self.shapes.objects(shape, SH.message) if isinstance(m, Literal))

    def path(self, shape: Node) -> Node | None:
        paths = list(self.shapes.objects(shape, SH.path))
        if len(paths) > 1:
            raise UnsupportedConstraint(f"{len(paths)} sh:path values on one shape")
        return paths[0] if paths else None

    def check_known(self, shape: Node) -> None:
        for p in set(self.shapes.predicates(shape)):
            known = p in _NON_VALIDATING or p in _VALUE_TESTS or p in _FOCUS_TESTS
            if str(p).startswith(str(SH)) and not known and p not in (SH.property, SH.qualifiedValueShape):
                raise UnsupportedConstraint(f"{_short(p)} on {_short(shape)}")

    def value_tests(self, shape: Node) -> list[tuple[URIRef, Callable[[str], str], bool]]:
        """Constraints on one value node: (component, var → SPARQL expression true if it conforms,
        whether a result names the value). For a node shape the value node is the focus node."""
        self.check_known(shape)
        tests = []
        for param, (name, build, reports_value) in _VALUE_TESTS.items():
            for arg in self.shapes.objects(shape, param):
                tests.append((component(name), _bind(build, self, shape, arg), reports_value))
        if self.path(shape) is None:  # on a node shape, hasValue is a test of the focus node itself
            for arg in self.shapes.objects(shape, SH.hasValue):
                tests.append((component("HasValue"), _bind(_has_value_node, self, shape, arg), False))
            for pred in _FOCUS_TESTS:
                if pred != SH.hasValue and (shape, pred, None) in self.shapes:
                    raise UnsupportedConstraint(f"{_short(pred)} on a node shape")
            if (shape, SH.qualifiedValueShape, None) in self.shapes:
                raise UnsupportedConstraint("sh:qualifiedValueShape on a node shape")
        for prop in self.shapes.objects(shape, SH.property):
            tests.append((component("Property"), _bind(_property_conforms, self, prop), True))
        return tests

    def focus_tests(self, shape: Node, path: PathPattern) -> list[tuple[URIRef, Callable[[str], str]]]:
        """Constraints of a property shape on its focus node as a whole (counts, hasValue, …)."""
        tests = []
        for pred, (name, build) in _FOCUS_TESTS.items():
            for arg in self.shapes.objects(shape, pred):
                tests.append((component(name), _bind(build, self, shape, path, arg)))
        for qvs in self.shapes.objects(shape, SH.qualifiedValueShape):
            disjoint = self.shapes.value(shape, SH.qualifiedValueShapesDisjoint)
            if isinstance(disjoint, Literal) and disjoint.toPython() is True:
                raise UnsupportedConstraint("sh:qualifiedValueShapesDisjoint true")
            low = self.shapes.value(shape, SH.qualifiedMinCount)
            high = self.shapes.value(shape, SH.qualifiedMaxCount)
            if low is None and high is None:
                raise UnsupportedConstraint("sh:qualifiedValueShape without a count")
            if low is not None:
                tests.append((component("QualifiedMinCount"), _bind(_qualified_min, self, path, qvs, low)))
            if high is not None:
                tests.append((component("QualifiedMaxCount"), _bind(_qualified_max, self, path, qvs, high)))
        return tests

    def conforms(self, shape: Node, var: str) -> str:
        """A SPARQL expression, true when the node bound to ``var`` conforms to ``shape``."""
        if self.deactivated(shape):
            return "true"
        if shape in self._stack:
            raise UnsupportedConstraint(f"recursive shape {_short(shape)}")
        if shape in self.sparql_shapes:
            raise UnsupportedConstraint(f"sh:sparql in a nested shape ({_short(shape)})")
        self._stack.append(shape)
        try:
            path_node = self.path(shape)
            if path_node is None:
                parts = [test(var) for _, test, _ in self.value_tests(shape)]
            else:
                path = self.path_pattern(path_node)
                parts = [test(var) for _, test in self.focus_tests(shape, path)]
                value_tests = self.value_tests(shape)
                if value_tests:
                    y = self.var()
                    inner = " && ".join(f"({test(y)})" for _, test, _ in value_tests)
                    parts.append(f"NOT EXISTS {{ {path(var, y)} FILTER(!({inner})) }}")
            return " && ".join(f"({p})" for p in parts) if parts else "true"
        finally:
            self._stack.pop()

    def sparql_path(self, path: Node) -> str:
        if isinstance(path, URIRef):
            return _iri(path)
        if isinstance(path, BNode):
            if self.shapes.value(path, RDF.first) is not None:
                steps = [self.sparql_path(step) for step in Collection(self.shapes, path)]
                if len(steps) < 2:
                    raise UnsupportedConstraint("a sequence path of fewer than two steps")
                return "(" + "/".join(steps) + ")"
            inverse = self.shapes.value(path, SH.inversePath)
            if inverse is not None:
                return f"^({self.sparql_path(inverse)})"
            alternatives = self.shapes.value(path, SH.alternativePath)
            if alternatives is not None:
                steps = [self.sparql_path(s) for s in Collection(self.shapes, alternatives)]
                return "(" + "|".join(steps) + ")"
            inner = self.shapes.value(path, SH.oneOrMorePath)
            if inner is not None:
                return f"({self.sparql_path(inner)})+"
            # sh:zeroOrMorePath / sh:zeroOrOnePath: Oxigraph misses zero-length matches of a node that
            # is in no triple (see the W3C suite's xfails), so these are left to pySHACL.
        raise UnsupportedConstraint(f"path {path!r}")

    def path_pattern(self, path: Node) -> PathPattern:
        """The path as triple patterns: sequences and inverses become chains of plain triple patterns
        (Oxigraph evaluates a sequence property path inside EXISTS over the whole graph, not from the
        bound end); alternatives and one-or-more paths stay property paths."""
        steps = self._steps(path, False)

        def pattern(subject: str, obj: str) -> str:
            nodes = [subject, *(self.var() for _ in steps[1:]), obj]
            parts = []
            for (text, inverse), a, b in zip(steps, nodes, nodes[1:], strict=False):
                parts.append(f"{b} {text} {a} ." if inverse else f"{a} {text} {b} .")
            return " ".join(parts)

        return pattern

    def _steps(self, path: Node, inverse: bool) -> list[tuple[str, bool]]:
        if isinstance(path, URIRef):
            return [(_iri(path), inverse)]
        if isinstance(path, BNode) and self.shapes.value(path, RDF.first) is not None:
            members = list(Collection(self.shapes, path))
            if len(members) < 2:
                raise UnsupportedConstraint("a sequence path of fewer than two steps")
            steps = (
                [step for m in members for step in self._steps(m, inverse)]
                if not inverse
                else [step for m in reversed(members) for step in self._steps(m, inverse)]
            )
            return steps
        if isinstance(path, BNode) and (inner := self.shapes.value(path, SH.inversePath)) is not None:
            return self._steps(inner, not inverse)
        return [(self.sparql_path(path), inverse)]

    # targets and result queries ----------------------------------------------------------------------

    def targets(self, shape: Node, var: str) -> str:
        """A group pattern binding ``var`` to every focus node of ``shape`` (possibly repeated)."""
        branches = []
        classes: set[Node] = set()
        for cls in self.shapes.objects(shape, SH.targetClass):
            classes |= self.subclasses(_uri(cls))
        if (shape, RDF.type, RDFS.Class) in self.shapes and isinstance(shape, URIRef):
            classes |= self.subclasses(shape)  # implicit class target (SHACL §2.1.3.3)
        if classes:
            t = self.var()
            listed = sorted(classes, key=str)
            if self.focused:
                # the focus nodes come first: Oxigraph would join the classes with `?x a ?t` first,
                # scanning every instance (76 ms at 1M triples; as a filter, 0.2 ms)
                branches.append(f"{var} a {t} . FILTER({t} IN ({', '.join(_term(c) for c in listed)}))")
            else:
                branches.append(f"VALUES {t} {{ {' '.join(_term(c) for c in listed)} }} {var} a {t} .")
        nodes = list(self.shapes.objects(shape, SH.targetNode))
        if nodes:
            branches.append(f"VALUES {var} {{ {' '.join(_term(n) for n in nodes)} }}")
        for prop in self.shapes.objects(shape, SH.targetSubjectsOf):
            branches.append(f"{var} {_iri(prop)} {self.var()} .")
        for prop in self.shapes.objects(shape, SH.targetObjectsOf):
            branches.append(f"{self.var()} {_iri(prop)} {var} .")
        if (shape, SH.target, None) in self.shapes:
            raise UnsupportedConstraint("SPARQL-based targets (sh:target)")
        if not branches:
            return ""
        union = " UNION ".join(f"{{ {b} }}" for b in branches)
        if self.focused:
            return f"VALUES {var} {{ {FOCUS_NODES} }} {union}"
        return union

    def queries(self, shape: Node) -> list[Query]:
        """Every query reporting the results of a targeted shape over all its focus nodes."""
        out: list[Query] = []
        pattern = self.targets(shape, "?focus")
        self._queries(shape, f"{{ SELECT DISTINCT ?focus WHERE {{ {pattern} }} }}", out, top=True)
        return out

    def _queries(self, shape: Node, focus: str, out: list[Query], top: bool = False) -> None:
        if self.deactivated(shape):
            return
        if shape in self.sparql_shapes and not top:
            raise UnsupportedConstraint(f"sh:sparql in a nested shape ({_short(shape)})")
        if shape in self._stack:
            raise UnsupportedConstraint(f"recursive shape {_short(shape)}")
        self._stack.append(shape)
        try:
            path_node = self.path(shape)
            if path_node is None:
                for comp, test, with_value in self.value_tests(shape):
                    if comp == component("Property"):
                        continue  # its results are the property shape's own, below
                    where = _violating(focus, test("?focus"), self.focused)
                    out.append(Query(shape, comp, _select(where), None, with_value))  # value: the focus
                for prop in self.shapes.objects(shape, SH.property):
                    self._queries(prop, focus, out)
                return
            path = self.path_pattern(path_node)
            for comp, test in self.focus_tests(shape, path):
                if comp == component("UniqueLang"):
                    out.append(Query(shape, comp, _unique_lang_query(focus, path), path_node, False))
                    continue
                where = _violating(focus, test("?focus"), self.focused)
                out.append(Query(shape, comp, _select(where), path_node, False))
            for comp, test, with_value in self.value_tests(shape):
                if comp == component("Property"):
                    continue
                where = _violating(f"{focus} {path('?focus', '?value')}", test("?value"), self.focused)
                out.append(Query(shape, comp, _select(where, value=True), path_node, with_value))
            for prop in self.shapes.objects(shape, SH.property):
                # the value nodes of this shape are the focus nodes of the nested property shape
                outer = self.var()
                nested = focus.replace("?focus", outer)
                values = f"{{ SELECT DISTINCT ?focus WHERE {{ {nested} {path(outer, '?focus')} }} }}"
                self._queries(prop, values, out)
        finally:
            self._stack.pop()


def _bind(fn: Callable[..., str], *args: Any) -> Callable[[str], str]:
    """Check and prepare the constraint now (UnsupportedConstraint while compiling), build text later."""
    probe = fn(*args, "?probe")  # raises UnsupportedConstraint for what cannot be compiled
    del probe
    return lambda var: fn(*args, var)


def _violating(solutions: str, conforms: str, focused: bool = False) -> str:
    """The solutions of a pattern whose node fails ``conforms``, as a pattern.

    ``FILTER NOT EXISTS`` is evaluated solution by solution, and Oxigraph plans the inner pattern
    without the outer binding (``?x unit ak:Seat`` first, then every school): quadratic. When the test
    is a single ``EXISTS {P}``, ``MINUS {P}`` gives the same solutions (P shares exactly the tested
    variable with them; its other variables are fresh) and is evaluated set at a time; a single
    ``NOT EXISTS {P}`` is likewise a join with P. ``focused`` (a few focus nodes, the guard of a
    write): the other way round, as ``MINUS`` evaluates P over the whole graph (65 ms at 100k
    triples) where a few solutions each test it bound (2–5 ms), so ``EXISTS`` stays a filter.
    """
    templates = [("NOT EXISTS ", "{solutions} {group}")]
    if not focused:
        templates.append(("EXISTS ", "{solutions} MINUS {group}"))
    for prefix, template in templates:
        group = _single_group(conforms, prefix)
        if group is not None:
            return template.format(solutions=solutions, group=group)
    return f"{solutions} FILTER(!({conforms}))"


def _single_group(expr: str, prefix: str) -> str | None:
    """``{…}`` when ``expr`` is exactly ``prefix{…}``, else None."""
    if not expr.startswith(prefix + "{"):
        return None
    masked = _mask(expr)
    depth = 0
    for i in range(len(prefix), len(masked)):
        if masked[i] == "{":
            depth += 1
        elif masked[i] == "}":
            depth -= 1
            if depth == 0:
                return expr[len(prefix) :] if i == len(masked) - 1 else None
    return None


def _select(where: str, value: bool = False) -> str:
    return f"SELECT DISTINCT ?focus{' ?value' if value else ''} WHERE {{ {where} }}"


def _unique_lang_query(focus: str, path: PathPattern) -> str:
    return (
        f"SELECT DISTINCT ?focus (LCASE(LANG(?a)) AS ?lang) WHERE {{ {focus} {path('?focus', '?a')} "
        f"{path('?focus', '?b')} FILTER(isLiteral(?a) && isLiteral(?b) && !sameTerm(?a, ?b) && "
        f'LANG(?a) != "" && LCASE(LANG(?a)) = LCASE(LANG(?b))) }}'
    )


def _safe(expr: str) -> str:
    """An expression that is false, never an error (an error would let a value pass a NOT EXISTS)."""
    return f"COALESCE({expr}, false)"


# value tests: (compiler, shape, parameter value, var) → expression ------------------------------------


def _class(c: Compiler, shape: Node, cls: Node, var: str) -> str:
    classes = c.subclasses(_uri(cls))
    t = c.var()
    return (
        f"EXISTS {{ {var} a {t} . FILTER({t} IN ({', '.join(_term(k) for k in sorted(classes, key=str))})) }}"
    )


def _datatype(c: Compiler, shape: Node, dt: Node, var: str) -> str:
    dt = _uri(dt)
    if dt == RDF.langString:
        return _safe(f'isLiteral({var}) && LANG({var}) != ""')
    if dt == XSD.string:
        return _safe(f'isLiteral({var}) && sameTerm(DATATYPE({var}), {_iri(dt)}) && LANG({var}) = ""')
    if dt not in _CASTS:
        raise UnsupportedConstraint(f"sh:datatype {dt} (no well-formedness check)")
    wellformed = f"isLiteral({_iri(dt)}({var}))"
    return _safe(f"isLiteral({var}) && sameTerm(DATATYPE({var}), {_iri(dt)}) && {wellformed}")


_NODE_KINDS: dict[Node, str] = {
    SH.IRI: "isIRI({v})",
    SH.BlankNode: "isBlank({v})",
    SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "(isIRI({v}) || isBlank({v}))",
    SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
    SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))",
}


def _node_kind(c: Compiler, shape: Node, kind: Node, var: str) -> str:
    if kind not in _NODE_KINDS:
        raise UnsupportedConstraint(f"sh:nodeKind {kind}")
    return _NODE_KINDS[kind].format(v=var)


def _in(c: Compiler, shape: Node, head: Node, var: str) -> str:
    members = list(Collection(c.shapes, head))
    if not members:
        return "false"
    return "(" + " || ".join(f"sameTerm({var}, {_term(m)})" for m in members) + ")"


def _has_value_node(c: Compiler, shape: Node, value: Node, var: str) -> str:
    return f"sameTerm({var}, {_term(value)})"


def _language_in(c: Compiler, shape: Node, head: Node, var: str) -> str:
    ranges = [m for m in Collection(c.shapes, head)]
    if not all(isinstance(r, Literal) for r in ranges):
        raise UnsupportedConstraint("sh:languageIn with a non-literal")
    if not ranges:
        return "false"
    tests = " || ".join(f"langMatches(LANG({var}), {_term(Literal(str(r)))})" for r in ranges)
    return _safe(f"isLiteral({var}) && ({tests})")


def _length(op: str) -> Callable[[Compiler, Node, Node, str], str]:
    def build(c: Compiler, shape: Node, n: Node, var: str) -> str:
        count = _int(n)
        return _safe(f"!isBlank({var}) && STRLEN(STR({var})) {op} {count}")

    return build


def _pattern(c: Compiler, shape: Node, pattern: Node, var: str) -> str:
    flags = c.shapes.value(shape, SH.flags)
    args = f"STR({var}), {_term(Literal(str(pattern)))}"
    if flags is not None:
        args += f", {_term(Literal(str(flags)))}"
    return _safe(f"!isBlank({var}) && REGEX({args})")


def _compare(op: str) -> Callable[[Compiler, Node, Node, str], str]:
    def build(c: Compiler, shape: Node, bound: Node, var: str) -> str:
        if not isinstance(bound, Literal):
            raise UnsupportedConstraint(f"a range bound that is not a literal: {bound!r}")
        return _safe(f"{var} {op} {_term(bound)}")

    return build


def _node(c: Compiler, shape: Node, other: Node, var: str) -> str:
    return c.conforms(other, var)


def _not(c: Compiler, shape: Node, other: Node, var: str) -> str:
    return f"!({c.conforms(other, var)})"


def _members(c: Compiler, head: Node, var: str) -> list[str]:
    return [c.conforms(m, var) for m in Collection(c.shapes, head)]


def _and(c: Compiler, shape: Node, head: Node, var: str) -> str:
    return " && ".join(f"({m})" for m in _members(c, head, var)) or "true"


def _or(c: Compiler, shape: Node, head: Node, var: str) -> str:
    return " || ".join(f"({m})" for m in _members(c, head, var)) or "false"


def _xone(c: Compiler, shape: Node, head: Node, var: str) -> str:
    return "(" + " + ".join(f"IF({m}, 1, 0)" for m in _members(c, head, var)) + ") = 1"


def _property_conforms(c: Compiler, prop: Node, var: str) -> str:
    if c.path(prop) is None:
        raise UnsupportedConstraint(f"sh:property {_short(prop)} without sh:path")
    return c.conforms(prop, var)


# (predicate) → (component name, builder, whether a result names the value node)
_VALUE_TESTS: dict[URIRef, tuple[str, Callable[..., str], bool]] = {
    SH["class"]: ("Class", _class, True),
    SH.datatype: ("Datatype", _datatype, True),
    SH.nodeKind: ("NodeKind", _node_kind, True),
    SH["in"]: ("In", _in, True),
    SH.languageIn: ("LanguageIn", _language_in, True),
    SH.minLength: ("MinLength", _length(">="), True),
    SH.maxLength: ("MaxLength", _length("<="), True),
    SH.pattern: ("Pattern", _pattern, True),
    SH.minExclusive: ("MinExclusive", _compare(">"), True),
    SH.minInclusive: ("MinInclusive", _compare(">="), True),
    SH.maxExclusive: ("MaxExclusive", _compare("<"), True),
    SH.maxInclusive: ("MaxInclusive", _compare("<="), True),
    SH.node: ("Node", _node, True),
    SH["not"]: ("Not", _not, True),
    SH["and"]: ("And", _and, True),
    SH["or"]: ("Or", _or, True),
    SH.xone: ("Xone", _xone, True),
}


# focus tests of a property shape: (compiler, shape, path, parameter value, focus var) → expression -----


def _distinct_values(
    c: Compiler, var: str, path: PathPattern, n: int, test: Callable[[str], str] | None
) -> str:
    """A group pattern matching ``n`` pairwise distinct values of ``path`` (each passing ``test``)."""
    if n > _MAX_COUNT_ARITY:
        raise UnsupportedConstraint(f"a count of {n} (at most {_MAX_COUNT_ARITY} are compiled)")
    ys = [c.var() for _ in range(n)]
    parts = [path(var, y) for y in ys]
    filters = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(ys, 2)]
    if test is not None:
        filters += [f"({test(y)})" for y in ys]
    if filters:
        parts.append(f"FILTER({' && '.join(filters)})")
    return " ".join(parts)


def _min_count(c: Compiler, shape: Node, path: PathPattern, n: Node, var: str) -> str:
    count = _int(n)
    return "true" if count == 0 else f"EXISTS {{ {_distinct_values(c, var, path, count, None)} }}"


def _max_count(c: Compiler, shape: Node, path: PathPattern, n: Node, var: str) -> str:
    return f"NOT EXISTS {{ {_distinct_values(c, var, path, _int(n) + 1, None)} }}"


def _has_value(c: Compiler, shape: Node, path: PathPattern, value: Node, var: str) -> str:
    if isinstance(value, URIRef):  # an IRI matches by identity in the pattern itself
        return f"EXISTS {{ {path(var, _iri(value))} }}"
    y = c.var()
    return f"EXISTS {{ {path(var, y)} FILTER(sameTerm({y}, {_term(value)})) }}"


def _unique_lang(c: Compiler, shape: Node, path: PathPattern, flag: Node, var: str) -> str:
    if not (isinstance(flag, Literal) and flag.toPython() is True):
        return "true"  # uniqueLang false constrains nothing
    a, b = c.var(), c.var()
    return (
        f"NOT EXISTS {{ {path(var, a)} {path(var, b)} FILTER(isLiteral({a}) && isLiteral({b}) && "
        f'!sameTerm({a}, {b}) && LANG({a}) != "" && LCASE(LANG({a})) = LCASE(LANG({b}))) }}'
    )


def _qualified_min(c: Compiler, path: PathPattern, qvs: Node, n: Node, var: str) -> str:
    count = _int(n)
    if count == 0:
        return "true"
    test = lambda y: c.conforms(qvs, y)  # noqa: E731
    return f"EXISTS {{ {_distinct_values(c, var, path, count, test)} }}"


def _qualified_max(c: Compiler, path: PathPattern, qvs: Node, n: Node, var: str) -> str:
    test = lambda y: c.conforms(qvs, y)  # noqa: E731
    return f"NOT EXISTS {{ {_distinct_values(c, var, path, _int(n) + 1, test)} }}"


_FOCUS_TESTS: dict[URIRef, tuple[str, Callable[..., str]]] = {
    SH.minCount: ("MinCount", _min_count),
    SH.maxCount: ("MaxCount", _max_count),
    SH.hasValue: ("HasValue", _has_value),
    SH.uniqueLang: ("UniqueLang", _unique_lang),
}


# terms ------------------------------------------------------------------------------------------------


def _iri(node: Node) -> str:
    if not isinstance(node, URIRef) or any(ch in str(node) for ch in '<>"{}|^`\\ '):
        raise UnsupportedConstraint(f"not an IRI usable in SPARQL: {node!r}")
    return f"<{node}>"


def _uri(node: Node) -> URIRef:
    if not isinstance(node, URIRef):
        raise UnsupportedConstraint(f"expected an IRI, found {node!r}")
    return node


def _term(node: Node) -> str:
    if isinstance(node, URIRef):
        return _iri(node)
    if isinstance(node, Literal):
        if node.language:
            return f'"{_escape(str(node))}"@{node.language}'
        datatype = node.datatype or XSD.string
        return f'"{_escape(str(node))}"^^{_iri(datatype)}'
    raise UnsupportedConstraint(f"a blank node as a constant: {node!r}")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


def _int(node: Node) -> int:
    value = node.toPython() if isinstance(node, Literal) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UnsupportedConstraint(f"expected a non-negative integer, found {node!r}")
    return value


def _short(node: Node) -> str:
    text = str(node)
    return text.rsplit("#", 1)[-1] if "#" in text else text


# --- SHACL-SPARQL --------------------------------------------------------------------------------------

_VAR_THIS = re.compile(r"[?$]this\b")
_PREBOUND_OTHER = re.compile(r"\$(?!this\b)[A-Za-z_]")
_FORBIDDEN = re.compile(
    r"(?<![?$\w:])(MINUS|VALUES|SERVICE|GRAPH|GROUP|HAVING|LIMIT|OFFSET|ORDER|UNION)\b", re.IGNORECASE
)
_AGGREGATES = re.compile(r"(?<![?$\w:])(COUNT|SUM|MIN|MAX|AVG|SAMPLE|GROUP_CONCAT)\s*\(", re.IGNORECASE)


def _mask(text: str) -> str:
    """The query with strings, IRIs and comments blanked out (same length), for scanning its structure."""
    out = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif ch in "\"'":
            quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else ch
            j = i + len(quote)
            while j < n and text[j : j + len(quote)] != quote:
                j += 2 if text[j] == "\\" else 1
            j = min(n, j + len(quote))
            out.append(ch + " " * (j - i - 2) + ch if j - i >= 2 else " " * (j - i))
            i = j
        elif ch == "<" and re.match(r"<[^<>\"{}|^`\\\s]*>", text[i:]):
            j = text.index(">", i) + 1
            out.append("<" + " " * (j - i - 2) + ">")
            i = j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def batched_select(select: str) -> str | None:
    """The ``sh:select`` rewritten to run for all focus nodes at once, or None when that is not exact.

    SHACL pre-binds ``$this`` (§5.3.1). Joining the query's top-level group with a pattern binding
    ``?this`` gives the same solutions as long as every use of ``$this`` sits where that binding is
    visible: in the top-level group itself, or inside ``EXISTS``/``NOT EXISTS`` (evaluated per
    solution) or ``OPTIONAL`` (a left join sees the left side). Nested plain groups, ``UNION`` branches,
    sub-selects, ``MINUS``, ``VALUES``, aggregates and other pre-bound variables are refused.
    The returned query has a ``#TARGETS#`` placeholder for the focus-node pattern.
    """
    masked = _mask(select)
    if _PREBOUND_OTHER.search(masked) or _FORBIDDEN.search(masked) or _AGGREGATES.search(masked):
        return None
    if len(re.findall(r"\bSELECT\b", masked, re.IGNORECASE)) != 1:
        return None
    open_at = masked.find("{")
    if open_at < 0:
        return None
    depth, close_at = 0, -1
    for i in range(open_at, len(masked)):
        if masked[i] == "{":
            depth += 1
        elif masked[i] == "}":
            depth -= 1
            if depth == 0:
                close_at = i
                break
    if close_at < 0 or masked[close_at + 1 :].strip():
        return None
    if not _groups_safe(masked, open_at + 1, close_at):
        return None
    head = masked[:open_at]
    projection = re.search(r"\bSELECT\b(.*?)(\bWHERE\b|$)", head, re.IGNORECASE | re.DOTALL)
    if projection is None:
        return None
    body = select[open_at + 1 : close_at]
    header = select[:open_at]
    projected = projection.group(1)
    if "*" not in projected and not _VAR_THIS.search(projected):
        start = projection.start(1)
        modifier = re.match(r"\s*(DISTINCT|REDUCED)\b", projected, re.IGNORECASE)
        if modifier:
            start += modifier.end()
        header = header[:start] + " ?this " + header[start:]
    return _VAR_THIS.sub("?this", header + "{ #TARGETS# " + body + "}")


def _groups_safe(masked: str, start: int, end: int) -> bool:
    """Every nested group between ``start`` and ``end`` that mentions ``$this`` is under EXISTS or
    OPTIONAL (recursively for OPTIONAL, whose body is itself a group)."""
    i = start
    while i < end:
        if masked[i] != "{":
            i += 1
            continue
        depth, j = 0, i
        while j < end:
            if masked[j] == "{":
                depth += 1
            elif masked[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        before = masked[max(start, i - 20) : i].rstrip().upper()
        inner = masked[i + 1 : j]
        if before.endswith("EXISTS"):
            pass
        elif before.endswith("OPTIONAL"):
            if not _groups_safe(masked, i + 1, j):
                return False
        elif _VAR_THIS.search(inner):
            return False
        i = j + 1
    return True


# --- running ---------------------------------------------------------------------------------------


class StoreData:
    """The data graph: an Oxigraph store's default graph, or the union of some of its named graphs."""

    def __init__(self, store: ox.Store, graphs: Iterable[str] | None = None):
        self.store = store
        self.graphs = [ox.NamedNode(g) for g in graphs] if graphs is not None else None

    def select(self, sparql: str, **kwargs: Any) -> Any:
        if self.graphs is not None:
            kwargs["default_graph"] = self.graphs
        return self.store.query(sparql, **kwargs)

    def rows(self, sparql: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """The solutions as dicts of the variables they bind."""
        solutions = self.select(sparql, **kwargs)
        names = [v.value for v in solutions.variables]
        for solution in solutions:
            yield {name: solution[name] for name in names if solution[name] is not None}

    def subclass_closure(self) -> Callable[[URIRef], set[Node]]:
        """``rdfs:subClassOf*`` of the data graph, computed once."""
        parents: dict[Node, set[Node]] = defaultdict(set)
        for row in self.select(f"SELECT ?a ?b WHERE {{ ?a <{RDFS.subClassOf}> ?b }}"):
            parents[to_rdflib(row["b"])].add(to_rdflib(row["a"]))
        cache: dict[URIRef, set[Node]] = {}

        def below(cls: URIRef) -> set[Node]:
            if cls not in cache:
                seen: set[Node] = {cls}
                stack: list[Node] = [cls]
                while stack:
                    for sub in parents.get(stack.pop(), ()):
                        if sub not in seen:
                            seen.add(sub)
                            stack.append(sub)
                cache[cls] = seen
            return cache[cls]

        return below


def targeted_shapes(shapes: Graph) -> list[Node]:
    found = {s for t in (*_TARGETS, SH.target) for s in shapes.subjects(t, None)}
    for kind in _SHAPE_TYPES:
        found |= {s for s in shapes.subjects(RDF.type, kind) if (s, RDF.type, RDFS.Class) in shapes}
    return sorted(found, key=str)


def validate_compiled(
    data: StoreData,
    shapes: Graph,
    *,
    sparql_constraints: Iterable[Any] = (),
    focus: Iterable[str] | None = None,
) -> CompiledValidation:
    """Validate ``data`` against every targeted shape that compiles; report the others as fallback.

    ``shapes`` holds the core constraints; ``sparql_constraints`` are the ``sh:sparql`` constraints
    taken out of them (:class:`kg.checks.validation.SparqlConstraint`), evaluated here on the store too. A
    shape that falls back takes its SPARQL constraints along: pySHACL then validates all of it.
    ``focus`` restricts validation to those focus nodes (each shape still validates only its own
    targets among them), as the guard of a write needs.
    """
    prepared = prepare(data, shapes, sparql_constraints=sparql_constraints, focused=focus is not None)
    return run_prepared(prepared, data, focus)


def prepare(
    data: StoreData, shapes: Graph, *, sparql_constraints: Iterable[Any] = (), focused: bool = False
) -> Prepared:
    """Compile every targeted shape (``focused``: for focus nodes given at run time)."""
    sparql_constraints = list(sparql_constraints)
    compiler = Compiler(shapes, data.subclass_closure(), {c.shape for c in sparql_constraints}, focused)
    plans: list[tuple[Node, list[Query]]] = []
    fallback: dict[Node, str] = {}
    for shape in targeted_shapes(shapes):
        try:
            plans.append((shape, compiler.queries(shape)))
        except UnsupportedConstraint as exc:
            fallback[shape] = str(exc)
    for constraint in sparql_constraints:
        if compiler.path(constraint.shape) is not None or "$PATH" in constraint.body:
            fallback[constraint.shape] = "sh:sparql on a property shape"
    for shape, why in fallback.items():
        log.debug("SHACL shape %s is not compiled (%s): pySHACL validates it", shape, why)
    return Prepared(compiler, plans, sparql_constraints, fallback)


def run_prepared(
    prepared: Prepared, data: StoreData, focus: Iterable[str] | None = None
) -> CompiledValidation:
    """Run compiled shapes over ``data`` (for ``focus`` nodes when they were compiled ``focused``)."""
    compiler = prepared.compiler
    nodes = ""
    if compiler.focused:
        if focus is None:
            raise ValueError("these shapes were compiled for focus nodes: give them")
        nodes = " ".join(_iri(URIRef(n)) for n in sorted(set(focus)))
    out = CompiledValidation(results=[], fallback=dict(prepared.fallback))
    for shape, queries in prepared.plans:
        if shape in out.fallback:
            continue
        for q in queries:
            out.queries += 1
            messages = compiler.messages(q.shape)
            severity = compiler.severity(q.shape)  # per source shape: nested shapes have their own
            for row in data.select(q.sparql.replace(FOCUS_NODES, nodes)):
                node = to_rdflib(row["focus"])
                value: Node | None = None
                if q.with_value:
                    value = to_rdflib(row["value"]) if q.path is not None else node
                out.results.append(Found(node, q.shape, q.component, severity, q.path, value, messages))
    for constraint in prepared.sparql:
        if constraint.shape not in out.fallback:
            out.results.extend(_run_sparql(data, compiler, constraint, nodes))
            out.queries += 1
    return out


def _run_sparql(data: StoreData, compiler: Compiler, constraint: Any, nodes: str = "") -> Iterator[Found]:
    if constraint.deactivated or compiler.deactivated(constraint.shape):
        return
    pattern = compiler.targets(constraint.shape, "?this").replace(FOCUS_NODES, nodes)
    if not pattern:
        return
    batched = batched_select(constraint.body)
    rows: Iterable[dict[str, Any]]
    if batched is not None:
        focus = f"{{ SELECT DISTINCT ?this WHERE {{ {pattern} }} }}"
        rows = data.rows(constraint.prefixes + batched.replace("#TARGETS#", focus))
    else:
        log.debug("sh:sparql of %s runs once per focus node (not batchable)", constraint.shape)
        rows = _per_node(data, constraint, pattern)
    for bound in rows:
        this = bound.get("this")
        if this is None:
            continue
        value = bound.get("value")
        path = bound.get("path")
        messages = tuple(
            Literal(substitute_message(str(m), bound, this), lang=m.language) for m in constraint.messages
        )
        yield Found(
            focus=to_rdflib(this),
            shape=constraint.shape,
            component=SH.SPARQLConstraintComponent,
            severity=constraint.severity,
            path=to_rdflib(path) if path is not None else None,
            value=to_rdflib(value) if value is not None else to_rdflib(this),
            messages=messages,
            source_constraint=constraint.node,
        )


def _per_node(data: StoreData, constraint: Any, pattern: str) -> Iterator[dict[str, Any]]:
    nodes = [row["this"] for row in data.rows(f"SELECT DISTINCT ?this WHERE {{ {pattern} }}")]
    query = constraint.prefixes + constraint.body
    for node in nodes:
        for bound in data.rows(query, substitutions={ox.Variable("this"): node}):
            bound["this"] = node
            yield bound
