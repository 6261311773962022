"""The W3C suites through OUR endpoint over OpenLink Virtuoso 7.2 (a throw-away ``virtuoso-t``).

:func:`virtuoso_endpoint` serves our app (waitress, loopback) over a :class:`~kg.engine.client.SparqlClient`
of a Virtuoso whose public user reads only the graphs granted to it (graph-level security, as
``alatau-kg push`` sets it). :class:`VirtuosoBehindUs` is the harness's engine: every query goes to our
``/sparql``; test data goes into Virtuoso directly (Graph Store Protocol, as its ``dba``), each graph
granted as it is loaded, and is dropped between tests.

Virtuoso has no default graph of its own (its default graph is the union of the graphs it may read), so
the test's default graph is a named graph here, and each query names its dataset in the request
(``default-graph-uri`` that graph, ``named-graph-uri`` the test's named graphs) unless the query has
FROM or FROM NAMED of its own — what a client of any union-default store does to get SPARQL's dataset.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyoxigraph as ox
import requests
from requests.auth import HTTPDigestAuth

from kg.config import Settings
from kg.engine.client import SparqlClient
from kg.engine.profiles import NO_GRAPH, VirtuosoProfile
from kg.rdf.sparql import shape
from server.app import create_app
from tests.server_support import serving
from tests.virtuoso_support import VirtuosoProcess

from .engines import EngineError, HttpEngine, QueryResponse
from .rdfio import to_ox_quad
from .results import SPARQL_RESULTS_JSON, Solutions, media_type_of, parse_srj
from .terms import IRI, Literal, Quad

ENGINE_NAME = "alatau-virtuoso"
"""The known-failure profile of the W3C suites through our endpoint over Virtuoso."""
DEFAULT_GRAPH = "urn:x-w3c:default-graph"
"""Where a test's default graph goes (Virtuoso has none of its own)."""
_RDF_ACCEPT = "text/turtle;q=0.9, application/n-triples;q=0.8"


@dataclass(frozen=True)
class VirtuosoEndpoint:
    url: str
    """Our app's base URL."""
    virtuoso: VirtuosoProcess
    client: SparqlClient

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"


@contextlib.contextmanager
def virtuoso_endpoint(
    v: VirtuosoProcess, quads: Iterable[ox.Quad] = (), settings: Settings | None = None
) -> Iterator[VirtuosoEndpoint]:
    """Our app over ``v`` holding ``quads`` (each graph granted to queries)."""
    admin = _Admin(v)
    admin.secure()
    admin.load(list(quads))
    client = SparqlClient(v.query_url, timeout_s=10.0, profile="virtuoso")
    assert isinstance(client.profile, VirtuosoProfile)
    # Each test loads its data behind the app's back (the store's version does not move): no result
    # cache, which would answer one test's query over another's data; no budgets for the suites' client.
    settings = (settings or Settings(query_timeout_s=10.0)).with_(
        result_cache_bytes=0,
        query_seconds_per_minute=0.0,
        errors_per_minute=0.0,
        steward_query_seconds_per_minute=0.0,
    )
    app = create_app(settings, client)
    with serving(app, client) as live:
        yield VirtuosoEndpoint(live.url, v, client)


VISIBLE_WITHIN_S = 5.0  # how long a drop may take to be seen by other connections


class _Admin:
    """Virtuoso as its dba: graph permissions, loading, dropping, reading every quad."""

    def __init__(self, v: VirtuosoProcess) -> None:
        self.v = v
        self.session = requests.Session()
        self.session.auth = HTTPDigestAuth(*v.credentials)
        self.granted: set[str] = set()

    def _select(self, query: str) -> requests.Response:
        response = self.session.post(
            self.v.update_url, data={"query": query}, headers={"Accept": SPARQL_RESULTS_JSON}, timeout=60
        )
        if response.status_code != 200:
            raise EngineError(f"Virtuoso refused {query[:80]!r}: {response.text[:300]}")
        return response

    def secure(self) -> None:
        self._select("SELECT (sql:RDF_DEFAULT_USER_PERMS_SET('nobody', 0) AS ?x) WHERE {}")

    def grant(self, graph: str) -> None:
        if graph not in self.granted:
            self._select(f"SELECT (sql:RDF_GRAPH_USER_PERMS_SET('{graph}', 'nobody', 1) AS ?x) WHERE {{}}")
            self.granted.add(graph)

    def load(self, quads: list[ox.Quad]) -> None:
        by_graph: dict[str, list[ox.Triple]] = defaultdict(list)
        for q in quads:
            graph = DEFAULT_GRAPH if isinstance(q.graph_name, ox.DefaultGraph) else str(q.graph_name.value)
            by_graph[graph].append(ox.Triple(q.subject, q.predicate, q.object))
        for graph, triples in by_graph.items():
            self.grant(graph)
            body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
            response = self.session.post(
                self.v.graph_store_auth_url,
                params={"graph": graph},
                data=body,
                headers={"Content-Type": "application/n-triples"},
                timeout=60,
            )
            if response.status_code not in (200, 201):
                raise EngineError(f"Graph Store POST {graph}: {response.status_code} {response.text[:300]}")

    def graphs(self) -> list[str]:
        rows = self._select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").json()["results"][
            "bindings"
        ]
        return [r["g"]["value"] for r in rows if r["g"]["value"] in self.granted]

    def drop(self) -> None:
        graphs = self.graphs()
        if graphs:
            text = " ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in graphs)
            response = self.session.post(self.v.update_url, data={"update": text}, timeout=60)
            if response.status_code != 200:
                raise EngineError(f"Virtuoso refused to drop the graphs: {response.text[:300]}")
            # The next test's queries go through our server on other connections: they must not see
            # this test's data (seen once: a SUM over the previous test's strings). Wait until the
            # drop is visible to them before the next load.
            deadline = time.monotonic() + VISIBLE_WITHIN_S
            while self.graphs() and time.monotonic() < deadline:
                time.sleep(0.01)


class VirtuosoBehindUs(HttpEngine):
    """The harness's engine: queries through our ``/sparql``, data straight into Virtuoso."""

    def __init__(self, endpoint: VirtuosoEndpoint, name: str = ENGINE_NAME) -> None:
        super().__init__(
            endpoint.url, query_path=endpoint.sparql, update_path=endpoint.sparql, store_path=None, name=name
        )
        self.admin = _Admin(endpoint.virtuoso)
        self.named: list[str] = []

    def reset(self) -> None:
        self.admin.drop()
        self.named = []

    def load(self, quads: Iterable[Quad]) -> None:
        converted = [to_ox_quad(q) for q in quads]
        self.admin.load(converted)
        for q in converted:
            if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value not in self.named:
                self.named.append(q.graph_name.value)
        # The dba's connection saw the previous test's drop; a query through our server (on its own
        # connections, as Virtuoso's public user) once more saw that test's data after it (a SUM over
        # its strings, on a loaded machine). Wait until the test's dataset, as queries see it through
        # our server, holds no more than this test loaded.
        loaded = len(set(converted))
        deadline = time.monotonic() + VISIBLE_WITHIN_S
        while self._visible() > loaded and time.monotonic() < deadline:
            time.sleep(0.01)

    def _visible(self) -> int:
        """The triples of the test's dataset, counted through our server."""
        text = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
        response = self.query(text, "http://example.org/")
        result = parse_srj(response.body)
        assert isinstance(result, Solutions) and len(result.rows) == 1, result
        count = result.rows[0]["n"]
        assert isinstance(count, Literal), count
        return int(count.lexical)

    def _dataset(self, text: str, base_iri: str) -> dict[str, list[str]]:
        if shape(text, base_iri).dataset_iris:
            return {}
        return {"default-graph-uri": [DEFAULT_GRAPH], "named-graph-uri": self.named or [NO_GRAPH]}

    def query(self, text: str, base_iri: str, results_format: str = SPARQL_RESULTS_JSON) -> QueryResponse:
        data = {"query": f"BASE <{base_iri}>\n{text}", **self._dataset(text, base_iri)}
        try:
            response = self._session.post(
                self.query_url,
                data=data,
                headers={"Accept": f"{results_format}, {_RDF_ACCEPT}"},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise EngineError(f"POST {self.query_url} failed: {error}") from error
        self._check(response, "query")
        return QueryResponse(media_type_of(response.headers.get("Content-Type", "")), response.content)

    def update(self, text: str, base_iri: str) -> None:
        raise EngineError("our /sparql is read-only")

    def dump(self) -> list[Quad]:
        quads: list[Quad] = []
        for graph in self.admin.graphs():
            rows = parse_srj(
                self.admin._select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}").content
            ).rows
            for row in rows:
                quads.append((row["s"], row["p"], row["o"], None if graph == DEFAULT_GRAPH else IRI(graph)))
        return quads

    def accepts_query(self, text: str, base_iri: str) -> bool:
        data = {"query": f"BASE <{base_iri}>\n{text}", **self._dataset(text, base_iri)}
        response = self._session.post(self.query_url, data=data, timeout=self.timeout)
        if response.status_code != 400:
            return True
        try:
            code = response.json().get("error")
        except ValueError:
            return False
        return code not in ("query_syntax_error", None)
