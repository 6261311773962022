"""``kg.engine.wire``: the query path's HTTP/1.1, against a real ``oxigraph serve`` and, for the
answers Oxigraph never gives, a loopback server that writes canned bytes."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from kg.engine.client import SparqlClient
from kg.engine.process import OxigraphProcess
from kg.engine.wire import Broken, Headers, NotAnswered, TooLarge, Unreachable, Wire

pytest_plugins = ["tests.server_support"]

QUERY = {"Accept": "application/sparql-results+json", "Content-Type": "application/sparql-query"}


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


class Canned:
    """A loopback server: each accepted connection is handed to ``script(connection)``."""

    def __init__(self, script: Callable[[socket.socket], None]):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.requests: list[bytes] = []
        self._script = script
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._run, args=(connection,), daemon=True).start()

    def _run(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            self._script(connection)

    def read_request(self, connection: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        while len(body) < length:
            body += connection.recv(65536)
        self.requests.append(data)
        return data

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def canned() -> Iterator[Callable[[Callable[[socket.socket], None]], Canned]]:
    made: list[Canned] = []

    def make(script: Callable[[socket.socket], None]) -> Canned:
        made.append(Canned(script))
        return made[-1]

    yield make
    for server in made:
        server.close()


def test_answers_from_oxigraph_over_one_kept_alive_socket(server_engine: OxigraphProcess) -> None:
    url = urlsplit(server_engine.query_url)
    wire = Wire(url.hostname or "", url.port or 80)
    answers = [
        wire.exchange("POST", url.path, QUERY, b"ASK { ?s ?p ?o }", deadline=soon(), cap=10**6)
        for _ in range(5)
    ]
    assert {a.status for a in answers} == {200}
    assert all(a.body.rstrip().endswith(b"}") and b'"boolean"' in a.body for a in answers)
    assert answers[0].headers.get("content-type") == answers[0].headers.get("Content-Type")
    assert wire.opened == 1 and len(wire.idle_local_ports()) == 1
    wire.close_idle()
    assert wire.idle_local_ports() == []


def test_a_length_a_chunked_and_a_closed_body(canned) -> None:
    answers = iter(
        [
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        ]
    )

    def script(connection: socket.socket) -> None:
        while server.read_request(connection):
            try:
                connection.sendall(next(answers))
            except StopIteration:  # the last: HTTP/1.0 style, the body ends with the connection
                connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
                return

    server = canned(script)
    wire = Wire("127.0.0.1", server.port)
    sized = wire.exchange("GET", "/a", {}, b"", deadline=soon(), cap=100)
    assert (sized.status, sized.body, sized.sized) == (200, b"hello", True)
    chunked = wire.exchange("GET", "/b", {}, b"", deadline=soon(), cap=100)
    assert (chunked.body, chunked.sized, chunked.headers["X-A"]) == (b"abcde", False, "1, 2")
    closed = wire.exchange("GET", "/c", {}, b"", deadline=soon(), cap=100)
    assert (closed.body, closed.sized) == (b"until the end", False)
    assert server.accepted == 1 and wire.idle_local_ports() == []  # the closed one is not kept
    assert server.requests[0].startswith(b"GET /a HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Content-Length" not in server.requests[0]  # a GET without content has no length


def test_an_interim_answer_is_skipped(canned) -> None:
    def script(connection: socket.socket) -> None:
        server.read_request(connection)
        connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    server = canned(script)
    answer = Wire("127.0.0.1", server.port).exchange("POST", "/", {}, b"x", deadline=soon(), cap=100)
    assert (answer.status, answer.body) == (200, b"ok")


def test_an_idle_socket_the_server_wrote_on_is_never_reused(canned) -> None:
    """Oxigraph answers 500 on a connection idle past its read timeout, then closes it: that answer
    must not be read as the next request's."""

    def script(connection: socket.socket) -> None:
        server.read_request(connection)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
        time.sleep(0.1)
        connection.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nstale")
        time.sleep(1)

    server = canned(script)
    wire = Wire("127.0.0.1", server.port)
    assert wire.exchange("GET", "/", {}, b"", deadline=soon(), cap=100).body == b"first"
    time.sleep(0.3)
    assert wire.exchange("GET", "/", {}, b"", deadline=soon(), cap=100).body == b"first"
    assert server.accepted == 2


def test_the_deadline_the_cap_and_a_cut_answer(canned) -> None:
    def script(connection: socket.socket) -> None:
        request = server.read_request(connection)
        if b"/slow" in request:
            time.sleep(2)
        elif b"/large" in request:
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000)
        else:  # a stream that ends before its last chunk, as an engine cut by its timeout
            connection.sendall(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{"partial\r\n')

    server = canned(script)
    wire = Wire("127.0.0.1", server.port)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        wire.exchange("GET", "/slow", {}, b"", deadline=time.monotonic() + 0.3, cap=100)
    assert 0.25 < time.monotonic() - started < 1.5
    with pytest.raises(TooLarge):
        wire.exchange("GET", "/large", {}, b"", deadline=soon(), cap=999)
    with pytest.raises(Broken) as cut:
        wire.exchange("GET", "/cut", {}, b"", deadline=soon(), cap=100)
    assert cut.value.partial == b'{"partial'
    assert wire.idle_local_ports() == []  # after each failure the socket was closed


def test_no_answer_and_no_server(canned) -> None:
    def script(connection: socket.socket) -> None:
        server.read_request(connection)  # then closes without a word

    server = canned(script)
    with pytest.raises(NotAnswered) as silent:
        Wire("127.0.0.1", server.port).exchange("GET", "/", {}, b"", deadline=soon(), cap=100)
    assert silent.value.reused is False
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(Unreachable):
        Wire("127.0.0.1", port, connect_timeout_s=1).exchange("GET", "/", {}, b"", deadline=soon(), cap=100)


def test_not_http_and_line_breaks_are_refused(canned) -> None:
    def script(connection: socket.socket) -> None:
        server.read_request(connection)
        connection.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")

    server = canned(script)
    wire = Wire("127.0.0.1", server.port)
    with pytest.raises(Broken):
        wire.exchange("GET", "/", {}, b"", deadline=soon(), cap=100)
    with pytest.raises(ValueError):
        wire.exchange("GET", "/", {"Accept": "a\r\nX-Injected: 1"}, b"", deadline=soon(), cap=100)
    assert len(server.requests) == 1  # the second never left


def test_headers_are_found_in_any_case() -> None:
    headers = Headers({"content-type": "text/csv"})
    assert headers["Content-Type"] == headers.get("CONTENT-TYPE") == "text/csv"
    assert "Content-type" in headers and headers.get("Server") is None


def test_a_socket_idle_too_long_is_not_reused(canned) -> None:
    """A server closes a connection idle past its own timeout (Oxigraph's is its query timeout): a
    socket idle longer than ``max_idle_s`` is closed rather than raced against that close."""

    def script(connection: socket.socket) -> None:
        while server.read_request(connection):
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    server = canned(script)
    wire = Wire("127.0.0.1", server.port, max_idle_s=0.2)
    for _ in range(3):  # reused while fresh
        assert wire.exchange("GET", "/", {}, b"", deadline=soon(), cap=100).body == b"ok"
    assert wire.opened == 1
    time.sleep(0.3)
    assert wire.exchange("GET", "/", {}, b"", deadline=soon(), cap=100).body == b"ok"
    assert wire.opened == 2 and server.accepted == 2


def test_a_body_larger_than_the_socket_buffer_is_sent_whole_or_times_out(canned) -> None:
    """The socket is non-blocking: a request the kernel cannot take at once is written as the server
    reads it, and a server that stops reading makes the deadline pass, not a hang."""
    body = bytes(range(256)) * 32_768  # 8 MiB: many times a loopback socket's buffer

    def script(connection: socket.socket) -> None:
        data = b""
        while len(data.partition(b"\r\n\r\n")[2]) < len(body):  # the head, then the body whole
            data += connection.recv(1 << 20)
            time.sleep(0.001)  # a slow reader: the client's buffer fills up
        received.append(data.partition(b"\r\n\r\n")[2])
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    received: list[bytes] = []
    server = canned(script)
    wire = Wire("127.0.0.1", server.port)
    answer = wire.exchange("POST", "/echo", {}, body, deadline=soon(10), cap=100)
    assert answer.status == 200 and received == [body]

    def never_reads(connection: socket.socket) -> None:
        time.sleep(3)

    stuck = canned(never_reads)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        Wire("127.0.0.1", stuck.port).exchange(
            "POST", "/stuck", {}, body, deadline=time.monotonic() + 0.5, cap=100
        )
    assert 0.45 < time.monotonic() - started < 2


def test_idle_sockets_are_looked_at_unless_the_server_is_ours(
    server_engine: OxigraphProcess, tmp_path
) -> None:
    """The engine we run writes nothing on a connection idle less than its timeout, and its client's
    sockets are reused without a look; a store we do not run gets the look."""
    ours = server_engine.client._wire_for(server_engine.query_url)
    assert (
        ours is not None
        and ours.check_idle is False
        and ours.max_idle_s < server_engine.client.idle_timeout_s
    )
    other = SparqlClient(server_engine.query_url)._wire_for(server_engine.query_url)
    assert other is not None and other.check_idle is True
    for _ in range(3):  # and it answers, over one socket
        assert server_engine.query("ASK { ?s ?p ?o }", accept="application/sparql-results+json").status == 200
