"""The build: load ontology, shapes and data → reason (OWL 2 RL) → validate (SHACL) → write the store.

Graphs in the built dataset (see :class:`kg.rdf.names.Names`): the ontology, the shapes, one graph per
source article (from ``data/*.trig``), the inferred triples, and (once writes exist) the change log.
A build that does not conform writes nothing; a build that does replaces the store atomically.
"""

from __future__ import annotations

import gc
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from kg.changes.log import logged_changes
from kg.changes.model import Change
from kg.checks.guard import Guard
from kg.checks.reasoning import RuleReasoner, Triple, asserted_triples, owlrl_closure
from kg.checks.report import Report
from kg.checks.validation import validate_store
from kg.config import Settings
from kg.engine.local import OxigraphStore
from kg.errors import LoadError, NotConformant, UnsupportedAxiom
from kg.rdf.formats import rdf_format_of_path
from kg.rdf.names import Names
from kg.rdf.parsing import parse_file, rebase_quads
from kg.rdf.terms import to_quads, triples_to_graph

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class Assembled:
    """The whole dataset in one in-memory store, reasoned and validated.

    ``asserted`` (the ontology and every source graph) and ``inferred`` are rdflib views made from the
    store when asked for: the build itself holds no rdflib copy of the data.
    """

    def __init__(
        self,
        names: Names,
        store: OxigraphStore,
        shapes: Graph,
        report: Report,
        timings: dict[str, float] | None = None,
    ):
        self.names = names
        self.store = store
        self.shapes = shapes
        self.report = report
        self.timings = timings if timings is not None else {}

    def data_graphs(self) -> list[str]:
        """The graphs validation sees: the ontology, the sources and the inferences."""
        return [self.names.ontology_graph, *self.store.source_graphs(), self.names.inferred_graph]

    @property
    def asserted(self) -> Graph:
        graph = Graph()
        for name in [self.names.ontology_graph, *self.store.source_graphs()]:
            triples_to_graph(self.store.quads(name), graph)
        return graph

    @property
    def inferred(self) -> Graph:
        return triples_to_graph(self.store.quads(self.names.inferred_graph))


def ontology_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.ontology_dir.glob("*.ttl") if p.name != "shapes.ttl")


def shapes_file(settings: Settings) -> Path:
    return settings.ontology_dir / "shapes.ttl"


def data_files(settings: Settings) -> list[Path]:
    return sorted(settings.data_dir.glob("*.trig"))


def load_graph_file(path: Path, graph: str, names: Names) -> list[ox.Quad]:
    """A triples file, all of it into one named graph."""
    quads = parse_file(path, to_graph=ox.NamedNode(names.rebase(graph)))
    return list(rebase_quads(quads, names))


def load_source_file(path: Path, names: Names) -> list[ox.Quad]:
    """A data file: TriG whose every triple sits in a source graph (no default-graph triples)."""
    fmt = rdf_format_of_path(path)
    if not fmt.datasets:
        raise LoadError("a data file must be TriG or N-Quads with named source graphs", source=str(path))
    quads = list(rebase_quads(parse_file(path, fmt), names))
    for q in quads:
        g = q.graph_name
        if not isinstance(g, ox.NamedNode) or not names.is_source_graph(g.value):
            where = "the default graph" if isinstance(g, ox.DefaultGraph) else str(g)
            raise LoadError(
                f"every triple of a data file belongs in a graph under {names.source_graph_base}; "
                f"found one in {where}",
                source=str(path),
            )
    return quads


def load_shapes(settings: Settings, names: Names | None = None) -> Graph:
    names = names or settings.names
    return triples_to_graph(load_graph_file(shapes_file(settings), names.shapes_graph, names))


def assemble(
    settings: Settings,
    progress: Progress = _quiet,
    extra: Iterable[ox.Quad] = (),
    engine: str = "rules",
    replay: Sequence[Change] = (),
) -> Assembled:
    """Load everything into an in-memory store, reason and validate. Raises nothing on non-conformance.

    ``replay`` are logged changes (stewards' writes) applied, oldest first, on top of the sources.
    ``engine`` is ``rules`` (the compiled OWL 2 RL rules, falling back to owlrl when the ontology needs
    more) or ``owlrl`` (owlrl's full closure).
    """
    names = settings.names
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    store = OxigraphStore(names)
    for path in ontology_files(settings):
        store.add_quads(load_graph_file(path, names.ontology_graph, names))
        progress(f"loaded {path.name} into the ontology graph")
    shapes_quads = load_graph_file(shapes_file(settings), names.shapes_graph, names)
    store.add_quads(shapes_quads)
    progress(f"loaded shapes.ttl ({len(shapes_quads)} triples) into the shapes graph")
    for path in data_files(settings):
        quads = load_source_file(path, names)
        store.add_quads(quads)
        graphs = sorted({q.graph_name.value for q in quads})  # type: ignore[union-attr]
        progress(f"loaded {path.name}: {len(quads)} triples into {', '.join(graphs)}")
    extra = list(extra)
    if extra:
        store.add_quads(extra)
    for change in replay:
        for q in change.removed:
            store.raw.remove(q)
        store.add_quads(change.added)
    if replay:
        progress(f"replayed {len(replay)} logged change(s) from the previous store")
    timings["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    asserted_graphs = [names.ontology_graph, *store.source_graphs()]
    ontology = triples_to_graph(store.quads(names.ontology_graph))
    inferred = _reason(store, asserted_graphs, ontology, engine)
    del ontology
    store.add_quads(to_quads(inferred, names.inferred_graph))
    count = len(inferred)
    del inferred
    gc.collect()
    timings["reason"] = time.perf_counter() - t0
    progress(f"reasoned (OWL 2 RL, {engine}): {count} inferred triples in {timings['reason']:.2f}s")

    t0 = time.perf_counter()
    shapes = triples_to_graph(shapes_quads)
    del shapes_quads
    # The data graph, merged (a triple stated by two sources is one triple) in a default graph of its own.
    data = ox.Store()
    data.bulk_extend(
        ox.Quad(q.subject, q.predicate, q.object)
        for graph in [*asserted_graphs, names.inferred_graph]
        for q in store.quads(graph)
    )
    report = validate_store(data, shapes)
    del data
    gc.collect()
    timings["validate"] = time.perf_counter() - t0
    progress(
        f"validated (SHACL): {report.count('Violation')} violations, {report.count('Warning')} warnings, "
        f"{report.count('Info')} infos in {timings['validate']:.1f}s"
    )
    return Assembled(names, store, shapes, report, timings)


def _reason(store: OxigraphStore, graphs: list[str], ontology: Graph, engine: str) -> set[Triple] | Graph:
    """The OWL 2 RL inferences of the triples of ``graphs``: the rules on term tuples when they cover
    the ontology, else owlrl (on an rdflib graph)."""
    reasoner = None
    if engine == "rules":
        try:
            reasoner = RuleReasoner(ontology)
        except UnsupportedAxiom:
            reasoner = None
    if reasoner is not None:
        asserted = asserted_triples(q for g in graphs for q in store.quads(g))
        return reasoner.closure(asserted, consume=True)
    graph = Graph()
    for g in graphs:
        triples_to_graph(store.quads(g), graph)
    return owlrl_closure(graph)


@dataclass
class BuildSummary:
    store_path: Path
    graphs: dict[str, int]
    report: Report
    timings: dict[str, float]

    @property
    def total(self) -> int:
        return sum(self.graphs.values())


def build(settings: Settings, progress: Progress = _quiet) -> BuildSummary:
    """Assemble, refuse if not conformant, then replace the on-disk store atomically.

    Writes accepted by a running service live in the store, not in ``data/``: a rebuild replays the
    old store's change log on top of the sources (and keeps the log), so nothing acknowledged is lost.
    If the replayed changes no longer fit the new sources, the build refuses and the old store stays.
    """
    names = settings.names
    replay: list[Change] = []
    log_quads: list[ox.Quad] = []
    if (settings.store_path / "CURRENT").exists():
        old_store = OxigraphStore(names, settings.store_path, read_only=True)
        replay, log_quads = logged_changes(old_store.raw, names)
        del old_store
    assembled = assemble(settings, progress, replay=replay)
    if not assembled.report.conforms:
        raise NotConformant(assembled.report)
    assembled.store.add_quads(log_quads)
    t0 = time.perf_counter()
    target = settings.store_path
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    disk = ox.Store(str(staging))
    disk.bulk_extend(iter(assembled.store.raw))
    disk.flush()
    graphs = {g: assembled.store.count(g) for g in assembled.store.graphs()}
    del disk
    gc.collect()  # closes RocksDB before the directory is moved
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    timings = {**assembled.timings, "write": time.perf_counter() - t0}
    progress(f"wrote the store to {target} in {timings['write']:.1f}s")
    return BuildSummary(target, graphs, assembled.report, timings)


def open_context(settings: Settings, progress: Progress = _quiet) -> OxigraphStore:
    """The current graph: the built store if there is one, else an in-memory assembly of the sources."""
    names = settings.names
    if (settings.store_path / "CURRENT").exists():
        return OxigraphStore(names, settings.store_path, read_only=True)
    progress("no built store: assembling the graph from ontology/ and data/")
    return assemble(settings, progress).store


def validate_additions(settings: Settings, additions: list[ox.Quad], progress: Progress = _quiet) -> Report:
    """Validate new facts in the context of the current graph, with reasoning over the whole.

    Only the nodes the new facts touch (and those whose inferences change) are validated, so the
    report speaks of what the addition does.
    """
    guard = Guard.from_store(open_context(settings, progress))
    checked = guard.check(additions=triples_to_graph(additions))
    progress(f"validated {len(checked.focus)} focus node(s) against the shapes")
    return checked.report


def load_additions(paths: list[Path], names: Names) -> list[ox.Quad]:
    """Parse the files a steward wants to add; triples without a graph land in a 'pending' graph."""
    pending = ox.NamedNode(names.source_graph_base + "pending")
    quads: list[ox.Quad] = []
    for path in paths:
        quads.extend(parse_file(path, to_graph=pending))
    return quads
