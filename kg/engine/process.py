"""The query engine: an ``oxigraph serve`` process we supervise, and a SPARQL protocol client for it.

Why a separate process: pyoxigraph evaluates a query in this process with no timeout and no way to
cancel it, so one runaway query would hold a thread and a core until it ends. Oxigraph's server has
``--timeout-s``, and a process can be killed when even that is not enough.

    Engine (Protocol)        what the web layer needs: query, triple counts per graph, a status
    ├── SparqlHttpEngine     a SPARQL 1.1 Protocol client for one query URL
    └── OxigraphProcess      runs ``oxigraph serve`` in memory on a free loopback port, loads the
                             dataset into it as N-Quads, restarts and reloads it when it dies, stops
                             it on exit (and, on Linux, the kernel kills it if we die first)

Results are never re-serialised here: the engine's bytes are read whole (up to a size cap) and
passed on. Oxigraph streams results, so a query cancelled by its timeout (or failing) after the first
bytes still answers ``200``, with the error text appended to a truncated body. A streamed body is
therefore trusted only when it ends the way a complete document of its format ends
(:data:`COMPLETE_ENDINGS`) and arrived before the engine's timeout fired.

The dataset follows the standard: the default graph is the engine's default graph unless the query
(FROM) or the request (graph URIs) says otherwise. ``union_default_graph=True`` asks, per query, for
the union of all graphs instead (Oxigraph's ``union-default-graph`` parameter; it overrides FROM, so
the web layer asks for it only when neither the query nor the request names graphs).

Oxigraph checks its cancellation flag only at some points of evaluation (a big join being built does
not stop at the timeout), and under load a cancelled query takes a while to wind down. A query
that outlives the timeout by a grace period (:func:`stuck_grace`: the timeout again, at least
:data:`STUCK_GRACE_S`) is stopped the only sure way: the engine process is killed and started
again. Queries then in flight fail with 503, except those that had received nothing yet: they are
retried once (safe: they are read-only and nothing of theirs was passed on).

Errors, added under :class:`kg.errors.KGError`::

    KGError
    ├── QueryTimeout           the query ran past the timeout and was stopped
    ├── ResultTooLarge         the result is larger than the configured cap
    └── StoreError
        ├── EngineUnavailable  the engine cannot be reached (not started, dead, restarting)
        └── EngineError        the engine failed for a reason the query did not cause
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import http.client
import io
import json
import logging
import math
import mmap
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox

from kg.config import Settings
from kg.engine.local import OxigraphStore
from kg.errors import (
    EngineError,
    EngineUnavailable,
    KGError,
    QuerySyntaxError,
    QueryTimeout,
    ResultTooLarge,
    StoreError,
    UsageError,
)
from kg.rdf.names import Names

log = logging.getLogger("alatau_kg.engine")
engine_log = logging.getLogger("alatau_kg.engine.oxigraph")

STUCK_GRACE_S = 3.0  # the least time past its timeout a query may take before the engine is killed
READY_WAIT_S = 10.0  # how long a query waits for a (re)starting engine before giving up
STARTUP_TIMEOUT_S = 120.0  # start and load; large datasets take a while to load
MAX_RESTARTS_PER_MINUTE = 10  # past this the supervisor slows down instead of spinning
MAX_IDLE_CONNECTIONS = 32  # kept-alive connections to the engine, per client object (per process)

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


class _NotAnswered(Exception):
    """The connection failed before any answer (the query may not have reached the engine)."""


@dataclass(frozen=True)
class EngineResponse:
    """A successful answer, as the engine wrote it."""

    status: int
    content_type: str
    body: bytes


class Engine(Protocol):
    """What the web layer asks of a query engine."""

    timeout_s: float

    def query(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        union_default_graph: bool = False,
    ) -> EngineResponse: ...

    def graph_counts(self) -> dict[str, int]: ...

    def status(self) -> dict[str, Any]: ...


class SparqlHttpEngine:
    """A client of one SPARQL 1.1 query URL (https://www.w3.org/TR/sparql11-protocol/#query-operation).

    ``engine_timeout_s`` is the timeout the engine itself enforces; the client waits
    :func:`stuck_grace` longer before it gives up (and reports the query as stuck).
    """

    def __init__(
        self,
        query_url: str | Callable[[], str],
        *,
        timeout_s: float = 10.0,
        max_result_bytes: int = 50_000_000,
        union_param: bool = True,
    ):
        self._query_url = query_url
        self.union_param = union_param  # send Oxigraph's union-default-graph parameter
        self.timeout_s = timeout_s
        self.engine_timeout_s = engine_timeout(timeout_s)
        self.max_result_bytes = max_result_bytes
        self._idle: list[tuple[tuple[str, int | None], http.client.HTTPConnection]] = []
        self._idle_lock = threading.Lock()
        self._idle_pid = os.getpid()  # a forked process must not use its parent's connections
        weakref.finalize(self, _close_all, self._idle)  # a client dropped without stop() leaks none

    @property
    def query_url(self) -> str:
        return self._query_url() if callable(self._query_url) else self._query_url

    def query(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        union_default_graph: bool = False,
    ) -> EngineResponse:
        """Run a query; ``union_default_graph`` makes the default graph the union of all graphs
        (an Oxigraph extension; it overrides FROM, so only ask for it when the query has none)."""
        if union_default_graph and (default_graphs or named_graphs):
            raise UsageError("union-default-graph and graph URIs cannot be given together")
        params = [("default-graph-uri", g) for g in default_graphs]
        params += [("named-graph-uri", g) for g in named_graphs]
        if union_default_graph and self.union_param:
            params.append(("union-default-graph", ""))
        url = urlsplit(self.query_url)
        # The query as the body (SPARQL 1.1 Protocol §2.1.3, POST directly): no URL-encoding of it
        target = (url.path or "/") + ("?" + urlencode(params) if params else "")
        body = sparql.encode("utf-8")
        key = (url.hostname or "127.0.0.1", url.port)
        for attempt in (1, 2):
            conn, reused = self._checkout(key)
            try:
                return self._query_on(conn, key, target, body, accept)
            except _NotAnswered as exc:
                if reused and attempt == 1:
                    continue  # a kept-alive connection the engine had closed: once more, on a new one
                raise EngineUnavailable(f"the query engine cannot be reached: {exc.__cause__}") from exc
        raise AssertionError("unreachable")

    def _query_on(
        self,
        conn: http.client.HTTPConnection,
        key: tuple[str, int | None],
        target: str,
        query: bytes,
        accept: str,
    ) -> EngineResponse:
        """One query on ``conn``; the connection goes back to the pool only after a complete 200."""
        started = time.monotonic()
        deadline = started + self.engine_timeout_s + stuck_grace(self.engine_timeout_s)
        answered = False
        keep = False
        try:
            try:
                if conn.sock is None:
                    conn.connect()
                sock = conn.sock
                sock.settimeout(5.0)
                conn.request(
                    "POST",
                    target,
                    body=query,
                    headers={"Content-Type": "application/sparql-query", "Accept": accept},
                )
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                response = conn.getresponse()
                answered = True
                body = self._read_body(response, sock, deadline)
            except TimeoutError as exc:
                raise QueryTimeout(
                    f"the query did not finish within {self.timeout_s:g} s and was stopped",
                    timeout_s=self.timeout_s,
                    stuck=True,
                ) from exc
            except (OSError, http.client.HTTPException) as exc:
                if answered and time.monotonic() - started >= self.engine_timeout_s:
                    # the engine's timer fired and it cut the stream it had started (under load the
                    # cut shows as a broken connection rather than as an error text)
                    raise QueryTimeout(
                        f"the query did not finish within {self.timeout_s:g} s and was stopped",
                        timeout_s=self.timeout_s,
                    ) from exc
                if answered:
                    raise EngineUnavailable(
                        f"the query engine stopped while answering: {exc}", retryable=False
                    ) from exc
                if isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError):
                    raise _NotAnswered() from exc
                raise EngineUnavailable(f"the query engine cannot be reached: {exc}") from exc
            elapsed = time.monotonic() - started
            content_type = response.getheader("Content-Type", "application/octet-stream")
            if response.status != 200:
                raise _upstream_error(response.status, body)
            streamed = response.getheader("Content-Length") is None
            if streamed and elapsed >= self.engine_timeout_s:
                # The engine's timer fired while this body was streaming: whatever the body looks
                # like, it may have been cut.
                raise QueryTimeout(
                    f"the query did not finish within {self.timeout_s:g} s and was stopped",
                    timeout_s=self.timeout_s,
                )
            if streamed and not _looks_complete(content_type, body):
                tail = body[-300:].decode("utf-8", "replace")
                if "cancelled" in tail:
                    raise QueryTimeout(
                        f"the query did not finish within {self.timeout_s:g} s and was stopped",
                        timeout_s=self.timeout_s,
                    )
                log.warning("truncated result from the engine; it ended with %r", tail)
                raise EngineError("the query engine failed while writing the result")
            keep = response.isclosed() and not response.will_close
            return EngineResponse(response.status, content_type, body)
        finally:
            # After anything but a complete 200 the connection is dropped: after a cancelled or cut
            # stream Oxigraph may still write on it, and that must never be read as the next answer.
            if keep:
                self._checkin(key, conn)
            else:
                conn.close()

    def _checkout(self, key: tuple[str, int | None]) -> tuple[http.client.HTTPConnection, bool]:
        """An idle kept-alive connection to ``key`` (host, port) (reused: True), else a new one."""
        with self._idle_lock:
            if self._idle_pid != os.getpid():
                self._idle.clear()  # the parent's sockets: not ours to use (nor to close)
                self._idle_pid = os.getpid()
            while self._idle:
                idle_key, conn = self._idle.pop()
                if idle_key == key:
                    return conn, True
                conn.close()  # the engine moved (restarted on another port)
        return http.client.HTTPConnection(*key, timeout=5.0), False

    def _checkin(self, key: tuple[str, int | None], conn: http.client.HTTPConnection) -> None:
        with self._idle_lock:
            if self._idle_pid == os.getpid() and len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append((key, conn))
                return
        conn.close()

    def close_idle(self) -> None:
        """Close the kept-alive connections."""
        with self._idle_lock:
            _close_all(self._idle)

    def _read_body(self, response: http.client.HTTPResponse, sock: socket.socket, deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("client deadline passed")
            sock.settimeout(remaining)
            chunk = response.read1(65536)
            if not chunk:
                response.read()  # marks a body of known length done (read1 stops short of that)
                return b"".join(chunks)
            size += len(chunk)
            if size > self.max_result_bytes:
                # Closing the connection makes the engine's next write fail, which ends the query.
                raise ResultTooLarge(
                    f"the result is larger than {self.max_result_bytes} bytes: "
                    "narrow the query or add a LIMIT",
                    limit_bytes=self.max_result_bytes,
                )
            chunks.append(chunk)

    def stop(self) -> None:
        """Close the kept-alive connections (the store is not ours to stop)."""
        self.close_idle()

    def graph_counts(self) -> dict[str, int]:
        response = self.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
            accept="application/sparql-results+json",
        )
        rows = json.loads(response.body)["results"]["bindings"]
        return {
            row["g"]["value"]: int(row["n"]["value"]) for row in sorted(rows, key=lambda r: r["g"]["value"])
        }

    def status(self) -> dict[str, Any]:
        try:
            self.query("ASK {}", accept="application/sparql-results+json")
            reachable = True
        except KGError:
            reachable = False
        return {"kind": "sparql-http", "reachable": reachable}


class OxigraphProcess:
    """An in-memory ``oxigraph serve`` on a free loopback port, holding the dataset ``load`` gives.

    ``load`` returns the dataset as N-Quads; it is called again on every restart. With ``location``,
    the process serves the store on disk there instead (durable: nothing is loaded, a restart finds
    what was committed). Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        load: Callable[[], bytes],
        *,
        timeout_s: float = 10.0,
        max_result_bytes: int = 50_000_000,
        binary: str | None = None,
        location: Path | None = None,
    ):
        self._load = load
        self.location = location
        self.timeout_s = timeout_s
        self.binary = binary or find_oxigraph()
        self.client = SparqlHttpEngine(
            lambda: self._query_url, timeout_s=timeout_s, max_result_bytes=max_result_bytes
        )
        self._process: subprocess.Popen[bytes] | None = None
        # ready, generation (incremented by every (re)start), port, pid: shared with forked workers
        self._shared = _SharedState()
        self._ready = _ReadyFlag(self._shared)
        self._owner = os.getpid()  # the process that runs (and alone stops or restarts) the engine
        self._restart_times: list[float] = []
        self._stopping = threading.Event()
        self._startup_error: BaseException | None = None
        self._monitor: threading.Thread | None = None
        self._lock = threading.Lock()
        self._counts: tuple[int, dict[str, int]] | None = None
        self._version: str | None = None

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Settings) -> OxigraphProcess:
        """An engine for the store built at ``settings.store_path``."""
        names = Names(settings.base_iri)
        OxigraphStore(names, settings.store_path, read_only=True)  # fail now if there is no store

        def load() -> bytes:
            store = OxigraphStore(names, settings.store_path, read_only=True)
            buffer = io.BytesIO()
            store.raw.dump(buffer, ox.RdfFormat.N_QUADS)
            return buffer.getvalue()

        return cls(
            load,
            timeout_s=settings.query_timeout_s,
            max_result_bytes=settings.max_result_bytes,
            binary=settings.oxigraph_bin or None,
        )

    @classmethod
    def from_quads(cls, quads: Iterable[ox.Quad], **kwargs: Any) -> OxigraphProcess:
        """An engine over any quads (a scratch dataset, a test suite's data)."""
        buffer = io.BytesIO()
        ox.serialize(quads, buffer, ox.RdfFormat.N_QUADS)
        data = buffer.getvalue()
        return cls(lambda: data, **kwargs)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> OxigraphProcess:
        """Start the engine and load the data; returns once it answers queries."""
        if self._monitor is not None:
            return self
        self._owner = os.getpid()
        self._stopping.clear()
        # Every engine process is spawned by this one thread: on Linux the engine is bound to die
        # with the thread that spawned it (PR_SET_PDEATHSIG), and this thread lives until stop().
        self._monitor = threading.Thread(target=self._supervise, name="oxigraph-supervisor", daemon=True)
        self._monitor.start()
        atexit.register(self.stop)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._ready.wait(0.05):
            if self._startup_error is not None or time.monotonic() > deadline:
                error = self._startup_error
                self.stop()
                raise EngineUnavailable(f"the query engine did not start: {error or 'timed out'}")
        return self

    def stop(self) -> None:
        """Stop the engine process and its supervisor. Safe to call twice.

        In a process forked from the one that started it (a server worker), only close this process's
        connections: the engine is its owner's to stop.
        """
        if not self._is_owner():
            self.client.close_idle()
            return
        self._stopping.set()
        self._ready.clear()
        with self._lock:
            process = self._process
        if process is not None:
            _terminate(process)
        self.client.close_idle()
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=10)
        self._monitor = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def __enter__(self) -> OxigraphProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        if not self._is_owner():
            ready, _, _, pid = self._shared.read()
            return pid if ready and pid else None
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def restarts(self) -> int:
        return max(0, self._generation - 1)

    @property
    def query_url(self) -> str:
        return self._query_url

    @property
    def _query_url(self) -> str:
        port = self._shared.read()[2]
        return f"http://127.0.0.1:{port or 9}/query"  # port 9 (discard) until it has started

    @property
    def _generation(self) -> int:
        return self._shared.read()[1]

    def _is_owner(self) -> bool:
        return os.getpid() == self._owner

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            try:
                process = self._launch()
            except Exception as exc:
                if self._generation == 0:
                    self._startup_error = exc  # start() reports it
                    return
                log.error("the query engine could not be restarted: %s", exc)
                self._stopping.wait(2.0)
                continue
            self._ready.set()
            while process.poll() is None and not self._stopping.is_set():
                self._stopping.wait(0.1)
            self._ready.clear()
            if self._stopping.is_set():
                break
            log.warning("the query engine exited (code %s): restarting it", process.returncode)
            now = time.monotonic()
            self._restart_times = [t for t in self._restart_times if now - t < 60] + [now]
            if len(self._restart_times) > MAX_RESTARTS_PER_MINUTE:
                self._stopping.wait(5.0)
        with self._lock:
            process_left = self._process
        if process_left is not None:
            _terminate(process_left)

    def _launch(self) -> subprocess.Popen[bytes]:
        data = self._load() if self.location is None else b""
        where = ["--location", str(self.location)] if self.location is not None else []
        last_error: Exception | None = None
        for _ in range(3):  # the free port may be taken between our probe and the engine's bind
            port = _free_port()
            command = [
                self.binary,
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout-s",
                str(engine_timeout(self.timeout_s)),
                *where,
            ]
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to handle, not the engine's
                preexec_fn=_die_with_parent if _PRCTL is not None else None,
            )
            with self._lock:
                self._process = process
            threading.Thread(target=_forward_log, args=(process,), name="oxigraph-log", daemon=True).start()
            try:
                _wait_listening(process, port)
                if self.location is None:
                    _post_nquads(port, data)
            except Exception as exc:
                _terminate(process)
                last_error = exc
                if self._stopping.is_set():
                    raise
                continue
            self._shared.write(generation=self._generation + 1, port=port, pid=process.pid)
            self._counts = None
            log.info(
                "query engine %s on port %d (pid %d, %d bytes of N-Quads loaded)",
                "started" if self._generation == 1 else "restarted",
                port,
                process.pid,
                len(data),
            )
            return process
        raise EngineUnavailable(f"oxigraph did not start: {last_error}")

    def _kill(self, generation: int) -> None:
        """Kill the engine if it is still the one of ``generation`` (the supervisor restarts it)."""
        if not self._is_owner():  # a worker: its owner's supervisor sees the death and restarts it
            _, current, _, pid = self._shared.read()
            if current == generation and pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return
        with self._lock:
            process = self._process
            if generation == self._generation and process is not None and process.poll() is None:
                self._ready.clear()
                process.kill()

    def _wait_ready(self) -> int:
        if not self._ready.wait(READY_WAIT_S) or self._stopping.is_set():
            raise EngineUnavailable("the query engine is not running (it may be restarting): try again")
        return self._generation

    # --- Engine -------------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        union_default_graph: bool = False,
    ) -> EngineResponse:
        for attempt in (1, 2):
            generation = self._wait_ready()
            try:
                return self.client.query(
                    sparql,
                    accept=accept,
                    default_graphs=default_graphs,
                    named_graphs=named_graphs,
                    union_default_graph=union_default_graph,
                )
            except QueryTimeout as exc:
                if exc.stuck:
                    log.warning("a query outlived its timeout: killing the query engine to stop it")
                    self._kill(generation)
                raise
            except EngineUnavailable as exc:
                if attempt == 2 or not exc.retryable or self._stopping.is_set():
                    raise
                if not self._is_owner():
                    dead = generation != self._generation  # restarted meanwhile: retry at once
                else:
                    with self._lock:
                        process = self._process
                        dead = process is None or process.poll() is not None
                        if dead and generation == self._generation:
                            self._ready.clear()  # the supervisor sets it again once it has restarted
                if not dead:
                    time.sleep(0.2)  # alive but not answering: give it a moment before the retry
        raise AssertionError("unreachable")

    def update(self, sparql: str) -> None:
        """Apply a SPARQL update to the engine in one request (one transaction: readers see all or none).

        Used only to keep the engine in step with the durable store after a committed write. If the
        engine cannot take it, it is restarted, and reloads the durable store (which has the write).
        """
        generation = self._wait_ready()
        port = urlsplit(self._query_url).port
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=max(30.0, self.timeout_s * 3))
            try:
                conn.request(
                    "POST",
                    "/update",
                    body=sparql.encode("utf-8"),
                    headers={"Content-Type": "application/sparql-update"},
                )
                response = conn.getresponse()
                text = response.read().decode("utf-8", "replace")
            finally:
                conn.close()
            if response.status >= 300:
                raise EngineError(f"the engine refused the update ({response.status}): {text[:300]}")
        except (OSError, EngineError) as exc:
            log.error("the engine did not take a committed write (%s): restarting it to reload", exc)
            self._kill(generation)
        finally:
            self._counts = None

    def graph_counts(self) -> dict[str, int]:
        cached = self._counts
        if cached is not None and cached[0] == self._generation:
            return dict(cached[1])
        if not self._ready.is_set():
            raise EngineUnavailable("the query engine is not running (it may be restarting)")
        generation = self._generation
        counts = self.client.graph_counts()  # the data never changes: once per engine process
        self._counts = (generation, counts)
        return dict(counts)

    def status(self) -> dict[str, Any]:
        reachable = self._ready.is_set() and bool(self.client.status()["reachable"])
        return {
            "kind": "oxigraph-process",
            "reachable": reachable,
            "version": self.version(),
            "restarts": self.restarts,
            "timeout_s": self.timeout_s,
        }

    def version(self) -> str:
        if self._version is None:
            try:
                out = subprocess.run(
                    [self.binary, "--version"], capture_output=True, text=True, timeout=10, check=True
                ).stdout
                self._version = out.strip().split()[-1]
            except (OSError, subprocess.SubprocessError, IndexError):
                self._version = "unknown"
        return self._version


# --- helpers ---------------------------------------------------------------------------------


class _SharedState:
    """The engine's state where processes forked from its owner (server workers) read it: ready,
    generation, port and pid, in an anonymous shared mapping. Only the owner writes (under a lock);
    a reader retries a read that overlapped a write (a sequence lock: the count is odd while writing).
    """

    _LAYOUT = struct.Struct("=5q")  # sequence, ready, generation, port, pid
    _SEQUENCE = struct.Struct("=q")

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, self._LAYOUT.size)  # MAP_SHARED | MAP_ANONYMOUS: survives fork
        self._lock = threading.Lock()

    def read(self) -> tuple[int, int, int, int]:
        while True:
            sequence, ready, generation, port, pid = self._LAYOUT.unpack_from(self._map)
            if sequence % 2 == 0 and self._SEQUENCE.unpack_from(self._map)[0] == sequence:
                return ready, generation, port, pid
            time.sleep(0)

    def write(self, **changes: int) -> None:
        with self._lock:
            sequence, *values = self._LAYOUT.unpack_from(self._map)
            state = dict(zip(("ready", "generation", "port", "pid"), values, strict=True))
            state.update(changes)
            self._SEQUENCE.pack_into(self._map, 0, sequence + 1)
            self._LAYOUT.pack_into(self._map, 0, sequence + 1, *state.values())
            self._SEQUENCE.pack_into(self._map, 0, sequence + 2)


class _ReadyFlag:
    """``threading.Event``'s interface over the shared ready state (waiting polls it)."""

    def __init__(self, shared: _SharedState) -> None:
        self._shared = shared

    def set(self) -> None:
        self._shared.write(ready=1)

    def clear(self) -> None:
        self._shared.write(ready=0)

    def is_set(self) -> bool:
        return bool(self._shared.read()[0])

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True


def stuck_grace(engine_timeout_s: float) -> float:
    """How long past its timeout a query may run before it counts as stuck."""
    return max(STUCK_GRACE_S, float(engine_timeout_s))


def engine_timeout(timeout_s: float) -> int:
    """Oxigraph takes whole seconds: round up, at least one."""
    return max(1, math.ceil(timeout_s))


def find_oxigraph() -> str:
    """The ``oxigraph`` executable of the ``oxigraph`` package (beside this Python), else on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    if beside.exists():
        return str(beside)
    found = shutil.which("oxigraph")
    if found is None:
        raise StoreError("the `oxigraph` executable is not installed (pip install oxigraph)")
    return found


def _close_all(idle: list[tuple[tuple[str, int | None], http.client.HTTPConnection]]) -> None:
    for _, conn in idle:
        conn.close()
    idle.clear()


def _looks_complete(content_type: str, body: bytes) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    check = COMPLETE_ENDINGS.get(media_type)
    return check(body) if check is not None else True


def _upstream_error(status: int, body: bytes) -> KGError:
    message = body.decode("utf-8", "replace").strip()
    if status == 400:
        if m := _ERROR_AT.search(message):
            position = {"line": int(m.group(1)), "column": int(m.group(2))}
            return QuerySyntaxError(f"SPARQL syntax error: {message}", position=position)
        return UsageError(message or "the query engine refused the request")
    if status == 500 and _QUERY_CAUSED.search(message):
        # the query asked for something the engine does not implement: the client's to fix (400)
        return UsageError(message)
    return EngineError(f"the query engine answered {status}: {message[:500]}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(process: subprocess.Popen[bytes], port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EngineUnavailable(f"oxigraph exited with code {process.returncode} at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise EngineUnavailable(f"oxigraph did not listen on port {port} within {timeout_s:g} s")


def _post_nquads(port: int, data: bytes) -> None:
    """Load through the Graph Store Protocol (https://www.w3.org/TR/sparql11-http-rdf-update/)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=STARTUP_TIMEOUT_S)
    try:
        conn.request("POST", "/store", body=data, headers={"Content-Type": "application/n-quads"})
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
    finally:
        conn.close()
    if response.status >= 300:
        raise EngineUnavailable(f"loading the dataset failed ({response.status}): {text[:500]}")


def _forward_log(process: subprocess.Popen[bytes]) -> None:
    """The engine's stderr, line by line, into our log (it also keeps the pipe from filling)."""
    assert process.stderr is not None
    for line in process.stderr:
        text = line.decode("utf-8", "replace").rstrip()
        if text:
            engine_log.info("%s", text)
    process.stderr.close()


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()  # looked up before any fork: the child only calls it
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the engine, before exec: be killed when the thread that spawned us ends (we crash too)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
