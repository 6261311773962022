"""One client's requests in flight at once (server/core/inflight.py): past ``max_client_requests``
it is refused at once, before its body is read, and nobody else is.

The app as ``serve`` builds it, in process (werkzeug's test client): a response taken with
``buffered=False`` is still being written, so it holds its slot until it is closed (an answer of
``/sparql``'s fast path is written whole: its slot is given back at once). The real server
against connections that never finish their bodies: ``tests/test_serve_workers.py``.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from kg.config import Settings
from kg.engine.process import OxigraphProcess
from server.app import create_app
from server.core.inflight import ClientSlots
from tests.test_metrics import samples, value

pytest_plugins = ["tests.server_support"]

ELSEWHERE = {"REMOTE_ADDR": "192.0.2.9"}


@pytest.fixture
def two_at_once(server_settings: Settings, server_engine: OxigraphProcess) -> FlaskClient:
    # (the test fixtures turn the limit off: werkzeug's client closes an answer only when buffered)
    return create_app(server_settings.with_(max_client_requests=2), server_engine).test_client()


def _slots(client: FlaskClient) -> ClientSlots:
    slots = client.application.wsgi_app
    assert isinstance(slots, ClientSlots)
    return slots


def test_past_its_share_a_client_is_refused_and_others_are_not(two_at_once: FlaskClient) -> None:
    first = two_at_once.get("/-/health", buffered=False)
    second = two_at_once.get("/-/health", buffered=False)
    assert (first.status_code, second.status_code) == (200, 200)
    assert _slots(two_at_once).held("ip:127.0.0.1") == 2

    refused = two_at_once.post(
        "/sparql", data="ASK {}", content_type="application/sparql-query"
    )  # refused before its body is read: the fast path never saw it
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    body = refused.get_json()
    assert body["error"] == "too_many_in_flight"
    assert body["max_client_requests"] == 2 and body["in_flight"] == 2
    assert "address 127.0.0.1" in body["message"] and "max_client_requests" in body["message"]

    other = two_at_once.get("/sparql", query_string={"query": "ASK {}"}, environ_base=ELSEWHERE)
    assert other.status_code == 200 and other.get_json()["boolean"] is True

    first.close()  # written: its slot is given back
    assert _slots(two_at_once).held("ip:127.0.0.1") == 1
    two_at_once.get("/-/health", buffered=True)  # read whole and closed
    assert _slots(two_at_once).held("ip:127.0.0.1") == 1
    second.close()
    assert _slots(two_at_once).held("ip:127.0.0.1") == 0


def test_slots_are_given_back_after_answers_and_errors(two_at_once: FlaskClient) -> None:
    for query in ("ASK {}", "SELECT nonsense", "ASK {}"):  # answered, refused by the parser, cached
        two_at_once.get("/sparql", query_string={"query": query}, buffered=True)
        two_at_once.post("/sparql", data={"query": query}, buffered=True)
    assert two_at_once.get("/no/such/page", buffered=True).status_code == 404
    assert _slots(two_at_once).held("ip:127.0.0.1") == 0
    assert all(two_at_once.get("/-/health", buffered=True).status_code == 200 for _ in range(5))


def test_a_refusal_is_counted_and_logged(two_at_once: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    held = [two_at_once.get("/-/health", buffered=False) for _ in range(2)]
    with caplog.at_level("INFO", logger="alatau_kg.access"):
        assert two_at_once.get("/-/health", buffered=True).status_code == 429
    for response in held:
        response.close()
    assert any(r.getMessage().startswith("127.0.0.1 GET /-/health 429") for r in caplog.records)
    found = samples(two_at_once.get("/-/metrics", buffered=True).get_data(as_text=True))
    assert value(found, "alatau_kg_refusals_total", code="too_many_in_flight") == 1


def test_no_limit_counts_nothing(server_settings: Settings, server_engine: OxigraphProcess) -> None:
    client = create_app(server_settings.with_(max_client_requests=0), server_engine).test_client()
    held = [client.get("/-/health", buffered=False) for _ in range(20)]
    assert all(r.status_code == 200 for r in held)
    assert _slots(client).held("ip:127.0.0.1") == 0
    for response in held:
        response.close()
