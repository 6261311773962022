"""Where guarded writes are committed: the store held here (:class:`LocalDurable`, Oxigraph on disk)
or any SPARQL 1.1 store over HTTP (:class:`RemoteStore`: Query, Update and, for loading, the Graph
Store Protocol).

Both give the :class:`kg.changes.writer.Writer` the same things: every quad (to build its working copy),
``select`` and ``ask`` (SPARQL 1.1 Query), ``update`` (SPARQL 1.1 Update; a commit is one operation,
so it is atomic on stores that apply a request's operations one by one, as Virtuoso does), the
store's version, and what the store does to literals (``literal_problem``, ``binds_literal``) and to
new graphs (``prepare_graphs``: Virtuoso hides a graph from queries until it is granted).

Several front processes may hold writers over one remote store: each commit is a single
``DELETE … INSERT … WHERE`` conditioned on the version the writer validated against (see
:func:`versioned_update`), so a writer that lost a race changes nothing and learns it, catches up
and validates again.

That condition alone is not enough on stores whose updates run under snapshot isolation without
write-conflict detection: Oxigraph server evaluates two concurrent updates' WHERE clauses on the same
snapshot and commits both (measured: 13 of 30 simultaneous pairs both committed). So a remote writer
first *claims* the next sequence number (:meth:`RemoteStore.claim`): it inserts a claim, then reads
the live claims for that number, and goes on only if its own is the only one. Each reads after its
own insert is visible, so of two simultaneous claimants the later reader always sees both: at most
one wins (both may lose, and retry after a random pause). Claims carry the store's own clock
(``NOW()``) and lapse after :data:`CLAIM_LEASE_S`, so a writer that died holding one blocks nobody.
The argument needs only that a request's insert is committed (visible to every later read) when its
answer arrives: true of Oxigraph and of Virtuoso under its default isolation (read committed), where
the versioned update alone is not enough either (measured: tests/test_virtuoso_writes.py).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import pyoxigraph as ox

from kg.config import Settings
from kg.engine import in_pages, wrapped
from kg.engine.client import SparqlClient, Url
from kg.engine.local import OxigraphStore
from kg.engine.process import OxigraphProcess
from kg.engine.profiles import Profile
from kg.errors import ResultTruncated
from kg.rdf.names import Names

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Row = dict[str, Term]
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
#: how long a claim on the next sequence number lives; a writer gives up its claim well before
CLAIM_LEASE_S = 60
#: triples per GRAPH block of an update template (Virtuoso's parser stops one block at ~5,000)
BLOCK_TRIPLES = 1000


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

    def literal_problem(self, literal: ox.Literal) -> str | None: ...

    def binds_literal(self, literal: ox.Literal) -> bool: ...

    def prepare_graphs(self, graphs: Iterable[str]) -> None: ...


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

    def literal_problem(self, literal: ox.Literal) -> str | None:
        return None  # Oxigraph keeps every literal as written

    def binds_literal(self, literal: ox.Literal) -> bool:
        return False

    def prepare_graphs(self, graphs: Iterable[str]) -> None:
        return None


class RemoteStore:
    """A SPARQL 1.1 store over HTTP as the durable store: its query, update and (optional) graph
    store endpoints, through the one client (:class:`kg.engine.client.SparqlClient`).

    Every quad of every named graph is read with one ``CONSTRUCT`` per graph (portable: no vendor
    dump endpoint needed), or in pages of SELECT where the store cuts results at a row cap (Virtuoso).
    The store's own default graph is not read or written: guarded writes name their graph, and many
    stores serve the union of the named graphs as their default graph.
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
        profile: Profile | str = "auto",
        credentials: tuple[str, str] | None = None,
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
                profile=profile,
                credentials=credentials,
            )
        self.union_default_graph = union_param  # every read over the union of the store's graphs
        self.timeout_s = timeout_s
        self.description = description or f"the SPARQL store {self.client.query_url}"
        self._readable: set[str] = set()  # graphs granted to queries (Virtuoso), by this process

    @classmethod
    def from_settings(cls, settings: Settings, *, timeout_s: float = 60.0) -> RemoteStore:
        """The external store of ``settings`` (``engine_url`` and the update and graph store URLs)."""
        return cls(
            settings.engine_url,
            settings.engine_update_url,
            settings.engine_store_url,
            timeout_s=max(timeout_s, settings.query_timeout_s),
            profile=settings.engine_profile,
            credentials=(settings.engine_user, settings.engine_password) if settings.engine_user else None,
        )

    @property
    def profile(self) -> Profile:
        return self.client.profile

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
        # the subquery: Virtuoso answers the plain DISTINCT ?g from its list of every graph, readable or not
        rows = self.select("SELECT ?g WHERE { { SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } } }")
        return sorted(row["g"].value for row in rows if isinstance(row.get("g"), ox.NamedNode))

    def quads(self) -> Iterator[ox.Quad]:
        paged = self.profile.max_rows is not None
        for graph in self.graph_names():
            target = ox.NamedNode(graph)
            if paged:
                rows = self.select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
                for row in rows:
                    s, p, o = row["s"], row["p"], row["o"]
                    if isinstance(s, ox.Literal) or not isinstance(p, ox.NamedNode):
                        continue
                    yield ox.Quad(s, p, o, target)
                continue
            construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
            for t in self.client.construct(construct):
                yield ox.Quad(t.subject, t.predicate, t.object, target)

    def select(self, sparql: str) -> list[Row]:
        """The solutions of a SELECT, all of them: where the store cuts the result at its row cap, read
        again in pages (``ORDER BY`` every variable, ``LIMIT`` the cap, growing ``OFFSET``)."""
        try:
            return self.client.select(sparql, union_default_graph=self.union_default_graph)
        except ResultTruncated as exc:
            if not exc.store_limit or not sparql.lstrip().upper().startswith("SELECT"):
                raise
            return self._paged(sparql, exc.store_limit)

    def _paged(self, sparql: str, page: int) -> list[Row]:
        head = self.client.query(wrapped(sparql, "LIMIT 0"), accept="application/sparql-results+json")
        variables = json.loads(head.body)["head"]["vars"]
        return in_pages(
            sparql,
            page,
            variables,
            lambda text: self.client.select(text, union_default_graph=self.union_default_graph),
        )

    def ask(self, sparql: str) -> bool:
        return self.client.ask(sparql)

    def update(self, sparql: str) -> None:
        self.client.update(sparql, timeout_s=self.timeout_s)

    def dump_nquads(self) -> bytes:
        buffer = io.BytesIO()
        ox.serialize(self.quads(), buffer, format=ox.RdfFormat.N_QUADS)
        return buffer.getvalue()

    def literal_problem(self, literal: ox.Literal) -> str | None:
        return self.profile.literal_problem(literal)

    def binds_literal(self, literal: ox.Literal) -> bool:
        return self.profile.binds_literal(literal)

    def prepare_graphs(self, graphs: Iterable[str]) -> None:
        """Make the graphs a commit writes readable by queries, before the commit (a graph Virtuoso's
        queries cannot read yet would hide the change from every reader, and from the writers)."""
        new = sorted(set(graphs) - self._readable)
        for query in self.profile.grant_queries(new) if new else []:
            self.client.admin_select(query, timeout_s=self.timeout_s)
        self._readable.update(new)

    def secure(self, graphs: Iterable[str]) -> int:
        """Let queries read exactly ``graphs`` of this store, where it has graph permissions
        (Virtuoso's graph-level security); how many graphs were granted (0: nothing to do here)."""
        chosen = sorted(set(graphs))
        queries = self.profile.security_queries(chosen)
        for query in queries:
            self.client.admin_select(query, timeout_s=self.timeout_s)
        if queries:
            self.client.refresh_profile()
            self._readable.update(chosen)
        return len(chosen) if queries else 0

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
        # the claims' ages by the store's own clock, compared here: no duration arithmetic in the store
        # (Virtuoso 7.2 fails on a dayTimeDuration constant in a FILTER: "No column PT60SD")
        rows = self.select(
            f"SELECT ?claim ?t (NOW() AS ?now) WHERE {{ GRAPH <{graph}> {{ ?claim <{ak}claims> {number} ; "
            f"<{ak}claimedAt> ?t }} }}"
        )
        live = {row["claim"].value for row in rows if _age_s(row.get("t"), row.get("now")) < CLAIM_LEASE_S}
        if live == {claim}:
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


def _age_s(then: Term | None, now: Term | None) -> float:
    """Seconds from ``then`` to ``now`` (xsd:dateTime literals of one clock; a time without a zone is
    taken as UTC, as both come from the same store); 0 when either is missing or unreadable, so that
    a claim that cannot be dated counts as live."""
    try:
        start, end = (datetime.fromisoformat(t.value) for t in (then, now) if isinstance(t, ox.Literal))
    except ValueError:
        return 0.0
    start, end = (d if d.tzinfo else d.replace(tzinfo=UTC) for d in (start, end))
    return (end - start).total_seconds()


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


def versioned_update(
    names: Names,
    version: int,
    removed: Iterable[ox.Quad],
    added: Iterable[ox.Quad],
    *,
    bind: Callable[[ox.Literal], bool] | None = None,
) -> str:
    """One SPARQL Update operation that removes ``removed``, adds ``added`` and moves the store's
    version from ``version`` to ``version + 1`` — or does nothing at all if the store is no longer at
    ``version`` (another writer committed first). Templates hold no blank nodes (writes refuse or
    skolemize them), so the single solution of the WHERE clause instantiates them exactly once.

    The version is compared through a BIND (Virtuoso applies no template when the FILTER reads an
    OPTIONAL's unbound variable directly, though a SELECT of the same WHERE finds the solution).
    Literals ``bind`` picks are carried as ``STRDT`` variables of that solution (Virtuoso changes some
    datatypes written as constants in a template); GRAPH blocks hold at most :data:`BLOCK_TRIPLES`."""
    graph = f"<{names.changes_graph}>"
    version_p = f"<{names.ak}version>"
    bound: dict[ox.Literal, str] = {}

    def term(t: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> str:
        if bind is not None and isinstance(t, ox.Literal) and bind(t):
            return bound.setdefault(t, f"?literal{len(bound)}")
        return str(t)

    def block(quads: Iterable[ox.Quad]) -> str:
        by_graph: dict[str, list[str]] = {}
        for q in quads:
            key = "" if isinstance(q.graph_name, ox.DefaultGraph) else str(q.graph_name)
            by_graph.setdefault(key, []).append(f"{q.subject} {q.predicate} {term(q.object)} .")
        blocks = []
        for g, lines in sorted(by_graph.items()):
            for start in range(0, len(lines), BLOCK_TRIPLES):
                chunk = "\n".join(lines[start : start + BLOCK_TRIPLES])
                blocks.append(chunk if not g else f"GRAPH {g} {{\n{chunk}\n}}")
        return "\n".join(blocks)

    deleted, inserted = block(removed), block(added)
    binds = "".join(
        f" BIND(STRDT({ox.Literal(lit.value)}, <{lit.datatype.value}>) AS {var})"
        for lit, var in bound.items()
    )
    return (
        f"DELETE {{\nGRAPH {graph} {{ {graph} {version_p} ?version . }}\n{deleted}\n}}\n"
        f"INSERT {{\nGRAPH {graph} {{ {graph} {version_p} {version + 1} . }}\n{inserted}\n}}\n"
        f"WHERE {{ OPTIONAL {{ GRAPH {graph} {{ {graph} {version_p} ?version }} }} "
        f"BIND(COALESCE(?version, 0) AS ?current) FILTER(?current = {version}){binds} }}"
    )
