"""Benchmark the server's memory at rest: resident memory of the front processes (gunicorn, Flask) and
of its Oxigraph engine, after start-up and a few warm-up requests, for each given store.

    .venv/bin/python -m bench.memory STORE [STORE ...]

Each store is served by ``alatau-kg serve`` in a subprocess on a free port (read-only); the figures
are VmRSS from /proc, read after the server has answered a query, a page and the health check.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

SERVING = re.compile(r"serving (http://\S+?)/? ")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(store: Path) -> tuple[int, float, float]:
    env = {**os.environ, "ALATAU_KG_STORE_PATH": str(store), "ALATAU_KG_PORT": str(free_port())}
    env.pop("ALATAU_KG_TOKENS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        url = None
        deadline = time.monotonic() + 600
        assert process.stderr is not None
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                raise RuntimeError("the server exited before serving")
            if m := SERVING.search(line):
                url = m.group(1)
        assert url is not None
        health = requests.get(url + "/-/health", timeout=60).json()
        requests.get(url + "/sparql", params={"query": "SELECT * { ?s ?p ?o } LIMIT 10"}, timeout=60)
        requests.get(url + "/home", timeout=120)
        time.sleep(1)
        kids = children(process.pid)
        engine = [pid for pid in kids if "oxigraph" in Path(f"/proc/{pid}/cmdline").read_text()]
        # the front is the serve process and its worker processes (their RSS counts pages they
        # share copy-on-write with it once per process: an upper bound)
        front = rss_mb(process.pid) + sum(rss_mb(pid) for pid in kids if pid not in engine)
        return int(health["triples"]), front, sum(rss_mb(pid) for pid in engine)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stores", nargs="+", type=Path)
    args = parser.parse_args(argv)
    print(f"{'triples':>9}  {'front MB':>9}  {'engine MB':>9}  {'total MB':>9}  store")
    for store in args.stores:
        print(f"serving {store} …", file=sys.stderr, flush=True)
        triples, front, engine = measure(store)
        print(f"{triples:>9}  {front:>9.0f}  {engine:>9.0f}  {front + engine:>9.0f}  {store}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
