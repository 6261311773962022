"""``server.sparql.fast``: ``/sparql``'s common case before Flask answers exactly as the Flask route
would, and everything else (refusals, errors, unusual requests) still goes through Flask."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from kg.config import Settings
from kg.engine.process import OxigraphProcess
from server.app import create_app
from server.core.inflight import ClientSlots
from server.sparql.fast import FastQueries
from tests.server_support import PATHOLOGICAL

pytest_plugins = ["tests.server_support"]

JSON = "application/sparql-results+json"
FORM = "application/x-www-form-urlencoded"


def environ(
    method: str, query_string: str = "", body: bytes = b"", content_type: str = "", **headers: str
) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": "/sparql",
        "QUERY_STRING": query_string,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if body or method == "POST":
        env["CONTENT_LENGTH"] = str(len(body))
        env["CONTENT_TYPE"] = content_type
    env.update({"HTTP_" + name.upper(): value for name, value in headers.items()})
    return env


class Counting:
    """Flask's WSGI app, counting the requests that reach it."""

    def __init__(self, inner: Callable[..., Iterable[bytes]]):
        self.inner = inner
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.calls += 1
        return self.inner(environ, start_response)


def call(app: Callable[..., Iterable[bytes]], env: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    started: list[tuple[str, list[tuple[str, str]]]] = []
    body_parts = app(env, lambda status, headers, exc_info=None: started.append((status, headers)))
    body = b"".join(body_parts)
    if hasattr(body_parts, "close"):
        body_parts.close()
    status, headers = started[0]
    return int(status.split()[0]), dict(headers), body


def fast_app(settings: Settings, engine: OxigraphProcess) -> tuple[Flask, FastQueries, Counting]:
    app = create_app(settings, engine)
    slots = app.wsgi_app
    assert isinstance(slots, ClientSlots)  # first, before any body is read (tests/test_inflight.py)
    fast = slots.app
    assert isinstance(fast, FastQueries)
    counting = Counting(fast._flask)
    fast._flask = counting
    return app, fast, counting


@pytest.fixture
def no_cache(server_settings: Settings) -> Settings:
    return server_settings.with_(result_cache_bytes=0)


REQUESTS = [
    ("GET", urlencode({"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 2"}), b"", "", JSON),
    ("GET", urlencode({"query": "ASK { ?s ?p ?o }", "format": "xml"}), b"", "", "*/*"),
    (
        "POST",
        "",
        urlencode({"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}).encode(),
        FORM,
        "text/csv",
    ),
    ("POST", "", b"CONSTRUCT WHERE { ?s ?p ?o } LIMIT 3", "application/sparql-query", "text/turtle"),
    ("POST", "view=asserted", b"SELECT * WHERE { ?s ?p ?o } LIMIT 1", "application/sparql-query", JSON),
]


@pytest.mark.parametrize(("method", "query_string", "body", "content_type", "accept"), REQUESTS)
def test_the_fast_path_answers_as_flask_does(
    no_cache: Settings,
    server_engine: OxigraphProcess,
    method: str,
    query_string: str,
    body: bytes,
    content_type: str,
    accept: str,
) -> None:
    _, fast, counting = fast_app(no_cache, server_engine)
    env = environ(method, query_string, body, content_type, accept=accept)
    by_fast = call(fast, env)
    assert counting.calls == 0  # answered before Flask
    by_flask = call(fast._flask, environ(method, query_string, body, content_type, accept=accept))
    assert counting.calls == 1
    assert by_fast[0] == by_flask[0] == 200
    assert by_fast[1] == by_flask[1]  # every header, CORS's included
    assert by_fast[2] == by_flask[2]


def test_a_refusal_is_handed_to_flask_and_observed_once(
    server_settings: Settings, server_engine: OxigraphProcess, caplog: pytest.LogCaptureFixture
) -> None:
    app, fast, counting = fast_app(server_settings, server_engine)
    deep = "SELECT * WHERE " + "{ " * 200 + "?s ?p ?o" + " }" * 200
    with caplog.at_level(logging.INFO, logger="alatau_kg.access"):
        status, headers, body = call(fast, environ("GET", urlencode({"query": deep})))
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert b'"error": "query_too_complex"' in body
    assert counting.calls == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "alatau_kg.access"]
    assert len(lines) == 1 and " /sparql 400 " in lines[0]
    metrics = app.test_client().get("/-/metrics").get_data(as_text=True)
    assert 'alatau_kg_refusals_total{code="query_too_complex"} 1.0' in metrics
    assert 'alatau_kg_requests_total{route="/sparql",status="400"} 1.0' in metrics


def test_a_timeout_is_answered_by_flask_and_timed_from_the_start(
    server_settings: Settings, server_engine: OxigraphProcess, caplog: pytest.LogCaptureFixture
) -> None:
    _, fast, counting = fast_app(server_settings, server_engine)
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="alatau_kg.access"):
        status, _, body = call(fast, environ("GET", urlencode({"query": PATHOLOGICAL})))
    took_ms = (time.perf_counter() - started) * 1000
    assert status == 503 and b'"error": "query_timeout"' in body
    assert counting.calls == 1  # the engine ran it once: Flask raised what the fast path met
    line = next(r.getMessage() for r in caplog.records if r.name == "alatau_kg.access")
    logged_ms = float(line.rsplit(" ", 1)[1].removesuffix("ms"))
    assert logged_ms >= server_settings.query_timeout_s * 1000 * 0.9 and logged_ms <= took_ms


@pytest.mark.parametrize(
    "env",
    [
        environ("GET"),  # the service description
        environ("HEAD", urlencode({"query": "ASK {}"})),
        environ("GET", urlencode({"query": "ASK {}"}), if_none_match='W/"x"'),
        environ("POST", "", b"ASK {}", "application/sparql-query; charset=utf-8"),
        environ("POST", "", urlencode({"query": "ASK {}", "update": "CLEAR ALL"}).encode(), FORM),
        environ("POST", "", b"ASK {}", "text/plain"),
        environ("GET", urlencode([("query", "ASK {}"), ("query", "ASK {}")])),
    ],
    ids=["description", "head", "if-none-match", "charset", "update", "media-type", "two-queries"],
)
def test_anything_unusual_goes_on_to_flask(
    server_settings: Settings, server_engine: OxigraphProcess, env: dict[str, Any]
) -> None:
    _, fast, counting = fast_app(server_settings, server_engine)
    status, _, _ = call(fast, env)
    assert counting.calls == 1
    assert status in (200, 400, 415)


def test_a_body_read_by_the_fast_path_is_read_again_by_flask(
    server_settings: Settings, server_engine: OxigraphProcess
) -> None:
    _, fast, counting = fast_app(server_settings, server_engine)
    body = urlencode({"query": "ASK {}", "update": "CLEAR ALL"}).encode()
    status, _, answer = call(fast, environ("POST", "", body, FORM))
    assert counting.calls == 1
    assert status == 400 and b'"error": "update_not_supported"' in answer


def test_cors_is_on_fast_answers(server_settings: Settings, server_engine: OxigraphProcess) -> None:
    _, fast, counting = fast_app(server_settings.with_(cors_origin="https://example.org"), server_engine)
    status, headers, _ = call(fast, environ("GET", urlencode({"query": "ASK {}"})))
    assert counting.calls == 0 and status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://example.org"
    assert headers["Vary"] == "Accept, Origin"
