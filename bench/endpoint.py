"""Benchmark our SPARQL endpoint against a bare ``oxigraph serve`` holding the same data.

    .venv/bin/python -m bench.endpoint [--copies N] [--rounds R] [--round-s S] [--concurrency C]

A: our app (``server.app``: Flask + waitress, 8 threads, over its supervised Oxigraph engine), in a
process of its own. B: ``oxigraph serve`` (in memory), asked for the union default graph our endpoint
gives by default. Both get the city graph (built now, in a temporary store), optionally with ``N - 1``
copies of its facts under other IRIs (``id/copyK/…`` in graphs ``graph/copyK/…``) for a larger graph.

The client sends a fixed mix of realistic queries (:data:`MIX`) from ``C`` threads, each with a
keep-alive connection, in rounds that alternate A and B (A, B, B, A, A, B, …) so that drift of the machine
hits both alike. Before timing, each query runs once on both and the result counts must be equal.
Progress goes to stderr, one line per round; the summary (QPS, p50/p99 latency, ratio) to stdout.
Figures belong in ``bench/RESULTS.md``, never in unit tests.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox

from kg.build import build
from kg.config import PROJECT_ROOT, Settings
from kg.engine import find_oxigraph
from kg.names import Names
from kg.store import OxigraphStore

PREFIXES = """PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
"""


def _example(stem: str) -> str:
    return (PROJECT_ROOT / "queries" / f"{stem}.rq").read_text(encoding="utf-8")


# Realistic: six of the competency questions (joins, paths, aggregates, OPTIONAL) and four of what a
# browsing client asks (a label search, a resource's description, class counts, graph sizes).
MIX: dict[str, str] = {
    "investors-by-district": _example("01-investors-by-district"),
    "officials-and-posts": _example("05-officials-and-posts"),
    "facility-status-history": _example("09-facility-status-history"),
    "places-in-alatau (path)": _example("16-places-in-alatau"),
    "investment-total (aggregate)": _example("22-investment-projects-total"),
    "places-near-konaev": _example("27-places-near-konaev"),
    "label search": PREFIXES
    + 'SELECT ?s ?label WHERE { ?s rdfs:label ?label FILTER(CONTAINS(LCASE(STR(?label)), "district")) } '
    "ORDER BY ?s LIMIT 50",
    "describe a resource": "SELECT ?p ?o WHERE { <https://w3id.org/alatau-kg/id/place/gate-district> ?p ?o }",
    "instances per class": "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class } "
    "GROUP BY ?class ORDER BY DESC(?n)",
    "triples per graph": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
}

ACCEPT = "application/sparql-results+json"


# --- data ----------------------------------------------------------------------------------------


def city_nquads(copies: int, progress) -> bytes:
    """The city graph as N-Quads, built now; with ``copies - 1`` copies of its source and inferred facts."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(store_path=Path(tmp) / "store")
        progress("building the city graph (load, reason, validate) …")
        build(settings)
        names = Names(settings.base_iri)
        buffer = io.BytesIO()
        OxigraphStore(names, settings.store_path, read_only=True).raw.dump(buffer, ox.RdfFormat.N_QUADS)
    data = buffer.getvalue()
    if copies <= 1:
        return data
    base = names.base
    quads = list(ox.parse(data, format=ox.RdfFormat.N_QUADS))
    copied = []
    for k in range(2, copies + 1):

        def rename(term, k=k):
            if isinstance(term, ox.NamedNode) and term.value.startswith(base + "id/"):
                return ox.NamedNode(f"{base}id/copy{k}/{term.value.removeprefix(base + 'id/')}")
            return term

        for q in quads:
            graph = q.graph_name
            if isinstance(graph, ox.NamedNode) and graph.value not in (
                names.ontology_graph,
                names.shapes_graph,
            ):
                graph = ox.NamedNode(f"{base}graph/copy{k}/{graph.value.removeprefix(base + 'graph/')}")
                copied.append(ox.Quad(rename(q.subject), q.predicate, rename(q.object), graph))
    out = io.BytesIO()
    ox.serialize([*quads, *copied], out, ox.RdfFormat.N_QUADS)
    return out.getvalue()


# --- the two servers ------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str  # the query URL
    extra: list[tuple[str, str]] = field(default_factory=list)  # parameters added to every query

    def body(self, query: str) -> bytes:
        return urlencode([("query", query), *self.extra]).encode("utf-8")


@contextlib.contextmanager
def alatau_server(nquads: Path, threads: int) -> Iterator[Target]:
    """Our app in a process of its own (this one is the load generator)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.endpoint", "--child-serve", str(nquads), "--threads", str(threads)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"our server did not start (exit code {process.poll()})")
        yield Target("alatau /sparql", url + "/sparql")
    finally:
        process.terminate()
        process.wait(timeout=30)


def _child_serve(nquads: Path, threads: int) -> None:
    import logging

    from waitress.server import create_server

    from kg.engine import OxigraphProcess
    from server.app import create_app

    logging.disable(logging.INFO)  # no access log: it would cost A time B does not spend
    data = nquads.read_bytes()
    with OxigraphProcess(lambda: data, timeout_s=30) as engine:
        app = create_app(Settings(), engine)
        server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="alatau-kg")
        print(f"http://127.0.0.1:{server.effective_port}", flush=True)  # type: ignore[union-attr]
        server.run()


@contextlib.contextmanager
def oxigraph_server(nquads: Path) -> Iterator[Target]:
    port = _free_port()
    process = subprocess.Popen(
        [find_oxigraph(), "serve", "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _request("127.0.0.1", port, "POST", "/store", nquads.read_bytes(), "application/n-quads")
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        # our endpoint's default graph is the union of all graphs: ask Oxigraph for the same
        yield Target("oxigraph serve", f"http://127.0.0.1:{port}/query", [("union-default-graph", "")])
    finally:
        process.terminate()
        process.wait(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(host: str, port: int, method: str, path: str, body: bytes, content_type: str) -> bytes:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return data
    finally:
        conn.close()


# --- the load ----------------------------------------------------------------------------------------


class Client:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port, parts.path
        self.conn: http.client.HTTPConnection | None = None

    def query(self, target: Target, query: str) -> int:
        """Run ``query``; the number of solutions."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(
                    "POST",
                    self.path,
                    body=target.body(query),
                    headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": ACCEPT},
                )
                response = self.conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.status != 200:
                raise RuntimeError(f"{target.name}: {response.status} {data[:300]!r}")
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return len(json.loads(data)["results"]["bindings"])
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run_round(target: Target, seconds: float, concurrency: int) -> list[tuple[str, float]]:
    """``concurrency`` threads cycling through the mix for ``seconds``: (query name, latency) each."""
    names = list(MIX)
    results: list[tuple[str, float]] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        client = Client(target.url)
        mine = []
        i = offset
        while time.perf_counter() < stop:
            name = names[i % len(names)]
            started = time.perf_counter()
            client.query(target, MIX[name])
            mine.append((name, time.perf_counter() - started))
            i += 1
        client.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker, args=(k * 3,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1, help="the city graph N times (default 1)")
    parser.add_argument("--rounds", type=int, default=8, help="timed rounds, half per server (default 8)")
    parser.add_argument("--round-s", type=float, default=5.0, help="seconds per round (default 5)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--threads", type=int, default=8, help="our server's waitress threads (default 8)")
    parser.add_argument("--child-serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_serve:
        _child_serve(args.child_serve, args.threads)
        return 0

    def progress(message: str) -> None:
        print(f"· {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        nquads = Path(tmp) / "data.nq"
        nquads.write_bytes(city_nquads(args.copies, progress))
        quads = sum(1 for _ in ox.parse(path=str(nquads), format=ox.RdfFormat.N_QUADS))
        progress(f"{quads} quads ({args.copies} cop{'y' if args.copies == 1 else 'ies'} of the city graph)")
        with alatau_server(nquads, args.threads) as a, oxigraph_server(nquads) as b:
            targets = (a, b)
            progress("checking that both give the same number of results for every query …")
            counts = {}
            for name, query in MIX.items():
                seen = [Client(t.url).query(t, query) for t in targets]
                if seen[0] != seen[1]:
                    print(f"result counts differ for {name!r}: {seen}", file=sys.stderr)
                    return 1
                counts[name] = seen[0]
            progress("results equal: " + ", ".join(f"{n} {c}" for n, c in counts.items()))
            progress("warming up (1 s each) …")
            for t in targets:
                run_round(t, 1.0, args.concurrency)
            latencies: dict[str, list[float]] = {t.name: [] for t in targets}
            elapsed: dict[str, float] = {t.name: 0.0 for t in targets}
            for r in range(args.rounds):
                # ABBA ordering: each server goes first as often as second
                t = targets[(r + r // 2) % 2]
                started = time.perf_counter()
                results = run_round(t, args.round_s, args.concurrency)
                took = time.perf_counter() - started
                elapsed[t.name] += took
                latencies[t.name] += [s for _, s in results]
                p50 = percentile([s for _, s in results], 50) * 1000
                progress(
                    f"round {r + 1}/{args.rounds} {t.name:>15}: {len(results)} queries, "
                    f"{len(results) / took:.1f} QPS, p50 {p50:.1f} ms"
                )

    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; data: {quads} quads; concurrency {args.concurrency}; "
        f"{args.rounds} rounds of {args.round_s:g} s"
    )
    qps = {}
    for name, values in latencies.items():
        qps[name] = len(values) / elapsed[name]
        print(
            f"{name:>15}: {qps[name]:7.1f} QPS  p50 {percentile(values, 50) * 1000:6.1f} ms  "
            f"p99 {percentile(values, 99) * 1000:6.1f} ms  ({len(values)} queries)"
        )
    ours, theirs = (qps[t.name] for t in targets)
    print(f"ratio (ours / oxigraph): {ours / theirs:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
