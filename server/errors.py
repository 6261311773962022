"""Every error the web layer answers, in one JSON shape, produced here and only here.

    {"error": "<code>", "message": "<for a person>", "status": <http status>, ...details}

Library errors (:mod:`kg.errors`, :mod:`kg.engine`) are mapped to HTTP by :data:`STATUS_OF`;
protocol errors of the web layer are :class:`HttpError`; werkzeug's own (404, 405, 413) get the same
shape. Anything else is a bug: logged with its traceback, answered 500 without details.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from kg.engine import EngineError, EngineUnavailable, QueryTimeout, ResultTooLarge
from kg.errors import KGError, LoadError, QuerySyntaxError, StoreError, UsageError
from server.negotiation import NotAcceptable, UnknownFormat

log = logging.getLogger("alatau_kg.server")


class HttpError(Exception):
    """A request the endpoint refuses, with its status, code and details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **details: Any,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details


# The most specific class wins (the table is searched along the exception's MRO).
STATUS_OF: dict[type[KGError], tuple[int, str]] = {
    QuerySyntaxError: (400, "query_syntax_error"),
    UsageError: (400, "bad_request"),
    LoadError: (400, "unreadable_input"),
    QueryTimeout: (503, "query_timeout"),
    ResultTooLarge: (503, "result_too_large"),
    EngineUnavailable: (503, "engine_unavailable"),
    EngineError: (502, "engine_error"),
    StoreError: (503, "store_unavailable"),
}

# werkzeug's HTTP errors, by status, as codes
HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **details: Any
) -> Response:
    body = {"error": code, "message": message, "status": status, **details}
    response = Response(
        json.dumps(body, ensure_ascii=False) + "\n", status=status, mimetype="application/json"
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _from_http_error(exc: HttpError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.headers, **exc.details)


def _from_kg_error(exc: KGError) -> Response:
    status, code = next(
        (STATUS_OF[cls] for cls in type(exc).__mro__ if cls in STATUS_OF), (500, "internal_error")
    )
    details = exc.to_dict()
    details.pop("error", None)
    message = details.pop("message", str(exc))
    if status >= 500:
        log.warning("%s: %s", code, message)
    return error_response(status, code, message, **details)


def _from_werkzeug(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    code = HTTP_CODES.get(status, (exc.name or "error").lower().replace(" ", "_"))
    return error_response(status, code, exc.description or exc.name, headers)


def _from_not_acceptable(exc: NotAcceptable) -> Response:
    return error_response(406, "not_acceptable", str(exc), available=exc.available)


def _from_unknown_format(exc: UnknownFormat) -> Response:
    return error_response(400, "unknown_format", str(exc))


def _from_bug(exc: Exception) -> Response:
    log.exception("internal error")
    return error_response(500, "internal_error", "internal error: this is a bug, and it has been logged")


def register(app: Flask) -> None:
    app.register_error_handler(HttpError, _from_http_error)
    app.register_error_handler(KGError, _from_kg_error)
    app.register_error_handler(NotAcceptable, _from_not_acceptable)
    app.register_error_handler(UnknownFormat, _from_unknown_format)
    app.register_error_handler(HTTPException, _from_werkzeug)
    app.register_error_handler(Exception, _from_bug)
