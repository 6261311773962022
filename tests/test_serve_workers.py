"""``alatau-kg serve --workers N`` (granian) and the kept-alive connections to the engine.

Real processes on loopback: the serve process, its workers and its engine; nothing is mocked.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from kg.changes.tokens import digest
from kg.config import Settings
from kg.engine.client import SparqlClient
from kg.engine.local import OxigraphStore
from kg.engine.process import OxigraphProcess
from kg.errors import QueryTimeout, ResultTooLarge
from kg.rdf.names import Names
from tests.server_support import (
    PATHOLOGICAL,
    STREAMING_SELECT,
    TIMEOUT_S,
    assert_error,
    children,
    is_running,
    serve_process,
    wait_until,
)

pytest_plugins = ["tests.server_support"]

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
CSV = "text/csv"


@pytest.fixture
def two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALATAU_KG_WORKERS", "2")
    monkeypatch.setenv("ALATAU_KG_TOKENS", "")
    monkeypatch.setenv("ALATAU_KG_TOKENS_FILE", "/nonexistent/tokens.json")


def _health(url: str, *, ok: bool = True) -> dict:
    """``/-/health``'s body; with ``ok``, it must be a 200 (without: a 503 is read as well)."""
    # a new connection each time (no session), so that the kernel may hand it to either worker
    response = requests.get(url + "/-/health", timeout=30, headers={"Connection": "close"})
    if ok:
        assert response.status_code == 200, response.text
    return response.json()


def test_two_workers_answer_and_each_request_is_logged_once(
    server_settings: Settings, two_workers: None
) -> None:
    with serve_process(server_settings) as served:
        workers = _workers(served.process.pid)
        seen: set[int] = set()
        requests_sent = 0
        deadline = time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < deadline:
            with ThreadPoolExecutor(max_workers=4) as pool:
                bodies = list(pool.map(lambda _: _health(served.url), range(4)))
            requests_sent += 4
            seen |= {b["worker_pid"] for b in bodies}
            assert all(b["status"] == "ok" for b in bodies)
        assert seen == set(workers), (seen, workers)
        assert served.process.pid not in seen  # the master only supervises
        # one access log line per request, whichever worker served it
        lines = [served.wait_for_line("GET /-/health 200") for _ in range(requests_sent)]
        assert len(lines) == requests_sent
        with pytest.raises(Exception):  # noqa: B017 (queue.Empty: no line more)
            served.wait_for_line("GET /-/health 200", timeout_s=1.0)


@pytest.mark.parametrize(("cores", "workers"), [(None, 1), (1, 1), (2, 1), (3, 2), (8, 7)])
def test_the_default_is_a_worker_per_core_but_one(
    monkeypatch: pytest.MonkeyPatch, cores: int | None, workers: int
) -> None:
    from server.deploy import default_workers

    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert default_workers() == workers


def test_serve_forks_the_default_number_of_workers(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.deploy import default_workers

    monkeypatch.delenv("ALATAU_KG_WORKERS", raising=False)
    monkeypatch.setenv("ALATAU_KG_TOKENS", "")
    monkeypatch.setenv("ALATAU_KG_TOKENS_FILE", "/nonexistent/tokens.json")
    expected = default_workers()  # the rule itself is the test above's
    with serve_process(server_settings) as served:
        workers = _workers(served.process.pid, expected)
        time.sleep(1)  # none more comes
        assert len(_workers(served.process.pid, expected)) == expected
        assert _health(served.url)["worker_pid"] in workers


def test_sigterm_stops_the_workers_and_the_engine(server_settings: Settings, two_workers: None) -> None:
    with serve_process(server_settings) as served:
        workers = _workers(served.process.pid)
        engines = served.wait_for_engines(2)  # the primary, and the standby it started with
        answer = requests.get(served.url + "/sparql", params={"query": "ASK {}"}, timeout=30)
        assert answer.json()["boolean"] is True
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=30) == 0
        for pid in [*engines, *workers]:
            assert wait_until(lambda pid=pid: not is_running(pid)), f"{pid} outlived the server"


def _starting_worker() -> None:
    from server.deploy.granian import _stop_while_starting  # in the forked child, as granian's load

    _stop_while_starting()
    time.sleep(30)  # building its app


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_worker_asked_to_stop_while_it_starts_stops_at_once(signum: int) -> None:
    """A worker is forked with the master's handlers, which would swallow the stop: the master then
    waited for it until the end of the graceful period."""
    worker = multiprocessing.get_context("fork").Process(target=_starting_worker)
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    os.kill(worker.pid or 0, signum)
    worker.join(timeout=10)
    assert worker.exitcode == 128 + signum and time.monotonic() - started < 5


FORKED_EARLY = """
import multiprocessing, os, signal, sys, time
from server.deploy.granian import stop_forked_workers_while_starting

def worker():  # forked, and still in granian's own start (logging, environment): no load() yet
    time.sleep(30)

stop_forked_workers_while_starting()
process = multiprocessing.get_context("fork").Process(target=worker)
process.start()
time.sleep(0.5)
os.kill(process.pid, int(sys.argv[1]))
process.join(timeout=10)
print(process.exitcode)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_worker_asked_to_stop_before_it_loads_the_app_stops_at_once(signum: int) -> None:
    """Between the fork and our load(), granian's worker runs with the master's handlers too."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", FORKED_EARLY, str(int(signum))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == [str(128 + signum)] and time.monotonic() - started < 8


def test_a_timeout_is_a_503_through_the_workers(server_settings: Settings, two_workers: None) -> None:
    with serve_process(server_settings) as served:
        started = time.monotonic()
        response = requests.get(served.url + "/sparql", params={"query": PATHOLOGICAL}, timeout=30)
        elapsed = time.monotonic() - started
        body = assert_error(response, 503, "query_timeout")
        assert body["timeout_s"] == TIMEOUT_S
        assert elapsed < TIMEOUT_S + 2.5
        after = requests.get(served.url + "/sparql", params={"query": "ASK {}"}, timeout=30)
        assert after.status_code == 200 and after.json()["boolean"] is True


def _unfinished_bodies(url: str, count: int, source: str) -> list[socket.socket]:
    """``count`` connections from ``source``, each a ``POST`` whose body never comes whole (a slow or
    hostile client)."""
    where = urlsplit(url)
    head = (
        f"POST /sparql HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: application/sparql-query\r\n"
        "Content-Length: 100\r\n\r\nASK"
    ).encode()
    opened = []
    for _ in range(count):
        connection = socket.create_connection((where.hostname, where.port), source_address=(source, 0))
        connection.sendall(head)
        opened.append(connection)
    return opened


def _answered(connection: socket.socket) -> bytes:
    """The answer the server has begun on ``connection`` (waiting briefly for it to begin), whole: its
    head, then as much body as it announces (the body may come in a segment of its own); b"" if
    nothing came."""
    connection.settimeout(0.2)
    try:
        data = connection.recv(65536)
    except TimeoutError:
        return b""
    connection.settimeout(10)  # begun: the rest follows at once
    while data and b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length and (more := connection.recv(65536)):
        body += more
    return head + b"\r\n\r\n" + body


def test_a_client_that_never_finishes_its_bodies_holds_up_no_one_else(
    server_settings: Settings, two_workers: None
) -> None:
    # A thread reading a body waits for it as long as the client takes. Without a limit per client,
    # 20 such requests stopped two workers of eight threads from answering anyone.
    limit = 16  # the default: the fixtures' settings turn it off for werkzeug's test client
    # (the limit on one client's bodies waiting, smaller, off here: the next test has it)
    env = {"ALATAU_KG_MAX_CLIENT_REQUESTS": str(limit), "ALATAU_KG_MAX_CLIENT_RECEIVING": "0"}
    with serve_process(server_settings, env) as served:
        held = _unfinished_bodies(served.url, 200, "127.0.0.2")
        try:
            for _ in range(3):  # others are answered as usual, at once
                assert _health(served.url)["status"] == "ok"
                answer = requests.get(served.url + "/sparql", params={"query": "ASK {}"}, timeout=10)
                assert answer.status_code == 200 and answer.json()["boolean"] is True
            # past its share, the client itself is refused at once, in the one error shape
            answers = [_answered(c) for c in held]
            refused = [a for a in answers if a.startswith(b"HTTP/1.1 429")]
            assert len(refused) >= 200 - 2 * limit, len(refused)
            assert b'"error": "too_many_in_flight"' in refused[0] and b"retry-after: 1" in refused[0].lower()
        finally:
            for connection in held:
                connection.close()

        # its slots are given back once its connections are gone
        def served_again() -> bool:
            again = socket.create_connection(
                (urlsplit(served.url).hostname, urlsplit(served.url).port), source_address=("127.0.0.2", 0)
            )
            with again:
                again.sendall(b"GET /-/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                again.settimeout(10)
                return again.recv(65536).startswith(b"HTTP/1.1 200")

        assert wait_until(served_again)


def test_many_clients_that_never_finish_their_bodies_hold_up_no_request_without_one(
    server_settings: Settings,
) -> None:
    # Within their own limits, enough addresses together held every thread (eight of 16 filled a
    # worker's 128). Here a worker of 16 threads: at most 8 receive bodies at once (503 past it),
    # at most 4 of one client (429 past it).
    env = {
        "ALATAU_KG_WORKERS": "1",
        "ALATAU_KG_SERVER_THREADS": "16",
        "ALATAU_KG_MAX_CLIENT_REQUESTS": "16",
        "ALATAU_KG_MAX_CLIENT_RECEIVING": "4",
        "ALATAU_KG_TOKENS": "",
        "ALATAU_KG_TOKENS_FILE": "/nonexistent/tokens.json",
    }
    with serve_process(server_settings, env) as served:
        first: list[socket.socket] = []
        more: list[socket.socket] = []
        try:
            # one client: 4 of its bodies wait, past that it is refused (429), alone
            first += _unfinished_bodies(served.url, 6, "127.0.0.2")
            answers = sorted(_answered(c) for c in first)
            assert answers[:4] == [b""] * 4, answers
            assert all(a.startswith(b"HTTP/1.1 429") for a in answers[4:]), answers
            assert b'"error": "too_many_receiving"' in answers[4] and b"retry-after: 1" in answers[4].lower()
            # three more clients: 4 more wait (8 in all), the rest are refused (503)
            for source in ("127.0.0.3", "127.0.0.4", "127.0.0.5"):
                more += _unfinished_bodies(served.url, 4, source)
            for _ in range(3):  # requests without a body are answered as usual, at once
                assert _health(served.url)["status"] == "ok"
                answer = requests.get(served.url + "/sparql", params={"query": "ASK {}"}, timeout=10)
                assert answer.status_code == 200 and answer.json()["boolean"] is True
            answers = sorted(_answered(c) for c in more)
            assert answers[:4] == [b""] * 4 and all(a.startswith(b"HTTP/1.1 503") for a in answers[4:]), (
                answers
            )
            assert b'"error": "busy_receiving"' in answers[4] and b"retry-after: 1" in answers[4].lower()
            # a body sent whole meanwhile is refused too, at once: the 8 are waiting for theirs
            posted = requests.post(served.url + "/sparql", data={"query": "ASK {}"}, timeout=10)
            assert_error(posted, 503, "busy_receiving")
        finally:
            for connection in first + more:
                connection.close()
        # once they are gone, bodies are received again
        assert wait_until(
            lambda: (
                requests.post(served.url + "/sparql", data={"query": "ASK {}"}, timeout=10).status_code == 200
            )
        )


def test_every_worker_finds_the_restarted_engine(server_settings: Settings, two_workers: None) -> None:
    with serve_process(server_settings) as served:
        served.wait_for_engines(2)
        before = served.primary_pid()
        assert before is not None
        expected = requests.get(served.url + "/sparql", params={"query": COUNT}, headers={"Accept": CSV})
        os.kill(before, signal.SIGKILL)
        # A query sent in the instant between an outside kill and the supervisor's notice of it (it
        # wakes as the engine ends) may be taken for the query that crashed the engine, and refused (503),
        # by design: the test waits until the dead engine has been reaped.
        assert wait_until(lambda: not Path(f"/proc/{before}").exists())
        # while the primary reloads, the standby answers: never a window without an engine (texts of
        # their own: the same query's result would come from a worker's cache without any engine)
        fresh = COUNT + " VALUES ?unused { 1 }"
        answer = requests.get(served.url + "/sparql", params={"query": fresh}, headers={"Accept": CSV})
        assert answer.status_code == 200 and answer.content == expected.content
        assert wait_until(lambda: served.primary_pid() not in (None, before))
        restarted = {"serving": "primary", "restarts": 1}
        assert wait_until(lambda: restarted.items() <= _health(served.url, ok=False)["engine"].items())
        fresh = COUNT + " VALUES ?unused { 2 }"
        answer = requests.get(served.url + "/sparql", params={"query": fresh}, headers={"Accept": CSV})
        assert answer.status_code == 200 and answer.content == expected.content
        pids: set[int] = set()
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:
            with ThreadPoolExecutor(max_workers=4) as pool:
                bodies = list(pool.map(lambda _: _health(served.url), range(4)))
            for body in bodies:
                assert body["engine"]["restarts"] == 1, body
                pids.add(body["worker_pid"])
            answer = requests.get(served.url + "/sparql", params={"query": COUNT}, headers={"Accept": CSV})
            assert answer.status_code == 200 and answer.content == expected.content
        assert len(pids) == 2


def test_workers_with_write_tokens_write_through_a_durable_oxigraph(
    real_settings: Settings, tmp_path
) -> None:
    """Write tokens and two workers: the store is served on disk by an oxigraph process, each
    worker commits guarded writes to it and keeps the in-memory query engine in step."""
    from tests.test_writes import PREFIXES, WRITER, WRITER_TOKEN, school_update

    store = tmp_path / "store"
    shutil.copytree(real_settings.store_path, store)
    env = {
        "ALATAU_KG_WORKERS": "2",
        "ALATAU_KG_TOKENS": f"steward:writer:{digest(WRITER_TOKEN)}",
        "ALATAU_KG_TOKENS_FILE": str(tmp_path / "none.json"),
    }
    settings = real_settings.with_(store_path=store, query_timeout_s=10.0)
    keys = [f"worker-school-{i}" for i in range(8)]

    def post(text: str) -> int:
        headers = {"Content-Type": "application/sparql-update", "Connection": "close", **WRITER}
        return requests.post(
            served.url + "/update", data=text.encode(), headers=headers, timeout=120
        ).status_code

    with serve_process(settings, env) as served:
        engines = served.engine_pids()
        assert len(engines) == 2  # the durable store on disk and the in-memory query engine
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(lambda k: post(school_update(k)), keys))
        assert statuses == [200] * len(keys)
        contested = list(
            ThreadPoolExecutor(max_workers=2).map(
                lambda seats: post(school_update("worker-contested", seats)), (600, 700)
            )
        )
        assert sorted(contested) == [200, 422]
        # every worker answers with every change (caught up), and the engine has them all
        pids, logs = set(), []
        deadline = time.monotonic() + 30
        while len(logs) < 12 or (len(pids) < 2 and time.monotonic() < deadline):
            health = _health(served.url)
            pids.add(health["worker_pid"])
            r = requests.get(
                served.url + "/changes",
                headers={"Accept": "application/json", "Connection": "close"},
                timeout=30,
            )
            logs.append(sorted(c["sequence"] for c in r.json()["changes"]))
        assert len(pids) == 2
        assert all(log == list(range(1, len(keys) + 2)) for log in logs), logs
        values = " ".join(f"<https://w3id.org/alatau-kg/id/facility/{k}>" for k in keys)
        query = (
            PREFIXES
            + f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ VALUES ?s {{ {values} }} ?s a ak:Facility }}"
        )

        def count() -> int:
            r = requests.get(
                served.url + "/sparql",
                params={"query": query},
                headers={"Accept": "application/sparql-results+json"},
                timeout=30,
            )
            return int(r.json()["results"]["bindings"][0]["n"]["value"]) if r.status_code == 200 else -1

        assert count() == len(keys)
        # the in-memory engine dies: it is restarted and reloaded from the durable process
        memory = [pid for pid in engines if "--location" not in _cmdline(pid)]
        assert len(memory) == 1
        os.kill(memory[0], signal.SIGKILL)
        # the durable store's process answers while it reloads (there is no window without an engine)
        assert wait_until(lambda: count() == len(keys), timeout_s=30)
        assert wait_until(
            lambda: _health(served.url, ok=False)["engine"]["serving"] == "primary", timeout_s=30
        )
        assert _health(served.url)["engine"]["restarts"] == 1 and count() == len(keys)
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) == 0
        assert wait_until(lambda: not any(is_running(pid) for pid in engines), timeout_s=15)
    # the writes are on disk: the store opens and has them
    names = Names()
    reopened = OxigraphStore(names, store, read_only=True)
    ask = f"ASK {{ GRAPH ?g {{ <https://w3id.org/alatau-kg/id/facility/{keys[0]}> ?p ?o }} }}"
    assert reopened.query(ask).boolean


# --- kept-alive connections to the engine ----------------------------------------------------------


def _local_port(client: SparqlClient) -> int | None:
    idle = client.idle_local_ports()
    return idle[-1] if idle else None


def test_a_connection_is_reused_only_after_a_complete_answer(own_engine: OxigraphProcess) -> None:
    client = SparqlClient(lambda: own_engine.query_url, timeout_s=TIMEOUT_S)
    expected = client.query(COUNT, accept=CSV).body
    first = _local_port(client)
    assert first is not None  # kept
    assert client.query(COUNT, accept=CSV).body == expected
    assert _local_port(client) == first  # the same connection again
    with pytest.raises(QueryTimeout):
        client.query(STREAMING_SELECT, accept="application/sparql-results+json", union_default_graph=True)
    assert _local_port(client) is None  # the cut stream's connection was closed, not kept
    assert client.query(COUNT, accept=CSV).body == expected
    assert _local_port(client) not in (None, first)
    client.stop()


def test_a_cancelled_stream_never_leaks_into_the_next_query(own_engine: OxigraphProcess) -> None:
    """Cut streams, oversized results and plain queries at once on one client: every plain answer is
    exactly the expected one (a reused connection carrying the tail of a cut stream would not be)."""
    client = SparqlClient(lambda: own_engine.query_url, timeout_s=TIMEOUT_S, max_result_bytes=4000)
    small = "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?s ?p ?o LIMIT 5"
    expected = client.query(small, accept="application/sparql-results+json").body
    assert len(json.loads(expected)["results"]["bindings"]) == 5

    def plain(_: int) -> bytes:
        return client.query(small, accept="application/sparql-results+json").body

    def cut(_: int) -> str:
        try:
            client.query(STREAMING_SELECT, accept="application/sparql-results+json", union_default_graph=True)
        except (QueryTimeout, ResultTooLarge) as exc:
            return type(exc).__name__
        return "answered"

    def too_large(_: int) -> str:
        try:
            client.query("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", accept=CSV)
        except ResultTooLarge:
            return "ResultTooLarge"
        return "answered"

    with ThreadPoolExecutor(max_workers=6) as pool:
        cuts = [pool.submit(cut, i) for i in range(2)]
        larges = [pool.submit(too_large, i) for i in range(10)]
        plains = [pool.submit(plain, i) for i in range(60)]
        answers = [f.result() for f in plains]
        assert {f.result() for f in larges} == {"ResultTooLarge"}
        assert all(f.result() != "answered" for f in cuts)
    assert all(answer == expected for answer in answers)
    assert client.query(small, accept="application/sparql-results+json").body == expected
    client.stop()


def _workers(master: int, count: int = 2) -> list[int]:
    """The worker processes, once ``count`` are forked (the master logs its address before forking them)."""

    def found() -> list[int]:
        return [p for p in children(master) if "oxigraph" not in _cmdline(p)]

    assert wait_until(lambda: len(found()) == count), found()
    return found()


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""
