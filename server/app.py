"""The Flask app (``create_app``) and the process that serves it (``serve``).

Routes: ``/`` (query page), ``/sparql`` (SPARQL 1.1 query operation and service description),
``/-/health``, ``/-/version``, ``/static/…``.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from types import FrameType

from flask import Flask, Response, g, request

from kg.config import Settings
from kg.engine import Engine, OxigraphProcess
from server import cors, errors, introspection, pages, protocol
from server.context import EXTENSION_KEY, Context

access_log = logging.getLogger("alatau_kg.access")
log = logging.getLogger("alatau_kg.server")


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Flask:
    """The app over ``engine``; without one, an Oxigraph engine over the built store is started
    (and stopped at exit). Pass ``OxigraphProcess.from_quads(...).start()`` to serve other data."""
    settings = settings or Settings.from_env()
    if engine is None:
        engine = OxigraphProcess.from_settings(settings).start()
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = Context.build(settings, engine)
    errors.register(app)
    cors.register(app, settings.cors_origin)
    _register_access_log(app)
    app.register_blueprint(protocol.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(introspection.bp)
    return app


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
    """Start the engine, serve the app with waitress until SIGTERM or Ctrl-C, stop the engine."""
    from waitress.server import create_server

    _configure_logging()
    engine = OxigraphProcess.from_settings(settings).start()
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        app = create_app(settings, engine)
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
        log.info("serving http://%s:%s/ (SPARQL endpoint: /sparql)", host, port)
        server.run()  # returns on SystemExit/KeyboardInterrupt (waitress closes its sockets)
    finally:
        log.info("stopping")
        engine.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
