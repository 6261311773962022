"""Which HTTP client the engine client should use: CPU and wall time per query, side by side.

The engine client is on the path of every query, so its own cost per request counts (issue 10, item
3: urllib3 or httpx, chosen by measurement). One in-memory ``oxigraph serve`` holds a small dataset;
each client sends the same point query (a direct POST, kept-alive connections) in interleaved rounds,
and the script prints the median CPU (process time) and wall time per request of each, and their
ratio to hand-driven ``http.client`` (what the engine client used before).

    .venv/bin/python bench/http_client.py [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlencode

import pyoxigraph as ox

from kg.engine.client import SparqlClient
from kg.engine.process import OxigraphProcess
from kg.engine.wire import Wire

QUERY = b"SELECT ?o WHERE { <http://example.org/s1> ?p ?o }"
ACCEPT = "application/sparql-results+json"
HEADERS = {"Content-Type": "application/sparql-query", "Accept": ACCEPT}


def dataset() -> list[ox.Quad]:
    ex = "http://example.org/"
    return [
        ox.Quad(ox.NamedNode(f"{ex}s{i}"), ox.NamedNode(f"{ex}p{j}"), ox.Literal(f"v{i}-{j}"))
        for i in range(200)
        for j in range(5)
    ]


def http_client_sender(host: str, port: int) -> Callable[[], bytes]:
    conn = http.client.HTTPConnection(host, port)

    def send() -> bytes:
        conn.request("POST", "/query", body=QUERY, headers=HEADERS)
        return conn.getresponse().read()

    return send


def urllib3_sender(host: str, port: int) -> Callable[[], bytes]:
    import urllib3

    pool = urllib3.HTTPConnectionPool(host, port, maxsize=4, retries=False)

    def send() -> bytes:
        return pool.request("POST", "/query", body=QUERY, headers=HEADERS).data

    return send


def urllib3_streamed_sender(host: str, port: int) -> Callable[[], bytes]:
    """urllib3 reading the body in chunks (as a size cap needs), not all at once."""
    import urllib3

    pool = urllib3.HTTPConnectionPool(host, port, maxsize=4, retries=False)

    def send() -> bytes:
        response = pool.request("POST", "/query", body=QUERY, headers=HEADERS, preload_content=False)
        body = b"".join(response.stream(65536))
        response.release_conn()
        return body

    return send


def urllib3_get_sender(host: str, port: int) -> Callable[[], bytes]:
    """urllib3, the query in the URL (GET ?query=): no body, but urllib3 checks the URL char by char."""
    import urllib3

    pool = urllib3.HTTPConnectionPool(host, port, maxsize=4, retries=False)
    target = "/query?" + urlencode({"query": QUERY.decode()})
    headers = {"Accept": ACCEPT}

    def send() -> bytes:
        return pool.urlopen("GET", target, headers=headers, retries=False, redirect=False).data

    return send


def sparql_client_sender(host: str, port: int) -> Callable[[], bytes]:
    """The engine client itself (kg.engine.client.SparqlClient): over the wire (kg.engine.wire), the
    body read with the size cap and the completeness check."""
    client = SparqlClient(f"http://{host}:{port}/query", timeout_s=60)

    def send() -> bytes:
        return client.query(QUERY.decode(), accept=ACCEPT).body

    return send


def sparql_client_urllib3_sender(host: str, port: int) -> Callable[[], bytes]:
    """The engine client as it was before the wire: urllib3, head and body in one write (the path it
    still takes to a store behind TLS)."""
    client = SparqlClient(f"http://{host}:{port}/query", timeout_s=60)
    client._wire_for = lambda url: None  # type: ignore[method-assign]

    def send() -> bytes:
        return client.query(QUERY.decode(), accept=ACCEPT).body

    return send


def wire_sender(host: str, port: int) -> Callable[[], bytes]:
    """kg.engine.wire alone: one write, the answer parsed by httptools."""
    wire = Wire(host, port)

    def send() -> bytes:
        return wire.exchange(
            "POST", "/query", HEADERS, QUERY, deadline=time.monotonic() + 60, cap=1 << 30
        ).body

    return send


def httpx_sender(host: str, port: int) -> Callable[[], bytes]:
    import httpx

    client = httpx.Client(base_url=f"http://{host}:{port}")

    def send() -> bytes:
        return client.post("/query", content=QUERY, headers=HEADERS).content

    return send


SENDERS = {
    "http.client": http_client_sender,
    "urllib3": urllib3_sender,
    "urllib3 streamed": urllib3_streamed_sender,
    "urllib3 GET": urllib3_get_sender,
    "wire": wire_sender,
    "SparqlClient": sparql_client_sender,
    "SparqlClient urllib3": sparql_client_urllib3_sender,
    "httpx": httpx_sender,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    # Oxigraph keeps one sleeping thread per query for its timeout (10 s here), and writes an
    # unsolicited 500 on a kept-alive connection idle for that long: each sender opens its connection
    # afresh for each round (one untimed request first), so none sits idle between its rounds.
    engine = OxigraphProcess.from_quads(dataset(), timeout_s=10).start()
    try:
        host, port = "127.0.0.1", int(engine.client.query_url.rsplit(":", 1)[1].split("/")[0])
        makers = {}
        for name, make in SENDERS.items():
            try:
                make(host, port)
                makers[name] = make
            except ImportError:
                print(f"{name}: not installed, skipped")
        expected = makers["http.client"](host, port)()
        for name, make in makers.items():
            assert make(host, port)() == expected, name
        cpu: dict[str, list[float]] = {n: [] for n in makers}
        wall: dict[str, list[float]] = {n: [] for n in makers}
        for _ in range(args.rounds):
            for name, make in makers.items():  # interleaved: every client in every round
                send = make(host, port)
                send()
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in range(args.requests):
                    send()
                cpu[name].append((time.process_time() - c0) / args.requests * 1e6)
                wall[name].append((time.perf_counter() - w0) / args.requests * 1e6)
        base = statistics.median(cpu["http.client"])
        print(f"{'client':<20} {'CPU µs/req':>11} {'wall µs/req':>12} {'CPU ÷ http.client':>18}")
        for name in makers:
            c, w = statistics.median(cpu[name]), statistics.median(wall[name])
            print(f"{name:<20} {c:>11.0f} {w:>12.0f} {c / base:>18.2f}")
    finally:
        engine.stop()


if __name__ == "__main__":
    main()
