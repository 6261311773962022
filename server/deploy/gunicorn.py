"""The production server: gunicorn, a master process and ``workers`` worker processes.

The master (the ``alatau-kg serve`` process) owns the query engine: it starts it before the workers,
its supervisor restarts it when it dies, and it stops it on exit. Each worker is forked from the
master and then builds its own app (:func:`server.app.create_app`) over its copy of the engine
object, which reads where the engine is (port, generation, whether it is ready) from memory the
master shares (:class:`kg.engine.process.OxigraphProcess`), and keeps its own keep-alive connections to it.
With ``--engine URL`` each worker builds its own client of that store.

Workers are gunicorn's ``gthread`` kind: each serves ``threads`` requests at once, so a slow query
does not hold up a fast one, and client connections are kept alive. The access log is the app's (one
line per request, from whichever worker served it); gunicorn's own is off. Proxy headers are not
trusted (as with waitress before): the request's scheme and address are those of the connection.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

log = logging.getLogger("alatau_kg.server")


def default_workers() -> int:
    """One worker per core, at least two (the engine gets cores of its own between requests)."""
    return max(2, os.cpu_count() or 1)


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with its options given here, not read from the command line or a file."""

    def __init__(self, build_app: Callable[[], Flask], options: dict[str, Any]):
        self._build_app = build_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._build_app()  # in each worker, after the fork (the app is not preloaded)


def options(
    *, host: str, port: int, workers: int, threads: int, query_timeout_s: float, max_body_bytes: int
) -> dict[str, Any]:
    # A worker that does not check in for this long is killed and replaced: longer than the longest
    # a query may take (the timeout, the grace after it) so that only a hung worker is.
    hung_s = int(max(30.0, 3 * query_timeout_s + 10))
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": hung_s,
        "graceful_timeout": hung_s,  # on SIGTERM, the queries running may finish
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "alatau-kg",
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        # the query string is capped by max_body_bytes (413 JSON); 0: no smaller line limit here
        "limit_request_line": 0 if max_body_bytes > 4094 else 4094,
        "limit_request_field_size": 65536,
        "preload_app": False,
        "control_socket_disable": True,  # no control socket in the home directory
        "when_ready": _when_ready,
    }


def _when_ready(arbiter: Arbiter) -> None:
    for listener in arbiter.LISTENERS:
        host, port = listener.sock.getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        log.info(
            "serving http://%s:%s/ (SPARQL endpoint: /sparql) with %d worker process(es)",
            host,
            port,
            arbiter.num_workers,
        )
