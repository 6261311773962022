"""An ``oxigraph serve`` process we run and supervise: the engine behind the web layer.

Why a separate process: pyoxigraph evaluates a query in this process with no timeout and no way to
cancel it, so one runaway query would hold a thread and a core until it ends. Oxigraph's server has
``--timeout-s``, and a process can be killed when even that is not enough.

:class:`OxigraphProcess` runs ``oxigraph serve`` in memory on a free loopback port, loads the dataset
into it as N-Quads, restarts and reloads it when it dies, stops it on exit (and, on Linux, the
kernel kills it if we die first). It is queried through its :class:`kg.engine.client.SparqlClient`.
Its state (ready, generation, port, pid) lives in memory shared with forked workers
(:mod:`kg.engine.shared`), so every worker follows a restart.

Oxigraph checks its cancellation flag only at some points of evaluation (a big join being built does
not stop at the timeout), and under load a cancelled query takes a while to wind down. A query
that outlives the timeout by a grace period (:func:`kg.engine.client.stuck_grace`) is stopped the
only sure way: the engine process is killed and started again. Queries then in flight fail with 503,
except those that had received nothing yet: they are retried once (safe: they are read-only and
nothing of theirs was passed on).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import io
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.config import Settings
from kg.engine import EngineResponse
from kg.engine.client import SparqlClient, engine_timeout
from kg.engine.local import OxigraphStore
from kg.engine.profiles import OxigraphProfile
from kg.engine.shared import ReadyFlag, SharedState
from kg.errors import (
    EngineUnavailable,
    KGError,
    QueryTimeout,
    StoreError,
)

log = logging.getLogger("alatau_kg.engine")
engine_log = logging.getLogger("alatau_kg.engine.oxigraph")

READY_WAIT_S = 10.0  # how long a query waits for a (re)starting engine before giving up
STARTUP_TIMEOUT_S = 120.0  # start and load; large datasets take a while to load
MAX_RESTARTS_PER_MINUTE = 10  # past this the supervisor slows down instead of spinning


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
        self.client = SparqlClient(
            lambda: self._query_url,
            update_url=lambda: self._base_url + "/update",
            store_url=lambda: self._base_url + "/store",
            timeout_s=timeout_s,
            max_result_bytes=max_result_bytes,
            profile=OxigraphProfile(),
        )
        self._process: subprocess.Popen[bytes] | None = None
        # ready, generation (incremented by every (re)start), port, pid: shared with forked workers
        self._shared = SharedState()
        self._ready = ReadyFlag(self._shared)
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
        names = settings.names
        OxigraphStore(names, settings.store_path, read_only=True)  # fail now if there is no store

        def load() -> bytes:
            store = OxigraphStore(names, settings.store_path, read_only=True)
            buffer = io.BytesIO()
            store.raw.dump(buffer, ox.RdfFormat.N_QUADS)
            return buffer.getvalue()

        return cls.configured(settings, load)

    @classmethod
    def configured(
        cls,
        settings: Settings,
        load: Callable[[], bytes],
        *,
        location: Path | None = None,
        timeout_s: float | None = None,
    ) -> OxigraphProcess:
        """An engine loaded by ``load`` (or serving the store at ``location``), as ``settings`` say."""
        return cls(
            load,
            timeout_s=settings.query_timeout_s if timeout_s is None else timeout_s,
            max_result_bytes=settings.max_result_bytes,
            binary=settings.oxigraph_bin or None,
            location=location,
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
    def _base_url(self) -> str:
        port = self._shared.read()[2]
        return f"http://127.0.0.1:{port or 9}"  # port 9 (discard) until it has started

    @property
    def _query_url(self) -> str:
        return self._base_url + "/query"

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
        try:
            self.client.update(sparql)
        except KGError as exc:
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


def find_oxigraph() -> str:
    """The ``oxigraph`` executable of the ``oxigraph`` package (beside this Python), else on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    if beside.exists():
        return str(beside)
    found = shutil.which("oxigraph")
    if found is None:
        raise StoreError("the `oxigraph` executable is not installed (pip install oxigraph)")
    return found


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
    base = f"http://127.0.0.1:{port}"
    try:
        SparqlClient(base + "/query", store_url=base + "/store", profile=OxigraphProfile()).post_dataset(
            data, "application/n-quads", timeout_s=STARTUP_TIMEOUT_S
        )
    except KGError as exc:
        raise EngineUnavailable(f"loading the dataset failed: {exc}") from exc


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
