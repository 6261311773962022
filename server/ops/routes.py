"""Routes about the service itself: ``/-/health`` (for monitors) and ``/-/version``."""

from __future__ import annotations

import os
import platform
from importlib import metadata

from flask import Blueprint, Response, jsonify

from kg import __version__
from kg.errors import KGError
from server.core.context import context

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
        "gunicorn": _version_of("gunicorn"),
    }
    if not ours and engine.get("profile"):
        versions["engine"] = {"profile": engine["profile"], "version": engine.get("version")}
    return jsonify(versions)
