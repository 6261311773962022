"""How many requests one client may have in flight at once in a worker process.

granian hands a request to one of the worker's threads as soon as its head has arrived, and the
thread reading its body waits, without a timeout, for as long as the client takes to send it. A
client that opens connections and never finishes their bodies held every thread: measured, 20
unfinished ``POST`` bodies stopped a server with two workers of eight threads from answering anyone
(``bench/RESULTS.md``, issue 12's fifth pass). So the worker's threads are many (``server_threads``;
granian starts them only when requests need them), and one client (its address, or its /64 for IPv6,
as :mod:`server.core.clients` tells them apart; a trusted proxy's forwarded address) may hold at most
``max_client_requests`` of them: past that it is answered ``429`` at once, before anything of its
body is read, with ``Retry-After``, and whoever else is asking is answered as usual. nginx's
``limit_conn`` does the same per address.

Many clients together could still hold every thread: eight addresses of 16 unfinished bodies each
filled a worker's 128 (issue 12's sixth pass). So the requests *receiving their bodies* are counted
too, over all clients: at most ``max_receiving_requests`` at once in a worker (and never more than
half its threads). Past that a request with a body is answered ``503`` at once (``busy_receiving``,
``Retry-After: 1``), before anything of its body is read, and the other half of the threads stays
free for requests without a body (``GET`` queries, pages, linked data, the health check), whoever
holds the rest. One client may have at most ``max_client_receiving`` of them (past that ``429``
``too_many_receiving`` at once), so that it takes many addresses, not four, to fill them and have
everyone's bodies refused. A request stops counting the moment its body has been read whole (most take
microseconds), or when its answer is ready if it never reads it.

A slot is taken when the request reaches the app and given back when its answer has been written
(the answer's iterable closed). A refused request goes through Flask (:func:`register`), which
answers it in the one JSON error shape and observes it like every other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask, request

from server.core.clients import Client, Identifier
from server.core.errors import HttpError

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

REFUSED = "alatau_kg.in_flight_refused"  # the environ's key of a request refused here


class ClientSlots:
    """The WSGI layer that counts each client's requests in flight in this process, and the requests
    receiving their bodies (see the module's docstring); a limit of 0: no limit. ``flask`` answers the
    refused ones (the app's ``wsgi_app``)."""

    def __init__(
        self,
        app: Wsgi,
        flask: Wsgi,
        identifier: Identifier,
        limit: int,
        receiving_limit: int = 0,
        client_receiving_limit: int = 0,
    ):
        self.app = app  # the layer it guards (the fast path, then Flask)
        self._flask = flask
        self._identifier = identifier
        self.limit = limit
        self.receiving_limit = receiving_limit  # requests receiving their bodies at once; 0: no limit
        self.client_receiving_limit = client_receiving_limit  # the same, of one client
        self._held: dict[str, int] = {}
        self._receiving = 0
        self._receiving_by: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        receives = (self.receiving_limit > 0 or self.client_receiving_limit > 0) and _has_body(environ)
        if self.limit <= 0 and not receives:
            return self.app(environ, start_response)
        client = self._identifier.by_address(environ)
        key = client.key
        slot = self.limit > 0  # this request holds one of its client's slots until it is done
        if slot:
            with self._lock:
                held = self._held.get(key, 0)
                if held < self.limit:
                    self._held[key] = held + 1
            if held >= self.limit:
                environ[REFUSED] = HttpError(
                    429,
                    "too_many_in_flight",
                    f"{client.label} has {held} requests in flight at once, the most one client may "
                    f"have (setting max_client_requests); try again once one of them has been answered",
                    retry_after_s=1,
                    in_flight=held,
                    max_client_requests=self.limit,
                )
                return self._flask(environ, start_response)
        stream: _Receiving | None = None
        if receives:
            refusal = self._receive(client)
            if refusal is not None:
                if slot:
                    self._give_back(key)
                environ[REFUSED] = refusal
                return self._flask(environ, start_response)
            stream = environ["wsgi.input"] = _Receiving(
                environ["wsgi.input"], _length(environ), lambda: self._received(key)
            )
        try:
            body = self.app(environ, start_response)
        except BaseException:
            if slot:
                self._give_back(key)
            raise
        finally:
            if stream is not None:  # the answer is ready: what of the body was not read never will be
                stream.received()
        if not slot:
            return body
        if type(body) is list:  # written whole: nothing more of this request will run
            self._give_back(key)
            return body
        return _Held(body, lambda: self._give_back(key))

    def _receive(self, client: Client) -> HttpError | None:
        """Count a request with a body among those receiving theirs (until :meth:`_received`), or the
        refusal when its client, or all clients together, have as many as may be."""
        key = client.key
        total, mine = self.receiving_limit, self.client_receiving_limit
        with self._lock:
            receiving, by_client = self._receiving, self._receiving_by.get(key, 0)
            admitted = (total <= 0 or receiving < total) and (mine <= 0 or by_client < mine)
            if admitted:
                self._receiving = receiving + 1
                self._receiving_by[key] = by_client + 1
        if admitted:
            return None
        if mine > 0 and by_client >= mine:
            return HttpError(
                429,
                "too_many_receiving",
                f"{client.label} has {by_client} requests waiting for their bodies at once, the most "
                f"one client may have (setting max_client_receiving); try again once one of them has "
                f"been sent",
                retry_after_s=1,
                receiving=by_client,
                max_client_receiving=mine,
            )
        return HttpError(
            503,
            "busy_receiving",
            f"{receiving} requests are receiving their bodies in this worker, the most it lets wait "
            f"for theirs at once (setting max_receiving_requests); try again in a second",
            retry_after_s=1,
            receiving=receiving,
            max_receiving_requests=total,
        )

    def held(self, key: str) -> int:
        """The requests of the client ``key`` in flight (for the tests)."""
        with self._lock:
            return self._held.get(key, 0)

    @property
    def receiving(self) -> int:
        """The requests receiving their bodies now (for the tests)."""
        with self._lock:
            return self._receiving

    def receiving_of(self, key: str) -> int:
        """The requests of the client ``key`` receiving their bodies now (for the tests)."""
        with self._lock:
            return self._receiving_by.get(key, 0)

    def _received(self, key: str) -> None:
        with self._lock:
            self._receiving -= 1
            left = self._receiving_by.get(key, 0) - 1
            if left > 0:
                self._receiving_by[key] = left
            else:
                self._receiving_by.pop(key, None)

    def _give_back(self, key: str) -> None:
        with self._lock:
            held = self._held.get(key, 0) - 1
            if held > 0:
                self._held[key] = held
            else:
                self._held.pop(key, None)


def receiving_limit(setting: int, threads: int) -> int:
    """The requests a worker of ``threads`` threads (:attr:`kg.config.Settings.worker_threads`) lets
    receive their bodies at once: the setting, at most half the threads; 0: no limit."""
    return 0 if setting <= 0 else max(1, min(setting, threads // 2))


def _has_body(environ: dict[str, Any]) -> bool:
    """Whether the request says a body follows (a length other than 0, or chunks)."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        return length != "0"
    return bool(environ.get("HTTP_TRANSFER_ENCODING"))


def _length(environ: dict[str, Any]) -> int | None:
    """The body's announced length (None: chunked, or not a number)."""
    length = environ.get("CONTENT_LENGTH", "")
    return int(length) if length.isdigit() else None


class _Receiving:
    """``wsgi.input`` of a request counted as receiving its body: :meth:`received` is called (once)
    when the body has been read whole (its announced length, or the end of its chunks), or by the
    server's layer when the answer is ready."""

    __slots__ = ("_done", "_left", "_stream")

    def __init__(self, stream: Any, length: int | None, done: Callable[[], None]):
        self._stream = stream
        self._left = length
        self._done: Callable[[], None] | None = done

    def received(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            done()

    def _count(self, data: bytes) -> bytes:
        if self._done is not None:
            if not data:
                self.received()
            elif self._left is not None:
                self._left -= len(data)
                if self._left <= 0:
                    self.received()
        return data

    def read(self, *size: Any) -> bytes:
        return self._count(self._stream.read(*size))

    def readline(self, *size: Any) -> bytes:
        return self._count(self._stream.readline(*size))

    def readlines(self, *hint: Any) -> list[bytes]:
        lines: list[bytes] = self._stream.readlines(*hint)
        self._count(b"".join(lines))
        return lines

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            yield self._count(chunk)
        self.received()


class _Held:
    """An answer still being written: its slot is given back when the server closes it (PEP 3333:
    ``close`` is called once the answer is done with, whether it was written whole or not)."""

    def __init__(self, body: Iterable[bytes], give_back: Callable[[], None]):
        self._body = body
        self._give_back: Callable[[], None] | None = give_back

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            give_back, self._give_back = self._give_back, None
            if give_back is not None:
                give_back()


def register(app: Flask) -> None:
    """Flask's side: a request refused by :class:`ClientSlots` is answered with its error, before
    any view reads its body."""

    @app.before_request
    def refuse_past_the_limit() -> None:
        refused = request.environ.get(REFUSED)
        if refused is not None:
            raise refused
