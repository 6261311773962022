"""The floor under any front of ours: what a front that only forwards costs (`endpoint.py --floor`).

    .venv/bin/python -m bench.floor --port PORT --data FILE.nq [--timeout-s 10]

It starts its own in-memory ``oxigraph serve`` (a child, with the query timeout), loads ``FILE`` into
it through the Graph Store endpoint, and serves ``/sparql`` the way ``alatau-kg serve`` does:
granian, :func:`server.deploy.default_workers` workers of ``Settings.worker_threads`` threads
(:class:`server.deploy.granian.GranianServer`), each sending the query to the engine over
:class:`kg.engine.wire.Wire` (the query as the body, the union default graph) and returning the
engine's answer as it is. Nothing else: no limits, no cache, no budgets, no log line, no metrics, no
negotiation, no dataset or base IRI. So its CPU per query is what running the engine apart, behind
granian and a Python WSGI app, costs before the endpoint does any of its work; a front that does that
work cannot cost less. Not a product: it refuses nothing, and a query past the engine's timeout is
answered with whatever the engine says.
"""

from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from bench.endpoint import _free_port, _request, _wait_http
from kg.config import Settings
from kg.engine.process import find_oxigraph
from kg.engine.wire import Wire
from server.deploy import default_workers
from server.deploy.granian import GranianServer

ENGINE_PATH = "/query?union-default-graph"  # what `serve` gives by default: the union of all graphs
CAP = 1 << 30  # bytes of an answer


def forwarding_app(engine_port: int, timeout_s: float) -> Callable[..., Iterable[bytes]]:
    """The WSGI app: ``query`` from the URL or the form, to the engine and back."""
    wire = Wire("127.0.0.1", engine_port, check_idle=False)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        form = environ["wsgi.input"].read(length).decode() if length else environ.get("QUERY_STRING", "")
        query = parse_qs(form).get("query", [""])[0]
        headers = {
            "Content-Type": "application/sparql-query",
            "Accept": environ.get("HTTP_ACCEPT") or "application/sparql-results+json",
        }
        answer = wire.exchange(
            "POST", ENGINE_PATH, headers, query.encode(), deadline=time.monotonic() + timeout_s + 5, cap=CAP
        )
        content_type = answer.headers.get("content-type") or "application/octet-stream"
        reason = http.client.responses.get(answer.status, "")
        start_response(
            f"{answer.status} {reason}",
            [("Content-Type", content_type), ("Content-Length", str(len(answer.body)))],
        )
        return [answer.body]

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="where /sparql answers")
    parser.add_argument("--data", type=Path, required=True, help="N-Quads loaded into the engine")
    parser.add_argument("--timeout-s", type=float, default=10.0, help="the engine's query timeout")
    args = parser.parse_args(argv)
    engine_port = _free_port()
    engine = subprocess.Popen(
        [
            find_oxigraph(),
            "serve",
            "--bind",
            f"127.0.0.1:{engine_port}",
            "--timeout-s",
            f"{args.timeout_s:g}",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_http(engine, "127.0.0.1", engine_port, "/", 30)
        _request("127.0.0.1", engine_port, "POST", "/store", args.data.read_bytes(), "application/n-quads")
        settings = Settings.from_env()
        GranianServer(
            lambda: forwarding_app(engine_port, args.timeout_s),  # type: ignore[arg-type,return-value]
            host="127.0.0.1",
            port=args.port,
            workers=default_workers(),
            threads=settings.worker_threads,
            max_body_bytes=settings.max_body_bytes,
            graceful_s=args.timeout_s + 5,
        ).run()
    finally:
        engine.terminate()
        engine.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
