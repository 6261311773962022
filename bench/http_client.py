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

import pyoxigraph as ox

from kg.engine.process import OxigraphProcess

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
    "httpx": httpx_sender,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    engine = OxigraphProcess.from_quads(dataset()).start()
    try:
        host, port = "127.0.0.1", int(engine.client.query_url.rsplit(":", 1)[1].split("/")[0])
        senders = {}
        for name, make in SENDERS.items():
            try:
                senders[name] = make(host, port)
            except ImportError:
                print(f"{name}: not installed, skipped")
        expected = senders["http.client"]()
        for name, send in senders.items():
            assert send() == expected, name
        cpu: dict[str, list[float]] = {n: [] for n in senders}
        wall: dict[str, list[float]] = {n: [] for n in senders}
        for _ in range(args.rounds):
            for name, send in senders.items():  # interleaved: every client in every round
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in range(args.requests):
                    send()
                cpu[name].append((time.process_time() - c0) / args.requests * 1e6)
                wall[name].append((time.perf_counter() - w0) / args.requests * 1e6)
        base = statistics.median(cpu["http.client"])
        print(f"{'client':<18} {'CPU µs/req':>11} {'wall µs/req':>12} {'CPU ÷ http.client':>18}")
        for name in senders:
            c, w = statistics.median(cpu[name]), statistics.median(wall[name])
            print(f"{name:<18} {c:>11.0f} {w:>12.0f} {c / base:>18.2f}")
    finally:
        engine.stop()


if __name__ == "__main__":
    main()
