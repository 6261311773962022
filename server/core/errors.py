"""Every error the web layer answers, in one JSON shape, produced here and only here.

    {"error": "<code>", "message": "<for a person>", "status": <http status>, ...details}

Library errors (:mod:`kg.errors`, :mod:`kg.engine.process`) are mapped to HTTP by :data:`STATUS_OF`;
protocol errors of the web layer are :class:`HttpError`; werkzeug's own (404, 405, 413) get the same
shape. Anything else is a bug: logged with its traceback, answered 500 without details.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, has_request_context, json, request
from werkzeug.exceptions import HTTPException

from kg.checks.report import Report
from kg.errors import (
    EngineError,
    Forbidden,
    KGError,
    LoadError,
    NotConformant,
    NotFound,
    ProposalClosed,
    ProtectedGraph,
    QuerySyntaxError,
    QueryTimeout,
    ResultTooLarge,
    ResultTruncated,
    ShapesError,
    StoreError,
    Unauthorized,
    UsageError,
    WriteConflict,
    WriteRefused,
)
from server.core.negotiation import (
    NotAcceptable,
    UnknownFormat,
    best_language,
    parse_accept,
    prefers_html,
    quality,
)

log = logging.getLogger("alatau_kg.server")


class HttpError(Exception):
    """A request the endpoint refuses, with its status, code and details; a ``retry_after_s`` detail
    (whole seconds) is also sent as ``Retry-After``, as for the library's errors."""

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
        if isinstance(retry := details.get("retry_after_s"), int):  # RFC 9110 §10.2.3, as for library errors
            self.headers = {**self.headers, "Retry-After": str(retry)}
        self.details = details


class ResourceNotFound(HttpError):
    """The dataset knows nothing about an IRI: a page for people (where the app has one), else JSON."""

    def __init__(self, iri: str):
        super().__init__(404, "not_found", f"the dataset knows nothing about {iri}", iri=iri)
        self.iri = iri


# Every library error class, its HTTP status and the headers it adds. The most specific class wins
# (the table is searched along the exception's MRO); the code is the error's own (``KGError.code``).
STATUS_OF: dict[type[KGError], int] = {
    LoadError: 400,
    QuerySyntaxError: 400,
    UsageError: 400,
    WriteRefused: 400,
    Unauthorized: 401,
    Forbidden: 403,
    ProtectedGraph: 403,
    NotFound: 404,
    WriteConflict: 409,
    ProposalClosed: 409,
    NotConformant: 422,
    ShapesError: 500,
    EngineError: 502,
    QueryTimeout: 503,
    ResultTooLarge: 503,
    ResultTruncated: 503,
    StoreError: 503,
}
HEADERS_OF: dict[type[KGError], dict[str, str]] = {
    Unauthorized: {"WWW-Authenticate": 'Bearer realm="alatau-kg"'},
    WriteConflict: {"Retry-After": "1"},
}


def status_of(exc: KGError) -> int:
    return next((STATUS_OF[cls] for cls in type(exc).__mro__ if cls in STATUS_OF), 500)


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
    if has_request_context():
        g.error_code = code  # counted by the metrics (server.app)
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
    if isinstance(exc, NotConformant):
        return report_response(exc.report, status_of(exc))
    status = status_of(exc)
    details = exc.to_dict()
    code = details.pop("error", exc.code)
    message = details.pop("message", str(exc))
    if status >= 500:
        log.warning("%s: %s", code, message)
    headers = next((HEADERS_OF[cls] for cls in type(exc).__mro__ if cls in HEADERS_OF), None)
    if isinstance(retry := getattr(exc, "retry_after_s", None), int):  # RFC 9110 §10.2.3
        headers = {**(headers or {}), "Retry-After": str(retry)}
    return error_response(status, code, message, headers, **details)


def report_language() -> str:
    """Reports speak English and Russian (the shapes' messages): Russian for a reader of kk or ru."""
    best = best_language(request.headers.get("Accept-Language"), ("en", "ru", "kk"))
    return "ru" if best in ("ru", "kk") else "en"


def report_response(report: Report, status: int) -> Response:
    """A validation report: JSON (the error shape when refused), or its RDF in Turtle when asked."""
    ranges = parse_accept(request.headers.get("Accept", "") or "*/*")
    if quality(ranges, ("text/turtle",)) > quality(ranges, ("application/json",)):
        return Response(report.to_turtle(), status=status, mimetype="text/turtle")
    body = {"conforms": report.conforms, **report.to_dict(report_language())}
    if status >= 400:
        g.error_code = "shapes_violated"
        body = {
            "error": "shapes_violated",
            "message": f"the change was refused: {report.violation_count} violation(s); nothing was stored",
            "status": status,
            **body,
        }
    return Response(json.dumps(body, ensure_ascii=False) + "\n", status=status, mimetype="application/json")


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


def register(app: Flask, *, not_found_page: Callable[[str], Response] | None = None) -> None:
    """Every handler; ``not_found_page`` renders the 404 page of an unknown IRI for browsers."""

    def from_resource_not_found(exc: ResourceNotFound) -> Response:
        if not_found_page is not None and prefers_html(request.headers.get("Accept", "")):
            return not_found_page(exc.iri)
        return _from_http_error(exc)

    app.register_error_handler(ResourceNotFound, from_resource_not_found)
    app.register_error_handler(HttpError, _from_http_error)
    app.register_error_handler(KGError, _from_kg_error)
    app.register_error_handler(NotAcceptable, _from_not_acceptable)
    app.register_error_handler(UnknownFormat, _from_unknown_format)
    app.register_error_handler(HTTPException, _from_werkzeug)
    app.register_error_handler(Exception, _from_bug)
