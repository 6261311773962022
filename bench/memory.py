"""Benchmark the server at rest: memory of all its processes and how soon it answers, against an
in-memory ``oxigraph serve`` holding the same data.

    .venv/bin/python -m bench.memory STORE [STORE ...]

Per store, in one interleaved run:

- the anchor: ``oxigraph serve`` in memory, loaded with the store's quads through its Graph Store
  endpoint (the N-Quads file ``data.nq`` beside the store when ``bench/endpoint.py`` made it, else an
  ``oxigraph dump`` of the store); the seconds from its start to its first answer, its RSS and PSS;
- ``alatau-kg serve`` (read-only, default workers) in a subprocess: the seconds from its start to the
  first ``200`` to ``ASK { ?s ?p ?o }`` on ``/sparql`` (polled every 50 ms) and to the in-memory engine
  answering (``/-/health`` says which engine serves); then the memory of every one of its processes,
  by role (the front: the serve process and its workers; the engines), at rest (after a query and
  the health check, once the standby engine has stopped: a minute after it was last needed) and
  after the home page (whose statistics the workers compute and keep).

Two measures of memory, both from /proc: **RSS** (resident pages, a page shared by several processes
counted in each: forked workers share most of the master's pages, so summed RSS overstates the
front) and **PSS** (each shared page divided among the processes sharing it: sums to what the
processes really cost together). The target of issue 12 (≤ 1.3× the anchor, at rest, read-only, at
1M) is checked on PSS and shown for RSS too. Figures go in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from kg.engine.process import find_oxigraph

SERVING = re.compile(r"serving (http://\S+?)/? ")
TARGET_RATIO = 1.3
ASK = "ASK { ?s ?p ?o }"


def _status_kb(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0.0


def rss_mb(pid: int) -> float:
    return _status_kb(pid, "VmRSS") / 1024


def pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().split(") ", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def family(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children(current)
    return found


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(
    port: int, method: str, path: str, body: bytes = b"", content_type: str = ""
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        conn.close()


def _answers(port: int) -> bool:
    status, _ = _request(port, "GET", "/sparql?" + urlencode({"query": ASK}))
    return status == 200


def anchor(store: Path) -> tuple[float, float, float]:
    """Seconds to load and first answer, RSS and PSS of an in-memory ``oxigraph serve``."""
    nquads = store.parent / "data.nq"
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [find_oxigraph(), "serve", "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while _request(port, "GET", "/")[0] == 0:
            time.sleep(0.01)
        if nquads.exists():
            data = nquads.read_bytes()
        else:
            data = subprocess.run(
                [find_oxigraph(), "dump", "--location", str(store), "--format", "nq"],
                check=True,
                capture_output=True,
            ).stdout
        status, body = _request(port, "POST", "/store", data, "application/n-quads")
        if status >= 300:
            raise RuntimeError(f"loading the anchor failed: {status} {body[:200]!r}")
        del data
        while _request(port, "GET", "/query?" + urlencode({"query": ASK}))[0] != 200:
            time.sleep(0.01)
        seconds = time.monotonic() - started
        time.sleep(1)
        return seconds, rss_mb(process.pid), pss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _roles(pid: int) -> dict[str, float]:
    """RSS and PSS of the front (the serve process, its workers) and of the engines, summed."""
    figures = dict.fromkeys(("front_rss", "front_pss", "engine_rss", "engine_pss"), 0.0)
    for member in family(pid):
        role = "engine" if "oxigraph" in command_of(member).split(" ")[0] else "front"
        figures[role + "_rss"] += rss_mb(member)
        figures[role + "_pss"] += pss_mb(member)
    return figures


def _engine_state(port: int) -> dict:
    status, body = _request(port, "GET", "/-/health")
    return json.loads(body).get("engine", {}) if status in (200, 503) and body else {}


def measure(store: Path) -> dict:
    """Seconds to the first answer and to the primary answering; memory at rest (after a query
    and the health check, once the standby has stopped) and after the home page."""
    port = free_port()
    env = {**os.environ, "ALATAU_KG_STORE_PATH": str(store), "ALATAU_KG_PORT": str(port)}
    env.pop("ALATAU_KG_TOKENS", None)
    env["ALATAU_KG_TOKENS_FILE"] = str(store.parent / "no-tokens.json")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"], env=env, stderr=subprocess.DEVNULL
    )
    try:
        first = ready = None
        deadline = started + 600
        while ready is None and time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the server exited before serving")
            if first is None and _answers(port):
                first = time.monotonic() - started
            if first is not None and _engine_state(port).get("serving", "primary") == "primary":
                ready = time.monotonic() - started
            time.sleep(0.05)
        if first is None or ready is None:
            raise RuntimeError("the server did not answer within 600 s")
        health = json.loads(_request(port, "GET", "/-/health")[1])
        _request(port, "GET", "/sparql?" + urlencode({"query": "SELECT * { ?s ?p ?o } LIMIT 10"}))
        deadline = time.monotonic() + 150  # the standby stops a minute after it was last needed
        while _engine_state(port).get("standby", {}).get("running") and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(2)
        figures = {
            "triples": int(health["triples"]),
            "first_s": first,
            "ready_s": ready,
            **_roles(process.pid),
        }
        _request(port, "GET", "/home")
        time.sleep(2)
        figures["home"] = _roles(process.pid)
        return figures
    finally:
        process.terminate()
        process.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stores", nargs="+", type=Path)
    args = parser.parse_args(argv)
    print(
        f"{'triples':>9} | {'first s':>7} {'ready s':>7} {'anchor s':>8} | {'front':>11} {'engines':>11} "
        f"{'total':>11} {'anchor':>11} | {'ratio RSS':>9} {'ratio PSS':>9} | after /home: front, ratio PSS"
    )
    print(f"{'':>9} | {'':>7} {'':>7} {'':>8} | " + " ".join(f"{'RSS/PSS MB':>11}" for _ in range(4)) + " |")
    for store in args.stores:
        print(f"serving {store} …", file=sys.stderr, flush=True)
        load_s, anchor_rss, anchor_pss = anchor(store)
        f = measure(store)
        total_rss, total_pss = f["front_rss"] + f["engine_rss"], f["front_pss"] + f["engine_pss"]
        home = f["home"]
        home_pss = home["front_pss"] + home["engine_pss"]
        verdict = "met" if total_pss / anchor_pss <= TARGET_RATIO else "NOT met"
        print(
            f"{f['triples']:>9} | {f['first_s']:>7.1f} {f['ready_s']:>7.1f} {load_s:>8.1f} | "
            f"{f['front_rss']:>5.0f}/{f['front_pss']:<5.0f} {f['engine_rss']:>5.0f}/{f['engine_pss']:<5.0f} "
            f"{total_rss:>5.0f}/{total_pss:<5.0f} {anchor_rss:>5.0f}/{anchor_pss:<5.0f} | "
            f"{total_rss / anchor_rss:>8.2f}× {total_pss / anchor_pss:>8.2f}× | "
            f"{home['front_rss']:.0f}/{home['front_pss']:.0f} MB, {home_pss / anchor_pss:.2f}×  "
            f"{store} (target ≤ {TARGET_RATIO}× PSS at rest: {verdict})",
            flush=True,
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
