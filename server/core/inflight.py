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

A slot is taken when the request reaches the app and given back when its answer has been written
(the answer's iterable closed). A refused request goes through Flask (:func:`register`), which
answers it in the one JSON error shape and observes it like every other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask, request

from server.core.clients import Identifier
from server.core.errors import HttpError

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

REFUSED = "alatau_kg.in_flight_refused"  # the environ's key of a request refused here


class ClientSlots:
    """The WSGI layer that counts each client's requests in flight in this process (see the module's
    docstring); ``limit`` 0: no limit. ``flask`` answers the refused ones (the app's ``wsgi_app``)."""

    def __init__(self, app: Wsgi, flask: Wsgi, identifier: Identifier, limit: int):
        self.app = app  # the layer it guards (the fast path, then Flask)
        self._flask = flask
        self._identifier = identifier
        self.limit = limit
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.limit <= 0:
            return self.app(environ, start_response)
        client = self._identifier.by_address(environ)
        key = client.key
        with self._lock:
            held = self._held.get(key, 0)
            if held < self.limit:
                self._held[key] = held + 1
        if held >= self.limit:
            environ[REFUSED] = HttpError(
                429,
                "too_many_in_flight",
                f"{client.label} has {held} requests in flight at once, the most one client may have "
                f"(setting max_client_requests); try again once one of them has been answered",
                headers={"Retry-After": "1"},
                retry_after_s=1,
                in_flight=held,
                max_client_requests=self.limit,
            )
            return self._flask(environ, start_response)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._give_back(key)
            raise
        if type(body) is list:  # written whole: nothing more of this request will run
            self._give_back(key)
            return body
        return _Held(body, lambda: self._give_back(key))

    def held(self, key: str) -> int:
        """The requests of the client ``key`` in flight (for the tests)."""
        with self._lock:
            return self._held.get(key, 0)

    def _give_back(self, key: str) -> None:
        with self._lock:
            held = self._held.get(key, 0) - 1
            if held > 0:
                self._held[key] = held
            else:
                self._held.pop(key, None)


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
