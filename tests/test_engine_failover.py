"""No outage from a killed or crashed engine (issue 11): the primary in memory, the standby on disk
(kg.engine.failover), heavy queries kept apart, and the engine loaded from the store's snapshot
(kg.engine.loading). Real ``oxigraph`` processes over the mini store; real servers on loopback.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from kg.config import Settings
from kg.engine import failover
from kg.engine.failover import Failover
from kg.engine.loading import from_store, snapshot_path, store_stamp
from kg.engine.process import OxigraphProcess, find_oxigraph
from kg.errors import EngineUnavailable, QueryQuarantined, QueryTimeout
from server.app import create_app
from server.deploy import read_only_engine
from tests.server_support import (
    STUCK,
    TIMEOUT_S,
    assert_error,
    is_running,
    serving,
    serving_standalone,
    wait_until,
    writer_settings,
)

pytest_plugins = ["tests.server_support"]

SIMPLE = "ASK { ?s ?p ?o }"
COUNT = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
CSV = "text/csv"


@pytest.fixture
def store(server_settings: Settings, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(server_settings.store_path, copy)
    return copy


@pytest.fixture
def engine(server_settings: Settings, store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Failover]:
    monkeypatch.setattr(failover, "STANDBY_IDLE_S", 2.0)
    started = read_only_engine(server_settings.with_(store_path=store)).start(wait=True)
    try:
        yield started
    finally:
        started.stop()


def _count(engine: Failover) -> bytes:
    return engine.query(COUNT, accept=CSV, union_default_graph=True).body


def test_the_standby_answers_at_once_and_the_primary_takes_over(
    server_settings: Settings, store: Path
) -> None:
    engine = read_only_engine(server_settings.with_(store_path=store)).start()
    try:
        assert engine.standby.ready  # start() waits for the standby only (milliseconds)
        assert _count(engine) == b"n\r\n77\r\n"
        assert wait_until(lambda: engine.primary.ready)
        assert engine.serving == "primary" and _count(engine) == b"n\r\n77\r\n"
    finally:
        engine.stop()


def test_a_killed_primary_is_no_outage(engine: Failover) -> None:
    """While the primary reloads, the standby answers: every query of a steady stream is answered
    within a second, but the one in flight when the primary died (a death we did not cause is a
    crash, and a query running during a crash is never sent again: it may be the cause)."""
    answers: list[bool] = []
    crashed: list[EngineUnavailable] = []
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                body = _count(engine)
            except EngineUnavailable as exc:
                crashed.append(exc)
                continue
            answers.append(body == b"n\r\n77\r\n" and time.monotonic() - started < 1.0)
            time.sleep(0.01)

    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(stream)
        time.sleep(0.3)
        pid = engine.primary.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: engine.primary.pid not in (None, pid) and engine.primary.ready)
        time.sleep(0.3)
        stop.set()
        running.result()
    assert len(answers) > 20 and all(answers), answers.count(False)
    assert len(crashed) <= 1 and all(exc.cause == "crashed" for exc in crashed), crashed
    assert (engine.primary.restarts, engine.primary.crashes) == (1, 1)


def test_the_standby_stops_when_no_longer_needed(engine: Failover) -> None:
    assert engine.standby.ready
    standby = engine.standby.pid
    assert standby is not None
    assert wait_until(lambda: not engine.standby.ready, timeout_s=10)  # 2 s idle here (60 s served)
    assert wait_until(lambda: not is_running(standby))
    assert engine.standby.crashes == 0 and engine.standby.kills == 0
    assert _count(engine) == b"n\r\n77\r\n"  # the primary answers


def test_a_stuck_query_gets_the_primary_killed_once_then_runs_apart(engine: Failover) -> None:
    """The query Oxigraph cannot cancel: the first time it gets the primary killed (and reloaded);
    sent again, it runs on the standby (killed instead, in milliseconds) or is refused; the primary
    is never killed for it again, and cheap queries are answered all along."""
    cheap: list[float] = []
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            started = time.monotonic()
            assert engine.query(SIMPLE, accept=CSV, union_default_graph=True).body == b"true"
            cheap.append(time.monotonic() - started)
            time.sleep(0.02)

    def stuck() -> str:
        try:
            engine.query(STUCK, accept=CSV, union_default_graph=True)
        except QueryQuarantined:
            return "refused"
        except QueryTimeout as exc:
            return "stuck" if exc.stuck else "timeout"
        return "answered"

    with ThreadPoolExecutor(max_workers=6) as pool:
        streaming = pool.submit(stream)
        assert pool.submit(stuck).result() == "stuck"
        assert engine.primary.kills == 1
        repeats = [pool.submit(stuck) for _ in range(4)]
        outcomes = sorted(f.result() for f in repeats)
        stop.set()
        streaming.result()
    assert outcomes.count("refused") >= 4 - engine.heavy.slots, outcomes  # four asked, fewer slots
    assert engine.primary.kills == 1, "the primary was killed again for the same query"
    assert engine.standby.kills >= 1
    assert engine.primary.crashes == 0 and engine.standby.crashes == 0
    assert max(cheap) < 1.0, max(cheap)


def test_a_refused_heavy_query_is_a_503_with_retry_after(server_settings: Settings, store: Path) -> None:
    with serving_standalone(server_settings.with_(store_path=store)) as live:
        engine: Failover = live.engine  # type: ignore[assignment]
        # the endpoint sends the query with its base IRI declared (server/sparql/protocol.py)
        engine.heavy.flag(failover.fingerprint(f"BASE <{live.sparql}>\n{STUCK}"))
        for slot in range(engine.heavy.slots):  # every slot taken
            engine.heavy.take_slot(slot + 1)
        response = requests.get(live.sparql, params={"query": STUCK}, timeout=30)
        body = assert_error(response, 503, "query_quarantined")
        assert int(response.headers["Retry-After"]) == body["retry_after_s"] > 0
        assert requests.get(live.sparql, params={"query": SIMPLE}, timeout=30).json()["boolean"]


def test_a_write_refreshes_a_running_standby(server_settings: Settings, store: Path) -> None:
    """Writable, one process: the standby serves a backup of the store; a write committed while it
    runs starts it again on a new backup, so it is never more than a moment behind."""
    token = "failover-writer"
    settings = writer_settings(server_settings, store, token, "w")
    with serving_standalone(settings) as live:
        engine: Failover = live.engine  # type: ignore[assignment]
        assert engine.standby.ready
        graph = "https://w3id.org/alatau-kg/graph/source/x"
        update = f"INSERT DATA {{ GRAPH <{graph}> {{ <http://e/s> <http://e/p> 1 }} }}"
        response = requests.post(
            live.url + "/update",
            data=update.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sparql-update"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        ask = "ASK { <http://e/s> <http://e/p> 1 }"
        assert wait_until(lambda: engine.standby.restarts == 1 and engine.standby.ready)
        on_standby = engine.standby.query(ask, accept=CSV, union_default_graph=True).body
        assert on_standby == b"true"
        assert engine.standby.kills == 0 and engine.standby.crashes == 0


# --- loading from the store's snapshot ---------------------------------------------------------------


def test_the_snapshot_is_made_once_and_only_for_the_store_as_it_is(store: Path) -> None:
    binary = find_oxigraph()
    kept = snapshot_path(store)
    assert not kept.exists()
    dumped = b"".join(from_store(store, binary))
    assert kept.exists() and kept.read_bytes() == dumped
    assert dumped.startswith(b"# alatau-kg engine snapshot of " + store_stamp(store).encode())
    assert len(list(ox.parse(dumped, format=ox.RdfFormat.N_QUADS))) == 77
    before = kept.stat().st_mtime_ns
    assert b"".join(from_store(store, binary)) == dumped  # read back, not dumped again
    assert kept.stat().st_mtime_ns == before
    changed = ox.Store(str(store))  # a write changes the store's files: the snapshot is stale
    changed.add(ox.Quad(ox.NamedNode("http://e/s"), ox.NamedNode("http://e/p"), ox.Literal("1")))
    changed.flush()
    del changed
    again = b"".join(from_store(store, binary))
    assert len(list(ox.parse(again, format=ox.RdfFormat.N_QUADS))) == 78
    assert kept.read_bytes() == again


def test_the_health_check_says_which_engine_serves(server_settings: Settings, store: Path) -> None:
    engine = read_only_engine(server_settings.with_(store_path=store)).start(wait=True)
    try:
        with serving(create_app(server_settings, engine), engine) as live:
            health = requests.get(live.url + "/-/health", timeout=30).json()
            assert health["status"] == "ok" and health["engine"]["serving"] == "primary", health
            assert health["engine"]["standby"]["killable"] is True
    finally:
        engine.stop()


def test_the_engines_run_with_a_deep_stack(engine: Failover) -> None:
    """A query nested far past the limits (they stop it at the endpoint) does not crash the engine
    itself: its threads have a 256 MiB stack, not Rust's 2 MiB (which overflows at ~536 groups)."""
    deep = "SELECT * WHERE " + "{ " * 5000 + "?s ?p ?o" + " }" * 5000
    engine.query(deep, accept=CSV)
    assert engine.primary.crashes == 0 and engine.primary.restarts == 0
    assert TIMEOUT_S > 0


def test_a_query_cancelled_before_its_answer_began_is_a_timeout() -> None:
    """Oxigraph answers 500 "The SPARQL operation has been cancelled" when its timer fires before
    the first result (here: a chain of BINDs, whose optimization takes seconds, past the 1 s timeout):
    a 503 query_timeout, not a 502, and the engine is not killed (it did stop the query)."""
    quads = [ox.Quad(ox.NamedNode("http://e/s"), ox.NamedNode("http://e/p"), ox.Literal("o"))]
    query = "SELECT * { ?s ?p ?o " + "".join(f"BIND(1 AS ?b{i}) " for i in range(4000)) + "}"
    with OxigraphProcess.from_quads(quads, timeout_s=1) as engine:
        with pytest.raises(QueryTimeout) as caught:
            engine.query(query, accept=CSV)
        assert not caught.value.stuck
        assert engine.kills == 0


def test_the_engine_is_reachable_while_the_primary_is_down(engine: Failover) -> None:
    """Killed, the primary is unreachable at once (before its supervisor sees it die): the status
    then reports the standby, which answers, so the health check stays 200 and says so."""
    engine.standby.want(30.0)  # running (as it is while the primary reloads), so that it can answer now
    assert wait_until(lambda: engine.standby.ready)
    pid = engine.primary.pid
    assert pid is not None and engine.status()["serving"] == "primary"
    os.kill(pid, signal.SIGKILL)
    status = engine.status()
    assert status["reachable"] is True and status["serving"] == "standby", status
    assert wait_until(lambda: engine.status()["serving"] == "primary")
    assert engine.status()["reachable"] is True
