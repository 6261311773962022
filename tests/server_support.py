"""Fixtures and helpers for the endpoint's tests: a built mini store, a real Oxigraph engine, and the
app served by waitress on a loopback port. Test modules load it with ``pytest_plugins``.

PYTEST_DONT_REWRITE: test modules import helpers from here before ``pytest_plugins`` registers it,
so pytest could not rewrite its asserts anyway (and would warn, which is an error here); the asserts
below carry their own messages instead.

The session's engine has a 2 s timeout (Oxigraph takes whole seconds) so that timeout tests stay
short; tests that kill or overload an engine start their own.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask
from waitress import wasyncore
from waitress.server import create_server

from kg.build import build
from kg.changes.tokens import digest
from kg.config import Settings
from kg.engine import Engine
from kg.engine.process import OxigraphProcess
from server.app import create_app
from server.deploy import standalone_app

FIXTURE = Path(__file__).parent / "fixtures" / "mini"
TIMEOUT_S = 2.0

# A cross product: billions of rows over a few dozen triples. Oxigraph stops the 4-way one at its
# timeout; the 5-way one it does not (it builds a join without checking the cancellation flag).
PATHOLOGICAL = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
# Streams rows from the start (the filter cannot be pushed into the joins) until the timeout cuts it:
# Oxigraph then ends a 200 response with its error text.
_STREAMING_WHERE = (
    "WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l "
    "FILTER(CONCAT(STR(?b), STR(?e), STR(?h), STR(?k)) = CONCAT(STR(?k), STR(?h), STR(?e), STR(?b))) }"
)
STREAMING_SELECT = "SELECT ?a ?l " + _STREAMING_WHERE
STREAMING_CONSTRUCT = "CONSTRUCT { ?a ?b ?l } " + _STREAMING_WHERE
STUCK = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"

BASE = "https://w3id.org/alatau-kg/"
INFERRED = BASE + "graph/inferred"
ONTOLOGY = BASE + "graph/ontology"
SHAPES = BASE + "graph/shapes"
SOURCE = BASE + "graph/source/article-test"


# The tests' clients all come from 127.0.0.1, and many send timeouts and errors on purpose: the
# per-client budgets are off unless a test turns them on (tests/test_budgets.py).
NO_BUDGETS = {
    "query_seconds_per_minute": 0.0,
    "errors_per_minute": 0.0,
    "steward_query_seconds_per_minute": 0.0,
}


def fixture_settings(store: Path, **changes: object) -> Settings:
    return Settings(
        ontology_dir=FIXTURE / "ontology",
        data_dir=FIXTURE / "data",
        store_path=store,
        query_timeout_s=TIMEOUT_S,
        queries_dir=store.parent / "no-queries",
        # werkzeug's test client closes an answer only when asked to (a real server always does):
        # the app would count every request it made as still in flight (tests/test_inflight.py)
        max_client_requests=0,
        **NO_BUDGETS,  # type: ignore[arg-type]
    ).with_(**changes)


@dataclass
class Live:
    """An app served on loopback."""

    url: str
    app: Flask
    engine: Engine

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"


@contextlib.contextmanager
def serving(app: Flask, engine: Engine) -> Iterator[Live]:
    """Serve ``app`` with waitress (8 threads) on a free loopback port, in a thread."""
    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield Live(f"http://127.0.0.1:{server.effective_port}", app, engine)  # type: ignore[union-attr]
    finally:
        # close() alone closes only the listening socket; the loop runs while any channel is open.
        server.task_dispatcher.shutdown(timeout=5)  # type: ignore[union-attr]
        # Close every channel from inside the loop's own thread (through its trigger): closing them
        # from here while the loop is in select() on them fails there with EBADF.
        # If the loop has closed its trigger already (seen once: EBADF), what is left is closed below.
        with contextlib.suppress(OSError):
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))  # type: ignore[union-attr]
        thread.join(timeout=10)
        if thread.is_alive():
            wasyncore.close_all(server._map)  # type: ignore[union-attr]
            thread.join(timeout=10)


@contextlib.contextmanager
def serving_standalone(settings: Settings) -> Iterator[Live]:
    """The app ``serve`` gives one process (:func:`server.deploy.standalone_app`: its engine, and with
    tokens its writer), served by :func:`serving`; its engine stopped at the end."""
    app = standalone_app(settings)
    engine = app.extensions["alatau_kg"].engine
    try:
        with serving(app, engine) as live:
            yield live
    finally:
        engine.stop()


def writer_settings(settings: Settings, store: Path, token: str, label: str = "writer") -> Settings:
    """``settings`` over ``store``, with one writer token (``token``, called ``label``) and writes
    committed without the guard's validation."""
    return settings.with_(
        store_path=store,
        tokens=f"{label}:writer:{digest(token)}",
        tokens_file=store.parent / "none.json",
        guard_writes=False,
    )


def writable_copy(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, token: str, label: str
) -> Settings:
    """:func:`writer_settings` over a copy of ``settings``' store (writes leave the original alone)."""
    store = tmp_path_factory.mktemp(label) / "store"
    shutil.copytree(settings.store_path, store)
    return writer_settings(settings, store, token, label)


@pytest.fixture(scope="session")
def server_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    store = tmp_path_factory.mktemp("mini") / "store"
    settings = fixture_settings(store)
    build(settings)
    return settings


@pytest.fixture(scope="session")
def server_engine(server_settings: Settings) -> Iterator[OxigraphProcess]:
    with OxigraphProcess.from_settings(server_settings) as process:
        yield process


@pytest.fixture(scope="session")
def live(server_settings: Settings, server_engine: OxigraphProcess) -> Iterator[Live]:
    with serving(create_app(server_settings, server_engine), server_engine) as server:
        yield server


@pytest.fixture
def own_engine(server_settings: Settings) -> Iterator[OxigraphProcess]:
    """An engine of this test's own, for tests that kill or overload it."""
    with OxigraphProcess.from_settings(server_settings) as process:
        yield process


def get(live: Live, accept: str | None = None, **params: str | list[str]) -> requests.Response:
    headers = {"Accept": accept} if accept else {}
    return requests.get(live.sparql, params=params, headers=headers, timeout=30)


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    """The one error shape: JSON with ``error``, ``message`` and ``status``."""
    assert response.status_code == status, f"{response.status_code} != {status}: {response.text}"
    content_type = response.headers.get("Content-Type", "")
    assert content_type.startswith("application/json"), content_type
    body = response.json()
    assert body.get("error") == code, body
    assert body.get("status") == status, body
    assert isinstance(body.get("message"), str) and body["message"], body
    return body


# --- a server in its own process ------------------------------------------------------------------


@dataclass
class ServeProcess:
    process: subprocess.Popen[str]
    url: str
    lines: queue.Queue[str]

    def wait_for_line(self, text: str, timeout_s: float = 10.0) -> str:
        """The first line of the server's stderr from now on that contains ``text``."""
        deadline = time.monotonic() + timeout_s
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if text in line:
                return line

    def engine_pids(self) -> list[int]:
        return [pid for pid in children(self.process.pid) if "oxigraph" in _cmdline(pid)]

    def stops_within(self, timeout_s: float) -> bool:
        """Whether the process ended within ``timeout_s``; if not, what it logged since the last line
        read is printed (the test's captured output says why it hung)."""
        try:
            self.process.wait(timeout=timeout_s)
            return True
        except subprocess.TimeoutExpired:
            unread = []
            while not self.lines.empty():
                unread.append(self.lines.get_nowait())
            print(f"serve did not stop within {timeout_s} s; its log since:\n" + "".join(unread[-60:]))
            print("its processes:", [(pid, _cmdline(pid)) for pid in children(self.process.pid)])
            return False

    def primary_pid(self) -> int | None:
        """The in-memory engine's (``oxigraph serve`` without a store: kg.engine.failover's primary)."""
        return next((p for p in self.engine_pids() if "--location" not in _cmdline(p)), None)

    def wait_for_engines(self, count: int = 2) -> list[int]:
        """The engines, once there are ``count`` (the primary and, at start-up, the standby)."""
        assert wait_until(lambda: len(self.engine_pids()) == count, 30), self.engine_pids()
        return self.engine_pids()


SERVING = re.compile(r"serving (http://\S+?)/? ")


@contextlib.contextmanager
def serve_process(settings: Settings, extra_env: dict[str, str] | None = None) -> Iterator[ServeProcess]:
    """``alatau-kg serve`` as a subprocess on a free port; killed at the end whatever happens."""
    env = {
        **os.environ,
        "ALATAU_KG_STORE_PATH": str(settings.store_path),
        "ALATAU_KG_QUERY_TIMEOUT_S": str(settings.query_timeout_s),
        "ALATAU_KG_PORT": "0",
        **{f"ALATAU_KG_{name.upper()}": str(value) for name, value in NO_BUDGETS.items()},
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if m := SERVING.search(line):
                url = m.group(1)
        yield ServeProcess(process, url, lines)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        reader.join(timeout=10)
        assert process.stderr is not None
        process.stderr.close()


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def is_running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited, it only waits to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition, timeout_s: float = 10.0, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return bool(condition())


def workers_seen(url: str, *, want: int = 2, timeout_s: float = 60.0) -> set[int]:
    """The worker processes that answer ``/-/health`` on new connections, until ``want`` have (the
    kernel spreads new connections over the workers, not evenly over a few)."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while len(seen) < want and time.monotonic() < deadline:
        response = requests.get(url + "/-/health", headers={"Connection": "close"}, timeout=30)
        seen.add(response.json()["worker_pid"])
    return seen
