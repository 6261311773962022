"""The query path's HTTP/1.1: one request and its answer over a kept-alive socket, parsed by llhttp.

Every query the web layer runs goes to the engine and back, so what a query costs here is paid by
every uncached request. urllib3 (through ``http.client``, which parses a response's head with the
``email`` package) took 300–400 µs of CPU per query on loopback; a request written in one ``sendall``
and its answer fed to ``httptools`` (MagicStack's binding of llhttp, the HTTP parser of Node.js) takes
a fraction of that (``bench/http_client.py``). What this module owns, and nothing more:

* **the exchange**: the request head and body in one write; the answer's status, headers and body
  (``Content-Length``, chunked, or up to the end of the connection, as RFC 9112 §6.3 says), skipping
  1xx interim answers;
* **the deadline**: every read waits at most until ``deadline`` (``time.monotonic``), then
  :class:`TimeoutError`;
* **the cap**: a body larger than ``cap`` bytes is refused as it arrives (:class:`TooLarge`);
* **kept-alive sockets**, per process (a forked worker opens its own): a socket goes back to the idle
  list only after a complete answer the server will keep the connection open after; after anything
  else it is closed, so that the rest of a cut answer is never read as the next one. An idle socket
  with something to read (the server closed it, or wrote on it unasked), or idle longer than
  ``max_idle_s`` (a server closes connections idle past its own timeout), is closed, never reused
  (the first check is skipped, ``check_idle=False``, for a server known to write nothing on a
  connection idle that long: the engine we run ourselves).

It knows nothing of SPARQL and raises nothing of :mod:`kg.errors`: :mod:`kg.engine.client` decides
what a failure means. Plain ``http`` only: a store behind TLS is spoken to through urllib3.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import NamedTuple

import httptools

RECEIVE = 65536  # bytes asked of the socket per read (under the allocator's mmap threshold)
MAX_HEAD_BYTES = 65536  # an answer's status line and headers: more is not an HTTP server we know


class Headers(dict[str, str]):
    """A response's headers, looked up in any case (names are stored lower-case; a repeated header's
    values joined with ``", "``, RFC 9110 §5.3)."""

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


class Answer(NamedTuple):
    status: int
    headers: Headers
    body: bytes
    sized: bool  # the body's length was announced (Content-Length): not streamed


class WireError(Exception):
    """What the wire raises, besides :class:`TimeoutError` and :class:`ValueError`."""


class Unreachable(WireError):
    """No connection could be made: nothing of the request reached the server."""


class NotAnswered(WireError):
    """The connection ended before any byte of an answer. ``reused``: it was a kept-alive one (the
    server may have closed it while idle; the request did not reach it, and may be sent again)."""

    def __init__(self, reused: bool, cause: BaseException | None = None):
        super().__init__(f"the connection ended before an answer ({cause or 'closed'})")
        self.reused = reused


class Broken(WireError):
    """The connection failed or the answer was not HTTP, after the answer had begun; ``partial`` is
    the body received until then."""

    def __init__(self, message: str, partial: bytes = b""):
        super().__init__(message)
        self.partial = partial


class TooLarge(WireError):
    """The body passed the cap."""


class _Reader:
    """llhttp's callbacks: what one answer is made of."""

    __slots__ = ("cap", "chunks", "done", "headers_done", "keep", "names", "parser", "size", "values")

    def __init__(self, cap: int):
        self.parser: httptools.HttpResponseParser | None = None
        self.keep = False  # the server keeps the connection open after this answer
        self.names: list[bytes] = []
        self.values: list[bytes] = []
        self.chunks: list[bytes] = []
        self.size = 0
        self.cap = cap
        self.headers_done = False
        self.done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.names.append(name)
        self.values.append(value)

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.cap:
            raise TooLarge(f"the body passed {self.cap} bytes")
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.done = True
        # asked here: once the parser has moved past the message it always says no
        self.keep = self.parser is not None and self.parser.should_keep_alive()

    def body(self) -> bytes:
        return self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)

    def headers(self) -> Headers:
        found: dict[str, str] = {}  # a plain dict while it is made: Headers lowers every name asked
        for name, value in zip(self.names, self.values, strict=True):
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            previous = found.get(key)
            found[key] = text if previous is None else f"{previous}, {text}"
        return Headers(found)


class Wire:
    """Requests to one ``host:port`` over kept-alive sockets (at most ``max_idle`` kept idle)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_idle: int = 32,
        connect_timeout_s: float = 5.0,
        max_idle_s: float = 5.0,
        check_idle: bool = True,
    ):
        self.host, self.port = host, port
        self.max_idle = max_idle
        self.connect_timeout_s = connect_timeout_s
        self._authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._idle: list[socket.socket] = []  # changed in place, never replaced (the finalizer holds it)
        self._since: dict[socket.socket, float] = {}  # when each idle socket was given back
        # A socket idle longer is closed, not reused: a server closes a connection idle past its own
        # timeout (Oxigraph's is its query timeout), and a request sent as it does would be lost.
        self.max_idle_s = max_idle_s
        # Whether an idle socket is looked at (a system call) before it is reused. Not needed where
        # the server is known to write nothing on a connection idle less than max_idle_s: a socket
        # it closed meanwhile fails at once, before any answer, and the request is sent again.
        self.check_idle = check_idle
        self._pid = os.getpid()
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._idle)
        self.opened = 0  # sockets opened in this process (for tests and the benchmark)

    def exchange(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        *,
        deadline: float,
        cap: int,
        check: Callable[[Answer], None] | None = None,
    ) -> Answer:
        """Send one request and read its answer whole (at most ``cap`` bytes of body, by ``deadline``).
        ``check`` judges the answer before its socket is kept: if it raises (an error status, a stream
        the server cut), the socket is closed, so that nothing more the server writes on it is ever
        read as another answer."""
        head = [f"{method} {target} HTTP/1.1", f"Host: {self._authority}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        if body or method not in ("GET", "HEAD"):  # RFC 9110 §8.6: none on a request without content
            head.append(f"Content-Length: {len(body)}")
        text = "\r\n".join(head)
        breaks = len(head) - 1  # the ones joining the lines: any other would make a line of its own
        if text.count("\r") != breaks or text.count("\n") != breaks or "\0" in text:
            raise ValueError("a header or the target holds a line break")
        request = text.encode("latin-1") + b"\r\n\r\n" + body
        sock, reused = self._take()
        try:
            answer, keep = self._over(sock, reused, request, deadline, cap)
            if check is not None:
                check(answer)
        except BaseException:
            sock.close()
            raise
        if keep:
            self._give_back(sock)
        else:
            sock.close()
        return answer

    def _over(
        self, sock: socket.socket, reused: bool, request: bytes, deadline: float, cap: int
    ) -> tuple[Answer, bool]:
        """The exchange on ``sock`` (non-blocking: every wait is a ``poll`` up to ``deadline``)."""
        waiting = select.poll()
        try:
            _send_all(sock, waiting, request, deadline)
        except TimeoutError:
            raise
        except OSError as exc:
            raise NotAnswered(reused, exc) from exc
        waiting.register(sock, select.POLLIN)
        reader = _Reader(cap)
        parser = reader.parser = httptools.HttpResponseParser(reader)
        received = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not waiting.poll(remaining * 1000):
                raise TimeoutError("the deadline passed")
            try:
                data = sock.recv(RECEIVE)
            except BlockingIOError:  # woken for nothing to read after all: wait again
                continue
            except OSError as exc:
                if received == 0:
                    raise NotAnswered(reused, exc) from exc
                raise Broken(f"the connection failed during the answer: {exc}", reader.body()) from exc
            if not data:
                if received == 0:
                    raise NotAnswered(reused)
                if reader.headers_done and _until_closed(reader):
                    return self._answer(parser, reader), False  # RFC 9112 §6.3: the end is the close
                raise Broken("the connection closed before the answer ended", reader.body())
            received += len(data)
            try:
                parser.feed_data(data)
            except httptools.HttpParserUpgrade as exc:
                raise Broken("the server switched protocols") from exc
            except httptools.HttpParserError as exc:
                if isinstance(exc.__context__, TooLarge):
                    raise exc.__context__ from None
                raise Broken(f"the answer is not HTTP/1.1: {exc}") from exc
            if not reader.headers_done and received > MAX_HEAD_BYTES:
                raise Broken(f"the answer's head is longer than {MAX_HEAD_BYTES} bytes")
            if reader.done:
                status = parser.get_status_code()
                if 100 <= status < 200:  # an interim answer (100 Continue, 103): the real one follows
                    reader.__init__(cap)  # type: ignore[misc]
                    reader.parser = parser
                    continue
                return self._answer(parser, reader), reader.keep

    @staticmethod
    def _answer(parser: httptools.HttpResponseParser, reader: _Reader) -> Answer:
        headers = reader.headers()
        return Answer(parser.get_status_code(), headers, reader.body(), "content-length" in headers)

    def _take(self) -> tuple[socket.socket, bool]:
        """An idle socket of this process (reused), or a new one."""
        if self._pid != os.getpid():  # forked: the parent's sockets are not ours to use
            with self._lock:
                # closing this process's copies of them leaves the parent's connections open
                _close_all(self._idle)
                self._since.clear()
                self._pid = os.getpid()
        while True:
            with self._lock:
                if not self._idle:
                    break
                sock = self._idle.pop()
                since = self._since.pop(sock, 0.0)
            if time.monotonic() - since <= self.max_idle_s and (not self.check_idle or _quiet(sock)):
                return sock, True
            sock.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
        except OSError as exc:
            raise Unreachable(f"{self._authority}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Non-blocking for good: waits are polls up to the request's deadline. A timeout set per
        # request (settimeout) cost a system call each time, three a query, besides the poll.
        sock.setblocking(False)
        self.opened += 1
        return sock, False

    def _give_back(self, sock: socket.socket) -> None:
        # Given back by the thread that took it, so in the process that took it (a fork copies only
        # the forking thread; the child closes its copies of the idle ones in _take).
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(sock)
                self._since[sock] = time.monotonic()
                return
        sock.close()

    def idle_local_ports(self) -> list[int]:
        """The local ports of this process's idle sockets (for tests)."""
        with self._lock:
            if self._pid != os.getpid():
                return []
            return [sock.getsockname()[1] for sock in self._idle]

    def close_idle(self) -> None:
        """Close this process's idle sockets."""
        with self._lock:
            _close_all(self._idle)
            self._since.clear()
            self._pid = os.getpid()


def _close_all(sockets: list[socket.socket]) -> None:
    while sockets:
        sockets.pop().close()


def _quiet(sock: socket.socket) -> bool:
    """Whether an idle socket has nothing to read: neither the server's close nor something it sent
    unasked (Oxigraph answers ``500`` on a connection idle past its read timeout, then closes it).
    A socket that has is not reused: that would be read as the next request's answer."""
    try:
        sock.recv(1, socket.MSG_PEEK)  # non-blocking: answers at once
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def _send_all(sock: socket.socket, waiting: select.poll, data: bytes, deadline: float) -> None:
    """Write ``data`` whole on the non-blocking ``sock``, waiting (up to ``deadline``) whenever the
    socket's buffer is full; one ``send`` for a request that fits it."""
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            waiting.register(sock, select.POLLOUT)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not waiting.poll(remaining * 1000):
                raise TimeoutError("the deadline passed") from None
            waiting.unregister(sock)


def _until_closed(reader: _Reader) -> bool:
    """Whether the answer's body is delimited by the connection's end (neither a length nor chunks)."""
    names = {name.lower() for name in reader.names}
    return b"content-length" not in names and b"transfer-encoding" not in names
