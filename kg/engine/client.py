"""The one SPARQL-over-HTTP client: queries, updates and Graph Store requests to one store.

Everything this service sends to a SPARQL store goes through :class:`SparqlClient`: the queries of the
web layer to the engine (an ``oxigraph serve`` we supervise, or any store given by ``--engine``),
the reads and commits of guarded writes to a remote durable store (:mod:`kg.changes.durable`), and
``alatau-kg push``. Queries, the path every uncached request takes, go over :mod:`kg.engine.wire`
(kept-alive sockets, answers parsed by httptools: a third of urllib3's CPU per query); the rest, and
queries to a store behind TLS, over urllib3 (measured against httpx and hand-driven ``http.client`` in
``bench/http_client.py``: urllib3 costs half the CPU of httpx per request). It owns:

* **pooling**: kept-alive connections per store, dropped after any error and never shared across a
  fork (a worker forked from the server's master opens its own); a request's head and body leave in
  one write (the wire's, and :class:`OneWriteConnection` for urllib3's), and the pool of the engine's
  URL is looked up once, not parsed out of the URL on every query;
* **timeouts**: the engine enforces ``engine_timeout_s`` itself (Oxigraph's ``--timeout-s``); the
  client waits :func:`stuck_grace` longer, then gives up and reports the query as *stuck* (the
  supervisor then kills the engine: :mod:`kg.engine.process`);
* **streaming with a size cap**: a result is read in chunks and refused past ``max_result_bytes``
  (closing the connection makes the engine's next write fail, which ends the query);
* **completeness**: Oxigraph streams results, so a query cancelled by its timeout (or failing) after
  the first bytes still answers ``200``, with the error text appended to a truncated body. A streamed
  body is trusted only when it ends the way a complete document of its format ends
  (:data:`COMPLETE_ENDINGS`) and arrived before the engine's timeout fired;
* **the store's errors**, translated once, here, into :mod:`kg.errors` (``raise … from``);
* **the store's ways**: an engine profile (:mod:`kg.engine.profiles`: oxigraph, virtuoso, generic, or
  detected from the store's ``Server`` header) decides how a query is sent, what is asked for, and what
  an answer is worth (a store's cut or partial answer is refused: :class:`kg.errors.ResultTruncated`);
* **authentication** for updates and the Graph Store: HTTP digest or basic, as the store challenges,
  with the configured user and password (never logged).

The dataset follows the standard: the default graph is the store's default graph unless the query
(FROM) or the request (graph URIs) says otherwise. ``union_default_graph=True`` asks, per query, for
the union of all graphs instead (Oxigraph's ``union-default-graph`` parameter; it overrides FROM, so
the web layer asks for it only when neither the query nor the request names graphs).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import os
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError

from kg.engine import EngineResponse
from kg.engine.profiles import (
    FORM_TYPE,
    RESULTS_JSON,
    Plan,
    Profile,
    Request,
    VirtuosoFacts,
    VirtuosoProfile,
    detected,
    profile_named,
    union_in_description,
    with_params,
)
from kg.engine.wire import Answer, Broken, NotAnswered, TooLarge, Unreachable, Wire, WireError
from kg.errors import (
    EngineError,
    EngineUnavailable,
    KGError,
    QuerySyntaxError,
    QueryTimeout,
    ResultTooLarge,
    UsageError,
)

log = logging.getLogger("alatau_kg.engine")

STUCK_GRACE_S = 3.0  # the least time past its timeout a query may take before it counts as stuck
UPDATE_ATTEMPTS = 5  # an update the store rolled back (a deadlock) is sent again: this many times in all
CONNECT_TIMEOUT_S = 5.0
MAX_IDLE_CONNECTIONS = 32  # kept-alive connections per store, per process
CHUNK = 65536
ONE_WRITE_MAX = 1 << 20  # requests up to this size leave in one write; a larger body (a load) as it is


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


class _OneWrite:
    """urllib3's connection, sending a request's head and body in one write.

    urllib3 writes the head, then the body: two segments, and on loopback two wake-ups of the store
    for one request (http.client joins them when the body is bytes). Here what urllib3 sends while it
    builds a request is held and written once at its end; nothing is written if building it fails.
    A large body (a dataset loaded at start) is sent as urllib3 sends it, without a copy.
    """

    _held: list[bytes] | None = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        body = kwargs.get("body", args[2] if len(args) > 2 else None)
        if body is not None and (not isinstance(body, bytes) or len(body) > ONE_WRITE_MAX):
            super().request(*args, **kwargs)  # type: ignore[misc]  # a load: no copy of it
            return
        self._held = []
        try:
            super().request(*args, **kwargs)  # type: ignore[misc]
            held = b"".join(self._held)
        finally:
            self._held = None
        super().send(held)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self._held is not None and isinstance(data, bytes | bytearray | memoryview):
            self._held.append(bytes(data))
        else:
            super().send(data)  # type: ignore[misc]


class OneWriteConnection(_OneWrite, HTTPConnection):
    pass


class OneWriteTLSConnection(_OneWrite, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = OneWriteConnection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = OneWriteTLSConnection


class SparqlClient:
    """A client of one SPARQL 1.1 store: its query URL and, where it has them, its update and Graph
    Store URLs (https://www.w3.org/TR/sparql11-protocol/, https://www.w3.org/TR/sparql11-http-rdf-update/).

    As an engine (what the web layer queries) it gives :meth:`query`, :meth:`graph_counts` and
    :meth:`status`; as a store it gives :meth:`select`, :meth:`ask`, :meth:`construct`,
    :meth:`update` and :meth:`put_graph`. ``profile`` is an engine profile or its name
    (:mod:`kg.engine.profiles`; ``auto``: asked of the store at the first request).
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
        profile: Profile | str = "auto",
        credentials: tuple[str, str] | None = None,
        grace_s: float | None = None,
        idle_timeout_s: float | None = None,
    ):
        self._query_url = query_url
        # the store's own timeout for an idle connection, where it is known (an engine we run)
        self.idle_timeout_s = idle_timeout_s
        self._update_url = update_url
        self._store_url = store_url
        self.union_param = union_param  # send Oxigraph's union-default-graph (where the store takes it)
        self.timeout_s = timeout_s
        self.engine_timeout_s = engine_timeout(timeout_s)
        # how long past the engine's timeout a query may run before it counts as stuck
        self.grace_s = stuck_grace(self.engine_timeout_s) if grace_s is None else grace_s
        self.max_result_bytes = max_result_bytes
        self._profile: Profile | None = profile if isinstance(profile, Profile) else None
        self._profile_name = profile.name if isinstance(profile, Profile) else profile
        self._profile_lock = threading.Lock()
        self._auth = _Auth(*credentials) if credentials and credentials[0] else None
        self._pools: urllib3.PoolManager | None = None
        self._pools_pid = -1
        self._pool_of: dict[str, HTTPConnectionPool] = {}  # this process's pool of each URL
        self._pools_lock = threading.Lock()
        self._wire_of: dict[str, Wire | None] = {}  # the wire of each URL (None: TLS, urllib3)
        self._wires: dict[tuple[str, int], Wire] = {}  # the wire of each host and port

    def copy(self, **changes: Any) -> SparqlClient:
        """A client of the same store (same URLs and profile), other settings, connections of its own."""
        settings: dict[str, Any] = {
            "update_url": self._update_url,
            "store_url": self._store_url,
            "timeout_s": self.timeout_s,
            "max_result_bytes": self.max_result_bytes,
            "union_param": self.union_param,
            "profile": self._profile or self._profile_name,
            "credentials": self._auth.credentials if self._auth else None,
            "grace_s": self.grace_s,
            "idle_timeout_s": self.idle_timeout_s,
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
        return _resolve(self._update_url) or self.profile.default_update_url(self.query_url)

    @property
    def store_url(self) -> str:
        return _resolve(self._store_url) or self.profile.default_store_url(self.query_url)

    # --- the store's profile --------------------------------------------------------------------

    @property
    def profile(self) -> Profile:
        """The store's engine profile, asked of the store once (``auto``) or built from its name."""
        profile = self._profile
        if profile is not None:
            return profile
        with self._profile_lock:
            if self._profile is None:
                self._profile = self._resolved_profile()
            return self._profile

    @property
    def profile_name(self) -> str:
        """The profile's name, without asking the store (``auto`` until it has been asked)."""
        return self._profile.name if self._profile is not None else self._profile_name

    def _resolved_profile(self) -> Profile:
        name = self._profile_name
        union: bool | None = None
        if name == "auto":
            probe = with_params(self.query_url, [("query", "ASK {}")])
            status, headers, _ = self._exchange(Request("GET", probe, None, {"Accept": RESULTS_JSON}))
            name = detected(headers.get("Server", ""))
        if name == "generic":
            # its service description may say its default graph is the union of its graphs
            status, headers, body = self._exchange(
                Request("GET", self.query_url, None, {"Accept": "text/turtle, application/rdf+xml;q=0.5"})
            )
            if status == 200:
                union = union_in_description(body, headers.get("Content-Type", ""), self.query_url)
        if name == "virtuoso":
            return VirtuosoProfile(self._virtuoso_facts())
        profile = profile_named(name)
        profile.union_default_graph = union
        return profile

    def _virtuoso_facts(self) -> VirtuosoFacts:
        body = urlencode({"query": VirtuosoFacts.QUERY}).encode("ascii")
        request = Request("POST", self.query_url, body, {"Content-Type": FORM_TYPE, "Accept": RESULTS_JSON})
        status, _, data = self._exchange(request)
        try:
            if status != 200:
                raise ValueError(data[:300].decode("utf-8", "replace"))
            rows = json.loads(data)["results"]["bindings"]
            row = {k: v["value"] for k, v in rows[0].items()} if rows else {}
        except (ValueError, KeyError, IndexError) as exc:
            raise EngineError(
                f"cannot read Virtuoso's settings (ResultSetMaxRows, DefaultIsolation) at {self.query_url}: "
                f"{exc}; its public endpoint must answer bif:virtuoso_ini_item_value (as it does by default)"
            ) from exc
        return VirtuosoFacts.of(row)

    def refresh_profile(self) -> Profile:
        """Ask the store again (its settings may have changed: graph-level security set by push)."""
        with self._profile_lock:
            if self._profile_name in ("auto", "virtuoso"):
                self._profile = self._resolved_profile()
        return self.profile

    def own_graphs_only(self) -> None:
        """Refuse to go on if queries here would see graphs of the store's own (Virtuoso's system
        graphs, which its graph-level security hides once ``alatau-kg push`` has set it)."""
        profile = self.profile
        if isinstance(profile, VirtuosoProfile) and not profile.facts_read.graphs_hidden:
            profile = self.refresh_profile()
        if isinstance(profile, VirtuosoProfile) and not profile.facts_read.graphs_hidden:
            raise EngineError(
                f"Virtuoso at {self.query_url} shows its own system graphs to queries: queries through this "
                "service must see the city's graphs only. `alatau-kg push` sets its graph-level security; "
                "or run in isql: DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 0); then, per graph, "
                "DB.DBA.RDF_GRAPH_USER_PERMS_SET ('<graph IRI>', 'nobody', 1);"
            )

    def _pool(self) -> urllib3.PoolManager:
        """This process's pools (a forked process must not use its parent's sockets, nor close them)."""
        pid = os.getpid()
        if self._pools is None or self._pools_pid != pid:
            with self._pools_lock:
                if self._pools is None or self._pools_pid != pid:
                    pools = urllib3.PoolManager(
                        num_pools=4, maxsize=MAX_IDLE_CONNECTIONS, block=False, retries=False
                    )
                    pools.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}
                    self._pool_of = {}
                    self._pools, self._pools_pid = pools, pid
        return self._pools

    def _pool_for(self, url: str) -> HTTPConnectionPool:
        """The pool of ``url`` (a URL without parameters), looked up once per URL and process."""
        pools = self._pool()
        pool = self._pool_of.get(url)
        if pool is None or pool.pool is None:  # None: closed (close_idle, or evicted by the manager)
            if len(self._pool_of) > 8:  # an engine that restarts moves to another port
                self._pool_of.clear()
            pool = self._pool_of[url] = pools.connection_from_url(url)
        return pool

    def _wire_for(self, url: str) -> Wire | None:
        """The wire to a URL's host and port (``http``), found once per URL; None for ``https``
        (urllib3's). Every URL of one host and port shares one wire, and so its sockets."""
        try:
            return self._wire_of[url]
        except KeyError:
            pass
        parts = urlsplit(url)
        with self._pools_lock:
            if len(self._wire_of) > 16:  # an engine that restarts moves to another port
                for old in set(self._wire_of.values()) | set(self._wires.values()):
                    if old is not None:
                        old.close_idle()
                self._wire_of.clear()
                self._wires.clear()
            wire = None
            if parts.scheme == "http" and parts.hostname:
                where = (parts.hostname, parts.port or 80)
                wire = self._wires.get(where)
                if wire is None:
                    # Oxigraph closes a connection idle for its timeout (answering 500 on it)
                    max_idle_s = max(0.5, self.engine_timeout_s / 2)
                    known = self.idle_timeout_s
                    wire = self._wires[where] = Wire(
                        *where,
                        max_idle=MAX_IDLE_CONNECTIONS,
                        connect_timeout_s=CONNECT_TIMEOUT_S,
                        max_idle_s=max_idle_s,
                        check_idle=known is None or max_idle_s >= known,
                    )
            return self._wire_of.setdefault(url, wire)

    def idle_local_ports(self) -> list[int]:
        """The local ports of the kept-alive connections now idle in this process (for tests)."""
        ports = [port for wire in list(self._wires.values()) for port in wire.idle_local_ports()]
        if self._pools is None or self._pools_pid != os.getpid():
            return ports
        for key in list(self._pools.pools.keys()):  # a container of pools, not a dict
            pool = self._pools.pools.get(key)
            queue = getattr(getattr(pool, "pool", None), "queue", ())
            ports += [conn.sock.getsockname()[1] for conn in queue if conn is not None and conn.sock]
        return ports

    def close_idle(self) -> None:
        """Close the kept-alive connections (in this process)."""
        for wire in list(self._wires.values()):
            wire.close_idle()
        if self._pools is not None and self._pools_pid == os.getpid():
            self._pools.clear()
            self._pool_of = {}

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
        """Run a query, sent as the store's profile says (Oxigraph: the query as the body, SPARQL 1.1
        Protocol §2.1.3; others: form-encoded, §2.1.2); ``union_default_graph`` makes the default graph
        the union of all graphs (Oxigraph's parameter; it overrides FROM, so only ask for it when the
        query has none). The answer is in ``accept``, checked complete by the profile."""
        if union_default_graph and (default_graphs or named_graphs):
            raise UsageError("union-default-graph and graph URIs cannot be given together")
        profile = self.profile
        if isinstance(profile, VirtuosoProfile) and not profile.facts_read.graphs_hidden:
            self.own_graphs_only()
            profile = self.profile
        plan = profile.plan(
            sparql,
            accept=accept,
            default_graphs=default_graphs,
            named_graphs=named_graphs,
            union=union_default_graph,
            union_param=self.union_param,
            graphs=self._graph_names,
        )
        if plan.probe is not None and isinstance(profile, VirtuosoProfile):
            answer, headers = self._run(profile, plan.probe)
            profile.check_probe(plan.probe, answer, headers)
        answer, headers = self._run(profile, plan)
        return profile.answer(plan, answer, headers)

    def _run(self, profile: Profile, plan: Plan) -> tuple[EngineResponse, Mapping[str, str]]:
        request = profile.request(self.query_url, plan)
        for attempt in (1, 2):
            try:
                return self._query_once(profile, request)
            except _NotAnswered as exc:
                if attempt == 1 and exc.reused:
                    continue  # a kept-alive connection the store had closed: once more, on a new one
                raise EngineUnavailable(f"the query engine cannot be reached: {exc.__cause__}") from exc
            except EngineUnavailable as exc:
                if attempt == 1 and exc.cause == "unreachable":
                    raise  # no connection at all: nothing of this query reached the store
                raise EngineUnavailable(str(exc), retryable=exc.retryable) from exc  # maybe it did
        raise AssertionError("unreachable")

    def _graph_names(self) -> list[str]:
        """The named graphs queries see (Virtuoso's DESCRIBE needs them named)."""
        rows = self.select("SELECT ?g WHERE { { SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } } }")
        return sorted(row["g"].value for row in rows if isinstance(row.get("g"), ox.NamedNode))

    def _query_once(self, profile: Profile, request: Request) -> tuple[EngineResponse, Mapping[str, str]]:
        started = time.monotonic()
        waits = profile.waits_past_timeout
        # a store that does not know our timeout (waits false): leaving at it stops the query
        deadline = started + (self.engine_timeout_s + self.grace_s if waits else self.timeout_s)
        wire = self._wire_for(self.query_url)
        if wire is None:  # TLS: through urllib3
            return self._query_urllib3(profile, request, started, deadline)

        def judge(answer: Answer) -> None:  # before the socket is kept: after anything but a
            # complete result it is closed (the engine may still write on it after a cut stream)
            content_type = answer.headers.get("Content-Type") or "application/octet-stream"
            self._judge(answer.status, content_type, answer.body, not answer.sized, started, profile)

        try:
            answer = self._over_wire(wire, request, deadline, check=judge)
        except TimeoutError as exc:
            raise self._timeout(stuck=waits) from exc
        except NotAnswered as exc:
            raise _NotAnswered(reused=exc.reused) from exc
        except Unreachable as exc:
            raise EngineUnavailable(
                f"the query engine cannot be reached: {exc}", cause="unreachable"
            ) from exc
        except TooLarge as exc:
            raise self._too_large() from exc
        except Broken as exc:
            if b"cancelled" in exc.partial[-300:] or time.monotonic() - started >= self.engine_timeout_s:
                # the engine's timer fired and it cut the stream it had started (under load the cut
                # shows as a broken connection rather than as an error text)
                raise self._timeout() from exc
            raise EngineUnavailable(
                f"the query engine stopped while answering: {exc}", retryable=False
            ) from exc
        content_type = answer.headers.get("Content-Type") or "application/octet-stream"
        return EngineResponse(answer.status, content_type, answer.body), answer.headers

    def _over_wire(
        self, wire: Wire, request: Request, deadline: float, check: Callable[[Answer], None] | None = None
    ) -> Answer:
        return wire.exchange(
            request.method,
            _target(request.url),
            request.headers,
            request.body or b"",
            deadline=deadline,
            cap=self.max_result_bytes,
            check=check,
        )

    def _judge(
        self, status: int, content_type: str, data: bytes, streamed: bool, started: float, profile: Profile
    ) -> None:
        """Raise what an answer that is not a complete result means (a timeout, the store's error)."""
        if status == 500 and b"operation has been cancelled" in data[:300]:
            raise self._timeout()  # the engine's timer fired before it had answered anything
        if status != 200:
            raise profile.error(status, data) or upstream_error(status, data)
        if streamed and time.monotonic() - started >= self.engine_timeout_s:
            # The engine's timer fired while this body was streaming: whatever the body looks like,
            # it may have been cut.
            raise self._timeout()
        if streamed and not looks_complete(content_type, data):
            tail = data[-300:].decode("utf-8", "replace")
            if "cancelled" in tail:
                raise self._timeout()
            raise EngineError(
                "the query engine failed while writing the result (it ended with " + repr(tail) + ")"
            )

    def _query_urllib3(
        self, profile: Profile, request: Request, started: float, deadline: float
    ) -> tuple[EngineResponse, Mapping[str, str]]:
        """:meth:`_query_once` through urllib3 (a store behind TLS)."""
        waits = profile.waits_past_timeout
        pool = self._pool_for(self.query_url)  # one pool per engine: the host is the query URL's
        made = pool.num_connections  # grows when the pool opens a connection rather than reusing one
        try:
            response = pool.urlopen(
                request.method,
                _target(request.url),
                body=request.body,
                headers=request.headers,
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
            raise self._timeout(stuck=waits) from exc
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
                raise self._timeout(stuck=waits) from exc
            except (OSError, Urllib3Error) as exc:
                if time.monotonic() - started >= self.engine_timeout_s:
                    raise self._timeout() from exc  # the engine's timer fired and it cut the stream
                raise EngineUnavailable(
                    f"the query engine stopped while answering: {exc}", retryable=False
                ) from exc
            content_type = response.headers.get("Content-Type", "application/octet-stream")
            streamed = response.headers.get("Content-Length") is None
            self._judge(response.status, content_type, data, streamed, started, profile)
            complete = True
            return EngineResponse(response.status, content_type, data), response.headers
        finally:
            # After anything but a complete 200 the connection is dropped: after a cancelled or cut
            # stream the engine may still write on it, and that must never be read as the next answer.
            if complete:
                response.release_conn()
            else:  # never drained: a runaway stream may be long
                if connection is not None:
                    connection.close()  # pooled or not: closed, it is never read again
                response.release_conn()

    def _exchange(
        self, request: Request, *, timeout_s: float | None = None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One request, whatever its answer (the status, the headers, the body): for asking the store
        what it is. Unreachable: EngineUnavailable."""
        wait = timeout_s if timeout_s is not None else max(10.0, self.timeout_s)
        wire = self._wire_for(request.url)
        if wire is not None:
            try:
                answer = self._over_wire(wire, request, time.monotonic() + wait)
            except (OSError, WireError) as exc:
                raise EngineUnavailable(f"the query engine cannot be reached: {exc}") from exc
            return answer.status, answer.headers, answer.body
        try:
            response = self._pool().request(
                request.method,
                request.url,
                body=request.body,
                headers=request.headers,
                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=wait),
                retries=False,
                redirect=False,
            )
        except (OSError, Urllib3Error) as exc:
            raise EngineUnavailable(f"the query engine cannot be reached: {exc}") from exc
        return response.status, response.headers, bytes(response.data)  # names: any case

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
                raise self._too_large()
            chunks.append(chunk)

    def _too_large(self) -> ResultTooLarge:
        return ResultTooLarge(
            f"the result is larger than {self.max_result_bytes} bytes: narrow the query or add a LIMIT",
            limit_bytes=self.max_result_bytes,
        )

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
        status: dict[str, Any] = {"kind": "sparql-http"}
        try:
            self.query("ASK {}", accept=RESULTS_JSON)
            status["reachable"] = True
        except KGError as exc:
            status["reachable"] = False
            status["message"] = str(exc)
        if self._profile is not None:
            status.update(self._profile.facts())
        return status

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
        """One SPARQL 1.1 Update request, sent as the store's profile says (never with dataset
        parameters). Oxigraph applies its operations atomically; Virtuoso does not: writes send one."""
        profile = self.profile
        body, content_type = profile.update_request(sparql)
        for attempt in range(UPDATE_ATTEMPTS):
            try:
                self.send("POST", self.update_url, body, content_type, timeout_s=timeout_s)
                return
            except _Refused as exc:
                if attempt + 1 == UPDATE_ATTEMPTS or not profile.rolled_back(exc.status, exc.body):
                    raise exc.error from exc
                log.info("the store rolled an update back (%s): sending it again", str(exc)[:120])
            time.sleep(random.uniform(0.05, 0.25) * (attempt + 1))  # the other writer finishes first

    def admin_select(self, sparql: str, *, timeout_s: float | None = None) -> list[dict[str, str]]:
        """A SELECT sent with the update credentials to the update URL (Virtuoso's ``/sparql-auth``
        runs queries as that user: its graph permissions are set so); the rows, as text values."""
        body = urlencode({"query": sparql}).encode("ascii")
        data = self.send("POST", self.update_url, body, FORM_TYPE, accept=RESULTS_JSON, timeout_s=timeout_s)
        try:
            rows = json.loads(data)["results"]["bindings"]
        except (ValueError, KeyError) as exc:
            raise EngineError(f"{self.update_url} did not answer a SELECT with SPARQL JSON") from exc
        return [{k: v.get("value", "") for k, v in row.items()} for row in rows]

    def put_graph(
        self, graph: str, data: bytes, content_type: str, *, timeout_s: float | None = None
    ) -> None:
        """Replace one named graph (Graph Store Protocol PUT, indirect identification ``?graph=``)."""
        url = with_params(self.store_url, [("graph", graph)])
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
        """One request that must succeed (2xx); its body. For updates and graphs, not for results.
        A 401 is answered once with the configured credentials (digest or basic, as challenged)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EngineError(f"not an http(s) URL: {url!r}")
        wait = timeout_s if timeout_s is not None else max(30.0, self.timeout_s * 3)
        headers = {"Content-Type": content_type, "Accept": accept}
        auth = self._auth
        streamed = body is not None and not isinstance(body, bytes)
        if streamed and auth is not None:
            body = b"".join(body)  # type: ignore[arg-type]  # a challenged request is sent again whole
            streamed = False
        # urllib3 sends the body under the connect timeout: a large body to a busy store needs more
        small = body is None or (isinstance(body, bytes) and len(body) < 1_000_000)
        sending = CONNECT_TIMEOUT_S if small else wait
        for attempt in (1, 2):
            if auth is not None and (authorization := auth.header(method, _target(url))):
                headers["Authorization"] = authorization
            try:
                response = self._pool().request(
                    method,
                    url,
                    body=body,
                    headers=headers,
                    timeout=urllib3.Timeout(connect=sending, read=wait),
                    retries=False,
                    redirect=False,
                    chunked=streamed,
                )
            except (OSError, Urllib3Error) as exc:
                raise EngineUnavailable(f"{url} cannot be reached: {exc}") from exc
            challenge = response.headers.get("WWW-Authenticate", "")
            if response.status == 401 and attempt == 1 and auth is not None and auth.challenged(challenge):
                continue
            break
        if response.status == 401:
            who = "no credentials were configured" if auth is None else "the credentials were refused"
            raise EngineError(f"{method} {url}: HTTP 401: {who} (engine_user, engine_password)")
        if response.status >= 300:
            text = response.data[:500].decode("utf-8", "replace").strip()
            error = EngineError(f"{method} {url}: HTTP {response.status}: {text}")
            raise _Refused(error, response.status, bytes(response.data))
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


class _Auth:
    """HTTP authentication with one user and password: digest (RFC 7616, MD5, qop=auth: what Virtuoso
    asks) or basic (RFC 7617), as the store challenges. A digest challenge is kept and reused with a
    growing nonce count, so only the first request (or one after the store changes its nonce) is
    answered 401 first. The password appears in no message and no log."""

    _PARAM = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')

    def __init__(self, user: str, password: str):
        self.credentials = (user, password)
        self._scheme = ""
        self._challenge: dict[str, str] = {}
        self._count = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"_Auth({self.credentials[0]!r}, …)"

    def challenged(self, header: str) -> bool:
        """Take a challenge (``WWW-Authenticate``); whether it can be answered."""
        scheme, _, rest = header.strip().partition(" ")
        with self._lock:
            if scheme.lower() == "digest":
                self._scheme = "digest"
                self._challenge = {m[0].lower(): m[1] or m[2] for m in self._PARAM.findall(rest)}
                self._count = 0
                return True
            if scheme.lower() == "basic":
                self._scheme = "basic"
                return True
        return False

    def header(self, method: str, target: str) -> str | None:
        """The Authorization header for a request (None before any challenge)."""
        user, password = self.credentials
        with self._lock:
            if self._scheme == "basic":
                return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            if self._scheme != "digest":
                return None
            self._count += 1
            count = f"{self._count:08x}"
            challenge = dict(self._challenge)
        realm, nonce = challenge.get("realm", ""), challenge.get("nonce", "")
        cnonce = secrets.token_hex(8)

        def md5(text: str) -> str:
            return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()

        ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{method}:{target}")
        qop = "auth" if "auth" in challenge.get("qop", "").split(",") else ""
        # RFC 7616 §3.4.1 (qop=auth), or RFC 2069's form for a store that offers no qop
        parts = [ha1, nonce, count, cnonce, qop, ha2] if qop else [ha1, nonce, ha2]
        response = md5(":".join(parts))
        fields = [
            f'username="{user}"',
            f'realm="{realm}"',
            f'nonce="{nonce}"',
            f'uri="{target}"',
            f'response="{response}"',
            "algorithm=MD5",
        ]
        if "opaque" in challenge:
            fields.append(f'opaque="{challenge["opaque"]}"')
        if qop:
            fields += [f"qop={qop}", f"nc={count}", f'cnonce="{cnonce}"']
        return "Digest " + ", ".join(fields)


class _Refused(EngineError):
    """A request the store answered with an error status (its body kept, for the profile to read)."""

    def __init__(self, error: EngineError, status: int, body: bytes):
        super().__init__(str(error))
        self.error = error
        self.status = status
        self.body = body


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


def _resolve(url: Url) -> str:
    return url() if callable(url) else url


def _target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + ("?" + parts.query if parts.query else "")


def _socket_of(response: urllib3.BaseHTTPResponse) -> Any:
    """The socket under a streamed response, to move its timeout as the deadline nears."""
    connection = getattr(response, "connection", None)
    return getattr(connection, "sock", None)
