"""The one SPARQL-over-HTTP client: queries, updates and Graph Store requests to one store.

Everything this service sends to a SPARQL store goes through :class:`SparqlClient`: the queries of the
web layer to the engine (an ``oxigraph serve`` we supervise, or any store given by ``--engine``),
the reads and commits of guarded writes to a remote durable store (:mod:`kg.changes.durable`), and
``alatau-kg push``. It is built on urllib3 (measured against httpx and hand-driven ``http.client`` in
``bench/http_client.py``: urllib3 costs half the CPU of httpx per request) and owns:

* **pooling**: kept-alive connections per store, dropped after any error and never shared across a
  fork (a worker forked from the server's master opens its own);
* **timeouts**: the engine enforces ``engine_timeout_s`` itself (Oxigraph's ``--timeout-s``); the
  client waits :func:`stuck_grace` longer, then gives up and reports the query as *stuck* (the
  supervisor then kills the engine: :mod:`kg.engine.process`);
* **streaming with a size cap**: a result is read in chunks and refused past ``max_result_bytes``
  (closing the connection makes the engine's next write fail, which ends the query);
* **completeness**: Oxigraph streams results, so a query cancelled by its timeout (or failing) after
  the first bytes still answers ``200``, with the error text appended to a truncated body. A streamed
  body is trusted only when it ends the way a complete document of its format ends
  (:data:`COMPLETE_ENDINGS`) and arrived before the engine's timeout fired;
* **the store's errors**, translated once, here, into :mod:`kg.errors` (``raise … from``).

The dataset follows the standard: the default graph is the store's default graph unless the query
(FROM) or the request (graph URIs) says otherwise. ``union_default_graph=True`` asks, per query, for
the union of all graphs instead (Oxigraph's ``union-default-graph`` parameter; it overrides FROM, so
the web layer asks for it only when neither the query nor the request names graphs).
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError

from kg.engine import EngineResponse
from kg.errors import (
    EngineError,
    EngineUnavailable,
    KGError,
    QuerySyntaxError,
    QueryTimeout,
    ResultTooLarge,
    UsageError,
)

STUCK_GRACE_S = 3.0  # the least time past its timeout a query may take before it counts as stuck
CONNECT_TIMEOUT_S = 5.0
MAX_IDLE_CONNECTIONS = 32  # kept-alive connections per store, per process
CHUNK = 65536

QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
FORM_TYPE = "application/x-www-form-urlencoded"
RESULTS_JSON = "application/sparql-results+json"

_ERROR_AT = re.compile(r"error at (\d+):(\d+)")
# Oxigraph's 500 answers that the query itself caused (e.g. "The custom function <…> is not supported")
_QUERY_CAUSED = re.compile(r"custom function .* is not supported|is not supported by this", re.IGNORECASE)

# How a complete document of each format ends, for a streamed (chunked) body. Oxigraph appends
# its error text (no final newline, no closing bracket) when a streamed query fails or is cancelled.
COMPLETE_ENDINGS: dict[str, Callable[[bytes], bool]] = {
    "application/sparql-results+json": lambda b: b.rstrip().endswith(b"}"),
    "application/sparql-results+xml": lambda b: b.rstrip().endswith(b"</sparql>"),
    "text/csv": lambda b: b.endswith(b"\n"),
    "text/tab-separated-values": lambda b: b.endswith(b"\n"),
    "text/turtle": lambda b: not b.strip() or b.endswith(b".\n"),
    "application/n-triples": lambda b: not b.strip() or b.endswith(b".\n"),
    "application/n-quads": lambda b: not b.strip() or b.endswith(b".\n"),
    "application/trig": lambda b: not b.strip() or b.rstrip().endswith((b".", b"}")),
    "application/ld+json": lambda b: b.rstrip().endswith((b"]", b"}")),
    "application/rdf+xml": lambda b: b.rstrip().endswith(b"</rdf:RDF>"),
}

Url = str | Callable[[], str]  # a URL, or where to read it (an engine that moves when restarted)


class SparqlClient:
    """A client of one SPARQL 1.1 store: its query URL and, where it has them, its update and Graph
    Store URLs (https://www.w3.org/TR/sparql11-protocol/, https://www.w3.org/TR/sparql11-http-rdf-update/).

    As an engine (what the web layer queries) it gives :meth:`query`, :meth:`graph_counts` and
    :meth:`status`; as a store it gives :meth:`select`, :meth:`ask`, :meth:`construct`,
    :meth:`update` and :meth:`put_graph`.
    """

    def __init__(
        self,
        query_url: Url,
        *,
        update_url: Url = "",
        store_url: Url = "",
        timeout_s: float = 10.0,
        max_result_bytes: int = 50_000_000,
        union_param: bool = True,
        grace_s: float | None = None,
    ):
        self._query_url = query_url
        self._update_url = update_url
        self._store_url = store_url
        self.union_param = union_param  # send Oxigraph's union-default-graph parameter
        self.timeout_s = timeout_s
        self.engine_timeout_s = engine_timeout(timeout_s)
        # how long past the engine's timeout a query may run before it counts as stuck
        self.grace_s = stuck_grace(self.engine_timeout_s) if grace_s is None else grace_s
        self.max_result_bytes = max_result_bytes
        self._pools: urllib3.PoolManager | None = None
        self._pools_pid = -1
        self._pools_lock = threading.Lock()

    def copy(self, **changes: Any) -> SparqlClient:
        """A client of the same store (same URLs), with other settings and its own connections."""
        settings: dict[str, Any] = {
            "update_url": self._update_url,
            "store_url": self._store_url,
            "timeout_s": self.timeout_s,
            "max_result_bytes": self.max_result_bytes,
            "union_param": self.union_param,
            "grace_s": self.grace_s,
        }
        if "timeout_s" in changes and "grace_s" not in changes:
            settings.pop("grace_s")  # the grace follows the timeout
        return SparqlClient(self._query_url, **(settings | changes))

    # --- where ----------------------------------------------------------------------------------

    @property
    def query_url(self) -> str:
        return _resolve(self._query_url)

    @property
    def update_url(self) -> str:
        return _resolve(self._update_url) or default_update_url(self.query_url)

    @property
    def store_url(self) -> str:
        return _resolve(self._store_url)

    def _pool(self) -> urllib3.PoolManager:
        """This process's pools (a forked process must not use its parent's sockets, nor close them)."""
        pid = os.getpid()
        if self._pools is None or self._pools_pid != pid:
            with self._pools_lock:
                if self._pools is None or self._pools_pid != pid:
                    self._pools = urllib3.PoolManager(
                        num_pools=4, maxsize=MAX_IDLE_CONNECTIONS, block=False, retries=False
                    )
                    self._pools_pid = pid
        return self._pools

    def idle_local_ports(self) -> list[int]:
        """The local ports of the kept-alive connections now idle in this process (for tests)."""
        if self._pools is None or self._pools_pid != os.getpid():
            return []
        ports = []
        for key in list(self._pools.pools.keys()):  # a container of pools, not a dict
            pool = self._pools.pools.get(key)
            queue = getattr(getattr(pool, "pool", None), "queue", ())
            ports += [conn.sock.getsockname()[1] for conn in queue if conn is not None and conn.sock]
        return ports

    def close_idle(self) -> None:
        """Close the kept-alive connections (in this process)."""
        if self._pools is not None and self._pools_pid == os.getpid():
            self._pools.clear()

    def stop(self) -> None:
        """Close the kept-alive connections (the store is not ours to stop)."""
        self.close_idle()

    # --- queries ----------------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        union_default_graph: bool = False,
    ) -> EngineResponse:
        """Run a query (the query as the body: SPARQL 1.1 Protocol §2.1.3, POST directly);
        ``union_default_graph`` makes the default graph the union of all graphs (an Oxigraph
        extension; it overrides FROM, so only ask for it when the query has none)."""
        if union_default_graph and (default_graphs or named_graphs):
            raise UsageError("union-default-graph and graph URIs cannot be given together")
        params = [("default-graph-uri", g) for g in default_graphs]
        params += [("named-graph-uri", g) for g in named_graphs]
        if union_default_graph and self.union_param:
            params.append(("union-default-graph", ""))
        url = _with_params(self.query_url, params)
        body = sparql.encode("utf-8")
        headers = {"Content-Type": QUERY_TYPE, "Accept": accept}
        for attempt in (1, 2):
            try:
                return self._query_once(url, body, headers)
            except _NotAnswered as exc:
                if attempt == 1 and exc.reused:
                    continue  # a kept-alive connection the store had closed: once more, on a new one
                raise EngineUnavailable(f"the query engine cannot be reached: {exc.__cause__}") from exc
            except EngineUnavailable as exc:
                if attempt == 1 and exc.cause == "unreachable":
                    raise  # no connection at all: nothing of this query reached the store
                raise EngineUnavailable(str(exc), retryable=exc.retryable) from exc  # maybe it did
        raise AssertionError("unreachable")

    def _query_once(self, url: str, body: bytes, headers: dict[str, str]) -> EngineResponse:
        started = time.monotonic()
        deadline = started + self.engine_timeout_s + self.grace_s
        pool = self._pool().connection_from_url(url)
        made = pool.num_connections  # grows when the pool opens a connection rather than reusing one
        try:
            response = pool.urlopen(
                "POST",
                _target(url),
                body=body,
                headers=headers,
                retries=False,
                redirect=False,
                preload_content=False,
                decode_content=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(
                    connect=CONNECT_TIMEOUT_S, read=max(0.01, deadline - time.monotonic())
                ),
            )
        except ReadTimeoutError as exc:
            raise self._timeout(stuck=True) from exc
        except (ProtocolError, ConnectionError) as exc:
            raise _NotAnswered(reused=pool.num_connections == made) from exc
        except NewConnectionError as exc:
            raise EngineUnavailable(
                f"the query engine cannot be reached: {exc}", cause="unreachable"
            ) from exc
        except (OSError, Urllib3Error) as exc:
            raise EngineUnavailable(f"the query engine cannot be reached: {exc}") from exc
        connection = response.connection  # urllib3 puts it back in the pool once the body has ended
        complete = False
        try:
            try:
                data = self._read_capped(response, deadline)
            except TimeoutError as exc:
                raise self._timeout(stuck=True) from exc
            except (OSError, Urllib3Error) as exc:
                if time.monotonic() - started >= self.engine_timeout_s:
                    # the engine's timer fired and it cut the stream it had started (under load the
                    # cut shows as a broken connection rather than as an error text)
                    raise self._timeout() from exc
                raise EngineUnavailable(
                    f"the query engine stopped while answering: {exc}", retryable=False
                ) from exc
            elapsed = time.monotonic() - started
            content_type = response.headers.get("Content-Type", "application/octet-stream")
            if response.status == 500 and b"operation has been cancelled" in data[:300]:
                raise self._timeout()  # the engine's timer fired before it had answered anything
            if response.status != 200:
                raise upstream_error(response.status, data)
            streamed = response.headers.get("Content-Length") is None
            if streamed and elapsed >= self.engine_timeout_s:
                # The engine's timer fired while this body was streaming: whatever the body looks
                # like, it may have been cut.
                raise self._timeout()
            if streamed and not looks_complete(content_type, data):
                tail = data[-300:].decode("utf-8", "replace")
                if "cancelled" in tail:
                    raise self._timeout()
                raise EngineError(
                    "the query engine failed while writing the result (it ended with " + repr(tail) + ")"
                )
            complete = True
            return EngineResponse(response.status, content_type, data)
        finally:
            # After anything but a complete 200 the connection is dropped: after a cancelled or cut
            # stream the engine may still write on it, and that must never be read as the next answer.
            if complete:
                response.release_conn()
            else:  # never drained: a runaway stream may be long
                if connection is not None:
                    connection.close()  # pooled or not: closed, it is never read again
                response.release_conn()

    def _read_capped(self, response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        sock = _socket_of(response)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("client deadline passed")
            if sock is not None:
                sock.settimeout(remaining)
            try:
                chunk = response.read1(CHUNK)
            except ReadTimeoutError as exc:
                raise TimeoutError("client deadline passed") from exc
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_result_bytes:
                raise ResultTooLarge(
                    f"the result is larger than {self.max_result_bytes} bytes: "
                    "narrow the query or add a LIMIT",
                    limit_bytes=self.max_result_bytes,
                )
            chunks.append(chunk)

    def _timeout(self, *, stuck: bool = False) -> QueryTimeout:
        return QueryTimeout(
            f"the query did not finish within {self.timeout_s:g} s and was stopped",
            timeout_s=self.timeout_s,
            stuck=stuck,
        )

    # --- the engine's other questions -----------------------------------------------------------------

    def graph_counts(self) -> dict[str, int]:
        response = self.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", accept=RESULTS_JSON
        )
        rows = json.loads(response.body)["results"]["bindings"]
        return {
            row["g"]["value"]: int(row["n"]["value"]) for row in sorted(rows, key=lambda r: r["g"]["value"])
        }

    def status(self) -> dict[str, Any]:
        try:
            self.query("ASK {}", accept=RESULTS_JSON)
            reachable = True
        except KGError:
            reachable = False
        return {"kind": "sparql-http", "reachable": reachable}

    # --- the store's side: reads as data, updates, graphs --------------------------------------------

    def select(self, sparql: str, *, union_default_graph: bool = False) -> list[dict[str, Any]]:
        """The solutions of a SELECT, each a dict of variable name → pyoxigraph term (unbound left out)."""
        body = self.query(sparql, accept=RESULTS_JSON, union_default_graph=union_default_graph).body
        solutions: Any = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        names = [v.value for v in solutions.variables]
        return [{n: s[n] for n in names if s[n] is not None} for s in solutions]

    def ask(self, sparql: str) -> bool:
        body = self.query(sparql, accept=RESULTS_JSON).body
        return bool(ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON))

    def construct(self, sparql: str) -> list[ox.Triple]:
        body = self.query(sparql, accept="application/n-triples").body
        return list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))

    def update(self, sparql: str, *, timeout_s: float | None = None) -> None:
        """One SPARQL 1.1 Update request (the operations in it are applied atomically by the store)."""
        self.send("POST", self.update_url, sparql.encode("utf-8"), UPDATE_TYPE, timeout_s=timeout_s)

    def put_graph(
        self, graph: str, data: bytes, content_type: str, *, timeout_s: float | None = None
    ) -> None:
        """Replace one named graph (Graph Store Protocol PUT, indirect identification ``?graph=``)."""
        url = _with_params(self.store_url, [("graph", graph)])
        self.send("PUT", url, data, content_type, timeout_s=timeout_s)

    def post_dataset(
        self, data: bytes | Iterable[bytes], content_type: str, *, timeout_s: float | None = None
    ) -> None:
        """Add quads to the store (Graph Store Protocol POST of a dataset to the store's URL); chunks
        are streamed (chunked transfer coding), never held here whole."""
        self.send("POST", self.store_url, data, content_type, timeout_s=timeout_s)

    def send(
        self,
        method: str,
        url: str,
        body: bytes | Iterable[bytes] | None,
        content_type: str,
        *,
        accept: str = "*/*",
        timeout_s: float | None = None,
    ) -> bytes:
        """One request that must succeed (2xx); its body. For updates and graphs, not for results."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EngineError(f"not an http(s) URL: {url!r}")
        wait = timeout_s if timeout_s is not None else max(30.0, self.timeout_s * 3)
        streamed = body is not None and not isinstance(body, bytes)
        # urllib3 sends the body under the connect timeout: a large body to a busy store needs more
        small = isinstance(body, bytes) and len(body) < 1_000_000
        sending = CONNECT_TIMEOUT_S if body is None or small else wait
        try:
            response = self._pool().request(
                method,
                url,
                body=body,
                headers={"Content-Type": content_type, "Accept": accept},
                timeout=urllib3.Timeout(connect=sending, read=wait),
                retries=False,
                redirect=False,
                chunked=streamed,
            )
        except (OSError, Urllib3Error) as exc:
            raise EngineUnavailable(f"{url} cannot be reached: {exc}") from exc
        if response.status >= 300:
            text = response.data[:500].decode("utf-8", "replace").strip()
            raise EngineError(f"{method} {url}: HTTP {response.status}: {text}")
        return bytes(response.data)

    def stream(self, method: str, url: str, *, accept: str, timeout_s: float) -> Iterator[bytes]:
        """A body read in chunks as it comes (a whole dataset: never held whole here)."""
        try:
            response = self._pool().request(
                method,
                url,
                headers={"Accept": accept},
                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=timeout_s),
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except (OSError, Urllib3Error) as exc:
            raise EngineUnavailable(f"{url} cannot be reached: {exc}") from exc
        try:
            if response.status >= 300:
                text = response.read(500).decode("utf-8", "replace").strip()
                raise EngineError(f"{method} {url}: HTTP {response.status}: {text}")
            try:
                yield from response.stream(CHUNK * 16)
            except (OSError, Urllib3Error) as exc:
                raise EngineUnavailable(f"{url} stopped while sending: {exc}") from exc
        finally:
            response.release_conn()


class _NotAnswered(Exception):
    """The connection failed before any answer (the query may not have reached the store)."""

    def __init__(self, reused: bool):
        super().__init__("no answer")
        self.reused = reused


def upstream_error(status: int, body: bytes) -> KGError:
    """The library error for a store's non-200 answer to a query."""
    message = body.decode("utf-8", "replace").strip()
    if status == 400:
        if m := _ERROR_AT.search(message):
            position = {"line": int(m.group(1)), "column": int(m.group(2))}
            return QuerySyntaxError(f"SPARQL syntax error: {message}", position=position)
        return UsageError(message or "the query engine refused the request")
    if status == 500 and _QUERY_CAUSED.search(message):
        # the query asked for something the engine does not implement: the client's to fix
        return UsageError(message)
    return EngineError(f"the query engine answered {status}: {message[:500]}")


def looks_complete(content_type: str, body: bytes) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    check = COMPLETE_ENDINGS.get(media_type)
    return check(body) if check is not None else True


def stuck_grace(engine_timeout_s: float) -> float:
    """How long past its timeout a query may run before it counts as stuck."""
    return max(STUCK_GRACE_S, float(engine_timeout_s))


def engine_timeout(timeout_s: float) -> int:
    """Oxigraph takes whole seconds: round up, at least one."""
    return max(1, math.ceil(timeout_s))


def default_update_url(query_url: str) -> str:
    """``…/query`` → ``…/update`` (Oxigraph server, Fuseki); otherwise the query URL itself."""
    if query_url.rstrip("/").endswith("/query"):
        return query_url.rstrip("/")[: -len("query")] + "update"
    return query_url


def _resolve(url: Url) -> str:
    return url() if callable(url) else url


def _with_params(url: str, params: list[tuple[str, str]]) -> str:
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + ("?" + parts.query if parts.query else "")


def _socket_of(response: urllib3.BaseHTTPResponse) -> Any:
    """The socket under a streamed response, to move its timeout as the deadline nears."""
    connection = getattr(response, "connection", None)
    return getattr(connection, "sock", None)
