"""The engine's lifecycle and the query timeout, with real Oxigraph processes and real servers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pyoxigraph as ox
import pytest
import requests

from kg.config import Settings
from kg.engine import process
from kg.engine.client import COMPLETE_ENDINGS, SparqlClient
from kg.engine.process import OxigraphProcess
from kg.errors import EngineUnavailable, QueryTimeout
from server.app import create_app
from tests.server_support import (
    PATHOLOGICAL,
    STREAMING_CONSTRUCT,
    STREAMING_SELECT,
    STUCK,
    TIMEOUT_S,
    Live,
    assert_error,
    is_running,
    serve_process,
    serving,
    wait_until,
)

pytest_plugins = ["tests.server_support"]

SIMPLE = "ASK { ?s ?p ?o }"


def test_timeout_is_a_503_json_error_not_a_truncated_200(live: Live) -> None:
    started = time.monotonic()
    response = requests.get(live.sparql, params={"query": PATHOLOGICAL}, timeout=30)
    elapsed = time.monotonic() - started
    body = assert_error(response, 503, "query_timeout")
    assert body["timeout_s"] == TIMEOUT_S
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + 2.5


CUT_RESULTS = [
    (STREAMING_SELECT, "application/sparql-results+json"),
    (STREAMING_SELECT, "application/sparql-results+xml"),
    (STREAMING_SELECT, "text/csv"),
    (STREAMING_SELECT, "text/tab-separated-values"),
    (STREAMING_CONSTRUCT, "text/turtle"),
    (STREAMING_CONSTRUCT, "application/n-triples"),
    (STREAMING_CONSTRUCT, "application/ld+json"),
    (STREAMING_CONSTRUCT, "application/rdf+xml"),
]


@pytest.mark.parametrize("batch", [CUT_RESULTS[:4], CUT_RESULTS[4:]], ids=["results", "graphs"])
def test_a_result_cut_by_the_timeout_is_a_503_in_every_format(live: Live, batch: list) -> None:
    """The engine had started a 200 and streamed rows when its timeout fired (four formats at once,
    to keep the test short, and not so many that the engine must be killed to stop them)."""
    restarts = live.engine.restarts  # type: ignore[attr-defined]

    def run(case: tuple[str, str]) -> requests.Response:
        query, accept = case
        return requests.get(live.sparql, params={"query": query}, headers={"Accept": accept}, timeout=30)

    with ThreadPoolExecutor(max_workers=len(batch)) as pool:
        responses = list(pool.map(run, batch))
    for (_, accept), response in zip(batch, responses, strict=True):
        assert response.status_code == 503, (accept, response.content[-200:])
        assert_error(response, 503, "query_timeout")
    assert live.engine.restarts == restarts  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("media_type", "complete"),
    [
        ("application/sparql-results+json", b'{"head":{"vars":["n"]},"results":{"bindings":[]}}'),
        ("application/sparql-results+xml", b'<sparql xmlns="x"><head/><results></results></sparql>'),
        ("text/csv", b"n\r\n1\r\n"),
        ("text/tab-separated-values", b"?n\n1\n"),
        ("text/turtle", b"<a:s> <a:p> <a:o> .\n"),
        ("application/n-triples", b"<a:s> <a:p> <a:o> .\n"),
        ("application/ld+json", b'[{"@id":"a:s"}]'),
        ("application/rdf+xml", b"<rdf:RDF>\n</rdf:RDF>"),
    ],
)
def test_a_truncated_body_is_told_from_a_complete_one(media_type: str, complete: bytes) -> None:
    looks_complete = COMPLETE_ENDINGS[media_type]
    assert looks_complete(complete)
    cut = complete[: len(complete) // 2] + b"The SPARQL operation has been cancelled"
    assert not looks_complete(cut)


def test_a_simple_query_answers_while_four_pathological_ones_run(live: Live) -> None:
    def pathological() -> requests.Response:
        return requests.get(live.sparql, params={"query": PATHOLOGICAL}, timeout=30)

    with ThreadPoolExecutor(max_workers=4) as pool:
        running = [pool.submit(pathological) for _ in range(4)]
        time.sleep(0.4)  # let them start
        assert not any(f.done() for f in running)
        started = time.monotonic()
        simple = requests.get(live.sparql, params={"query": SIMPLE}, timeout=30)
        elapsed = time.monotonic() - started
        results = [f.result() for f in running]
    assert simple.status_code == 200 and simple.json()["boolean"] is True
    assert elapsed < 1.0, f"a simple query took {elapsed:.2f} s"
    for response in results:
        assert_error(response, 503, "query_timeout")


def test_a_query_the_engine_cannot_cancel_is_stopped_by_a_restart(own_engine: OxigraphProcess) -> None:
    before = own_engine.pid
    assert before is not None
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as caught:
        own_engine.query(STUCK, accept="application/sparql-results+json", union_default_graph=True)
    assert caught.value.stuck
    assert time.monotonic() - started < TIMEOUT_S + 4.5
    assert wait_until(lambda: not is_running(before)), "the stuck engine still runs"
    assert wait_until(lambda: own_engine.pid not in (None, before))
    assert own_engine.query(SIMPLE, accept="text/csv", union_default_graph=True).body == b"true"
    assert own_engine.restarts == 1


def test_the_engine_is_restarted_and_reloaded_after_it_is_killed(
    server_settings: Settings, own_engine: OxigraphProcess
) -> None:
    with serving(create_app(server_settings, own_engine), own_engine) as server:
        pid = own_engine.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: own_engine.pid != pid)  # its supervisor saw it die (at once)
        # A query sent now waits for the restart instead of failing. (One sent in the very
        # milliseconds of the death could not be told from one that was running: it gets a 503.)
        response = requests.get(
            server.sparql, params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"}, timeout=30
        )
        assert response.status_code == 200, response.text
        assert response.json()["results"]["bindings"][0]["n"]["value"] == "77"
        assert own_engine.pid not in (None, pid)
        assert own_engine.restarts == 1 and own_engine.crashes == 1 and own_engine.kills == 0
        health = requests.get(server.url + "/-/health", timeout=30).json()
        assert health["status"] == "ok" and health["engine"]["restarts"] == 1, health


@pytest.mark.parametrize("pidfd", [True, False])
def test_the_supervisor_sees_its_engine_end_at_once(pidfd: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the supervisor waits with: it returns as the process ends (reaped), not before; without
    a pidfd (an older kernel, another system) through Popen.wait, the same."""
    if not pidfd:
        monkeypatch.delattr(os, "pidfd_open", raising=False)
    child = subprocess.Popen(["sleep", "30"])
    watch = process._ExitWatch(child)
    try:
        assert (watch._poll is not None) == (pidfd and hasattr(os, "pidfd_open"))
        assert not watch.wait(0.05) and child.returncode is None
        started = time.monotonic()
        threading.Timer(0.2, child.kill).start()
        assert watch.wait(10.0)
        assert time.monotonic() - started < 5.0 and child.returncode == -signal.SIGKILL
    finally:
        watch.close()
        child.kill()
        child.wait()


def test_a_query_running_when_the_engine_crashes_is_not_sent_again(own_engine: OxigraphProcess) -> None:
    """Issue 11: a query that crashed the engine, sent again to the restarted one, crashed it again
    (two restarts per query). A crash's cause is unknown, so no query then in flight is sent again."""
    pid = own_engine.pid
    assert pid is not None
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(
            own_engine.query, STUCK, accept="application/sparql-results+json", union_default_graph=True
        )
        time.sleep(0.5)  # it is running
        os.kill(pid, signal.SIGKILL)  # a crash, as far as the supervisor can tell
        with pytest.raises(EngineUnavailable) as caught:
            running.result(timeout=30)
    assert caught.value.cause == "crashed" and "not sent again" in str(caught.value)
    assert wait_until(lambda: own_engine.pid not in (None, pid))
    time.sleep(TIMEOUT_S * 2 + 2)  # a STUCK query sent again would have had the new engine killed by now
    assert (own_engine.restarts, own_engine.crashes, own_engine.kills) == (1, 1, 0)


def test_stop_leaves_no_process(server_settings: Settings) -> None:
    engine = OxigraphProcess.from_settings(server_settings).start()
    pid = engine.pid
    assert pid is not None and is_running(pid)
    engine.stop()
    engine.stop()  # twice is fine
    assert not is_running(pid)


def test_health_is_503_when_the_engine_is_down(server_settings: Settings) -> None:
    engine = OxigraphProcess.from_settings(server_settings).start()
    app = create_app(server_settings, engine)
    engine.stop()
    response = app.test_client().get("/-/health")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_an_engine_over_arbitrary_quads() -> None:
    """A scratch dataset (what a test-suite harness needs), with standard dataset semantics."""
    g = ox.NamedNode("http://example.org/g")
    quads = [
        ox.Quad(
            ox.NamedNode("http://example.org/s"), ox.NamedNode("http://example.org/p"), ox.Literal("o"), g
        ),
        ox.Quad(ox.NamedNode("http://example.org/s"), ox.NamedNode("http://example.org/p"), ox.Literal("d")),
    ]
    with OxigraphProcess.from_quads(quads, timeout_s=5) as engine:
        plain = engine.query("SELECT ?o { ?s ?p ?o }", accept="text/tab-separated-values")
        union = engine.query("SELECT ?o { ?s ?p ?o }", accept="text/csv", union_default_graph=True)
    assert plain.body.splitlines()[1:] == [b'"d"']
    assert sorted(union.body.split(b"\r\n")[1:-1]) == [b"d", b"o"]


def test_client_reports_an_unreachable_engine() -> None:
    from kg.errors import EngineUnavailable

    client = SparqlClient("http://127.0.0.1:9/query", timeout_s=1)
    with pytest.raises(EngineUnavailable):
        client.query(SIMPLE, accept="text/csv")
    assert client.status()["reachable"] is False


# --- `alatau-kg serve` as a process -----------------------------------------------------------------


def test_serve_answers_and_stops_its_engines_on_sigterm(server_settings: Settings) -> None:
    with serve_process(server_settings) as served:
        engines = served.wait_for_engines(2)  # the primary, and the standby it started with
        response = requests.get(served.url + "/sparql", params={"query": SIMPLE}, timeout=30)
        assert response.json()["boolean"] is True
        served.process.send_signal(signal.SIGTERM)
        assert served.stops_within(15)
        for pid in engines:
            assert wait_until(lambda pid=pid: not is_running(pid)), "an engine outlived the server"


def test_no_orphan_engine_when_the_server_is_killed(server_settings: Settings) -> None:
    with serve_process(server_settings) as served:
        engines = served.wait_for_engines(2)
        served.process.kill()  # SIGKILL: no handler, no atexit
        served.process.wait(timeout=15)
        for pid in engines:
            assert wait_until(lambda pid=pid: not is_running(pid)), "an engine outlived the server"


def test_serve_logs_one_line_per_request(server_settings: Settings) -> None:
    with serve_process(server_settings) as served:
        requests.get(served.url + "/sparql", params={"query": SIMPLE}, timeout=30)
        line = served.wait_for_line("GET /sparql 200")
        assert re.search(r"alatau_kg\.access: 127\.0\.0\.1 GET /sparql 200 \d+\.\dms$", line.rstrip()), line


def test_engine_threads_do_not_leak(server_settings: Settings) -> None:
    before = {t.name for t in threading.enumerate()}
    with OxigraphProcess.from_settings(server_settings):
        pass
    time.sleep(0.2)
    after = {t.name for t in threading.enumerate()}
    assert "oxigraph-supervisor" not in after - before
