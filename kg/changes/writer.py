"""Validated, durable writes: plan a change, check it with the guard, commit it, log it, revert it.

The :class:`Writer` owns the durable store (Oxigraph on disk) and an in-memory working copy of it.

* **Plan.** A SPARQL Update is run on the working copy, under the write lock; the difference before /
  after is the change (quads added and removed), and the working copy is put back. Graph Store
  requests (add, replace, delete a graph) are planned directly. ``LOAD`` is refused (no outbound or
  file access); blank nodes are refused (a change must be correctable and revertible, so every node
  needs an IRI), or, with ``skolemize``, replaced by fresh Skolem IRIs ``<base>.well-known/genid/…``
  (RDF 1.1 Concepts §3.5; the Graph Store maps them back to blank nodes when it serves a graph);
  only the writable graphs may change (the source graphs by default: never the
  ontology, the shapes, the inferences or the change log).
* **Check.** The guard (:mod:`kg.checks.guard`) reasons over what the change touches and validates the nodes
  it affects, in the context of the whole graph. Any ``sh:Violation`` refuses the change; warnings
  and infos are returned with the accepted change.
* **Commit.** One SPARQL Update operation carries the change, the change it makes to the inferred
  graph and the change record, conditioned on the store's version (``ak:version``, the sequence number
  of the last change) being the one the change was validated against
  (:func:`kg.changes.durable.versioned_update`).
  It is applied to the durable store first (atomically: a crash leaves all of it or none; once it
  returns, a killed process keeps it), then to the query engine (one transaction there too, so
  readers see all of it or nothing). Writes in one process are serialised by a lock; writers in
  several processes over one store (:class:`kg.changes.durable.RemoteStore`) are serialised by the version: a
  writer that lost the race committed nothing, catches up with the changes logged since (``sync``),
  plans and validates again. So no two writers can each pass validation and together break a shape.
* **Log.** Each change is a ``prov:Activity`` in the changes graph: its sequence number, who (the
  token's name), when, the operation, an optional source and comment, and every quad added and
  removed (``ak:addition``/``ak:removal``) and every inference it added or withdrew
  (``ak:inferredAddition``/``ak:inferredRemoval``) as an ``rdf:Statement`` with ``ak:graph`` —
  queryable by SPARQL, enough to revert it, and enough for another writer to catch up exactly.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import pyoxigraph as ox
from rdflib import Graph

from kg.changes import log
from kg.changes.durable import (
    CLAIM_LEASE_S,
    Durable,
    LocalDurable,
    read_version,
    version_quad,
    versioned_update,
)
from kg.changes.model import Change, Outcome, now
from kg.checks.guard import Checked, Guard
from kg.checks.reasoning import Triple
from kg.checks.report import Report
from kg.engine.local import OxigraphStore
from kg.errors import (
    ChangeRejected,
    KGError,
    NotFound,
    ProtectedGraph,
    QuerySyntaxError,
    StoreChanged,
    UsageError,
    WriteConflict,
    WriteRefused,
)
from kg.rdf.complexity import Limits
from kg.rdf.names import Names
from kg.rdf.sparql import data_operations, with_using
from kg.rdf.stacks import on_deep_stack
from kg.rdf.terms import to_quads, to_rdflib

Quad = ox.Quad
logger = logging.getLogger("alatau_kg.writes")
Precondition = Callable[[ox.Store], None]  # given the working copy before each planning; raises to refuse
Annotate = Callable[[ox.NamedNode], Iterable[Quad]]  # more quads for a change's record, from its IRI


class Writer:
    """Plans, checks and commits changes to one durable store, keeping an engine in step."""

    #: how many times a change is planned and checked again after losing a race to another writer
    attempts = 20

    def __init__(
        self,
        durable: OxigraphStore | Durable,
        names: Names,
        *,
        write_graphs: str = "",
        guard: bool = True,
        skolemize: bool = False,
        publish: Callable[[str], None] | None = None,
        limits: Limits | None = None,
    ):
        self.durable: Durable = LocalDurable(durable) if isinstance(durable, OxigraphStore) else durable
        self.names = names
        self.prefixes = write_graphs.split() or [names.source_graph_base]
        self.publish = publish  # applies a committed SPARQL update to the query engine
        # called with the new version once a commit has reached the engine, before it is acknowledged
        # (the web layer's result caches move on: kg.changes.versions)
        self.committed: list[Callable[[int], None]] = []
        self.limits = limits or Limits()  # an update past them is refused before pyoxigraph parses it
        self._lock = threading.RLock()
        self.working = ox.Store()
        self.working.bulk_extend(self.durable.quads())
        self.version = read_version(LocalDurable(self.working), names)
        self.guard = Guard.from_dataset(names, self.working) if guard else None
        self.caught_up = 0  # changes by other writers applied here (sync)
        # Blank nodes written become these IRIs (None: blank nodes are refused). A blank node cannot
        # be committed as it is: INSERT DATA gives it a fresh identity in each store it reaches, and
        # DELETE DATA cannot name it, so it could never be removed, corrected or reverted.
        self.skolem_base: str | None = names.base + ".well-known/genid/" if skolemize else None
        self._protected = {
            names.ontology_graph,
            names.shapes_graph,
            names.inferred_graph,
            names.changes_graph,
            names.graph_base + "locks",
        }

    # --- planning ----------------------------------------------------------------------------------

    def _planned(self, plan: Callable[[], Change], precondition: Precondition | None = None) -> Change:
        """``plan()`` run on the current graph (caught up first), remembering the version it saw and
        how to plan it again if another writer commits before this change does. ``precondition``
        is given the working copy (under the write lock) before every planning, and may refuse."""
        with self._lock:
            self.sync()
            if precondition is not None:
                precondition(self.working)
            change = plan()
            change.base_version = self.version
            change.replan = lambda: self._planned(plan, precondition)
            return change

    def plan_update(
        self,
        sparql: str,
        *,
        using: list[str] | None = None,
        using_named: list[str] | None = None,
        precondition: Precondition | None = None,
        base: str | None = None,
    ) -> Change:
        """The change a SPARQL Update would make (nothing is stored). An update past :attr:`limits` is
        refused (:class:`QueryTooComplex`) before pyoxigraph sees it; pyoxigraph parses and runs it
        on a deep stack (:mod:`kg.rdf.stacks`): in this process, a stack overflow would end it.
        Relative IRIs resolve against ``base`` (the service's: SPARQL 1.1 Query §4.1.1.1, which the
        update language shares), unless the update declares its own ``BASE``."""
        self.limits.check_text(sparql, what="update")
        text = with_using(sparql, using or [], using_named or [])
        return self._planned(lambda: self._plan_update_now(text, base), precondition)

    def _plan_update_now(self, text: str, base: str | None = None) -> Change:
        with self._lock:
            fast = self._plan_data_only(text, base)
            if fast is not None:
                fast.added = self._skolemized(fast.added)
                return fast
            before = set(self.working)
            try:
                on_deep_stack(lambda: self.working.update(text, base_iri=base))
            except SyntaxError as exc:
                raise QuerySyntaxError(f"SPARQL Update syntax error: {exc.msg or exc}") from exc
            except ValueError as exc:  # the base IRI (from the request's Host) is not an IRI
                raise UsageError(f"the update cannot be resolved against its base: {exc}") from exc
            except OSError as exc:
                raise WriteRefused(f"the update failed: {exc}", code="update_failed") from exc
            after = set(self.working)
            change = Change(added=after - before, removed=before - after, operation="update")
            self._restore(change)
        change.added = self._skolemized(change.added)
        return change

    def _plan_data_only(self, text: str, base: str | None = None) -> Change | None:
        """The change of an update made only of INSERT DATA / DELETE DATA, in O(size of the change).

        Each operation's quads come from running it as INSERT DATA on an empty store (the update's
        own parser, prefixes and base); they are then applied in order against the working copy's
        membership. Any other update (with WHERE, LOAD, CLEAR…), or a syntax error, returns None: the
        general plan then runs the update on the working copy and diffs it (exact, O(graph)).
        """
        operations = data_operations(text)
        if operations is None:
            return None
        try:  # the engine's own parser decides what is valid, as in the general plan
            on_deep_stack(lambda: ox.Store().update(text, base_iri=base))
        except (SyntaxError, OSError, ValueError):
            return None
        change = Change(operation="update")
        for kind, standalone in operations:
            scratch = ox.Store()
            try:
                on_deep_stack(partial(scratch.update, standalone, base_iri=base))
            except (SyntaxError, OSError, ValueError):
                return None
            for q in scratch:
                if kind == "DELETE":
                    if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode):
                        return None  # not allowed in DELETE DATA: let the engine say so
                    if q in change.added:
                        change.added.discard(q)
                    elif q in self.working:
                        change.removed.add(q)
                elif q in change.removed:
                    change.removed.discard(q)
                elif q not in self.working:
                    change.added.add(q)
        return change

    def plan_graph(
        self, graph: str | None, quads: Iterable[Quad], *, mode: str, precondition: Precondition | None = None
    ) -> Change:
        """Graph Store Protocol changes: ``add`` (POST), ``replace`` (PUT) or ``delete`` (DELETE)."""
        body = list(quads)
        return self._planned(lambda: self._plan_graph_now(graph, body, mode), precondition)

    def _plan_graph_now(self, graph: str | None, quads: list[Quad], mode: str) -> Change:
        target: ox.NamedNode | ox.DefaultGraph = ox.NamedNode(graph) if graph else ox.DefaultGraph()
        with self._lock:
            current = set(self.working.quads_for_pattern(None, None, None, target))
            if mode == "delete":
                if not current and not self.graph_exists(graph):
                    raise NotFound(f"no graph {graph or 'default'}")
                return Change(removed=current, operation="delete")
            new = self._skolemized(Quad(q.subject, q.predicate, q.object, target) for q in quads)
            if mode == "replace":
                return Change(added=new - current, removed=current - new, operation="put")
            if mode == "add":
                return Change(added=new - current, operation="post")
        raise UsageError(f"unknown graph operation {mode!r}")

    def plan_quads(self, quads: Iterable[Quad], *, precondition: Precondition | None = None) -> Change:
        """Add quads, each to its own graph (a TriG or N-Quads body sent to the store)."""
        body = list(quads)

        def plan() -> Change:
            added = {q for q in self._skolemized(body) if q not in self.working}
            return Change(added=added, operation="post")

        return self._planned(plan, precondition)

    def plan_patch(
        self,
        added: Iterable[Quad],
        removed: Iterable[tuple[ox.NamedNode, ox.NamedNode, ox.NamedNode | ox.Literal]],
        *,
        operation: str = "edit",
        precondition: Precondition | None = None,
    ) -> Change:
        """A steward's edit (:mod:`kg.changes.edits`): ``added`` quads that are not there yet, and
        every quad of a writable graph stating one of the ``removed`` triples. Planned again against
        the graph as it is, it changes only what the edit changed."""
        to_add, to_remove = list(added), list(removed)

        def plan() -> Change:
            change = Change(operation=operation)
            change.added = {q for q in to_add if q not in self.working}
            for s, p, o in to_remove:
                for q in self.working.quads_for_pattern(s, p, o, None):
                    graph = q.graph_name
                    if isinstance(graph, ox.NamedNode) and self.writable(graph.value):
                        change.removed.add(q)
            change.removed -= change.added
            return change

        return self._planned(plan, precondition)

    def writable(self, graph: str) -> bool:
        """Whether writes may change the named graph ``graph``."""
        return graph not in self._protected and graph.startswith(tuple(self.prefixes))

    def new_graph_iri(self) -> str:
        """A fresh graph IRI for a graph POSTed to the Graph Store itself (Graph Store Protocol §5.5):
        under the source graphs when they are writable, else under the first writable prefix."""
        writable = tuple(self.prefixes)
        prefix = next(
            (p for p in (self.names.source_graph_base, *self.prefixes) if p.startswith(writable)),
            self.prefixes[0],
        )
        if not prefix.endswith(("/", "#")):
            prefix += "/"
        stamp = now().replace(":", "").replace("-", "")
        return f"{prefix}posted/{stamp}-{uuid.uuid4().hex[:8]}"

    def _skolemized(self, quads: Iterable[Quad]) -> set[Quad]:
        """``quads`` with each blank node replaced by a fresh Skolem IRI (one per blank node), when
        this writer skolemizes; else as they are (``_admissible`` then refuses blank nodes)."""
        base = self.skolem_base
        if base is None:
            return set(quads)
        minted: dict[ox.BlankNode, ox.NamedNode] = {}

        def iri(term: Any) -> Any:
            if isinstance(term, ox.BlankNode):
                if term not in minted:
                    minted[term] = ox.NamedNode(base + uuid.uuid4().hex)
                return minted[term]
            return term

        return {Quad(iri(q.subject), q.predicate, iri(q.object), q.graph_name) for q in quads}

    def graph_exists(self, graph: str | None) -> bool:
        """The default graph always exists; a named graph exists while it holds a quad (Oxigraph
        keeps an emptied graph's name until DROP; for the Graph Store Protocol it is gone)."""
        if graph is None:
            return True
        with self._lock:
            self.sync()
            return any(True for _ in self.working.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

    def graph_quads(self, graph: str | None) -> list[Quad]:
        """The quads of one graph (None: the default graph) as they are now."""
        target: ox.NamedNode | ox.DefaultGraph = ox.NamedNode(graph) if graph else ox.DefaultGraph()
        with self._lock:
            self.sync()
            return list(self.working.quads_for_pattern(None, None, None, target))

    def _restore(self, change: Change) -> None:
        for q in change.added:
            self.working.remove(q)
        self.working.extend(change.removed)

    # --- checking ----------------------------------------------------------------------------------

    def _admissible(self, change: Change) -> None:
        for q in change.added | change.removed:
            graph = q.graph_name
            if isinstance(graph, ox.DefaultGraph):
                if self.guard is not None:
                    raise WriteRefused(
                        "writes name their graph (GRAPH <…>, WITH <…> or ?graph=…): the default graph "
                        "holds nothing here; the source graphs are under " + self.names.source_graph_base,
                        code="default_graph_write",
                    )
                continue
            iri = graph.value if isinstance(graph, ox.NamedNode) else ""
            if not self.writable(iri):
                raise ProtectedGraph(
                    f"the graph <{iri}> cannot be written; writable graphs start with "
                    + " or ".join(self.prefixes),
                )
        for q in change.added:
            if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode):
                raise WriteRefused(
                    "blank nodes cannot be written: give every node an IRI (so it can be corrected, "
                    "linked and reverted)",
                    code="blank_node",
                )
            if isinstance(q.object, ox.Literal) and (problem := self.durable.literal_problem(q.object)):
                # the store would keep another term than the one checked, logged and mirrored here
                raise WriteRefused(
                    f"{q.object} cannot be stored as written: {problem}", code="literal_changed"
                )

    def _asserted_triples(self, change: Change) -> tuple[Graph, Graph]:
        """(triples the change adds, triples it removes) over the graphs reasoning sees."""

        def reasoned(g: object) -> bool:
            if not isinstance(g, ox.NamedNode):
                return False
            return g.value == self.names.ontology_graph or self.names.is_source_graph(g.value)

        added, removed = Graph(), Graph()
        for q in change.added:
            if reasoned(q.graph_name):
                added.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
        added_triples = {(q.subject, q.predicate, q.object) for q in change.added if reasoned(q.graph_name)}
        for q in change.removed:
            if not reasoned(q.graph_name):
                continue
            # the triple leaves the reasoned data only if no other reasoned graph keeps it
            elsewhere = any(
                reasoned(other.graph_name) and other not in change.removed
                for other in self.working.quads_for_pattern(q.subject, q.predicate, q.object, None)
            )
            if not elsewhere and (q.subject, q.predicate, q.object) not in added_triples:
                removed.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
        return added, removed

    def check(self, change: Change) -> Checked | None:
        """Check ``change`` against the shapes without storing it (the dry run)."""
        self._admissible(change)
        if self.guard is None:
            return None
        with self._lock:
            added, removed = self._asserted_triples(change)
            return self.guard.check(additions=added, removals=removed)

    # --- keeping up with other writers -------------------------------------------------------------

    def sync(self) -> int:
        """Catch up with the changes other writers committed to the store since this writer last
        looked (one query when nothing changed); returns how many were applied here."""
        with self._lock:
            current = read_version(self.durable, self.names)
            if current == self.version:
                return 0
            if current < self.version:
                raise StoreChanged(
                    f"the store went back from version {self.version} to {current}: it was replaced or "
                    "restored; restart the service to read it again",
                    code="store_replaced",
                )
            applied = 0
            for entry in log.entries_after(self.durable, self.names, self.version):
                sequence, change = entry.sequence, entry.change
                assert sequence is not None
                if sequence != self.version + 1:
                    raise StoreChanged(
                        f"the change log has no change {self.version + 1} (found {sequence}): the store "
                        "was changed outside guarded writes; restart the service to read it again",
                        code="change_log_gap",
                    )
                added, removed = self._asserted_triples(change)
                now, before = version_quad(self.names, sequence), version_quad(self.names, self.version)
                self.working.extend(change.added | entry.inferred_added | entry.record | {now})
                for q in change.removed | entry.inferred_removed | {before}:
                    self.working.remove(q)
                if self.guard is not None:
                    self.guard.advance(
                        added,
                        removed,
                        (_triple(q) for q in entry.inferred_added),
                        (_triple(q) for q in entry.inferred_removed),
                    )
                self.version = sequence
                applied += 1
            self.caught_up += applied
            return applied

    def replay_to(self, target: Durable) -> int:
        """Bring ``target`` (a copy of the store, such as the in-memory query engine) up to this
        writer's version by replaying the logged changes it lacks, in order, each as the versioned
        update that committed it (so replaying one twice, from two writers at once, changes nothing
        more). Several writers publishing to one engine stay correct whatever order their own
        updates reach it in. Returns how many changes were applied."""
        with self._lock:
            start = read_version(target, self.names)
            if start >= self.version:
                return 0
            applied = 0
            for entry in log.entries_after(LocalDurable(self.working), self.names, start):
                assert entry.sequence is not None
                target.update(
                    versioned_update(
                        self.names,
                        entry.sequence - 1,
                        entry.change.removed | entry.inferred_removed,
                        entry.change.added | entry.inferred_added | entry.record,
                        bind=target.binds_literal,
                    )
                )
                applied += 1
            return applied

    # --- committing --------------------------------------------------------------------------------

    def submit(
        self,
        change: Change,
        *,
        agent: str,
        source: str = "",
        comment: str = "",
        annotate: Annotate | None = None,
    ) -> Outcome:
        """Check and, if no shape is violated, commit ``change``; raises ChangeRejected otherwise.

        The commit is conditioned on the store's version: if another writer committed since the
        change was planned, this writer catches up, plans the change again (``change.replan``) and
        checks it again — up to :attr:`attempts` times, then WriteConflict (nothing stored).
        ``annotate`` gives more quads for the change's record, from the change's IRI."""
        with self._lock:
            for attempt in range(self.attempts):
                if attempt:
                    time.sleep(random.uniform(0.005, 0.02) * min(attempt, 8))  # let the winner finish
                self.sync()
                if change.replan is not None and change.base_version != self.version:
                    change = change.replan()
                outcome = self._commit(change, agent=agent, source=source, comment=comment, annotate=annotate)
                if outcome is not None:
                    return outcome
            raise WriteConflict(
                f"other writers committed first {self.attempts} times in a row; nothing was stored: "
                "send the request again"
            )

    def _commit(
        self, change: Change, *, agent: str, source: str, comment: str, annotate: Annotate | None = None
    ) -> Outcome | None:
        """Check and commit at the current version; None if another writer committed first."""
        checked = self.check(change)
        report = checked.report if checked is not None else Report(True, [], Graph())
        if not report.conforms:
            raise ChangeRejected(report)
        if change.empty:
            return Outcome(None, 0, 0, 0, 0, report)
        inferred_add: set[Quad] = set()
        inferred_remove: set[Quad] = set()
        if checked is not None:
            inferred_add = set(to_quads(checked.inferred_added, self.names.inferred_graph))
            inferred_remove = set(to_quads(checked.inferred_removed, self.names.inferred_graph))
        stamp = now().replace(":", "").replace("-", "")
        change_iri = f"{self.names.base}id/change/{stamp}-{uuid.uuid4().hex[:8]}"
        sequence = self.version + 1
        record = log.record(
            self.names,
            change,
            change_iri,
            agent=agent,
            source=source,
            comment=comment,
            sequence=sequence,
            inferred=(inferred_add, inferred_remove),
        )
        if annotate is not None:
            record |= set(annotate(ox.NamedNode(change_iri)))
        update = versioned_update(
            self.names,
            self.version,
            change.removed | inferred_remove,
            change.added | inferred_add | record,
            bind=self.durable.binds_literal,
        )
        # a graph the commit writes must be readable first (Virtuoso hides a new graph until granted)
        written = change.added | inferred_add | record
        self.durable.prepare_graphs(
            q.graph_name.value for q in written if isinstance(q.graph_name, ox.NamedNode)
        )
        claimed_at = time.monotonic()
        claim = self.durable.claim(self.names, sequence)
        if claim is None:
            return None  # another writer is committing change number `sequence`
        try:
            if time.monotonic() - claimed_at > CLAIM_LEASE_S / 3:
                return None  # too slow to trust the claim: it could lapse while we commit
            self.durable.update(update)  # durable first: from here on the change is kept
            ak = str(self.names.ak)
            if not self.durable.ask(
                f"ASK {{ GRAPH <{self.names.changes_graph}> {{ <{change_iri}> <{ak}sequence> ?n }} }}"
            ):
                return None  # the store had moved on: the update matched nothing and stored nothing
        finally:
            self.durable.release(self.names, claim, self.version)
        self.working.update(update)
        if checked is not None and self.guard is not None:
            self.guard.apply(checked)
        self.version = sequence
        if self.publish is not None:
            try:  # the engine is at the same version; if it already has it, a no-op
                self.publish(update)
            except KGError as exc:  # committed all the same: a restarted engine reloads the store
                logger.warning("the query engine did not take change %d yet: %s", sequence, exc)
        for hook in self.committed:
            hook(sequence)
        return Outcome(
            change_iri,
            len(change.added),
            len(change.removed),
            len(inferred_add),
            len(inferred_remove),
            report,
        )

    # --- the change log ----------------------------------------------------------------------------

    def changes(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest changes, newest first."""
        with self._lock:
            self.sync()
            return log.changes(self.working, self.names, limit)

    def change_quads(self, change_iri: str) -> Change:
        """The quads a logged change added and removed."""
        with self._lock:
            self.sync()
            return log.change_quads(self.working, self.names, change_iri)

    def revert(self, change_iri: str, *, agent: str, comment: str = "") -> Outcome:
        """Undo a logged change (itself a checked, logged change)."""
        original = self.change_quads(change_iri)

        def plan() -> Change:
            return Change(
                added={q for q in original.removed if q not in self.working},
                removed={q for q in original.added if q in self.working},
                operation="revert",
                reverts=change_iri,
            )

        return self.submit(self._planned(plan), agent=agent, comment=comment or f"revert of {change_iri}")

    def dump_nquads(self) -> bytes:
        """The durable dataset as N-Quads (what the query engine loads)."""
        with self._lock:
            return self.durable.dump_nquads()


def _triple(q: Quad) -> Triple:
    return (to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object))
