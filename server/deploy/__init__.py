"""The process model: which processes serve the app, where the query engines and the durable store
run, and how writers are wired to them (``serve``, ``standalone_app``).

    read-only            granian: N workers forked from this process, which supervises the engines
                         every worker queries: an in-memory ``oxigraph serve`` (the primary, loaded
                         from the store's snapshot) and, on demand, ``oxigraph serve-read-only`` over
                         the store (the standby: kg.engine.failover)
    writable, 1 worker   this process, waitress threads; the store held read-write in process, the
                         primary loaded from a backup of it and kept in step after every write; the
                         standby serves a backup of the store made when it starts
    writable, N workers  the store on disk served by a supervised ``oxigraph serve --location``
                         (the durable store, also the standby); each worker a guarded writer over it
                         that replays committed changes into the primary
    --engine URL         any SPARQL 1.1 store as the engine (and, with tokens, the durable store):
                         granian workers, each its own client and writer (kg.changes.durable)

What the workers share is made here, before they are forked: the store's version (a counter every
worker's writer advances, or, over an external store, the store's own version read per request:
kg.changes.versions), the per-client budgets (server.core.budgets) and the metrics directory
(server.core.metrics).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from flask import Flask
from waitress.server import create_server

from kg.changes.durable import Durable, EngineCopy, ProcessStore, RemoteStore
from kg.changes.tokens import Tokens
from kg.changes.versions import RemoteVersion, StoreVersion, VersionCounter
from kg.changes.writer import Writer
from kg.config import Settings
from kg.engine import Engine
from kg.engine.client import SparqlClient
from kg.engine.failover import Failover
from kg.engine.loading import from_process, from_store
from kg.engine.local import OxigraphStore
from kg.engine.process import OxigraphProcess, find_oxigraph
from kg.engine.profiles import VirtuosoProfile
from kg.errors import EngineError, EngineUnavailable, UsageError
from server.app import create_app
from server.core import metrics
from server.core.budgets import Budgets
from server.deploy.granian import GranianServer, freeze_what_was_built
from server.deploy.logs import configure_logging

log = logging.getLogger("alatau_kg.server")


def default_workers() -> int:
    """One worker per core but one, at least one: the engine is a process of its own and needs a core.

    Measured on 2 cores (``bench/RESULTS.md``, issue 12's sixth pass, both side by side in one run):
    one worker answers 16-49 % more repeated (cached) queries a second than two, 4-5 % more uncached
    ones at 100k triples, as many or more at 1M, 3-12 % fewer at 10k; two lightly loaded workers each
    wake for every request, where one busy worker keeps running. It also holds less memory."""
    return max(1, (os.cpu_count() or 2) - 1)


def standalone_app(settings: Settings) -> Flask:
    """The app with the engine (and, with write tokens, the writer) ``serve`` gives one process:
    an Oxigraph engine over the built store, or the external store of ``settings.engine_url``.
    The engine stops at exit."""
    writer: Writer | None = None
    writable = Tokens.load(settings.tokens_file, settings.tokens).configured
    engine: Engine
    if settings.engine_url:
        engine = external_engine(settings)
        if writable:
            writer = external_writer(settings)
    elif writable:
        engine, writer = _writable_engine(settings, wait=True)
    else:
        engine = read_only_engine(settings).start(wait=True)
    return create_app(settings, engine, writer)


def read_only_engine(settings: Settings) -> Failover:
    """The primary in memory (loaded from the store's snapshot) and, on demand, the standby:
    ``oxigraph serve-read-only`` over the store itself (nobody writes it)."""
    primary = OxigraphProcess.from_settings(settings)
    standby = OxigraphProcess.configured(
        settings,
        _nothing,
        location=settings.store_path,
        read_only=True,
        on_demand=True,
        needed=lambda: not (primary.ready or primary.stopping),
        name="standby engine",
    )
    return Failover(primary, standby)


def _nothing() -> bytes:
    return b""


def external_engine(settings: Settings) -> SparqlClient:
    """Any SPARQL 1.1 store as the engine, spoken to as its profile says (kg.engine.profiles); asked
    what it is now, so that a store that cannot keep this service's promises stops it at once."""
    client = SparqlClient(
        settings.engine_url,
        update_url=settings.engine_update_url,
        store_url=settings.engine_store_url,
        timeout_s=settings.query_timeout_s,
        max_result_bytes=settings.max_result_bytes,
        union_param=settings.engine_union_param,
        profile=settings.engine_profile,
        credentials=engine_credentials(settings),
    )
    check_engine(client, settings)
    return client


def engine_credentials(settings: Settings) -> tuple[str, str] | None:
    """The external store's user and password for its update and Graph Store URLs (None: none)."""
    return (settings.engine_user, settings.engine_password) if settings.engine_user else None


def check_engine(client: SparqlClient, settings: Settings) -> None:
    """Refuse (UsageError) an external store whose answers would break this service's promises; an
    unreachable one is asked again at its first query."""
    try:
        profile = client.profile
        if isinstance(profile, VirtuosoProfile):
            if not settings.union_default_graph:
                raise UsageError(
                    "Virtuoso has no default graph of its own (a query naming no graphs reads all the graphs "
                    "it may): --no-union-default-graph cannot be kept over it"
                )
            client.own_graphs_only()
    except EngineUnavailable as exc:
        log.warning("%s: its profile will be read at the first query", exc)
        return
    except EngineError as exc:
        raise UsageError(str(exc)) from exc
    log.info("external store %s: %s", settings.engine_url, json.dumps(profile.facts()))


def writer_over(durable: OxigraphStore | Durable, settings: Settings) -> Writer:
    """A guarded writer over ``durable``, configured by ``settings``."""
    return Writer(
        durable,
        settings.names,
        write_graphs=settings.write_graphs,
        guard=settings.guard_writes,
        skolemize=settings.skolemize_blank_nodes,
        limits=settings.query_limits,
    )


def external_writer(settings: Settings) -> Writer:
    """Guarded writes committed to the external store. Each front process holds one; they stay
    correct together because every commit is conditioned on the store's version (kg.changes.durable)."""
    started = time.perf_counter()
    writer = writer_over(RemoteStore.from_settings(settings), settings)
    log.info(
        "writes enabled on %s: %d quads read in %.1f s, at version %d",
        settings.engine_url,
        len(writer.working),
        time.perf_counter() - started,
        writer.version,
    )
    return writer


def _writable_engine(settings: Settings, *, wait: bool = False) -> tuple[Failover, Writer]:
    """The store held read-write here; the primary loaded from a backup of it (the backup's files
    are hard links: made in milliseconds), the standby serving a backup made when it starts. A write
    committed while the standby runs restarts it on a new backup (it would not see the write)."""
    names = settings.names
    durable = OxigraphStore(names, settings.store_path)  # read-write: this process owns the store
    writer = writer_over(durable, settings)
    backups = _Backups(durable, settings.store_path)
    binary = settings.oxigraph_bin or find_oxigraph()
    primary = OxigraphProcess.configured(
        settings, lambda: from_store(backups.make("primary"), binary, snapshot=False)
    )
    standby = OxigraphProcess.configured(
        settings,
        _nothing,
        location=lambda: backups.make("standby"),
        read_only=True,
        on_demand=True,
        needed=lambda: not (primary.ready or primary.stopping),
        name="standby engine",
    )
    engine = Failover(primary, standby).start(wait=wait)

    def publish(update: str) -> None:
        engine.update(update)
        if standby.ready:
            standby.refresh()

    writer.publish = publish
    return engine, writer


class _Backups:
    """Backups of the store this process holds (RocksDB checkpoints: hard links beside the store),
    one per use, each replacing the last; removed at exit."""

    def __init__(self, store: OxigraphStore, path: Path):
        self._store = store
        self._root = Path(tempfile.mkdtemp(prefix=f".{path.name}-backups-", dir=path.parent))
        self._lock = threading.Lock()
        atexit.register(shutil.rmtree, self._root, ignore_errors=True)

    def make(self, use: str) -> Path:
        with self._lock:
            target = self._root / use
            shutil.rmtree(target, ignore_errors=True)
            self._store.raw.backup(str(target))
            return target


def _durable_process(settings: Settings) -> OxigraphProcess:
    """The built store, served on disk by an ``oxigraph serve --location`` this process supervises:
    the durable store the workers' writers commit to (each worker is one front of kg.changes.durable)."""
    names = settings.names
    OxigraphStore(names, settings.store_path, read_only=True)  # fail now if there is no store
    durable = OxigraphProcess.configured(
        settings,
        _nothing,
        location=settings.store_path,
        timeout_s=max(60.0, settings.query_timeout_s),
        kill_stuck=False,  # it holds commits: a query it does not stop is abandoned, never killed
        name="durable store",
    ).start()
    # Claims left by writers of a process that died (kill -9 mid-commit) would block writes until
    # they lapse; here no writer can be running yet (the store is this service's alone), so clear them.
    ProcessStore(durable).update(f"DROP SILENT GRAPH <{names.graph_base}locks>")
    return durable


def _engine_over(durable: OxigraphProcess, settings: Settings) -> Failover:
    """The primary, loaded (and reloaded on every restart) from the durable store's process, which
    is the standby too (up to date; never killed for a query: heavy queries are refused instead)."""
    primary = OxigraphProcess.configured(settings, lambda: from_process(durable.client))
    return Failover(primary, durable, standby_killable=False).start()


def _worker_writer(settings: Settings, durable: OxigraphProcess, engine: Failover) -> Writer:
    """A worker's guarded writer: it commits to the durable process and, after each commit, brings
    the query engine level with it by replaying what the engine lacks (Writer.replay_to), so the
    workers' updates may reach the engine in any order."""
    started = time.perf_counter()
    writer = writer_over(ProcessStore(durable), settings)
    copy = EngineCopy(engine.primary)

    def publish(update: str) -> None:
        writer.replay_to(copy)

    writer.publish = publish
    log.info(
        "worker %d: writer ready in %.1f s at version %d",
        os.getpid(),
        time.perf_counter() - started,
        writer.version,
    )
    return writer


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def serve(settings: Settings) -> None:
    """Start the engine, serve the app until SIGTERM or Ctrl-C, stop the engine.

    Read-only, and over an external store (``engine_url``): granian, ``settings.workers`` worker
    processes (0: :func:`default_workers`) forked from this process, which
    owns the engine. With write tokens and one worker: this one process, with waitress (threads),
    holding the store read-write; with more, the store is served on disk by a supervised
    ``oxigraph serve`` and each worker holds a guarded writer over it (see the module's docstring).
    """
    configure_logging(settings.log_batch_ms)
    if settings.workers < 0:
        raise UsageError(f"--workers must be 0 (one per core) or more, not {settings.workers}")
    workers = settings.workers or default_workers()
    writer: Writer | None = None
    engine: Failover | SparqlClient
    writable = False
    if settings.engine_url:
        engine = external_engine(settings)
        if writable := (tokens := Tokens.load(settings.tokens_file, settings.tokens)).configured:
            # each worker holds its own writer (built after the fork); they agree through the store
            log.info("external store %s, writes on: %d token(s)", settings.engine_url, len(tokens.entries))
        else:
            log.info("serving the external SPARQL store %s (read-only)", settings.engine_url)
    elif (tokens := Tokens.load(settings.tokens_file, settings.tokens)).configured:
        if settings.workers == 1:
            engine, writer = _writable_engine(settings)
            log.info("writes enabled: %d token(s); the store is held read-write", len(tokens.entries))
            _serve_in_process(settings, engine, writer)
            return
        durable = _durable_process(settings)
        try:
            engine = _engine_over(durable, settings)
            log.info(
                "writes enabled: %d token(s); the store is served on disk by oxigraph (pid %s), "
                "queries by an in-memory copy",
                len(tokens.entries),
                durable.pid,
            )
            _serve_with_workers(settings, engine, workers, durable=durable)
        finally:
            durable.stop()
        return
    else:
        engine = read_only_engine(settings).start()
        log.info("read-only: no write tokens configured")
    _serve_with_workers(settings, engine, workers, writable=writable)


def _serve_with_workers(
    settings: Settings,
    engine: Failover | SparqlClient,
    workers: int,
    *,
    writable: bool = False,
    durable: OxigraphProcess | None = None,
) -> None:
    owner = os.getpid()
    # shared by the workers: made before they are forked
    version: StoreVersion = (
        RemoteVersion(RemoteStore.from_settings(settings), settings.names)
        if settings.engine_url
        else VersionCounter()
    )
    clients = Budgets(settings).table
    metrics.use_multiprocess_dir(
        Path(metrics.multiprocess_dir() or tempfile.mkdtemp(prefix="alatau-kg-metrics-"))
    )
    master_metrics = metrics.Metrics()  # the engine's events in this process (its supervisor)

    def build_app() -> Flask:  # in each worker, after the fork
        writer: Writer | None = None
        if writable:
            writer = external_writer(settings)
        elif durable is not None and isinstance(engine, Failover):
            writer = _worker_writer(settings, durable, engine)
        return create_app(settings, engine, writer, version=version, clients=clients)

    server = GranianServer(
        build_app,
        host=settings.host,
        port=settings.port,
        workers=workers,
        threads=settings.worker_threads,
        max_body_bytes=settings.max_body_bytes,
        graceful_s=3 * settings.query_timeout_s + 10,  # running queries may finish (and their grace)
    )
    try:
        server.run()  # granian handles SIGTERM and SIGINT: stops the workers, then returns
    finally:
        if os.getpid() == owner:
            master_metrics.close()
            engine.stop()
            log.info("stopped")


def _serve_in_process(settings: Settings, engine: Failover, writer: Writer | None) -> None:
    """One process, waitress threads (the writable mode: see :func:`serve`)."""
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        app = create_app(settings, engine, writer)
        freeze_what_was_built()
        server = create_server(
            app,
            host=settings.host,
            port=settings.port,
            threads=settings.worker_threads,
            ident="alatau-kg",
            clear_untrusted_proxy_headers=True,
        )
        host = getattr(server, "effective_host", settings.host)
        port = getattr(server, "effective_port", settings.port)
        log.info("serving http://%s:%s/ (SPARQL endpoint: /sparql) in one process", host, port)
        server.run()  # returns on SystemExit/KeyboardInterrupt (waitress closes its sockets)
    finally:
        log.info("stopping")
        engine.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
