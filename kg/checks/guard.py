"""The guard: check a change (triples to add and to remove) against the shapes, in context, with reasoning.

A :class:`Guard` holds the current graph (asserted triples, their OWL 2 RL inferences, the shapes) in
memory. :meth:`Guard.check` works out what the change does to the inferences, then validates the nodes
the change touches (subjects and objects of added, removed or newly inferred triples, and the nodes
pointing at them) in the context of the whole graph. The guard's graph is left as it was;
:meth:`Guard.apply` makes a checked change part of it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.term import Node

from kg.checks.reasoning import RuleReasoner, Triple, asserted_triples, owlrl_closure
from kg.checks.report import Report
from kg.checks.validation import FocusedValidation
from kg.engine.local import OxigraphStore
from kg.errors import ShapesError, UnsupportedAxiom
from kg.rdf.names import SH, Names
from kg.rdf.terms import to_quads, triples_to_graph


@dataclass
class Checked:
    """A change and what it does: the report, and the inferences it adds and removes."""

    additions: set[Triple]
    removals: set[Triple]
    inferred_added: set[Triple]
    inferred_removed: set[Triple]
    report: Report
    focus: list[str]


class Guard:
    def __init__(
        self,
        ontology: Graph,
        asserted: Iterable[Triple],
        inferred: Iterable[Triple],
        shapes: Graph,
        mirror: ox.Store | None = None,
    ):
        self.ontology = ontology
        self.shapes = shapes
        self.asserted = set(asserted)
        self.inferred = set(inferred)
        self._object_targets = set(shapes.objects(None, SH.targetObjectsOf))
        if (None, SH.inversePath, None) in shapes:
            raise ShapesError("the guard assumes no sh:inversePath in the shapes (see Guard._focus)")
        # asserted + inferred in Oxigraph (its default graph): the data graph the shapes validate, by
        # SPARQL compiled from them (kg.checks.compiled) restricted to the nodes a change touches
        self.mirror = mirror if mirror is not None else mirror_of(self.asserted | self.inferred)
        self.validation = FocusedValidation(self.mirror, shapes)  # the shapes compiled once
        try:
            self.reasoner: RuleReasoner | None = RuleReasoner(ontology)
        except UnsupportedAxiom:
            self.reasoner = None
        # the transitive properties' edges, kept up to date by apply() (extend() reads it)
        self._index = self.reasoner.transitive_index(self.asserted | self.inferred) if self.reasoner else None
        self._lock = threading.Lock()

    @classmethod
    def from_store(cls, store: OxigraphStore) -> Guard:
        return cls.from_dataset(store.names, store.raw)

    @classmethod
    def from_dataset(cls, names: Names, dataset: ox.Store) -> Guard:
        """The guard over a dataset laid out as the build lays it out (ontology, shapes, source and
        inferred graphs)."""

        def quads(graph: str) -> Iterator[ox.Quad]:
            return dataset.quads_for_pattern(None, None, None, ox.NamedNode(graph))

        sources = [g.value for g in dataset.named_graphs() if names.is_source_graph(g.value)]
        reasoned = [names.ontology_graph, *sorted(sources)]
        terms: dict[Any, Node] = {}  # each term converted once, shared by both sets
        asserted = asserted_triples((q for graph in reasoned for q in quads(graph)), terms)
        inferred = asserted_triples(quads(names.inferred_graph), terms)
        mirror = ox.Store()  # straight from the dataset, no round trip through rdflib
        mirror.bulk_extend(
            ox.Quad(q.subject, q.predicate, q.object)
            for graph in [*reasoned, names.inferred_graph]
            for q in quads(graph)
        )
        return cls(
            ontology=triples_to_graph(quads(names.ontology_graph)),
            asserted=asserted,
            inferred=inferred,
            shapes=triples_to_graph(quads(names.shapes_graph)),
            mirror=mirror,
        )

    def advance(
        self,
        additions: Iterable[Triple],
        removals: Iterable[Triple],
        inferred_added: Iterable[Triple],
        inferred_removed: Iterable[Triple],
    ) -> None:
        """Make a change another writer committed (and checked) part of the guard's graph."""
        add, remove = set(additions), set(removals)
        self.apply(
            Checked(
                additions=add - self.asserted,
                removals=remove & self.asserted,
                inferred_added=set(inferred_added) - self.inferred,
                inferred_removed=set(inferred_removed) & self.inferred,
                report=Report(True, [], Graph()),
                focus=[],
            )
        )

    def _closure_after(
        self, additions: set[Triple], removals: set[Triple]
    ) -> tuple[set[Triple], set[Triple]]:
        """(inferences added, inferences removed) by the change."""
        if self.reasoner is not None and not removals:
            # what is known, without copying the graph: extend() grows the overlay, not our state
            known = _Overlay(self.asserted, self.inferred)
            new = [t for t in additions if t not in known]
            for t in new:
                known.add(t)
            derived = self.reasoner.extend(known, new, self._index)
            return derived - additions - self.inferred, set()
        # Deletions can retract inferences; recomputing is exact (linear in the graph: a removal at
        # 1M triples costs seconds, where an addition costs milliseconds)
        after = (self.asserted | additions) - removals
        closure = set(owlrl_closure(_graph(after))) if self.reasoner is None else self.reasoner.closure(after)
        closure -= after
        return closure - self.inferred, self.inferred - closure

    def check(self, additions: Iterable[Triple] = (), removals: Iterable[Triple] = ()) -> Checked:
        """Validate the graph as it would be after the change; the guard's graph does not change."""
        add = set(additions) - self.asserted
        remove = set(removals) & self.asserted
        with self._lock:
            inferred_added, inferred_removed = self._closure_after(add, remove)
            focus = self._focus(add | inferred_added, remove | inferred_removed)
            plus = [q for q in to_quads(add | inferred_added) if q not in self.mirror]
            minus = [
                q for q in to_quads((remove | inferred_removed) - (add | inferred_added)) if q in self.mirror
            ]
            # Validate in place (copying the graph would cost more than the check), then restore.
            self.mirror.extend(plus)
            for q in minus:
                self.mirror.remove(q)
            try:
                report = self.validation.validate(focus)
            finally:
                self.mirror.extend(minus)
                for q in plus:
                    self.mirror.remove(q)
        return Checked(add, remove, inferred_added, inferred_removed, report, focus)

    def apply(self, checked: Checked) -> None:
        """Make a checked change part of the guard's graph."""
        with self._lock:
            for q in to_quads(checked.removals | checked.inferred_removed):
                self.mirror.remove(q)
            self.mirror.extend(to_quads(checked.additions | checked.inferred_added))
            self.asserted -= checked.removals
            self.asserted |= checked.additions
            self.inferred -= checked.inferred_removed
            self.inferred |= checked.inferred_added
            if self._index is not None:
                successors, predecessors = self._index
                for s, p, o in checked.removals | checked.inferred_removed:
                    if (s, p, o) not in self.asserted and (s, p, o) not in self.inferred:
                        successors.get(p, {}).get(s, set()).discard(o)
                        predecessors.get(p, {}).get(o, set()).discard(s)
                for s, p, o in checked.additions | checked.inferred_added:
                    if self.reasoner is not None and p in self.reasoner.transitive:
                        successors[p][s].add(o)
                        predecessors[p][o].add(s)

    def _focus(self, added: set[Triple], removed: set[Triple]) -> list[str]:
        """The subjects of what changes, and the nodes pointing at a node that loses a fact.

        Removing a fact can break a node that refers to its subject (a facility whose capacity loses
        its unit); adding one can only break the nodes it names. Rules across unlinked nodes (an age group and
        the population of its area) are written in the shapes from both sides, so either end fires.
        """
        nodes: set[URIRef] = set()
        losing: set[URIRef] = set()  # nodes that lose a property or a type
        for s, p, o in added | removed:
            if isinstance(s, URIRef):
                nodes.add(s)
            # an object gains or loses only an incoming link, which the shapes do not constrain
            # (no inverse paths) — unless the link makes it a target (sh:targetObjectsOf)
            if p in self._object_targets and isinstance(o, URIRef):
                nodes.add(o)
        for s, _, _ in removed:
            if isinstance(s, URIRef):
                losing.add(s)
        pointing = {
            URIRef(q.subject.value)
            for n in losing
            for q in self.mirror.quads_for_pattern(None, None, ox.NamedNode(str(n)), None)
            if isinstance(q.subject, ox.NamedNode)
        }
        return sorted(str(n) for n in nodes | pointing if not _is_vocabulary(n))


class _Overlay:
    """Sets read together, and what is added to them, kept apart (they do not change)."""

    def __init__(self, *bases: set[Triple]):
        self.bases = bases
        self.added: set[Triple] = set()

    def __contains__(self, triple: object) -> bool:
        return triple in self.added or any(triple in base for base in self.bases)

    def add(self, triple: Triple) -> None:
        self.added.add(triple)


def mirror_of(graph: Iterable[Triple]) -> ox.Store:
    """An in-memory Oxigraph store holding ``graph``'s triples in its default graph."""
    store = ox.Store()
    store.bulk_extend(to_quads(graph))
    return store


def _graph(triples: Iterable[Triple]) -> Graph:
    g = Graph()
    for t in triples:
        g.add(t)
    return g


def _is_vocabulary(node: URIRef) -> bool:
    # Classes, properties and concepts are not validated as data when a change merely mentions them.
    text = str(node)
    return "/def/" in text or not text.startswith(("http://", "https://")) or _is_standard(text)


def _is_standard(text: str) -> bool:
    return text.startswith(
        (
            "http://www.w3.org/",
            "http://schema.org/",
            "http://purl.org/",
            "http://qudt.org/",
            "http://xmlns.com/",
            "http://www.opengis.net/",
            "http://rdfs.org/",
        )
    )
