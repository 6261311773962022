"""CORS for the query operation (https://fetch.spec.whatwg.org/#http-cors-protocol).

Queries are read-only and carry no credentials, so any origin may send them by default
(``Access-Control-Allow-Origin: *``, never ``Allow-Credentials``). ``Settings.cors_origin`` sets
another origin, or turns CORS off when empty.
"""

from __future__ import annotations

from flask import Flask, Response, request

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Accept, Content-Type"
CORS_PATHS = ("/sparql",)
MAX_AGE_S = "86400"


def register(app: Flask, origin: str) -> None:
    if not origin:
        return

    @app.before_request
    def preflight() -> Response | None:
        """Answer a preflight before routing, so that OPTIONS needs no route of its own."""
        if request.method == "OPTIONS" and request.path in CORS_PATHS:
            response = Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = MAX_AGE_S
            response.headers["Allow"] = ALLOWED_METHODS
            return response
        return None

    @app.after_request
    def allow_origin(response: Response) -> Response:
        if request.path in CORS_PATHS:
            response.headers["Access-Control-Allow-Origin"] = origin
            if origin != "*":
                response.vary.add("Origin")
        return response
