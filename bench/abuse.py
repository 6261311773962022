"""Benchmark: can one client, or eight, take the endpoint down for everyone else?

    .venv/bin/python -m bench.abuse --scales 100k,1M [--scenarios one,eight] [--duration 60]
        [--workdir DIR] [--serve-args "--workers 2"]

Per scale (the seeded synthetic city of ``bench/synthetic.py``, stored as ``bench/endpoint.py``
prepares it) and per scenario, a fresh ``alatau-kg serve`` (read-only, 10 s query timeout) gets, for
``--duration`` seconds:

- a steady stream of cheap queries: ``ASK { ?s ?p ?o }`` every 50 ms from 127.0.0.2 (four client
  threads with kept-alive connections, each sending every 200 ms, staggered; a slow answer delays
  only its own thread), each with a result-neutral ``VALUES`` of its own so that no result cache
  answers it;
- heavy queries, ``SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }`` (a cross product
  Oxigraph cannot cancel at 1M): scenario ``one``, one client (127.0.0.10) sends one every 5 s; scenario
  ``eight``, eight clients, each from its own loopback address (127.0.0.11–18), each send one every
  5 s, staggered. Each heavy query is sent on its own connection without waiting for the previous.

It reports the share of cheap queries answered ``200`` within 1 s, the longest gap without such an
answer, how the heavy queries were answered (status and error code), the engine's restarts (from
``/-/health``) and the server's log lines about engines exiting or being killed, and the memory of the
server and all its processes (RSS and PSS, at rest before the run and the peak during it). The
targets (issue 11) are printed beside the figures. Figures go in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.endpoint import _free_port, prepare
from bench.memory import family, pss_mb, rss_mb

CHEAP = "ASK { ?s ?p ?o }"
# each cheap query a text of its own (a result-neutral VALUES), so that the front's result cache
# cannot answer it: every one reaches an engine
CHEAP_UNIQUE = "ASK {{ ?s ?p ?o VALUES ?unused {{ {n} }} }}"
HEAVY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CHEAP_EVERY_S = 0.05
CHEAP_THREADS = 4
HEAVY_EVERY_S = 5.0
ANSWERED_WITHIN_S = 1.0
SCENARIOS = {"one": ["127.0.0.10"], "eight": [f"127.0.0.{i}" for i in range(11, 19)]}
# Log lines of `alatau-kg serve` that tell an engine went down: "… was killed (…)", "… crashed (exit
# code …)" (kg.engine.process), or, before them, "the query engine exited (code N)" (-9: our kill).
ENGINE_DOWN = re.compile(r"engine (exited|was killed|crashed)", re.I)
KILLED = re.compile(r"was killed|exited \(code -9\)")

TARGETS = {"answered": 99.9, "gap_s": 1.0, "crashes": 0}


@dataclass
class Outcome:
    sent: float
    seconds: float
    status: int  # 0: no answer (connection failed, client timeout)
    code: str = ""  # the JSON error code, if any


@dataclass
class Run:
    scale: str
    scenario: str
    duration: float
    cheap: list[Outcome] = field(default_factory=list)
    heavy: list[Outcome] = field(default_factory=list)
    restarts: int = 0
    engine_down_lines: list[str] = field(default_factory=list)
    rest_rss: float = 0.0
    rest_pss: float = 0.0
    peak_rss: float = 0.0
    peak_pss: float = 0.0
    load: float = 0.0


def ask(
    host: str, port: int, query: str, *, source: str, timeout: float, conn=None
) -> tuple[Outcome, http.client.HTTPConnection | None]:
    sent = time.monotonic()
    if conn is None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request(
            "POST",
            "/sparql",
            body=urlencode({"query": query}),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/sparql-results+json",
            },
        )
        response = conn.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        return Outcome(sent, time.monotonic() - sent, 0, "no answer"), None
    code = ""
    if response.status != 200:
        with contextlib.suppress(ValueError, AttributeError):
            code = json.loads(body).get("error", "")
    if response.will_close:
        conn.close()
        conn = None
    return Outcome(sent, time.monotonic() - sent, response.status, code), conn


def health(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/-/health")
        return json.loads(conn.getresponse().read())
    except (OSError, ValueError, http.client.HTTPException):
        return {}
    finally:
        conn.close()


@contextlib.contextmanager
def serving(store: Path, serve_args: list[str], log: Path):
    port = _free_port()
    env = {**os.environ, "ALATAU_KG_TOKENS": "", "ALATAU_KG_TOKENS_FILE": str(log.parent / "no-tokens.json")}
    command = [sys.executable, "-m", "server.cli", "serve", "--store", str(store), "--port", str(port)]
    command += ["--query-timeout-s", "10", *serve_args]
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 600
            while health(port).get("status") != "ok":
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start (see {log})")
                time.sleep(0.2)
            yield process, port
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_scenario(scale: str, scenario: str, store: Path, args: argparse.Namespace, progress) -> Run:
    log = Path(tempfile.mkdtemp(prefix="bench-abuse-")) / "serve.log"
    run = Run(scale, scenario, args.duration)
    with serving(store, shlex.split(args.serve_args), log) as (process, port):
        # at rest: after start-up and a few cheap queries
        for _ in range(5):
            ask("127.0.0.1", port, CHEAP, source="127.0.0.1", timeout=30)
        time.sleep(2)
        pids = family(process.pid)
        run.rest_rss = sum(rss_mb(p) for p in pids)
        run.rest_pss = sum(pss_mb(p) for p in pids)
        restarts_before = int(health(port).get("engine", {}).get("restarts", 0))
        progress(
            f"{scale} {scenario}: at rest {run.rest_rss:.0f} MB RSS, {run.rest_pss:.0f} MB PSS; running …"
        )
        started = time.monotonic()
        stop = started + args.duration
        lock = threading.Lock()
        heavy_threads: list[threading.Thread] = []

        def cheap(offset: int) -> None:
            conn = None
            n = 0
            while True:
                at = started + offset * CHEAP_EVERY_S + n * CHEAP_EVERY_S * CHEAP_THREADS
                if at >= stop:
                    return
                time.sleep(max(0.0, at - time.monotonic()))
                text = CHEAP_UNIQUE.format(n=offset * 1_000_000 + n)
                outcome, conn = ask("127.0.0.1", port, text, source="127.0.0.2", timeout=30, conn=conn)
                with lock:
                    run.cheap.append(outcome)
                n += 1

        def heavy_one(source: str) -> None:
            outcome, _ = ask("127.0.0.1", port, HEAVY, source=source, timeout=120)
            with lock:
                run.heavy.append(outcome)

        def heavy(source: str, offset: float) -> None:
            n = 0
            while True:
                at = started + offset + n * HEAVY_EVERY_S
                if at >= stop:
                    return
                time.sleep(max(0.0, at - time.monotonic()))
                thread = threading.Thread(target=heavy_one, args=(source,), daemon=True)
                thread.start()
                with lock:
                    heavy_threads.append(thread)
                n += 1

        sources = SCENARIOS[scenario]
        threads = [threading.Thread(target=cheap, args=(k,)) for k in range(CHEAP_THREADS)]
        threads += [
            threading.Thread(target=heavy, args=(source, 1.0 + i * HEAVY_EVERY_S / len(sources)))
            for i, source in enumerate(sources)
        ]
        for thread in threads:
            thread.start()
        while time.monotonic() < stop:
            time.sleep(1.0)
            current = family(process.pid)
            run.peak_rss = max(run.peak_rss, sum(rss_mb(p) for p in current))
            run.peak_pss = max(run.peak_pss, sum(pss_mb(p) for p in current))
        for thread in threads:
            thread.join()
        run.load = os.getloadavg()[0]
        for thread in list(heavy_threads):
            thread.join(timeout=150)
        run.restarts = int(health(port).get("engine", {}).get("restarts", 0)) - restarts_before
    run.engine_down_lines = [
        line.strip() for line in log.read_text().splitlines() if ENGINE_DOWN.search(line)
    ]
    return run


def longest_gap(run: Run, started: float) -> float:
    """The longest time without a cheap query answered 200 within 1 s, from the first sent to the last."""
    end = max(o.sent for o in run.cheap)
    answered = [o.sent + o.seconds for o in run.cheap if o.status == 200 and o.seconds <= ANSWERED_WITHIN_S]
    points = sorted([started, end, *(t for t in answered if t < end)])
    return max(b - a for a, b in itertools.pairwise(points))


def report(run: Run) -> list[str]:
    cheap = run.cheap
    ok = [o for o in cheap if o.status == 200 and o.seconds <= ANSWERED_WITHIN_S]
    share = 100.0 * len(ok) / len(cheap) if cheap else 0.0
    started = min(o.sent for o in cheap) if cheap else 0.0
    gap = longest_gap(run, started)
    slow = sorted(o.seconds for o in cheap)
    p99 = slow[min(len(slow) - 1, int(0.99 * len(slow)))] * 1000 if slow else 0.0
    failed = Counter(f"{o.status} {o.code}".strip() for o in cheap if o.status != 200)
    heavy = Counter(f"{o.status} {o.code}".strip() for o in run.heavy)
    kills = sum(bool(KILLED.search(line)) for line in run.engine_down_lines)
    crashes = len(run.engine_down_lines) - kills
    verdict = (
        "met"
        if share >= TARGETS["answered"] and gap <= TARGETS["gap_s"] and crashes == TARGETS["crashes"]
        else "NOT met"
    )
    lines = [
        f"{run.scale} {run.scenario} ({len(SCENARIOS[run.scenario])} heavy client(s), {run.duration:g} s, "
        f"load average {run.load:.1f}):",
        f"  cheap: {len(ok)}/{len(cheap)} answered 200 within 1 s = {share:.2f} % (target ≥ "
        f"{TARGETS['answered']} %), longest gap {gap:.2f} s (target ≤ {TARGETS['gap_s']:g} s), "
        f"p99 {p99:.0f} ms; not 200: {dict(failed) or 'none'}",
        f"  heavy: {len(run.heavy)} sent: {dict(heavy)}",
        f"  engines: {run.restarts} restart(s) of the primary; {crashes} crash(es) (target "
        f"{TARGETS['crashes']}), {kills} kill(s) to stop a query",
        f"  memory: at rest {run.rest_rss:.0f} MB RSS / {run.rest_pss:.0f} MB PSS; "
        f"peak {run.peak_rss:.0f} MB RSS / {run.peak_pss:.0f} MB PSS",
        f"  targets: {verdict}",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="100k,1M", help="comma-separated (default 100k,1M)")
    parser.add_argument("--scenarios", default="one,eight", help="one, eight or both (default)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per scenario (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="the synthetic city (default 1)")
    parser.add_argument("--serve-args", default="", help="more `alatau-kg serve` flags")
    parser.add_argument("--workdir", type=Path, help="keep the data and stores here and reuse them")
    args = parser.parse_args(argv)

    def progress(message: str) -> None:
        print(f"· {message}", file=sys.stderr, flush=True)

    runs = []
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-abuse-"))
        )
        for scale in args.scales.split(","):
            out, _quads = prepare(scale.strip(), args.seed, workdir, progress)
            for scenario in args.scenarios.split(","):
                runs.append(run_scenario(scale.strip(), scenario.strip(), out / "store", args, progress))
                print("\n".join(report(runs[-1])), flush=True)
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
        f"alatau-kg serve {args.serve_args}".rstrip()
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
