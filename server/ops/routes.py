"""Routes about the service itself: ``/-/health`` (for monitors), ``/-/version`` and ``/-/metrics``
(Prometheus text format: :mod:`server.core.metrics`)."""

from __future__ import annotations

import os
import platform
from importlib import metadata

from flask import Blueprint, Response, jsonify

from kg import __version__
from kg.errors import KGError
from server.core.context import context
from server.core.metrics import CONTENT_TYPE

bp = Blueprint("introspection", __name__)


@bp.get("/-/health")
def health() -> tuple[Response, int]:
    """200 when the engine answers, with the triples per graph; 503 when it does not."""
    engine = context().engine
    status = engine.status()
    body: dict = {"status": "ok" if status.get("reachable") else "unavailable", "engine": status}
    body["worker_pid"] = os.getpid()  # which server process answered (several with --workers)
    if status.get("reachable"):
        try:
            graphs = engine.graph_counts()
        except KGError as exc:
            body.update(status="unavailable", message=str(exc))
        else:
            body["graphs"] = graphs
            body["triples"] = sum(graphs.values())
    return jsonify(body), 200 if body["status"] == "ok" else 503


def _version_of(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@bp.get("/-/version")
def version() -> Response:
    engine = context().engine.status()
    ours = engine.get("kind") == "oxigraph-process"  # else an external store, which says its own version
    versions = {
        "alatau_kg": __version__,
        "python": platform.python_version(),
        "rdflib": _version_of("rdflib"),
        "pyoxigraph": _version_of("pyoxigraph"),
        "oxigraph": (engine.get("version") if ours else None) or _version_of("oxigraph"),
        "flask": _version_of("flask"),
        "waitress": _version_of("waitress"),
        "granian": _version_of("granian"),
        "prometheus_client": _version_of("prometheus-client"),
    }
    if not ours and engine.get("profile"):
        versions["engine"] = {"profile": engine["profile"], "version": engine.get("version")}
    return jsonify(versions)


@bp.get("/-/metrics")
def metrics() -> Response:
    """Every worker's metrics, summed (https://prometheus.io/docs/instrumenting/exposition_formats/)."""
    ctx = context()
    restarts = getattr(ctx.engine, "restarts", None)
    body = ctx.metrics.exposition(restarts if isinstance(restarts, int) else None)
    return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
