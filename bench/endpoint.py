"""Benchmark our SPARQL endpoint against ``oxigraph serve`` (on RocksDB and in memory), same data.

    .venv/bin/python -m bench.endpoint --scales 10k,100k,1M [--rounds R] [--round-s S]
        [--concurrency C] [--modes uncached,repeated] [--serve-args "--workers 2"] [--workdir DIR]
        [--writable] [--also "--workers 1"] [--floor]

Per scale, the data is the seeded synthetic city of ``bench/synthetic.py`` (``--seed``, default 1) with
the real ``data/*.trig`` beside it, as one N-Quads file loaded, unchanged, into three servers:

- A, ``alatau-kg serve --store DIR/store`` (the production command, read-only, its access log on;
  with ``--writable``, a write token is configured: the store is then served on disk by a third
  oxigraph process the workers' guarded writers commit to, and queries still go to the in-memory
  engine those writers keep in step — the configuration with durable writes),
  over a store bulk-loaded with ``oxigraph load`` (not built by ``alatau-kg build``: no ontology, no
  inferred graph, no validation; what matters here is that A and B hold the same quads);
- B1, ``oxigraph serve --location DIR/oxrocks`` (RocksDB, the same bulk load);
- B2, ``oxigraph serve`` in memory, loaded through its Graph Store endpoint;
- with ``--also ARGS``, A2: a second ``alatau-kg serve`` with ``ARGS`` added to A's, over the same
  store, in the same rotation (to choose between two configurations side by side, on the same
  machine drift, rather than from two runs);
- with ``--floor``, F: :mod:`bench.floor`, a front that only forwards (granian as ``serve`` runs it,
  a WSGI app that sends the query to its own in-memory ``oxigraph serve`` and returns the answer, and
  nothing else), in the same rotation: the least any front of ours, run apart from its engine, costs
  on this machine, and so the most the ratios of A could reach.

All three run with a 10 s query timeout, and B1, B2 are asked for the union default graph that A gives
by default. The mix (:data:`KINDS`) is the issue's ten kinds of query: point lookup, label search,
star join, OPTIONAL, aggregation, transitive containment path, ORDER BY LIMIT, CONSTRUCT, DESCRIBE,
ASK, each with ``--variants`` parameterisations drawn from the data with a fixed seed (facilities,
microdistricts, districts, types, statuses, label words). Before timing, every variant runs on every
server and the result counts (solutions, triples, the boolean) must be equal, and at least one.

Two modes (``--modes``), each run against all three servers:

- **uncached**: no two requests share a text: each query gets a unique, result-neutral ending,
  ``VALUES ?unused { n }`` (a join with one solution binding a variable the query does not use: the
  engine's plan and the results are unchanged; checked before timing). A's result cache never hits.
- **repeated**: the mix as it is (16 variants of each kind, over and over): A answers from its cache
  after the first time; Oxigraph evaluates every query.

The load: ``C`` client threads, each with a keep-alive connection (reopened when a server closes it),
cycle through the kinds (SELECT and ASK as SPARQL JSON, graphs as N-Triples) for ``S`` seconds per
round; the rounds go A B1 B2 B2 B1 A … in each mode, the modes alternating round by round, so that
drift of the machine hits all alike. The client, the servers and their engines share the machine.
Besides QPS and latency, the CPU time each server's processes used per query is read from
``/proc/PID/stat`` around each round (for A: its front — the granian master and workers — and its
engine apart). A runs with the per-client budgets raised out of reach (one client sending four queries
at a time for minutes is what they exist to stop) but on: their cost is in the figures.
Progress goes to stderr; per scale and mode the QPS, p50, p99 and CPU per query of each server and the
ratios against the issue's targets go to stdout. Figures belong in ``bench/RESULTS.md``, never in unit
tests.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import platform
import random
import secrets
import shlex
import shutil
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

from bench.synthetic import generate, parse_count
from kg.changes.tokens import digest
from kg.engine.process import find_oxigraph

TIMEOUT_S = 10
FLOOR = "floor (forwards)"  # bench.floor's name in the figures
ACCEPT_RESULTS = "application/sparql-results+json"
ACCEPT_GRAPH = "application/n-triples"

PREFIXES = """PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
"""

# The targets (issue 12): (mode, the B server, scale) -> the least ratio A / B.
TARGETS: dict[tuple[str, str, str], float] = {
    ("uncached", "memory", "10k"): 0.6,
    ("uncached", "memory", "100k"): 0.85,
    ("uncached", "memory", "1M"): 0.9,
    ("uncached", "rocksdb", "10k"): 1.0,
    ("uncached", "rocksdb", "100k"): 1.0,
    ("uncached", "rocksdb", "1M"): 1.0,
    ("repeated", "memory", "10k"): 1.5,
    ("repeated", "memory", "100k"): 2.0,
    ("repeated", "memory", "1M"): 2.0,
}
MODES = ("uncached", "repeated")
BUDGETS_OUT_OF_REACH = {
    "ALATAU_KG_QUERY_SECONDS_PER_MINUTE": "1000000000",
    "ALATAU_KG_QUERY_SECONDS_BURST": "1000000000",
}
_unique = itertools.count(1)


def unique(query: str) -> str:
    """``query`` with a result-neutral ending no other request has: ``VALUES ?unused { n }``."""
    return f"{query}\nVALUES ?unused {{ {next(_unique)} }}"


# --- the mix -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the queries are parameterised with, read from the data."""

    facilities: list[tuple[str, str, str, str, str]]  # (facility, type, microdistrict, district, status)
    words: list[str]  # lower-case words of English labels of microdistricts


def _kinds(f: Facts, rng: random.Random) -> dict[str, str]:
    """One variant of each kind."""
    facility, ftype, md, district, status = rng.choice(f.facilities)
    word = rng.choice(f.words)
    return {
        "point lookup": f"SELECT ?p ?o WHERE {{ <{facility}> ?p ?o }}",
        "label search": PREFIXES + "SELECT ?s ?label WHERE { ?s rdfs:label ?label "
        f'FILTER(CONTAINS(LCASE(STR(?label)), "{word}")) }} LIMIT 20',
        "star join": PREFIXES + "SELECT ?f ?label ?status ?since WHERE { "
        f"?f a <{ftype}> ; ak:locatedIn <{md}> ; rdfs:label ?label ; ak:currentStatus ?status ; "
        '  ak:hasStatusRecord ?r . ?r ak:status ?status ; ak:statusDate ?since FILTER(LANG(?label) = "en") }',
        "OPTIONAL": PREFIXES + "SELECT ?f ?status ?seats WHERE { "
        f"?f ak:locatedIn <{md}> ; ak:currentStatus ?status "
        "OPTIONAL { ?f ak:capacity ?q . ?q qudt:numericValue ?seats } }",
        "aggregation": PREFIXES + "SELECT ?type (COUNT(DISTINCT ?f) AS ?n) WHERE { "
        f"?f ak:locatedIn/ak:locatedIn <{district}> ; a ?type }} GROUP BY ?type ORDER BY DESC(?n)",
        "transitive path": PREFIXES + f"SELECT ?place WHERE {{ ?place ak:locatedIn+ <{district}> }}",
        "ORDER BY LIMIT": PREFIXES + "SELECT ?f ?date WHERE { "
        f"?r ak:statusOf ?f ; ak:status <{status}> ; ak:statusDate ?date }} "
        "ORDER BY DESC(?date) ?f LIMIT 10",
        "CONSTRUCT": PREFIXES + "CONSTRUCT { ?f ?p ?o } WHERE { "
        f"?f ak:locatedIn <{md}> ; a <{ftype}> ; ?p ?o }}",
        "DESCRIBE": f"DESCRIBE <{facility}>",
        "ASK": PREFIXES + f"ASK {{ <{facility}> ak:currentStatus <{status}> ; ak:locatedIn <{md}> }}",
    }


def make_mix(facts: Facts, variants: int, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    mix: dict[str, list[str]] = {}
    for _ in range(variants):
        for kind, query in _kinds(facts, rng).items():
            mix.setdefault(kind, []).append(query)
    return mix


def read_facts(target: Target) -> Facts:
    client = Client(target.url)
    try:
        rows = client.select(
            target,
            PREFIXES + "SELECT ?f ?t ?md ?d ?s WHERE { ?f ak:currentStatus ?s ; a ?t ; ak:locatedIn ?md . "
            "?md a ak:Microdistrict ; ak:locatedIn ?d } ORDER BY ?f ?t",
        )
        labels = client.select(
            target,
            PREFIXES + "SELECT ?label WHERE { ?md a ak:Microdistrict ; rdfs:label ?label "
            'FILTER(LANG(?label) = "en") } ORDER BY ?label',
        )
    finally:
        client.close()
    facilities = [
        (r["f"]["value"], r["t"]["value"], r["md"]["value"], r["d"]["value"], r["s"]["value"]) for r in rows
    ]
    words = sorted(
        {w for r in labels for w in r["label"]["value"].lower().split() if len(w) > 3 and w.isalpha()}
    )
    if not facilities or not words:
        raise RuntimeError("the data has no facilities in microdistricts, or no labels to search for")
    return Facts(facilities, words)


# --- the servers ---------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str  # the query URL
    extra: list[tuple[str, str]] = field(default_factory=list)  # parameters added to every query
    pid: int = 0  # the server's process: its CPU (and its children's) is read around each round

    def body(self, query: str) -> bytes:
        return urlencode([("query", query), *self.extra]).encode("utf-8")


def prepare(scale: str, seed: int, workdir: Path, progress) -> tuple[Path, int]:
    """The scale's data as N-Quads and two RocksDB stores of it (reused when already there)."""
    out = workdir / scale
    nquads, done = out / "data.nq", out / "ready"
    if done.exists():
        return out, int(done.read_text())
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    progress(f"{scale}: generating the synthetic city (seed {seed}) …")
    generate(out, parse_count(scale), seed=seed)
    quads = 0
    with nquads.open("wb") as sink:
        for path in sorted((out / "data").glob("*.trig")):
            batch = list(ox.parse(path=str(path), format=ox.RdfFormat.TRIG))
            ox.serialize(batch, sink, ox.RdfFormat.N_QUADS)
            quads += len(batch)
    for store in ("store", "oxrocks"):
        progress(f"{scale}: loading {quads} quads into {out / store} …")
        subprocess.run(
            [find_oxigraph(), "load", "--location", str(out / store), "--file", str(nquads)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    done.write_text(str(quads))
    return out, quads


def _wait_http(process: subprocess.Popen, host: str, port: int, path: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} at start")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=30)
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer GET {path} within {timeout_s:g} s")
        time.sleep(0.1)


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen]:
    """``command`` started in a session of its own; its stderr to ``log`` (for a server that fails)."""
    sink = log.open("wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=sink, env=env, start_new_session=True
    )
    try:
        yield process
    finally:
        if log is not None:
            sink.close()  # type: ignore[union-attr]
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def servers(
    out: Path,
    serve_args: list[str],
    writable: bool = False,
    also: list[str] | None = None,
    floor: bool = False,
) -> Iterator[list[Target]]:
    """A, B1 (RocksDB) and B2 (in memory), each started and ready; with ``also``, A2 after A; with
    ``floor``, F (:mod:`bench.floor`) after them."""
    ports = [_free_port() for _ in range(5)]
    oxigraph = find_oxigraph()
    tokens = f"bench:writer:{digest(secrets.token_hex(16))}" if writable else ""
    env = {
        **os.environ,
        "ALATAU_KG_TOKENS": tokens,
        "ALATAU_KG_TOKENS_FILE": str(out / "no-tokens.json"),
        **BUDGETS_OUT_OF_REACH,
    }
    ours = [
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--store",
        str(out / "store"),
        "--port",
        str(ports[0]),
    ]
    ours += ["--query-timeout-s", str(TIMEOUT_S), *serve_args]
    rocks = [oxigraph, "serve", "--location", str(out / "oxrocks"), "--bind", f"127.0.0.1:{ports[1]}"]
    memory = [oxigraph, "serve", "--bind", f"127.0.0.1:{ports[2]}"]
    timeout = ["--timeout-s", str(TIMEOUT_S)]
    union = [("union-default-graph", "")]
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(running(ours, env, out / "alatau.log"))
        a2 = None
        if also is not None:
            ours2 = [*ours, *also]
            ours2[ours2.index("--port") + 1] = str(ports[3])
            a2 = stack.enter_context(running(ours2, env, out / "alatau-also.log"))
        f = None
        if floor:
            command = [sys.executable, "-m", "bench.floor", "--port", str(ports[4])]
            command += ["--data", str(out / "data.nq"), "--timeout-s", str(TIMEOUT_S)]
            f = stack.enter_context(running(command, env, out / "floor.log"))
        b1 = stack.enter_context(running([*rocks, *timeout]))
        b2 = stack.enter_context(running([*memory, *timeout]))
        _wait_http(b1, "127.0.0.1", ports[1], "/", 120)
        _wait_http(b2, "127.0.0.1", ports[2], "/", 30)
        _request(
            "127.0.0.1", ports[2], "POST", "/store", (out / "data.nq").read_bytes(), "application/n-quads"
        )
        _wait_http(a, "127.0.0.1", ports[0], "/-/health", 600)
        targets = [Target("alatau", f"http://127.0.0.1:{ports[0]}/sparql", pid=a.pid)]
        if a2 is not None:
            _wait_http(a2, "127.0.0.1", ports[3], "/-/health", 600)
            name = "alatau " + shlex.join(also or [])
            targets.append(Target(name, f"http://127.0.0.1:{ports[3]}/sparql", pid=a2.pid))
        if f is not None:
            _wait_http(f, "127.0.0.1", ports[4], "/sparql?query=ASK%7B%7D", 600)
            targets.append(Target(FLOOR, f"http://127.0.0.1:{ports[4]}/sparql", pid=f.pid))
        yield [
            *targets,
            Target("oxigraph rocksdb", f"http://127.0.0.1:{ports[1]}/query", union, pid=b1.pid),
            Target("oxigraph memory", f"http://127.0.0.1:{ports[2]}/query", union, pid=b2.pid),
        ]


# --- CPU of a server's processes -------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of the processes under ``pid``: (oxigraph engines, the rest)."""
    engine = front = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in process_tree(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
            command = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if command.endswith(b"oxigraph"):
            engine += used
        else:
            front += used
    return engine, front


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(host: str, port: int, method: str, path: str, body: bytes, content_type: str) -> bytes:
    conn = http.client.HTTPConnection(host, port, timeout=600)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return data
    finally:
        conn.close()


# --- the load --------------------------------------------------------------------------------------


def accept_for(query: str) -> str:
    head = query.split("WHERE")[0].split("{")[0]
    return ACCEPT_GRAPH if ("CONSTRUCT" in head or "DESCRIBE" in head) else ACCEPT_RESULTS


def count(query: str, data: bytes) -> int:
    """Solutions of a SELECT, 1/0 for an ASK, triples of a graph."""
    if accept_for(query) == ACCEPT_GRAPH:
        return sum(1 for line in data.splitlines() if line.strip())
    document = json.loads(data)
    if "boolean" in document:
        return int(bool(document["boolean"]))
    return len(document["results"]["bindings"])


class Client:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port, parts.path
        self.conn: http.client.HTTPConnection | None = None

    def query(self, target: Target, query: str) -> bytes:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.conn.request(
                    "POST",
                    self.path,
                    body=target.body(query),
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Accept": accept_for(query),
                    },
                )
                response = self.conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.close()
            if response.status != 200:
                raise RuntimeError(f"{target.name}: {response.status} {data[:300]!r}\n{query}")
            return data
        raise AssertionError("unreachable")

    def select(self, target: Target, query: str) -> list[dict]:
        return json.loads(self.query(target, query))["results"]["bindings"]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run_round(
    target: Target, mix: dict[str, list[str]], seconds: float, concurrency: int, mode: str = "repeated"
) -> list[float]:
    """``concurrency`` threads cycling through the kinds (and their variants) for ``seconds``;
    uncached: each query with an ending of its own (:func:`unique`)."""
    kinds = list(mix)
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        client = Client(target.url)
        mine = []
        i = offset
        while time.perf_counter() < stop:
            variants = mix[kinds[i % len(kinds)]]
            query = variants[(i // len(kinds)) % len(variants)]
            if mode == "uncached":
                query = unique(query)
            started = time.perf_counter()
            client.query(target, query)
            mine.append(time.perf_counter() - started)
            i += 1
        client.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(k * 7,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def check_counts(targets: list[Target], mix: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    """Every variant on every server: equal counts, at least one result. (min, max) count per kind."""
    clients = [Client(t.url) for t in targets]
    summary: dict[str, tuple[int, int]] = {}
    for kind, variants in mix.items():
        seen_counts = []
        for query in [*variants, unique(variants[0])]:  # the unique ending leaves results as they are
            counts = [count(query, c.query(t, query)) for c, t in zip(clients, targets, strict=True)]
            if len(set(counts)) != 1:
                raise RuntimeError(f"result counts differ for {kind}: {counts}\n{query}")
            if counts[0] < 1:
                raise RuntimeError(f"no result for {kind}:\n{query}")
            seen_counts.append(counts[0])
        summary[kind] = (min(seen_counts), max(seen_counts))
    for c in clients:
        c.close()
    return summary


def bench_scale(
    scale: str, args: argparse.Namespace, workdir: Path, progress
) -> dict[str, dict[str, dict[str, float]]]:
    out, quads = prepare(scale, args.seed, workdir, progress)
    progress(f"{scale}: {quads} quads; starting the servers …")
    also = shlex.split(args.also) if args.also is not None else None
    with servers(out, shlex.split(args.serve_args), args.writable, also, args.floor) as targets:
        mix = make_mix(read_facts(targets[-1]), args.variants, args.seed)
        progress(f"{scale}: checking result counts of {args.variants} variants × {len(mix)} kinds …")
        summary = check_counts(targets, mix)
        progress(f"{scale}: counts equal: " + ", ".join(f"{k} {lo}–{hi}" for k, (lo, hi) in summary.items()))
        for t in targets:
            run_round(t, mix, args.warmup_s, args.concurrency)
        modes = args.modes.split(",")
        runs = [(m, t.name) for m in modes for t in targets]
        latencies: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
        elapsed = dict.fromkeys(runs, 0.0)
        cpu = {run: [0.0, 0.0] for run in runs}  # engine, front
        order = [*targets, *reversed(targets)]  # A B1 B2 B2 B1 A: each server as often early as late
        for r in range(args.rounds):
            for mode in modes:
                t = order[r % len(order)]
                engine0, front0 = cpu_seconds(t.pid)
                started = time.perf_counter()
                values = run_round(t, mix, args.round_s, args.concurrency, mode)
                took = time.perf_counter() - started
                engine1, front1 = cpu_seconds(t.pid)
                run = (mode, t.name)
                elapsed[run] += took
                latencies[run] += values
                cpu[run][0] += engine1 - engine0
                cpu[run][1] += front1 - front0
                progress(
                    f"{scale} round {r + 1}/{args.rounds} {mode:>8} {t.name:>16}: "
                    f"{len(values) / took:7.1f} QPS, p50 {percentile(values, 50) * 1000:.1f} ms "
                    f"(load {os.getloadavg()[0]:.2f})"
                )
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for (mode, name), values in latencies.items():
        n = len(values)
        figures.setdefault(mode, {})[name] = {
            "qps": n / elapsed[(mode, name)] if elapsed[(mode, name)] else 0.0,
            "p50": percentile(values, 50) * 1000 if values else 0.0,
            "p99": percentile(values, 99) * 1000 if values else 0.0,
            "n": n,
            "quads": quads,
            "engine_cpu_ms": cpu[(mode, name)][0] / n * 1000 if n else 0.0,
            "front_cpu_ms": cpu[(mode, name)][1] / n * 1000 if n else 0.0,
        }
    return figures


def report(scale: str, mode: str, figures: dict[str, dict[str, float]]) -> list[str]:
    lines = [f"{scale} ({int(next(iter(figures.values()))['quads'])} quads), {mode}:"]
    for name, f in figures.items():
        cpu = f"CPU/query {f['front_cpu_ms'] + f['engine_cpu_ms']:6.3f} ms"
        if name.startswith("alatau") or name == FLOOR:
            cpu += f" (front {f['front_cpu_ms']:.3f} + engine {f['engine_cpu_ms']:.3f})"
        lines.append(
            f"  {name:>16}: {f['qps']:8.1f} QPS  p50 {f['p50']:7.1f} ms  p99 {f['p99']:7.1f} ms  "
            f"{cpu}  ({int(f['n'])} queries)"
        )
    for name in [n for n in figures if n.startswith("alatau")]:
        ours = figures[name]["qps"]
        for kind in ("rocksdb", "memory"):
            theirs = figures[f"oxigraph {kind}"]["qps"]
            ratio = ours / theirs if theirs else 0.0
            target = TARGETS.get((mode, kind, scale))
            verdict = (
                "no target"
                if target is None
                else f"target ≥ {target:.2f}×: {'met' if ratio >= target else 'NOT met'}"
            )
            lines.append(f"  {name} / oxigraph {kind}: {ratio:.2f}×  ({verdict})")
    floor = figures.get(FLOOR)
    if floor is not None and mode == "uncached":  # repeated: our cache answers, the floor forwards
        for kind in ("rocksdb", "memory"):
            theirs = figures[f"oxigraph {kind}"]["qps"]
            lines.append(
                f"  {FLOOR} / oxigraph {kind}: {floor['qps'] / theirs if theirs else 0.0:.2f}×  "
                "(the most a front run apart could reach here)"
            )
        for name in [n for n in figures if n.startswith("alatau")]:
            above = figures[name]["front_cpu_ms"] - floor["front_cpu_ms"]
            lines.append(
                f"  {name}'s front above the floor's: {above:+.3f} ms CPU a query (the endpoint's work)"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales", default="10k,100k", help="comma-separated, e.g. 10k,100k,1M (default 10k,100k)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="the synthetic city and the query parameters (default 1)"
    )
    parser.add_argument(
        "--variants", type=int, default=16, help="parameterisations of each kind (default 16)"
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="timed rounds, as many per server (default: two per server)"
    )
    parser.add_argument("--round-s", type=float, default=5.0, help="seconds per round (default 5)")
    parser.add_argument(
        "--warmup-s", type=float, default=2.0, help="untimed seconds per server first (default 2)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (default 4)")
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help="uncached (a unique text per request), repeated (the mix as it is); default both",
    )
    parser.add_argument(
        "--writable",
        action="store_true",
        help="A with a write token: durable store process + in-memory engine kept in step",
    )
    parser.add_argument(
        "--serve-args", default="", help="more `alatau-kg serve` flags for A, e.g. '--workers 2'"
    )
    parser.add_argument(
        "--also",
        help="a second `alatau-kg serve` (A2) with these flags added to A's, in the same rotation, "
        "e.g. '--workers 1'",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="add bench.floor, a front that only forwards to its own engine, to the rotation",
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep the data and stores here and reuse them (default: temp)"
    )
    args = parser.parse_args(argv)
    servers_n = 3 + (args.also is not None) + args.floor
    if args.rounds is None:
        args.rounds = 2 * servers_n
    if args.rounds % servers_n:
        parser.error(f"--rounds must be a multiple of {servers_n} (each server as many rounds)")

    def progress(message: str) -> None:
        print(f"· {message}", file=sys.stderr, flush=True)

    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-endpoint-"))
        )
        results = {}
        for scale in args.scales.split(","):
            results[scale] = bench_scale(scale.strip(), args, workdir, progress)

    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"load average at the end {os.getloadavg()[0]:.2f}; concurrency {args.concurrency}; "
        f"{args.rounds} rounds of {args.round_s:g} s; A: alatau-kg serve {args.serve_args}".rstrip()
        + (" with a write token (durable store process)" if args.writable else "")
        + (f"; A2: A with {args.also}" if args.also is not None else "")
        + ("; F: bench.floor" if args.floor else "")
    )
    for scale, by_mode in results.items():
        for mode, figures in by_mode.items():
            print("\n".join(report(scale, mode, figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
