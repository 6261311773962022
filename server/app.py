"""The Flask app factory: ``create_app(settings, engine, writer)`` builds the app over an engine.

Routes, by family (each a blueprint): ``/sparql`` (:mod:`server.sparql`), ``/update``, ``/store``,
``/graph/…``, ``/validate``, ``/changes`` (:mod:`server.writes`), ``/id/…``, ``/def/…``, ``/data/…``,
``/dataset``, ``/dumps/`` (:mod:`server.linked`), ``/`` and ``/workbench/…`` (the query workbench),
``/home``, ``/page/…``, ``/search``, ``/history`` (:mod:`server.pages`), ``/steward/…``
(:mod:`server.stewards`), ``/-/health``, ``/-/version``, ``/-/metrics`` (:mod:`server.ops`). Which
processes run the app and its engine is :mod:`server.deploy`'s decision, not this module's.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from kg.changes.versions import StoreVersion
from kg.changes.writer import Writer
from kg.config import Settings
from kg.engine import Engine
from server.core import cors, errors, i18n, inflight
from server.core.budgets import ClientTable
from server.core.context import EXTENSION_KEY, Context
from server.core.observation import Observer
from server.linked import dataset
from server.linked import routes as linked
from server.ops import routes as ops
from server.pages import history, home, resource, search, workbench
from server.sparql import fast, protocol
from server.stewards import routes as stewards
from server.writes import routes as writes


def create_app(
    settings: Settings,
    engine: Engine,
    writer: Writer | None = None,
    *,
    version: StoreVersion | None = None,
    clients: ClientTable | None = None,
) -> Flask:
    """The app over ``engine`` (which the caller started and stops); ``writer`` makes it writable.
    ``version`` and ``clients``, made before the workers are forked, are shared by them
    (:meth:`server.core.context.Context.build`)."""
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    ctx = app.extensions[EXTENSION_KEY] = Context.build(
        settings, engine, writer, version=version, clients=clients
    )
    i18n.init(app)
    errors.register(app, not_found_page=resource.render_not_found)
    cors.register(app, settings.cors_origin)
    observer = Observer(ctx)
    _register_observation(app, observer)
    for blueprint in (
        protocol.bp,
        workbench.bp,
        ops.bp,
        linked.bp,
        resource.bp,
        home.bp,
        search.bp,
        dataset.bp,
        writes.bp,
        history.bp,
        stewards.bp,
    ):
        app.register_blueprint(blueprint)
    inflight.register(app)
    flask_app = app.wsgi_app
    # /sparql's common case without Flask's machinery; anything else goes on to Flask
    queries = fast.FastQueries(flask_app, ctx, observer)
    # before either reads a body: one client's requests in flight, at most max_client_requests, and
    # requests receiving their bodies, at most max_receiving_requests (half the threads) of all
    # clients and max_client_receiving of one
    app.wsgi_app = inflight.ClientSlots(  # type: ignore[method-assign]
        queries,
        flask_app,
        ctx.identifier,
        settings.max_client_requests,
        inflight.receiving_limit(settings.max_receiving_requests, settings.worker_threads),
        settings.max_client_receiving,
    )
    return app


def _register_observation(app: Flask, observer: Observer) -> None:
    @app.before_request
    def start_clock() -> None:
        g.started = request.environ.get(fast.STARTED) or time.perf_counter()

    @app.after_request
    def observe(response: Response) -> Response:
        took = time.perf_counter() - g.get("started", time.perf_counter())
        rule = request.url_rule
        observer.done(
            request.environ,
            rule.rule if rule is not None else "(none)",
            response.status_code,
            took,
            form=g.get("query_form", ""),
            error_code=g.get("error_code"),
            client=g.get("client"),
            charged=bool(g.get("charged")),
        )
        return response
