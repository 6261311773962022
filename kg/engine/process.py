"""An ``oxigraph serve`` process we run and supervise: the engine behind the web layer.

Why a separate process: pyoxigraph evaluates a query in this process with no timeout and no way to
cancel it, so one runaway query would hold a thread and a core until it ends. Oxigraph's server has
``--timeout-s``, and a process can be killed when even that is not enough.

:class:`OxigraphProcess` runs ``oxigraph serve`` on a free loopback port: in memory, loaded with the
dataset as N-Quads streamed to its Graph Store endpoint (:mod:`kg.engine.loading` says from where), or
over a store on disk (``location``; read-only with ``read_only``). It restarts (and reloads) the engine
when it dies, stops it on exit (and, on Linux, the kernel kills it if we die first). An engine made
``on_demand`` runs only while it is wanted (:meth:`OxigraphProcess.want`, from any process). It is
queried through its :class:`kg.engine.client.SparqlClient`. Its state (ready, generation, port, pid,
kills and crashes) lives in memory shared with forked workers (:mod:`kg.engine.shared`), so every
worker follows a restart.

Every engine thread gets a :data:`ENGINE_STACK` stack (Rust's ``RUST_MIN_STACK``; Oxigraph's HTTP
server starts a thread per connection with Rust's default 2 MiB): Oxigraph recurses over a query, and
a stack overflow aborts the whole engine. With it, the depths that overflow are 128 times those of
``bench/overflow.py``'s default-stack column, far past the limits of :mod:`kg.rdf.complexity`.

Oxigraph checks its cancellation flag only at some points of evaluation (a big join being built does
not stop at the timeout), and under load a cancelled query takes a while to wind down. A query
that outlives the timeout by a grace period (:func:`kg.engine.client.stuck_grace`) is stopped the
only sure way: the engine process is killed and started again. A query in flight when the engine
died is sent again (once) only if we killed the engine for another query and it had received
nothing yet; if the engine died on its own (it crashed), no query in flight is sent again: any of
them may be the one that crashed it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import io
import logging
import os
import select
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
from kg.engine import EngineResponse, events, spawning
from kg.engine.client import SparqlClient, engine_timeout
from kg.engine.loading import Dataset, from_store
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
STARTUP_TIMEOUT_S = 600.0  # start and load; large datasets take a while to load on a busy machine
MAX_RESTARTS_PER_MINUTE = 10  # past this the supervisor slows down instead of spinning
WANTED_CHECK_S = 0.25  # how often a running engine on demand is asked whether it is still wanted
ENGINE_STACK = 256 * 2**20  # bytes of stack per engine thread: reserved address space, used as touched


class OxigraphProcess:
    """An ``oxigraph serve`` on a free loopback port: in memory, holding the dataset ``load`` gives,
    or serving a store on disk at ``location``.

    ``load`` returns the dataset as N-Quads (bytes, or chunks streamed to the engine: see
    :mod:`kg.engine.loading`); it is called again on every restart. With ``location`` (a path, or what
    makes one at each start), the process serves the store on disk there instead: nothing is loaded,
    a restart finds what was committed; ``read_only`` serves it with ``serve-read-only`` (several
    processes may read one store; none may write it meanwhile). ``on_demand``: started only while
    :meth:`want` says so (or ``needed()`` is true), and stopped once it is no longer wanted. Use as a
    context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        load: Callable[[], Dataset],
        *,
        timeout_s: float = 10.0,
        max_result_bytes: int = 50_000_000,
        binary: str | None = None,
        location: Path | Callable[[], Path] | None = None,
        read_only: bool = False,
        on_demand: bool = False,
        needed: Callable[[], bool] | None = None,
        kill_stuck: bool = True,
        name: str = "query engine",
    ):
        self._load = load
        self._location = location
        self.read_only = read_only
        self.on_demand = on_demand
        self._needed = needed
        self.kill_stuck = kill_stuck  # kill the engine to stop a query it does not stop
        self.name = name
        self.timeout_s = timeout_s
        self.binary = binary or find_oxigraph()
        self.client = SparqlClient(
            lambda: self._query_url,
            update_url=lambda: self._base_url + "/update",
            store_url=lambda: self._base_url + "/store",
            timeout_s=timeout_s,
            max_result_bytes=max_result_bytes,
            profile=OxigraphProfile(),
            idle_timeout_s=engine_timeout(timeout_s),  # we start it with --timeout-s that
        )
        self._process: subprocess.Popen[bytes] | None = None
        # ready, generation (incremented by every (re)start), port, pid, kills, crashes: shared with
        # forked workers
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
        self._refreshed = -1  # the generation refresh() stopped (not a kill, not a crash)

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> OxigraphProcess:
        """An engine for the store built at ``settings.store_path``, loaded from its snapshot (made
        the first time, beside the store: :func:`kg.engine.loading.from_store`)."""
        OxigraphStore(settings.names, settings.store_path, read_only=True)  # fail now if there is no store
        binary = settings.oxigraph_bin or find_oxigraph()
        return cls.configured(settings, lambda: from_store(settings.store_path, binary), **kwargs)

    @classmethod
    def configured(
        cls,
        settings: Settings,
        load: Callable[[], Dataset],
        *,
        location: Path | Callable[[], Path] | None = None,
        timeout_s: float | None = None,
        **kwargs: Any,
    ) -> OxigraphProcess:
        """An engine loaded by ``load`` (or serving the store at ``location``), as ``settings`` say."""
        return cls(
            load,
            timeout_s=settings.query_timeout_s if timeout_s is None else timeout_s,
            max_result_bytes=settings.max_result_bytes,
            binary=settings.oxigraph_bin or None,
            location=location,
            **kwargs,
        )

    @classmethod
    def from_quads(cls, quads: Iterable[ox.Quad], **kwargs: Any) -> OxigraphProcess:
        """An engine over any quads (a scratch dataset, a test suite's data)."""
        buffer = io.BytesIO()
        ox.serialize(quads, buffer, ox.RdfFormat.N_QUADS)
        data = buffer.getvalue()
        return cls(lambda: data, **kwargs)

    @property
    def location(self) -> Path | None:
        """Where the store on disk is (None: in memory)."""
        return self._location if isinstance(self._location, Path) or self._location is None else None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self, *, wait: bool = True) -> OxigraphProcess:
        """Start the engine and load the data; returns once it answers queries (``wait``), or at
        once, the engine starting in the background (an engine ``on_demand`` starts when wanted)."""
        if self._monitor is not None:
            return self
        self._owner = os.getpid()
        self._stopping.clear()
        # Every engine process is spawned by this one thread: on Linux the engine is bound to die
        # with the thread that spawned it (PR_SET_PDEATHSIG), and this thread lives until stop().
        self._monitor = threading.Thread(
            target=self._supervise, args=(wait,), name="oxigraph-supervisor", daemon=True
        )
        self._monitor.start()
        atexit.register(self.stop)
        if not wait or self.on_demand:
            return self
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._ready.wait(0.05):
            if self._startup_error is not None or time.monotonic() > deadline:
                error = self._startup_error
                self.stop()
                raise EngineUnavailable(f"the {self.name} did not start: {error or 'timed out'}")
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

    def want(self, seconds: float) -> None:
        """Keep an engine ``on_demand`` running for at least ``seconds`` more (from any process)."""
        until = int((time.monotonic() + seconds) * 1000)
        if until > self._shared.values()["wanted_until_ms"]:
            self._shared.write(wanted_until_ms=until)

    def _wanted(self) -> bool:
        if not self.on_demand:
            return True
        if self._needed is not None and self._needed():
            return True
        return self._shared.values()["wanted_until_ms"] > time.monotonic() * 1000

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called (in the owner)."""
        return self._stopping.is_set()

    def wait_ready(self, timeout_s: float) -> bool:
        return self._ready.wait(timeout_s)

    def refresh(self) -> None:
        """Start the engine again (on disk: to see the store, or a backup, as it is now); not a kill."""
        values = self._shared.values()
        if values["ready"] and values["killed"] != values["generation"]:
            self._refreshed = values["generation"]
            self._shared.write(killed=values["generation"])
            if values["pid"]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(values["pid"], signal.SIGTERM)

    @property
    def pid(self) -> int | None:
        if not self._is_owner():
            ready, _, _, pid = self._shared.read()
            return pid if ready and pid else None
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def restarts(self) -> int:
        """How many times the engine was started again after it died (crashed, killed, refreshed);
        an engine ``on_demand`` started again after it was stopped as not needed does not count."""
        return self._shared.values()["restarts"]

    @property
    def crashes(self) -> int:
        """How many times the engine died without our killing it."""
        return self._shared.values()["crashes"]

    @property
    def kills(self) -> int:
        """How many times it was killed to stop a query it would not stop."""
        return self._shared.values()["kills"]

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

    def _supervise(self, report_startup: bool) -> None:
        while not self._stopping.is_set():
            if not self._wanted():
                self._stopping.wait(0.05)
                continue
            try:
                process = self._launch()
            except Exception as exc:
                if self._generation == 0 and report_startup and not self.on_demand:
                    self._startup_error = exc  # start() reports it
                    return
                log.error("the %s could not be started: %s", self.name, exc)
                self._stopping.wait(2.0)
                continue
            self._ready.set()
            idle_since: float | None = None
            exited = _ExitWatch(process)
            while not self._stopping.is_set():
                # returns the moment the engine dies: when it died is known to the millisecond (and
                # when stop() ends it); otherwise wakes only to see whether an engine on demand is
                # still wanted
                if exited.wait(WANTED_CHECK_S if self.on_demand else 1.0):
                    break
                if self.on_demand and not self._wanted():
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > 1.0:  # not wanted for a second: stop it
                        self._ready.clear()
                        _terminate(process)
                        log.info("%s stopped (no longer needed)", self.name)
                        break
                else:
                    idle_since = None
            exited.close()
            self._shared.write(ready=0, died_at_ms=_now_ms())
            if self._stopping.is_set() or (self.on_demand and not self._wanted()):
                continue
            killed = self._shared.values()["killed"] == self._generation
            if killed and self._refreshed == self._generation:
                log.info("the %s is starting again (refreshed)", self.name)
            elif killed:
                log.warning("the %s was killed (it would not stop a query): restarting it", self.name)
            else:
                crashes = self._shared.values()["crashes"] + 1
                self._shared.write(crashes=crashes)
                log.error(
                    "the %s crashed (exit code %s): restarting it; the queries it was running are not "
                    "sent again",
                    self.name,
                    process.returncode,
                )
            self._shared.write(restarts=self._shared.values()["restarts"] + 1)
            if not (killed and self._refreshed == self._generation):
                events.record(events.ENGINE_RESTARTED)
            now = time.monotonic()
            self._restart_times = [t for t in self._restart_times if now - t < 60] + [now]
            if len(self._restart_times) > MAX_RESTARTS_PER_MINUTE:
                self._stopping.wait(5.0)
        with self._lock:
            process_left = self._process
        if process_left is not None:
            _terminate(process_left)

    def _launch(self) -> subprocess.Popen[bytes]:
        location = self._location() if callable(self._location) else self._location
        if location is not None:
            serve = ["serve-read-only" if self.read_only else "serve", "--location", str(location)]
        else:
            serve = ["serve"]
        environment = {**os.environ, "RUST_MIN_STACK": str(ENGINE_STACK)}
        last_error: Exception | None = None
        for _ in range(3):  # the free port may be taken between our probe and the engine's bind
            port = _free_port()
            command = [
                self.binary,
                *serve,
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout-s",
                str(engine_timeout(self.timeout_s)),
            ]
            started = time.monotonic()
            process = spawning.popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=environment,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to handle, not the engine's
                preexec_fn=_die_with_parent if _PRCTL is not None else None,
            )
            with self._lock:
                self._process = process
            threading.Thread(target=_forward_log, args=(process,), name="oxigraph-log", daemon=True).start()
            loaded = 0
            try:
                _wait_listening(process, port)
                if location is None:
                    loaded = _post_nquads(port, self._load())
            except Exception as exc:
                _terminate(process)
                last_error = exc
                if self._stopping.is_set():
                    raise
                continue
            self._shared.write(generation=self._generation + 1, port=port, pid=process.pid)
            self._counts = None
            log.info(
                "%s %s on port %d (pid %d, %s, in %.1f s)",
                self.name,
                "started" if self._generation == 1 else "restarted",
                port,
                process.pid,
                f"{loaded} bytes of N-Quads loaded" if location is None else f"store at {location}",
                time.monotonic() - started,
            )
            return process
        raise EngineUnavailable(f"oxigraph did not start: {last_error}")

    def kill(self, generation: int) -> None:
        """Kill the engine if it is still the one of ``generation`` (the supervisor restarts it)."""
        values = self._shared.values()
        if values["generation"] != generation or values["killed"] == generation:
            return
        self._shared.write(killed=generation, kills=values["kills"] + 1)
        if not self._is_owner():  # a worker: its owner's supervisor sees the death and restarts it
            if values["pid"]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(values["pid"], signal.SIGKILL)
            return
        with self._lock:
            process = self._process
            if process is not None and process.poll() is None:
                self._ready.clear()
                process.kill()

    _kill = kill

    def _wait_ready(self) -> int:
        if self.on_demand:
            self.want(READY_WAIT_S)
        if not self._ready.wait(READY_WAIT_S) or self._stopping.is_set():
            raise EngineUnavailable(
                f"the {self.name} is not running (it may be restarting): try again", cause="restarting"
            )
        return self._generation

    def _note_dead(self, generation: int) -> None:
        """An engine found unreachable: wait (briefly) for its supervisor to see it dead."""
        self._died(generation)

    def _died(self, generation: int) -> bool:
        """Whether the engine of ``generation`` died. Its supervisor notes a death the moment it
        happens (it waits on the process); a connection broken by the death may be seen a little
        earlier, so wait a moment."""
        deadline = time.monotonic() + 0.5
        while True:
            state = self._shared.values()
            if state["generation"] != generation or not state["ready"]:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)

    # --- Engine -------------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        union_default_graph: bool = False,
        resend: bool = True,
        client: SparqlClient | None = None,
    ) -> EngineResponse:
        """The engine's answer. A query the engine does not stop is stopped by killing the engine
        (:class:`QueryTimeout`, ``stuck``). If the engine dies while the query is in flight, the
        :class:`EngineUnavailable` raised says why (``cause``: ``killed`` for another query, or
        ``crashed``); with ``resend``, a query the engine received nothing of, or that was in flight
        when we killed the engine for another, is sent once more (to the restarted engine).
        ``client``: another client of this engine (another timeout)."""
        for attempt in (1, 2):
            generation = self._wait_ready()
            sent_ms = _now_ms()
            try:
                return (client or self.client).query(
                    sparql,
                    accept=accept,
                    default_graphs=default_graphs,
                    named_graphs=named_graphs,
                    union_default_graph=union_default_graph,
                )
            except QueryTimeout as exc:
                if exc.stuck and self.kill_stuck:
                    log.warning("a query outlived its timeout: killing the %s to stop it", self.name)
                    self.kill(generation)
                raise
            except EngineUnavailable as exc:
                if self._stopping.is_set():
                    raise
                if exc.cause == "unreachable":  # it received nothing of this query: once more
                    if attempt == 2 or not resend:
                        raise
                    self._note_dead(generation)
                    continue
                if self._died(generation):
                    state = self._shared.values()
                    killed = state["killed"] == generation
                    if 0 < state["died_at_ms"] < sent_ms:  # it was dead before this query was sent
                        if attempt == 2:
                            raise
                        continue
                    if not killed:
                        raise EngineUnavailable(
                            f"the {self.name} stopped while running this query (it crashed); the query "
                            "is not sent again: it may be what crashed it",
                            retryable=False,
                            cause="crashed",
                        ) from exc
                    if not resend or attempt == 2:
                        raise EngineUnavailable(
                            f"the {self.name} was stopped (to end another query) while running this one",
                            cause="killed",
                        ) from exc
                    with self._lock:
                        if self._is_owner() and generation == self._generation:
                            self._ready.clear()  # the supervisor sets it again once it has restarted
                    continue
                if attempt == 2 or not exc.retryable or not resend:
                    raise
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
            log.error("the %s did not take a committed write (%s): restarting it to reload", self.name, exc)
            self.kill(generation)
        finally:
            self._counts = None

    def graph_counts(self) -> dict[str, int]:
        cached = self._counts
        if cached is not None and cached[0] == self._generation:
            return dict(cached[1])
        if not self._ready.is_set():
            raise EngineUnavailable(f"the {self.name} is not running (it may be restarting)")
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
            "kills": self.kills,
            "crashes": self.crashes,
            "timeout_s": self.timeout_s,
        }

    def version(self) -> str:
        if self._version is None:
            try:
                out = spawning.run([self.binary, "--version"], timeout_s=10)
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


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


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


def _post_nquads(port: int, data: Dataset) -> int:
    """Load through the Graph Store Protocol (https://www.w3.org/TR/sparql11-http-rdf-update/), the
    body streamed (chunked) when ``data`` comes in chunks; the bytes sent."""
    base = f"http://127.0.0.1:{port}"
    sent = [0]

    def counted(chunks: Iterable[bytes]) -> Iterable[bytes]:
        for chunk in chunks:
            sent[0] += len(chunk)
            yield chunk

    body = data if isinstance(data, bytes) else counted(data)
    try:
        SparqlClient(base + "/query", store_url=base + "/store", profile=OxigraphProfile()).post_dataset(
            body, "application/n-quads", timeout_s=STARTUP_TIMEOUT_S
        )
    except KGError as exc:
        raise EngineUnavailable(f"loading the dataset failed: {exc}") from exc
    return len(data) if isinstance(data, bytes) else sent[0]


def _forward_log(process: subprocess.Popen[bytes]) -> None:
    """The engine's stderr, line by line, into our log (it also keeps the pipe from filling)."""
    assert process.stderr is not None
    for line in process.stderr:
        text = line.decode("utf-8", "replace").rstrip()
        if text:
            engine_log.info("%s", text)
    process.stderr.close()


class _ExitWatch:
    """Waits for a child process to end without waking until it does: a pidfd (Linux 5.3), polled.
    ``Popen.wait(timeout)`` polls ``waitpid`` instead, waking up to seven times per call: two
    supervisors spent 7–10 ms of CPU a second doing it on an idle server (``bench/RESULTS.md``, seventh
    pass). Where there is no pidfd, that is what this does."""

    def __init__(self, process: subprocess.Popen[bytes]):
        self._process = process
        self._fd: int | None = None
        self._poll: select.poll | None = None
        with contextlib.suppress(AttributeError, OSError):  # no pidfd_open here: Popen.wait
            self._fd = os.pidfd_open(process.pid)
            self._poll = select.poll()
            self._poll.register(self._fd, select.POLLIN)

    def wait(self, timeout_s: float) -> bool:
        """Whether the process ended (and was reaped) within ``timeout_s``."""
        if self._poll is None:
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                return False
            return True
        if not self._poll.poll(timeout_s * 1000):
            return False
        self._process.wait()  # it has ended: this reaps it at once
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = self._poll = None


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
