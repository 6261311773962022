"""The query operation's common case, answered without Flask's machinery: a WSGI layer before Flask.

Every query pays what Flask does per request (a request context pushed and popped, the URL matched,
the hooks, werkzeug's request and response objects): ~100–150 µs of CPU, as much as a cached answer
costs otherwise (``bench/RESULTS.md``). This layer takes ``GET`` and ``POST`` requests to ``/sparql``
that carry a query the plain way (``query`` in the URL, a form, or an ``application/sparql-query``
body without parameters), runs them through the very function the Flask route runs
(:func:`server.sparql.protocol.answer`), and writes the result with the headers the route gives it
(:func:`server.sparql.protocol.reply_headers`), CORS's, and the observation Flask's hooks would make
(:class:`server.core.observation.Observer`).

Everything else goes on to Flask untouched: other paths and methods, the service description,
``If-None-Match`` (a ``304``), bodies without a length or past the limit, parameters in unusual
shapes, anything refused while reading the request (read again by Flask, which refuses it the same
way, before anything happened). An error met once the query was taken in hand (a refusal by the
limits, a budget's 429, the engine's timeout) is handed over to the Flask route with what was learnt
(:data:`server.sparql.protocol.HANDED_OVER`), which raises it: Flask's error handlers answer it in the
one JSON error shape, and its hooks observe it, as any other. Nothing is done twice.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from werkzeug.datastructures import MultiDict

from server.core.context import Context
from server.core.errors import HttpError
from server.core.forms import parse_form
from server.core.observation import Observer
from server.sparql.protocol import (
    FORM_MEDIA_TYPE,
    HANDED_OVER,
    QUERY_MEDIA_TYPE,
    Exchange,
    HandedOver,
    QueryRequest,
    _from_params,
    answer,
    reply_headers,
)

PATH = "/sparql"
REMEMBERED = 4096  # requests' texts whose reading is remembered (per worker)
REMEMBERED_BYTES = 4096  # a longer text is read afresh each time (at most 16 MB remembered)
STARTED = "alatau_kg.started"  # when the fast path took the request: Flask's hooks time it from then

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class FastQueries:
    """The WSGI app: ``/sparql``'s common case here, the rest to ``flask`` (the app's ``wsgi_app``)."""

    def __init__(self, flask: Wsgi, ctx: Context, observer: Observer):
        self._flask = flask
        self._ctx = ctx
        self._observer = observer
        self._max_bytes = ctx.settings.max_body_bytes
        self._origin = ctx.settings.cors_origin
        # (Content-Type, query string, body) -> what they make (None: Flask's to read)
        self._read_before: dict[tuple[str, str, str | None], QueryRequest | None] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if (
            environ.get("PATH_INFO") != PATH
            or method not in ("GET", "POST")
            or "HTTP_IF_NONE_MATCH" in environ
        ):
            return self._flask(environ, start_response)
        started = environ[STARTED] = time.perf_counter()
        op = self._read(environ, method)
        if op is None:
            return self._flask(environ, start_response)
        exchange = Exchange()
        try:
            outcome = answer(self._ctx, op, method, environ.get("HTTP_ACCEPT"), environ, exchange)
        except Exception as exc:
            environ[HANDED_OVER] = HandedOver(exc, exchange)
            return self._flask(environ, start_response)
        result = outcome.answer
        headers = [("Content-Type", result.content_type), ("Content-Length", str(len(result.body)))]
        extra = reply_headers(self._ctx, method, outcome)
        if self._origin:
            headers.append(("Access-Control-Allow-Origin", self._origin))
            if self._origin != "*":
                extra["Vary"] += ", Origin"
        headers += extra.items()
        start_response(f"{result.status} {_phrase(result.status)}", headers)
        self._observer.done(
            environ,
            PATH,
            result.status,
            time.perf_counter() - started,
            form=exchange.form,
            client=exchange.client,
            charged=exchange.charged,
        )
        return [result.body]

    def _read(self, environ: dict[str, Any], method: str) -> QueryRequest | None:
        """The operation, if the request asks for it the plain way; None: Flask reads it (a body read
        here is put back for it). What a request's text makes is remembered for a while: a client
        that repeats a query sends the same text (percent-decoding a form is most of its reading)."""
        query_string = environ.get("QUERY_STRING", "")
        if len(query_string) > self._max_bytes:
            return None
        key: tuple[str, str, str | None]
        if method == "GET":
            key = ("", query_string, "")
        else:
            length = environ.get("CONTENT_LENGTH", "")
            if not length.isdigit() or int(length) > self._max_bytes:
                return None
            body = self._body(environ, int(length))
            key = (environ.get("CONTENT_TYPE", ""), query_string, body)
        try:
            return self._read_before[key]
        except KeyError:
            pass
        op = self._parse(method, *key)
        if len(key[1]) + len(key[2] or "") <= REMEMBERED_BYTES:
            if len(self._read_before) >= REMEMBERED:
                self._read_before.clear()
            self._read_before[key] = op
        return op

    def _parse(
        self, method: str, content_type: str, query_string: str, body: str | None
    ) -> QueryRequest | None:
        try:
            args = parse_form(query_string.encode("latin-1").decode())
        except UnicodeError:
            return None
        if method == "GET":
            params = MultiDict(args)
            return _operation(params, params.getlist("query"))
        if body is None:
            return None
        media_type, _, options = content_type.partition(";")
        media_type = media_type.strip().lower()
        if media_type == QUERY_MEDIA_TYPE and not options.strip():
            if any(name == "query" for name, _ in args):
                return None
            return _operation(MultiDict(args), [body])
        if media_type == FORM_MEDIA_TYPE:
            form = parse_form(body)
            params = MultiDict([*args, *form])
            return _operation(params, params.getlist("query"))
        return None

    @staticmethod
    def _body(environ: dict[str, Any], length: int) -> str | None:
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # for Flask, if it is to read the request after all
        try:
            return str(body.decode("utf-8"))
        except UnicodeDecodeError:
            return None


def _operation(params: MultiDict[str, str], query_values: list[str]) -> QueryRequest | None:
    """The operation of a request with one query; None for one without (the service description, or
    a refusal) or refused: Flask reads it again and answers it."""
    if len(query_values) != 1:
        return None
    try:
        op = _from_params(params, query_values)
    except HttpError:
        return None
    return op if op.query and op.query.strip() else None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
