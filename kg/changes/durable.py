"""Where guarded writes are committed: the store held here (:class:`LocalDurable`, Oxigraph on disk)
or any SPARQL 1.1 store over HTTP (:class:`RemoteStore`: Query, Update and, for loading, the Graph
Store Protocol).

Both give the :class:`kg.changes.writer.Writer` the same five things: every quad (to build its working copy),
``select`` and ``ask`` (SPARQL 1.1 Query), ``update`` (SPARQL 1.1 Update, one request applied
atomically, as SPARQL 1.1 Update §2 asks of a request and as Oxigraph, Fuseki, GraphDB, Virtuoso and
Blazegraph do), and the store's version. Several front processes may hold writers over one remote
store: each commit is a single ``DELETE … INSERT … WHERE`` conditioned on the version the writer
validated against (see :func:`versioned_update`), so a writer that lost a race changes nothing and
learns it, catches up and validates again.

That condition alone is not enough on stores whose updates run under snapshot isolation without
write-conflict detection: Oxigraph server evaluates two concurrent updates' WHERE clauses on the same
snapshot and commits both (measured: 13 of 30 simultaneous pairs both committed). So a remote writer
first *claims* the next sequence number (:meth:`RemoteStore.claim`): it inserts a claim, then reads
the live claims for that number, and goes on only if its own is the only one. Each reads after its
own insert is visible, so of two simultaneous claimants the later reader always sees both: at most
one wins (both may lose, and retry after a random pause). Claims carry the store's own clock
(``NOW()``) and lapse after :data:`CLAIM_LEASE_S`, so a writer that died holding one blocks nobody.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import pyoxigraph as ox

from kg.config import Settings
from kg.engine.client import SparqlClient, Url
from kg.engine.local import OxigraphStore
from kg.engine.process import OxigraphProcess
from kg.rdf.names import XSD, Names

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Row = dict[str, Term]
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
#: how long a claim on the next sequence number lives; a writer gives up its claim well before
CLAIM_LEASE_S = 60


class Durable(Protocol):
    """A store guarded writes are committed to."""

    description: str

    def quads(self) -> Iterator[ox.Quad]: ...

    def select(self, sparql: str) -> list[Row]: ...

    def ask(self, sparql: str) -> bool: ...

    def update(self, sparql: str) -> None: ...

    def dump_nquads(self) -> bytes: ...

    def claim(self, names: Names, sequence: int) -> str | None: ...

    def release(self, names: Names, claim: str, committed: int) -> None: ...


class LocalDurable:
    """The Oxigraph store this process holds read-write (RocksDB: once ``update`` returns, it is kept)."""

    def __init__(self, store: OxigraphStore | ox.Store):
        self.raw = store.raw if isinstance(store, OxigraphStore) else store
        where = store.path if isinstance(store, OxigraphStore) else None
        self.description = f"the Oxigraph store {where or '(in memory)'}"

    def quads(self) -> Iterator[ox.Quad]:
        return iter(self.raw)

    def select(self, sparql: str) -> list[Row]:
        solutions: Any = self.raw.query(sparql)
        names = [v.value for v in solutions.variables]
        return [{n: s[n] for n in names if s[n] is not None} for s in solutions]

    def ask(self, sparql: str) -> bool:
        return bool(self.raw.query(sparql))

    def update(self, sparql: str) -> None:
        self.raw.update(sparql)

    def dump_nquads(self) -> bytes:
        buffer = io.BytesIO()
        self.raw.dump(buffer, ox.RdfFormat.N_QUADS)
        return buffer.getvalue()

    def claim(self, names: Names, sequence: int) -> str | None:
        return "local"  # this process alone holds the store (RocksDB's lock); its writer lock suffices

    def release(self, names: Names, claim: str, committed: int) -> None:
        return None


class RemoteStore:
    """A SPARQL 1.1 store over HTTP as the durable store: its query, update and (optional) graph
    store endpoints, through the one client (:class:`kg.engine.client.SparqlClient`).

    Every quad of every named graph is read with one ``CONSTRUCT`` per graph (portable: no vendor
    dump endpoint needed). The store's own default graph is not read or written: guarded writes name
    their graph, and many stores serve the union of the named graphs as their default graph.
    """

    def __init__(
        self,
        query_url: Url = "",
        update_url: Url = "",
        store_url: Url = "",
        *,
        timeout_s: float = 60.0,
        union_param: bool = False,
        description: str = "",
        client: SparqlClient | None = None,
    ):
        unlimited = 1 << 62  # the whole store is read to build a writer's working copy
        if client is not None:
            self.client = client.copy(timeout_s=timeout_s, max_result_bytes=unlimited)
        else:
            self.client = SparqlClient(
                query_url,
                update_url=update_url,
                store_url=store_url,
                timeout_s=timeout_s,
                max_result_bytes=unlimited,
            )
        self.union_default_graph = union_param  # every read over the union of the store's graphs
        self.timeout_s = timeout_s
        self.description = description or f"the SPARQL store {self.client.query_url}"

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout_s: float = 60.0) -> RemoteStore:
        """The external store of ``settings`` (``engine_url`` and the update and graph store URLs)."""
        return cls(
            settings.engine_url,
            settings.engine_update_url,
            settings.engine_store_url,
            timeout_s=max(timeout_s, settings.query_timeout_s),
        )

    @property
    def query_url(self) -> str:
        return self.client.query_url

    @property
    def update_url(self) -> str:
        return self.client.update_url

    @property
    def store_url(self) -> str:
        return self.client.store_url

    # --- the Durable interface ----------------------------------------------------------------------

    def graph_names(self) -> list[str]:
        rows = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return sorted(row["g"].value for row in rows if isinstance(row.get("g"), ox.NamedNode))

    def quads(self) -> Iterator[ox.Quad]:
        for graph in self.graph_names():
            target = ox.NamedNode(graph)
            construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
            for t in self.client.construct(construct):
                yield ox.Quad(t.subject, t.predicate, t.object, target)

    def select(self, sparql: str) -> list[Row]:
        return self.client.select(sparql, union_default_graph=self.union_default_graph)

    def ask(self, sparql: str) -> bool:
        return self.client.ask(sparql)

    def update(self, sparql: str) -> None:
        self.client.update(sparql, timeout_s=self.timeout_s)

    def dump_nquads(self) -> bytes:
        buffer = io.BytesIO()
        ox.serialize(self.quads(), buffer, format=ox.RdfFormat.N_QUADS)
        return buffer.getvalue()

    # --- claims: one writer at a time per sequence number ------------------------------------------

    def claim(self, names: Names, sequence: int) -> str | None:
        """Claim the right to commit change number ``sequence``; the claim's IRI, or None if another
        live claim exists (then this one is withdrawn)."""
        graph, ak = names.graph_base + "locks", str(names.ak)
        claim = f"{names.base}id/claim/{sequence}-{uuid.uuid4().hex}"
        number = int(sequence)
        self.update(
            f"INSERT {{ GRAPH <{graph}> {{ <{claim}> <{ak}claims> {number} ; <{ak}claimedAt> ?now }} }} "
            "WHERE { BIND(NOW() AS ?now) }"
        )
        live = f'FILTER(?t > NOW() - "PT{CLAIM_LEASE_S}S"^^<{XSD}dayTimeDuration>)'
        rows = self.select(
            f"SELECT ?claim WHERE {{ GRAPH <{graph}> {{ ?claim <{ak}claims> {number} ; <{ak}claimedAt> ?t "
            f"{live} }} }}"
        )
        if {row["claim"].value for row in rows} == {claim}:
            return claim
        self.release(names, claim, 0)
        return None

    def release(self, names: Names, claim: str, committed: int) -> None:
        """Withdraw ``claim``, and the claims of writers that died before number ``committed``."""
        graph, ak = names.graph_base + "locks", str(names.ak)
        self.update(
            f"DELETE {{ GRAPH <{graph}> {{ ?claim ?p ?o }} }} WHERE {{ GRAPH <{graph}> {{ ?claim ?p ?o ; "
            f"<{ak}claims> ?n FILTER(?claim = <{claim}> || ?n <= {int(committed)}) }} }}"
        )

    # --- loading a built dataset (alatau-kg push) ---------------------------------------------------

    def push(self, local: OxigraphStore, progress: Callable[[int, int, str, int], None] | None = None) -> int:
        """Replace each named graph of ``local`` here (one graph at a time); the triples pushed.
        ``progress(i, n, graph, triples)`` is called after each graph."""
        total = 0
        graphs = local.graphs()
        for i, graph in enumerate(graphs, start=1):
            buffer = io.BytesIO()
            triples = (ox.Triple(q.subject, q.predicate, q.object) for q in local.quads(graph))
            ox.serialize(triples, buffer, format=ox.RdfFormat.N_TRIPLES)
            self.put_graph(graph, buffer.getvalue())
            count = local.count(graph)
            total += count
            if progress is not None:
                progress(i, len(graphs), graph, count)
        return total

    def put_graph(self, graph: str, triples: bytes) -> None:
        """Replace one named graph with N-Triples: a Graph Store ``PUT`` when the store's graph store
        endpoint is known, else ``DROP SILENT GRAPH`` and ``INSERT DATA`` in one update request."""
        if self.store_url:
            self.client.put_graph(graph, triples, "application/n-triples", timeout_s=self.timeout_s)
            return
        lines = triples.decode("utf-8").splitlines()
        chunk = 50_000
        for start in range(0, max(len(lines), 1), chunk):
            body = "\n".join(lines[start : start + chunk])
            drop = f"DROP SILENT GRAPH <{graph}> ;\n" if start == 0 else ""
            self.update(f"{drop}INSERT DATA {{ GRAPH <{graph}> {{\n{body}\n}} }}")


class ProcessStore(RemoteStore):
    """An ``oxigraph serve`` process this service runs (:class:`kg.engine.process.OxigraphProcess`) as
    a store: the durable one on disk the writers commit to, or the in-memory query engine they keep in
    step. Its URLs follow the process across restarts."""

    def __init__(self, process: OxigraphProcess, *, timeout_s: float = 60.0):
        where = f"on disk at {process.location}" if process.location is not None else "in memory"
        super().__init__(
            client=process.client, timeout_s=timeout_s, description=f"the Oxigraph store {where}"
        )
        self.process = process


class EngineCopy(ProcessStore):
    """The in-memory query engine as a copy writers publish to: an update it cannot take gets it
    restarted, and a restarted engine reloads the durable store (which has the write)."""

    def update(self, sparql: str) -> None:
        self.process.update(sparql)


# --- versions ---------------------------------------------------------------------------------------


def version_query(names: Names) -> str:
    return (
        f"SELECT ?v WHERE {{ GRAPH <{names.changes_graph}> "
        f"{{ <{names.changes_graph}> <{names.ak}version> ?v }} }}"
    )


def read_version(durable: Durable, names: Names) -> int:
    """The sequence number of the latest committed change (0 before the first)."""
    values = []
    for row in durable.select(version_query(names)):
        value = row.get("v")
        if isinstance(value, ox.Literal):
            try:
                values.append(int(value.value))
            except ValueError:
                continue
    return max(values, default=0)


def version_quad(names: Names, version: int) -> ox.Quad:
    graph = ox.NamedNode(names.changes_graph)
    value = ox.Literal(str(version), datatype=XSD_INTEGER)
    return ox.Quad(graph, ox.NamedNode(f"{names.ak}version"), value, graph)


def versioned_update(names: Names, version: int, removed: Iterable[ox.Quad], added: Iterable[ox.Quad]) -> str:
    """One SPARQL Update operation that removes ``removed``, adds ``added`` and moves the store's
    version from ``version`` to ``version + 1`` — or does nothing at all if the store is no longer at
    ``version`` (another writer committed first). Templates hold no blank nodes (writes refuse or
    skolemize them), so the single solution of the WHERE clause instantiates them exactly once."""
    graph = f"<{names.changes_graph}>"
    version_p = f"<{names.ak}version>"

    def block(quads: Iterable[ox.Quad]) -> str:
        by_graph: dict[str, list[str]] = {}
        for q in quads:
            key = "" if isinstance(q.graph_name, ox.DefaultGraph) else str(q.graph_name)
            by_graph.setdefault(key, []).append(f"{q.subject} {q.predicate} {q.object} .")
        return "\n".join(
            "\n".join(lines) if not g else f"GRAPH {g} {{\n" + "\n".join(lines) + "\n}"
            for g, lines in sorted(by_graph.items())
        )

    return (
        f"DELETE {{\nGRAPH {graph} {{ {graph} {version_p} ?version . }}\n{block(removed)}\n}}\n"
        f"INSERT {{\nGRAPH {graph} {{ {graph} {version_p} {version + 1} . }}\n{block(added)}\n}}\n"
        f"WHERE {{ OPTIONAL {{ GRAPH {graph} {{ {graph} {version_p} ?version }} }} "
        f"FILTER(COALESCE(?version, 0) = {version}) }}"
    )
