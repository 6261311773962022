"""The thing under test: a SPARQL 1.1 engine behind a small interface.

:class:`Engine` is all the harness needs.  Two implementations:

* :class:`PyOxigraphEngine`: ``pyoxigraph.Store`` in-process (the default, fast run);
* :class:`HttpEngine`: any endpoint speaking the SPARQL 1.1 Protocol (queries and updates POSTed
  directly), loading test data through the SPARQL 1.1 Graph Store HTTP Protocol or, for endpoints without
  one, through ``INSERT DATA``.

Engines answer queries with bytes in a standard format (:class:`QueryResponse`); the harness parses them
itself, so a serializer bug is a test failure like any other.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pyoxigraph as ox
import requests

from .rdfio import from_ox, from_ox_graph_name, serialize_nquads, to_ox_quad
from .results import (
    RESULTS_MEDIA_TYPES,
    SPARQL_RESULTS_JSON,
    Solutions,
    media_type_of,
    parse_results,
)
from .terms import IRI, BNode, GraphName, Literal, Quad


class EngineError(Exception):
    """The engine failed to run a query or an update (or to load data)."""


class EngineSyntaxError(EngineError):
    """The engine rejected a query or an update as syntactically invalid."""


@dataclass(frozen=True)
class QueryResponse:
    """A query answer as the engine serialized it."""

    media_type: str
    """A SPARQL results media type for SELECT/ASK, an RDF media type for CONSTRUCT/DESCRIBE."""
    body: bytes


@runtime_checkable
class Engine(Protocol):
    """What the harness needs from a SPARQL engine.  Each test starts with :meth:`reset`."""

    name: str
    """Identifies the engine (and selects its known-failure profile, see ``known_failures``)."""

    def reset(self) -> None:
        """Make the dataset empty (default graph and all named graphs)."""

    def load(self, quads: Iterable[Quad]) -> None:
        """Add quads (graph ``None`` is the default graph) to the dataset."""

    def query(self, text: str, base_iri: str, results_format: str = SPARQL_RESULTS_JSON) -> QueryResponse:
        """Run a query; SELECT/ASK results in ``results_format`` (a SPARQL results media type).

        Raises :class:`EngineSyntaxError` if the query is rejected, :class:`EngineError` if it fails.
        """
        ...

    def update(self, text: str, base_iri: str) -> None:
        """Run a SPARQL update (raises like :meth:`query`)."""

    def dump(self) -> list[Quad]:
        """Every quad of the dataset."""
        ...

    def accepts_query(self, text: str, base_iri: str) -> bool:
        """Whether the query is syntactically valid for the engine (it may be evaluated on any data)."""
        ...

    def accepts_update(self, text: str, base_iri: str) -> bool:
        """Whether the update is syntactically valid (it may be run against the engine's dataset)."""
        ...


# ---------------------------------------------------------------------------------------------------------


class PyOxigraphEngine:
    """``pyoxigraph.Store`` (in memory), in-process; relative IRIs resolve against ``base_iri``."""

    name = "pyoxigraph"

    def __init__(self) -> None:
        self._store = ox.Store()

    def reset(self) -> None:
        self._store = ox.Store()

    def load(self, quads: Iterable[Quad]) -> None:
        try:
            self._store.extend([to_ox_quad(q) for q in quads])
        except (OSError, ValueError) as error:
            raise EngineError(f"load failed: {error}") from error

    def query(self, text: str, base_iri: str, results_format: str = SPARQL_RESULTS_JSON) -> QueryResponse:
        try:
            result = self._store.query(text, base_iri=base_iri)
            if isinstance(result, ox.QueryTriples):
                return QueryResponse(
                    "application/n-triples", result.serialize(format=ox.RdfFormat.N_TRIPLES) or b""
                )
            fmt = ox.QueryResultsFormat.from_media_type(results_format)
            if fmt is None:
                raise EngineError(f"unsupported results format {results_format}")
            return QueryResponse(results_format, result.serialize(format=fmt) or b"")
        except SyntaxError as error:
            raise EngineSyntaxError(str(error)) from error
        except (OSError, ValueError, RuntimeError) as error:
            raise EngineError(f"{type(error).__name__}: {error}") from error

    def update(self, text: str, base_iri: str) -> None:
        try:
            self._store.update(text, base_iri=base_iri)
        except SyntaxError as error:
            raise EngineSyntaxError(str(error)) from error
        except (OSError, ValueError, RuntimeError) as error:
            raise EngineError(f"{type(error).__name__}: {error}") from error

    def dump(self) -> list[Quad]:
        return [
            (from_ox(q.subject), from_ox(q.predicate), from_ox(q.object), from_ox_graph_name(q.graph_name))
            for q in self._store
        ]

    def accepts_query(self, text: str, base_iri: str) -> bool:
        # Parsing happens when the query is prepared; evaluation is lazy and the store is empty anyway.
        try:
            ox.Store().query(text, base_iri=base_iri)
        except SyntaxError:
            return False
        except Exception:
            return True
        return True

    def accepts_update(self, text: str, base_iri: str) -> bool:
        # A throw-away store: positive tests include LOAD of unreachable IRIs, DROP, CREATE...
        try:
            ox.Store().update(text, base_iri=base_iri)
        except SyntaxError:
            return False
        except Exception:
            return True
        return True


# ---------------------------------------------------------------------------------------------------------

ENDPOINT_ENV = "ALATAU_W3C_ENDPOINT"
"""Base URL of an already running endpoint for the HTTP run (see :func:`http_engine_from_env`)."""
_RDF_ACCEPT = "text/turtle;q=0.9, application/n-triples;q=0.8"
_DUMP_QUERY = "SELECT ?s ?p ?o ?g WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"


def _with_base(text: str, base_iri: str) -> str:
    """The SPARQL Protocol has no base IRI parameter: declare it in the prologue instead."""
    return f"BASE <{base_iri}>\n{text}"


class HttpEngine:
    """A SPARQL 1.1 Protocol endpoint over HTTP.

    ``base_url`` plus ``query_path``/``update_path``/``store_path`` give the query, update and Graph Store
    URLs (absolute URLs are accepted as paths too); the defaults are Oxigraph's layout (``/query``,
    ``/update``, ``/store``).  With ``store_path=None`` test data is loaded with ``INSERT DATA`` instead of
    the Graph Store Protocol.  Queries and updates are sent as ``POST application/sparql-query`` /
    ``application/sparql-update`` with the base IRI declared as ``BASE`` in the prologue.

    Syntax checks send the text for real: HTTP 400 means rejected, any other answer (success or an
    evaluation error such as a failing ``LOAD``) means the parser accepted it.
    """

    def __init__(
        self,
        base_url: str,
        *,
        query_path: str = "/query",
        update_path: str = "/update",
        store_path: str | None = "/store",
        name: str = "oxigraph-http",
        timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.query_url = self._url(base_url, query_path)
        self.update_url = self._url(base_url, update_path)
        self.store_url = None if store_path is None else self._url(base_url, store_path)
        self.timeout = timeout
        self._session = requests.Session()

    @staticmethod
    def _url(base_url: str, path: str) -> str:
        if "://" in path:
            return path
        return base_url.rstrip("/") + "/" + path.lstrip("/")

    def close(self) -> None:
        """Close the HTTP connections."""
        self._session.close()

    def __enter__(self) -> HttpEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpEngine({self.query_url!r}, update={self.update_url!r}, store={self.store_url!r})"

    def _post(
        self, url: str, body: bytes, content_type: str, accept: str | None = None, **params: str
    ) -> requests.Response:
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        try:
            response = self._session.post(
                url, data=body, headers=headers, params=params, timeout=self.timeout
            )
            # Read the whole body now so that the connection goes back to the pool.
            _ = response.content
        except requests.RequestException as error:
            raise EngineError(f"POST {url} failed: {error}") from error
        return response

    @staticmethod
    def _check(response: requests.Response, what: str) -> None:
        if response.status_code == 400:
            raise EngineSyntaxError(f"{what}: HTTP 400: {response.text[:2000]}")
        if not 200 <= response.status_code < 300:
            raise EngineError(f"{what}: HTTP {response.status_code}: {response.text[:2000]}")

    def reset(self) -> None:
        self.update("DROP ALL", "http://example.org/")

    def load(self, quads: Iterable[Quad]) -> None:
        quads = list(quads)
        if not quads:
            return
        if self.store_url is None:
            self.update("INSERT DATA {\n" + _quad_data(quads) + "}", "http://example.org/")
            return
        by_graph: dict[GraphName, list[Quad]] = defaultdict(list)
        for s, p, o, g in quads:
            by_graph[g].append((s, p, o, None))
        for graph, triples in by_graph.items():
            params = {"default": ""} if graph is None else {"graph": _graph_iri(graph)}
            response = self._post(
                self.store_url, serialize_nquads(triples), "application/n-triples", **params
            )
            self._check(response, f"Graph Store POST {params}")

    def query(self, text: str, base_iri: str, results_format: str = SPARQL_RESULTS_JSON) -> QueryResponse:
        response = self._post(
            self.query_url,
            _with_base(text, base_iri).encode("utf-8"),
            "application/sparql-query",
            accept=f"{results_format}, {_RDF_ACCEPT}",
        )
        self._check(response, "query")
        media_type = media_type_of(response.headers.get("Content-Type", ""))
        if not media_type:
            raise EngineError("query response without a Content-Type")
        return QueryResponse(media_type, response.content)

    def update(self, text: str, base_iri: str) -> None:
        response = self._post(
            self.update_url, _with_base(text, base_iri).encode("utf-8"), "application/sparql-update"
        )
        self._check(response, "update")

    def dump(self) -> list[Quad]:
        response = self.query(_DUMP_QUERY, "http://example.org/", SPARQL_RESULTS_JSON)
        if response.media_type not in RESULTS_MEDIA_TYPES:
            raise EngineError(f"dump answered with {response.media_type}")
        result = parse_results(response.body, response.media_type)
        if not isinstance(result, Solutions):
            raise EngineError("dump did not answer with solutions")
        quads: list[Quad] = []
        for row in result.rows:
            graph = row.get("g")
            if isinstance(graph, Literal):
                raise EngineError(f"literal graph name {graph}")
            quads.append((row["s"], row["p"], row["o"], graph))
        return quads

    def _accepts(self, url: str, text: str, base_iri: str, content_type: str) -> bool:
        response = self._post(url, _with_base(text, base_iri).encode("utf-8"), content_type)
        if response.status_code != 400:
            return True
        # An endpoint that says why (our JSON error shape) may refuse a well-formed query for another
        # reason (a function it does not implement): only a syntax error is a rejection of the syntax.
        try:
            code = response.json().get("error")
        except ValueError:
            return False  # a plain-text 400 (Oxigraph server): taken as a syntax error
        return code not in ("query_syntax_error", None)

    def accepts_query(self, text: str, base_iri: str) -> bool:
        return self._accepts(self.query_url, text, base_iri, "application/sparql-query")

    def accepts_update(self, text: str, base_iri: str) -> bool:
        return self._accepts(self.update_url, text, base_iri, "application/sparql-update")


def _graph_iri(graph: IRI | BNode) -> str:
    if not isinstance(graph, IRI):
        raise EngineError(f"cannot address a blank-node graph over HTTP: {graph}")
    return graph.value


def _quad_data(quads: Sequence[Quad]) -> str:
    """The QuadData of an ``INSERT DATA`` for ``quads``."""
    lines = []
    for s, p, o, g in quads:
        triple = f"{s} {p} {o} ."
        lines.append(triple if g is None else f"GRAPH <{_graph_iri(g)}> {{ {triple} }}")
    return "\n".join(lines) + "\n"


def http_engine_from_env() -> HttpEngine | None:
    """An :class:`HttpEngine` for ``$ALATAU_W3C_ENDPOINT``, or ``None`` when it is not set.

    ``ALATAU_W3C_QUERY_PATH``, ``ALATAU_W3C_UPDATE_PATH`` and ``ALATAU_W3C_STORE_PATH`` override Oxigraph's
    ``/query``, ``/update`` and ``/store`` (an empty store path loads data with ``INSERT DATA``);
    ``ALATAU_W3C_PROFILE`` names the known-failure profile (default ``oxigraph-http``).
    """
    base_url = os.environ.get(ENDPOINT_ENV)
    if not base_url:
        return None
    store_path = os.environ.get("ALATAU_W3C_STORE_PATH", "/store")
    return HttpEngine(
        base_url,
        query_path=os.environ.get("ALATAU_W3C_QUERY_PATH", "/query"),
        update_path=os.environ.get("ALATAU_W3C_UPDATE_PATH", "/update"),
        store_path=store_path or None,
        name=http_profile(),
    )


def http_profile() -> str:
    """The known-failure profile of the HTTP run (``$ALATAU_W3C_PROFILE``, default ``oxigraph-http``)."""
    return os.environ.get("ALATAU_W3C_PROFILE", "oxigraph-http")
