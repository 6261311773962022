"""The production server: granian (HTTP in Rust), a master process and ``workers`` worker processes.

Chosen by measurement (bench/RESULTS.md, "The front's own cost"): on the same app and engine, granian's
workers spend less CPU per request than gunicorn's ``gthread`` workers (HTTP parsing, the thread pool
hand-off and the keep-alive bookkeeping are Rust, not Python) and serve more queries per second.

The master (the ``alatau-kg serve`` process) owns the query engine: it starts it before the workers,
its supervisor restarts it when it dies, and it stops it on exit. Each worker is forked from the
master (granian's ``fork`` start method) and then builds its own app (:func:`server.app.create_app`)
over its copy of the engine object, which reads where the engine is from memory the master shares
(:class:`kg.engine.process.OxigraphProcess`); what the workers share besides (the store's version,
the client budgets, the metrics directory) is made before the fork. A worker runs the app in
``threads`` threads, so a slow query does not hold up a fast one; client connections are kept alive.
A worker that dies is replaced. Each worker listens on the address itself (``SO_REUSEPORT``: the kernel
spreads new connections over the workers). The access log is the app's (one line per request);
granian's is off.
Proxy headers are the app's concern (:mod:`server.core.clients`): the address is the connection's.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from flask import Flask
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.server.mp import MPServer

log = logging.getLogger("alatau_kg.server")

# granian logs its own lines (workers started, stopped) to stderr, as ours, not to stdout
LOGGING = {
    "handlers": {
        "console": {"formatter": "generic", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
        "access": {"formatter": "access", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"},
    }
}
ANNOUNCE_WAIT_S = 120.0  # how long the master waits for a worker to answer before it logs anyway
HEAD_ROOM = 65536  # the request head beyond the query string: the request line's rest and the headers


class GranianServer:
    """granian with its options given here, not read from the command line or the environment."""

    def __init__(
        self,
        build_app: Callable[[], Flask],
        *,
        host: str,
        port: int,
        workers: int,
        threads: int,
        max_body_bytes: int,
        graceful_s: float,
    ):
        self._build_app = build_app
        self.options: dict[str, Any] = {
            "address": host,
            "port": port,
            "interface": Interfaces.WSGI,
            "workers": workers,
            "blocking_threads": threads,
            "http": HTTPModes.http1,
            "websockets": False,
            # the query string is capped by max_body_bytes (413 JSON): the head may hold that much
            "http1_settings": HTTP1Settings(max_buffer_size=max(417_792, max_body_bytes + HEAD_ROOM)),
            "log_access": False,
            "log_dictconfig": LOGGING,
            "respawn_failed_workers": True,
            "workers_kill_timeout": max(1, int(graceful_s)),  # on SIGTERM, running queries may finish
        }

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT; returns once the workers have stopped."""
        if not self.options["port"]:
            # On Linux each granian worker binds the address itself (SO_REUSEPORT): port 0 would give
            # each worker a port of its own. A free port is chosen here instead.
            self.options["port"] = free_port(self.options["address"])
        server = MPServer("alatau-kg", **self.options)
        threading.Thread(target=self._announce, name="announce", daemon=True).start()
        master = os.getpid()
        stop_forked_workers_while_starting()

        def load() -> Flask:  # in each worker, after the fork
            _stop_while_starting()
            _die_with(master)
            app = self._build_app()
            freeze_what_was_built()
            return app

        # frozen here too, before the workers are forked: their collections then never touch (and
        # never copy, page by page) what they inherit
        freeze_what_was_built()
        server.serve(target_loader=load, wrap_loader=False)

    def _announce(self) -> None:
        """Log where the service answers once a worker does (granian binds in the workers)."""
        host, port = self.options["address"], self.options["port"]
        deadline = time.monotonic() + ANNOUNCE_WAIT_S
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.05)
        log.info(
            "serving http://%s:%s/ (SPARQL endpoint: /sparql) with %d worker process(es)",
            f"[{host}]" if ":" in host else host,
            port,
            self.options["workers"],
        )


def freeze_what_was_built() -> None:
    """Once the app is built: collect the garbage of building it, then leave everything built so far
    (the app, the settings, the modules: about 90,000 objects) out of the collector's passes
    (:func:`gc.freeze`). A full collection in a serving worker took ~60 ms, a pause every few
    thousand requests; afterwards ~3 ms (``bench/RESULTS.md``). What requests make is collected as
    before."""
    gc.collect()
    gc.freeze()


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with(master: int) -> None:
    """In a worker: be killed when the master dies, even by SIGKILL (granian's workers would live on,
    holding the port and the log pipe)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != master:  # it died before the line above
        os._exit(1)


def _stop_while_starting() -> None:
    """In a worker, until granian installs the worker's own signal handlers (after the app is built):
    SIGTERM and SIGINT end it at once.

    A worker is forked with the master's handlers, which only flag the master's state: a stop asked
    while the worker builds its app (the master stopped right after starting, or a Ctrl-C) was lost,
    and the worker then waited for a stop that never came until the master killed it at the end of the
    graceful period (measured: a `serve` stopped under load hung 16 s). A worker that is still
    starting serves nothing, so it may simply go."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_now)


_STOP_ON_FORK = [False]  # the fork hook is installed (once per process)


def stop_forked_workers_while_starting() -> None:
    """From now on, every process forked from this one (granian's workers) ends at once on SIGTERM or
    SIGINT from the moment it is forked, until it installs handlers of its own (granian's, once its
    app is built). Before the app is loaded, granian's worker code configures logging and reads the
    environment with the master's handlers, which would swallow a stop just as well: once in a full
    test run a ``serve`` stopped that early hung until the graceful period ended."""
    if not _STOP_ON_FORK[0]:
        os.register_at_fork(after_in_child=_stop_while_starting)
        _STOP_ON_FORK[0] = True


def _exit_now(signum: int, frame: FrameType | None) -> None:
    os._exit(128 + signum)


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
