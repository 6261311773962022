"""bench/floor.py, the forwarding-only front ``bench/endpoint.py --floor`` measures beside ours: it must
answer as the engine does (else its figures mean nothing), stop its engine with itself, and its
figures must be reported beside ours."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pyoxigraph as ox
import pytest

from bench.endpoint import FLOOR, _free_port, _wait_http, process_tree, report

ROOT = Path(__file__).resolve().parents[1]
QUADS = """\
<http://example.org/a> <http://example.org/p> "one" <http://example.org/g1> .
<http://example.org/b> <http://example.org/p> "two" <http://example.org/g2> .
<http://example.org/c> <http://example.org/p> "three" .
"""


def _ask(port: int, method: str, query: str, accept: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if method == "GET":
            conn.request("GET", "/sparql?query=" + quote(query), headers={"Accept": accept})
        else:
            body = urlencode({"query": query})
            headers = {"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"}
            conn.request("POST", "/sparql", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


@pytest.fixture
def floor(tmp_path: Path):
    data = tmp_path / "data.nq"
    data.write_text(QUADS)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.floor", "--port", str(port), "--data", str(data), "--timeout-s", "5"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_http(process, "127.0.0.1", port, "/sparql?query=ASK%7B%7D", 60)
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_floor_answers_as_the_engine_does_over_the_union_of_graphs(floor) -> None:
    _, port = floor
    store = ox.Store()
    store.load(QUADS.encode(), format=ox.RdfFormat.N_QUADS)
    query = "SELECT ?s ?o WHERE { ?s <http://example.org/p> ?o } ORDER BY ?o"
    expected = [
        (str(row["s"].value), str(row["o"].value))
        for row in store.query(query, use_default_graph_as_union=True)
    ]
    for method in ("GET", "POST"):
        status, content_type, body = _ask(port, method, query, "application/sparql-results+json")
        assert status == 200 and content_type.startswith("application/sparql-results+json")
        rows = json.loads(body)["results"]["bindings"]
        assert [(r["s"]["value"], r["o"]["value"]) for r in rows] == expected
    status, content_type, body = _ask(
        port, "POST", "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "application/n-triples"
    )
    assert status == 200 and content_type.startswith("application/n-triples")
    assert len(list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))) == 3


def test_the_floor_stops_its_engine_with_itself(floor) -> None:
    process, _ = floor
    tree = process_tree(process.pid)
    assert len(tree) >= 3  # itself, its engine and a worker
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in tree[1:]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in tree[1:] if Path(f"/proc/{pid}/stat").exists() and _alive(pid)]


def _alive(pid: int) -> bool:
    """Not ended (a zombie not yet reaped by its parent has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_report_sets_our_front_against_the_floor() -> None:
    def figures(qps: float, front: float, engine: float) -> dict[str, float]:
        return {
            "qps": qps,
            "p50": 1.0,
            "p99": 2.0,
            "n": 100,
            "quads": 10_000,
            "front_cpu_ms": front,
            "engine_cpu_ms": engine,
        }

    lines = report(
        "10k",
        "uncached",
        {
            "alatau": figures(1400.0, 0.51, 0.44),
            "oxigraph rocksdb": figures(1500.0, 0.9, 0.0),
            "oxigraph memory": figures(2800.0, 0.4, 0.0),
            FLOOR: figures(2000.0, 0.26, 0.42),
        },
    )
    text = "\n".join(lines)
    assert f"{FLOOR} / oxigraph memory: 0.71×" in text
    assert "alatau's front above the floor's: +0.250 ms" in text
    assert "alatau / oxigraph memory: 0.50×  (target ≥ 0.60×: NOT met)" in text


def test_the_floor_is_set_against_uncached_queries_only() -> None:
    """Repeated, our result cache answers where the floor forwards every query: no bound there."""
    figures = {
        name: {
            "qps": 1000.0,
            "p50": 1.0,
            "p99": 2.0,
            "n": 10,
            "quads": 10_000,
            "front_cpu_ms": 0.2,
            "engine_cpu_ms": 0.1,
        }
        for name in ("alatau", "oxigraph rocksdb", "oxigraph memory", FLOOR)
    }
    text = "\n".join(report("10k", "repeated", figures))
    assert f"  {FLOOR}:" in text  # its figures are shown
    assert "the most a front" not in text and "above the floor" not in text
