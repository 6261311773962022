"""The Flask app (``create_app``) and the process that serves it (``serve``).

Routes: ``/`` (the query workbench), ``/sparql`` (SPARQL 1.1 query operation and service description),
``/-/health``, ``/-/version``, ``/static/…``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from types import FrameType

from flask import Flask, Response, g, request

from kg.config import Settings
from kg.durable import Durable, EngineCopy, ProcessStore, RemoteStore
from kg.engine import Engine, OxigraphProcess, SparqlHttpEngine
from kg.errors import UsageError
from kg.names import Names
from kg.store import OxigraphStore
from kg.tokens import Tokens
from kg.writes import Writer
from server import (  # linked data and pages for people
    cors,
    dataset,
    errors,
    introspection,
    linked,
    pages_home,
    protocol,
    search,
    workbench,
    writes,
)
from server.context import EXTENSION_KEY, Context

access_log = logging.getLogger("alatau_kg.access")
log = logging.getLogger("alatau_kg.server")


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, writer: Writer | None = None
) -> Flask:
    """The app over ``engine``; without one, an Oxigraph engine over the built store is started
    (and stopped at exit). Pass ``OxigraphProcess.from_quads(...).start()`` to serve other data.

    With write tokens configured (and no engine given), the app holds the store read-write: a
    :class:`kg.writes.Writer` commits guarded writes to it and keeps the engine in step (the engine
    loads from the writer's store). Pass ``writer`` with ``engine`` to wire both yourself.
    """
    settings = settings or Settings.from_env()
    if engine is None and settings.engine_url:
        engine = external_engine(settings)
        if writer is None and Tokens.load(settings.tokens_file, settings.tokens).configured:
            writer = external_writer(settings)
    if engine is None:
        if Tokens.load(settings.tokens_file, settings.tokens).configured:
            engine, writer = _writable_engine(settings)
        else:
            engine = OxigraphProcess.from_settings(settings).start()
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = Context.build(settings, engine, writer)
    errors.register(app)
    cors.register(app, settings.cors_origin)
    _register_access_log(app)
    app.register_blueprint(protocol.bp)
    app.register_blueprint(workbench.bp)
    app.register_blueprint(introspection.bp)
    app.register_blueprint(linked.bp)
    app.register_blueprint(pages_home.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(dataset.bp)
    writes.register(app)
    return app


def external_engine(settings: Settings) -> SparqlHttpEngine:
    """Any SPARQL 1.1 store as the engine."""
    return SparqlHttpEngine(
        settings.engine_url,
        timeout_s=settings.query_timeout_s,
        max_result_bytes=settings.max_result_bytes,
        union_param=settings.engine_union_param,
    )


def writer_over(durable: OxigraphStore | Durable, settings: Settings) -> Writer:
    """A guarded writer over ``durable``, configured by ``settings``."""
    return Writer(
        durable,
        Names(settings.base_iri),
        write_graphs=settings.write_graphs,
        guard=settings.guard_writes,
        skolemize=settings.skolemize_blank_nodes,
    )


def external_writer(settings: Settings) -> Writer:
    """Guarded writes committed to the external store. Each front process holds one; they stay
    correct together because every commit is conditioned on the store's version (kg.durable)."""
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


def _writable_engine(settings: Settings) -> tuple[OxigraphProcess, Writer]:
    names = Names(settings.base_iri)
    durable = OxigraphStore(names, settings.store_path)  # read-write: this process owns the store
    writer = writer_over(durable, settings)
    engine = OxigraphProcess(
        writer.dump_nquads,
        timeout_s=settings.query_timeout_s,
        max_result_bytes=settings.max_result_bytes,
        binary=settings.oxigraph_bin or None,
    ).start()
    writer.publish = engine.update
    return engine, writer


def _durable_process(settings: Settings) -> OxigraphProcess:
    """The built store, served on disk by an ``oxigraph serve --location`` this process supervises:
    the durable store the workers' writers commit to (each worker is one front of kg.durable)."""
    names = Names(settings.base_iri)
    OxigraphStore(names, settings.store_path, read_only=True)  # fail now if there is no store
    durable = OxigraphProcess(
        lambda: b"",
        location=settings.store_path,
        timeout_s=max(60.0, settings.query_timeout_s),
        binary=settings.oxigraph_bin or None,
    ).start()
    # Claims left by writers of a process that died (kill -9 mid-commit) would block writes until
    # they lapse; here no writer can be running yet (the store is this service's alone), so clear them.
    ProcessStore(durable).update(f"DROP SILENT GRAPH <{names.graph_base}locks>")
    return durable


def _engine_over(store: ProcessStore, settings: Settings) -> OxigraphProcess:
    """The in-memory query engine, loaded (and reloaded on every restart) from ``store``."""
    return OxigraphProcess(
        store.dump_nquads,
        timeout_s=settings.query_timeout_s,
        max_result_bytes=settings.max_result_bytes,
        binary=settings.oxigraph_bin or None,
    ).start()


def _worker_writer(settings: Settings, durable: OxigraphProcess, engine: OxigraphProcess) -> Writer:
    """A worker's guarded writer: it commits to the durable process and, after each commit, brings
    the query engine level with it by replaying what the engine lacks (Writer.replay_to), so the
    workers' updates may reach the engine in any order."""
    started = time.perf_counter()
    writer = writer_over(ProcessStore(durable), settings)
    copy = EngineCopy(engine)

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


def _register_access_log(app: Flask) -> None:
    """One line per request: client, method, path, status, duration."""

    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        started = g.get("started", time.perf_counter())
        access_log.info(
            "%s %s %s %d %.1fms",
            request.remote_addr or "-",
            request.method,
            request.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response


def _configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def serve(settings: Settings) -> None:
    """Start the engine, serve the app until SIGTERM or Ctrl-C, stop the engine.

    Read-only, and over an external store (``engine_url``): gunicorn, ``settings.workers`` worker
    processes (0: :func:`server.wsgi.default_workers`) forked from this process, which owns the
    engine (:mod:`server.wsgi`). With write tokens: this one process, with waitress (threads), as the
    durable store it holds read-write cannot be shared by forked processes; more workers are refused.
    """
    from server.wsgi import default_workers

    _configure_logging()
    if settings.workers < 0:
        raise UsageError(f"--workers must be 0 (one per core) or more, not {settings.workers}")
    workers = settings.workers or default_workers()
    writer: Writer | None = None
    engine: OxigraphProcess | SparqlHttpEngine
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
            engine = _engine_over(ProcessStore(durable), settings)
            log.info(
                "writes enabled: %d token(s); the store is served on disk by oxigraph (pid %s), "
                "queries by an in-memory copy",
                len(tokens.entries),
                durable.pid,
            )
            _serve_with_workers(settings, engine, workers, durable=durable)
        finally:
            durable.stop()  # in a worker leaving gunicorn: only closes its connections
        return
    else:
        engine = OxigraphProcess.from_settings(settings).start()
        log.info("read-only: no write tokens configured")
    _serve_with_workers(settings, engine, workers, writable=writable)


def _serve_with_workers(
    settings: Settings,
    engine: OxigraphProcess | SparqlHttpEngine,
    workers: int,
    *,
    writable: bool = False,
    durable: OxigraphProcess | None = None,
) -> None:
    from server.wsgi import GunicornServer, options

    owner = os.getpid()
    # The rate limit is kept per worker: each gets its share, so that no client exceeds the limit
    # (one that keeps its connection on one worker gets that worker's share).
    worker_settings = settings.with_(
        rate_limit_per_minute=settings.rate_limit_per_minute / workers,
        rate_limit_burst=max(1, settings.rate_limit_burst // workers),
    )

    def build_app() -> Flask:  # in each worker, after the fork
        writer: Writer | None = None
        if writable:
            writer = external_writer(worker_settings)
        elif durable is not None and isinstance(engine, OxigraphProcess):
            writer = _worker_writer(worker_settings, durable, engine)
        return create_app(worker_settings, engine, writer)

    server = GunicornServer(
        build_app,
        options(
            host=settings.host,
            port=settings.port,
            workers=workers,
            threads=max(8, settings.server_threads),
            query_timeout_s=settings.query_timeout_s,
            max_body_bytes=settings.max_body_bytes,
        ),
    )
    try:
        server.run()  # gunicorn handles SIGTERM (graceful) and SIGINT; exits with SystemExit
    except SystemExit as exc:
        if os.getpid() != owner:  # a worker leaving gunicorn's loop
            engine.stop()  # closes only this worker's connections
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            # No interpreter teardown in a forked worker: it would run destructors of native
            # libraries (RocksDB's, from reading the store) whose threads live in the master only.
            os._exit(exc.code if isinstance(exc.code, int) else 1)
        raise
    finally:
        if os.getpid() == owner:
            engine.stop()
            log.info("stopped")


def _serve_in_process(settings: Settings, engine: OxigraphProcess, writer: Writer | None) -> None:
    """One process, waitress threads (the writable mode: see :func:`serve`)."""
    from waitress.server import create_server

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        app = create_app(settings, engine, writer)
        server = create_server(
            app,
            host=settings.host,
            port=settings.port,
            threads=max(8, settings.server_threads),
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
