"""OWL 2 RL reasoning. The closure's new triples go to their own graph, never mixed in.

Two engines give the same closure:

* :class:`RuleReasoner` compiles the ontology (the TBox) once and forward-chains the OWL 2 RL rules
  this ontology's axioms can fire: class and property hierarchies (cax-sco, cax-eqc, prp-spo1,
  prp-eqp), domains and ranges (prp-dom, prp-rng), inverse, symmetric and transitive properties
  (prp-inv, prp-symp, prp-trp), and the schema rules that close the TBox itself (scm-sco, scm-spo,
  scm-dom, scm-rng, scm-eqc, scm-eqp). It is incremental: :meth:`RuleReasoner.extend` derives only what
  new triples add. An ontology with any other OWL construct (restrictions, property chains,
  functional properties, sameAs, …) is refused with :class:`UnsupportedAxiom`, and the owlrl engine is used.
* :func:`owlrl_closure` runs owlrl's full OWL 2 RL closure; the test suite checks both engines agree on
  the city data.

Both drop the closure's axiomatic triples about the RDF, RDFS, OWL and XSD vocabularies themselves and
trivialities every individual gets (``owl:sameAs`` itself, ``rdf:type owl:Thing``, triples about
literals): they say nothing about the city (see :func:`is_noise`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

import owlrl
from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import UnsupportedAxiom
from kg.rdf.terms import to_rdflib

Triple = tuple[Node, Node, Node]
TransitiveIndex = tuple[dict[Node, dict[Node, set[Node]]], dict[Node, dict[Node, set[Node]]]]


class Known(Protocol):
    """What the rules need of the set of known triples: membership and adding."""

    def __contains__(self, triple: object) -> bool: ...

    def add(self, triple: Triple) -> None: ...


_BUILTIN_PREFIXES = (str(RDF), str(RDFS), str(OWL), str(XSD), "http://www.w3.org/ns/shacl#")
_TRIVIAL_TYPES = {OWL.Thing, RDFS.Resource, OWL.NamedIndividual}
_REFLEXIVE = {OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty, RDFS.subClassOf, RDFS.subPropertyOf}

# Constructs the rule engine handles. Any other OWL term in the ontology means owlrl must be used.
_SUPPORTED_OWL = {
    OWL.Class,
    OWL.Ontology,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.AnnotationProperty,
    OWL.TransitiveProperty,
    OWL.SymmetricProperty,
    OWL.inverseOf,
    OWL.equivalentClass,
    OWL.equivalentProperty,
    OWL.versionIRI,
    OWL.versionInfo,
    OWL.priorVersion,
    OWL.imports,
    OWL.NamedIndividual,
    OWL.Thing,
    OWL.deprecated,
    OWL.backwardCompatibleWith,
    OWL.incompatibleWith,
}


def is_noise(s: Node, p: Node, o: Node) -> bool:
    if not isinstance(s, URIRef) or str(s).startswith(_BUILTIN_PREFIXES):
        return True
    if isinstance(o, BNode):
        return True
    if p in _REFLEXIVE and s == o:
        return True
    if p == RDF.type and (o in _TRIVIAL_TYPES or isinstance(o, Literal)):
        return True
    if p == RDF.type and isinstance(o, URIRef) and str(o).startswith(str(XSD)):
        return True
    return p in (RDFS.subClassOf, RDFS.domain, RDFS.range) and o in (OWL.Thing, RDFS.Resource)


def owlrl_closure(asserted: Graph) -> Graph:
    """Return the triples owlrl's OWL 2 RL closure adds to ``asserted``, minus vocabulary noise."""
    closure = Graph()
    for triple in asserted:
        closure.add(triple)
    semantics = owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False)
    semantics.expand(closure)
    inferred = Graph()
    for s, p, o in closure:
        if (s, p, o) not in asserted and not is_noise(s, p, o):
            inferred.add((s, p, o))
    return inferred


def _closure(edges: dict[Node, set[Node]]) -> dict[Node, set[Node]]:
    """Transitive closure (not reflexive) of a small relation, node by node."""
    result: dict[Node, set[Node]] = {}
    for start in list(edges):
        seen: set[Node] = set()
        stack = list(edges[start])
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            stack.extend(edges.get(node, ()))
        result[start] = seen
    return result


class RuleReasoner:
    """The OWL 2 RL rules this ontology needs, compiled from its TBox."""

    def __init__(self, ontology: Graph):
        self._check_supported(ontology)
        sub_class: dict[Node, set[Node]] = defaultdict(set)
        sub_prop: dict[Node, set[Node]] = defaultdict(set)
        for c, d in ontology.subject_objects(RDFS.subClassOf):
            sub_class[c].add(d)
        for c, d in ontology.subject_objects(OWL.equivalentClass):
            sub_class[c].add(d)
            sub_class[d].add(c)
        for p, q in ontology.subject_objects(RDFS.subPropertyOf):
            sub_prop[p].add(q)
        for p, q in ontology.subject_objects(OWL.equivalentProperty):
            sub_prop[p].add(q)
            sub_prop[q].add(p)
        self.super_classes = _closure(sub_class)
        self.super_props = _closure(sub_prop)
        self.domains: dict[Node, set[Node]] = defaultdict(set)
        self.ranges: dict[Node, set[Node]] = defaultdict(set)
        for p, c in ontology.subject_objects(RDFS.domain):
            self.domains[p].add(c)
        for p, c in ontology.subject_objects(RDFS.range):
            self.ranges[p].add(c)
        self.inverse: dict[Node, set[Node]] = defaultdict(set)
        for p, q in ontology.subject_objects(OWL.inverseOf):
            self.inverse[p].add(q)
            self.inverse[q].add(p)
        self.transitive = set(ontology.subjects(RDF.type, OWL.TransitiveProperty))
        self.symmetric = set(ontology.subjects(RDF.type, OWL.SymmetricProperty))
        self.tbox = self._tbox_closure(ontology)

    @staticmethod
    def _check_supported(ontology: Graph) -> None:
        for s, p, o in ontology:
            for term in (p, o) if p == RDF.type else (p,):
                if isinstance(term, URIRef) and str(term).startswith(str(OWL)) and term not in _SUPPORTED_OWL:
                    raise UnsupportedAxiom(f"{term} (on {s}) is outside the rule engine; use owlrl")

    def _tbox_closure(self, ontology: Graph) -> set[Triple]:
        """scm-sco, scm-spo, scm-dom1/2, scm-rng1/2, scm-eqc1, scm-eqp1 over the ontology."""
        out: set[Triple] = set()
        for c, supers in self.super_classes.items():
            out |= {(c, RDFS.subClassOf, d) for d in supers}
        for p, supers in self.super_props.items():
            out |= {(p, RDFS.subPropertyOf, q) for q in supers}
        # Domains and ranges are inherited down the property hierarchy and widened up the class one.
        props = set(self.domains) | set(self.ranges) | set(self.super_props)
        for p in props:
            for q in {p} | self.super_props.get(p, set()):
                for c in self.domains.get(q, ()):
                    out.add((p, RDFS.domain, c))
                    out |= {(p, RDFS.domain, d) for d in self.super_classes.get(c, ())}
                for c in self.ranges.get(q, ()):
                    out.add((p, RDFS.range, c))
                    out |= {(p, RDFS.range, d) for d in self.super_classes.get(c, ())}
        return {t for t in out if t not in ontology and not is_noise(*t)}

    def closure(self, asserted: Iterable[Triple], *, consume: bool = False) -> set[Triple]:
        """Every triple the rules derive from ``asserted`` (ABox), TBox closure included.

        With ``consume`` and a set, that set itself is used as the working set and grows with the
        derived triples (no copy: the build hands over a million asserted triples it no longer needs).
        """
        known = asserted if consume and isinstance(asserted, set) else set(asserted)
        tbox = {t for t in self.tbox if t not in known}
        derived = self.extend(known, list(known))
        return derived | tbox

    def transitive_index(self, triples: Iterable[Triple]) -> TransitiveIndex:
        """(successors, predecessors) per transitive property, over ``triples``."""
        by_pred: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
        by_pred_obj: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
        for s, p, o in triples:
            if p in self.transitive:
                by_pred[p][s].add(o)
                by_pred_obj[p][o].add(s)
        return by_pred, by_pred_obj

    def extend(
        self, known: Known, new: Iterable[Triple], index: TransitiveIndex | None = None
    ) -> set[Triple]:
        """Derive what ``new`` adds to ``known`` (a closed set that holds ``new``); ``known`` grows.

        ``index``, the transitive index of ``known`` kept by the caller, saves building it from
        ``known`` (a pass over the whole graph); it is read, never changed.
        """
        if index is None:
            index = self.transitive_index(known)  # type: ignore[arg-type]  # known is a set here
            by_pred, by_pred_obj = index
        else:
            by_pred, by_pred_obj = _layered(index[0]), _layered(index[1])
        derived: set[Triple] = set()
        queue = list(new)
        for s, p, o in queue:  # the new triples are known: transitive chains run through them too
            if p in self.transitive:
                by_pred[p][s].add(o)
                by_pred_obj[p][o].add(s)

        def add(t: Triple) -> None:
            if t not in known:
                known.add(t)
                derived.add(t)
                queue.append(t)
                s, p, o = t
                if p in self.transitive:
                    by_pred[p][s].add(o)
                    by_pred_obj[p][o].add(s)

        while queue:
            s, p, o = queue.pop()
            if p == RDF.type:
                for d in self.super_classes.get(o, ()):
                    add((s, RDF.type, d))
                continue
            for q in self.super_props.get(p, ()):
                add((s, q, o))
            for c in self.domains.get(p, ()):
                add((s, RDF.type, c))
            if not isinstance(o, Literal):
                for c in self.ranges.get(p, ()):
                    add((o, RDF.type, c))
                for q in self.inverse.get(p, ()):
                    add((o, q, s))
                if p in self.symmetric:
                    add((o, p, s))
                if p in self.transitive:
                    for z in list(by_pred[p].get(o, ())):
                        add((s, p, z))
                    for w in list(by_pred_obj[p].get(s, ())):
                        add((w, p, o))
        return {t for t in derived if not is_noise(*t)}


class _Layer(dict[Node, set[Node]]):
    """One property's edges: a base kept by the caller, read-only, under the edges added here (kept
    apart: a district's thousands of members are never copied to add one)."""

    def __init__(self, base: dict[Node, set[Node]]):
        super().__init__()
        self.base = base

    def __missing__(self, key: Node) -> set[Node]:
        value = self[key] = set()
        return value

    def get(self, key: Node, default: Any = None) -> Any:  # type: ignore[override]
        base = self.base.get(key)
        added = dict.get(self, key)
        if added is None:
            return base if base is not None else default
        return added if base is None else base | added


def _layered(index: dict[Node, dict[Node, set[Node]]]) -> dict[Node, dict[Node, set[Node]]]:
    layers: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: _Layer({}))
    for p, edges in index.items():
        layers[p] = _Layer(edges)
    return layers


def asserted_triples(quads: Iterable[Any], terms: dict[Any, Node] | None = None) -> set[Triple]:
    """Oxigraph quads as a set of rdflib term triples, each distinct term one object (interned).

    The rules need nothing but tuples; an rdflib ``Graph`` of the same triples (three nested-dict
    indexes) takes several times the memory. ``terms`` shares the interning across calls.
    """
    terms = {} if terms is None else terms

    def term(t: Any) -> Node:
        found = terms.get(t)
        if found is None:
            found = terms[t] = to_rdflib(t)
        return found

    return {(term(q.subject), term(q.predicate), term(q.object)) for q in quads}


def materialize(asserted: Graph, ontology: Graph | None = None) -> Graph:
    """The OWL 2 RL inferences of ``asserted`` (which holds the ontology), by rules where possible.

    ``ontology`` (the TBox) selects the rule engine; without it, or when it uses constructs outside
    the rules, owlrl computes the full closure.
    """
    if ontology is not None:
        try:
            reasoner = RuleReasoner(ontology)
        except UnsupportedAxiom:
            return owlrl_closure(asserted)
        inferred = Graph()
        for t in reasoner.closure(asserted):
            inferred.add(t)
        return inferred
    return owlrl_closure(asserted)
