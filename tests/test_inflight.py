"""One client's requests in flight at once (server/core/inflight.py): past ``max_client_requests``
it is refused at once, before its body is read, and nobody else is. All clients' requests receiving
their bodies: past ``max_receiving_requests`` a request with a body is refused (503) unread, and
requests without one are answered.

The app as ``serve`` builds it, in process (werkzeug's test client): a response taken with
``buffered=False`` is still being written, so it holds its slot until it is closed (an answer of
``/sparql``'s fast path is written whole: its slot is given back at once). The real server
against connections that never finish their bodies: ``tests/test_serve_workers.py``.
"""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from kg.config import Settings
from kg.engine.process import OxigraphProcess
from server.app import create_app
from server.core.inflight import ClientSlots, _Receiving, receiving_limit
from server.sparql.protocol import FORM_MEDIA_TYPE as FORM
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


# --- requests receiving their bodies, all clients together ------------------------------------------


def test_bodies_stop_counting_once_read_or_answered(two_at_once: FlaskClient) -> None:
    """A request with a body counts as receiving it until it has been read whole, or until its answer
    is ready if it never reads it (a 404, a refusal, a body nobody asked for)."""
    slots = _slots(two_at_once)
    assert slots.receiving_limit == 64  # the default: half of the 128 threads at most
    two_at_once.post("/sparql", data={"query": "ASK {}"}, buffered=True)  # the fast path reads it
    two_at_once.post("/sparql", data="ASK {}", content_type="application/sparql-query", buffered=True)
    two_at_once.post("/sparql", data={"query": "SELECT nonsense"}, buffered=True)  # Flask reads it again
    assert two_at_once.post("/no/such/page", data=b"x" * 1000, buffered=True).status_code == 404
    assert two_at_once.post("/sparql", data=b"", content_type=FORM, buffered=True).status_code == 400
    assert slots.receiving == 0 and slots.held("ip:127.0.0.1") == 0
    assert slots.receiving_of("ip:127.0.0.1") == 0 and slots.client_receiving_limit == 4


def test_past_the_receiving_limit_a_body_is_refused_with_a_503_unread(
    server_settings: Settings, server_engine: OxigraphProcess
) -> None:
    app = create_app(server_settings.with_(max_receiving_requests=1), server_engine)
    slots = _slots(app.test_client())
    assert slots.receiving_limit == 1
    slots._receiving = 1  # as if one request were waiting for its body
    client = app.test_client()
    response = client.post("/sparql", data={"query": "ASK {}"}, buffered=True)
    body = response.json
    assert response.status_code == 503 and body is not None and body["error"] == "busy_receiving"
    assert body["status"] == 503 and response.headers["Retry-After"] == "1"
    assert body["max_receiving_requests"] == 1 and body["receiving"] == 1
    assert "max_receiving_requests" in body["message"]
    # requests without a body are answered as usual
    answer = client.get("/sparql", query_string={"query": "ASK {}"}, buffered=True)
    assert answer.status_code == 200 and answer.json == {"head": {}, "boolean": True}
    slots._receiving = 0
    assert client.post("/sparql", data={"query": "ASK {}"}, buffered=True).status_code == 200
    assert slots.receiving == 0
    found = samples(client.get("/-/metrics", buffered=True).get_data(as_text=True))
    assert value(found, "alatau_kg_refusals_total", code="busy_receiving") == 1


def test_past_its_share_of_receiving_a_client_is_refused_with_a_429(
    server_settings: Settings, server_engine: OxigraphProcess
) -> None:
    app = create_app(server_settings.with_(max_client_receiving=2), server_engine)
    client = app.test_client()
    slots = _slots(client)
    slots._receiving_by["ip:127.0.0.1"] = 2  # as if two of its requests were waiting for their bodies
    slots._receiving = 2
    response = client.post("/sparql", data={"query": "ASK {}"}, buffered=True)
    body = response.json
    assert response.status_code == 429 and body is not None and body["error"] == "too_many_receiving"
    assert response.headers["Retry-After"] == "1" and body["max_client_receiving"] == 2
    assert "address 127.0.0.1" in body["message"] and "max_client_receiving" in body["message"]
    # another client's body is received, and this client's requests without one are answered
    other = client.post("/sparql", data={"query": "ASK {}"}, environ_base=ELSEWHERE, buffered=True)
    assert other.status_code == 200
    assert client.get("/sparql", query_string={"query": "ASK {}"}, buffered=True).status_code == 200
    assert slots.receiving_of("ip:192.0.2.9") == 0 and slots.receiving == 2


@pytest.mark.parametrize(
    ("setting", "threads", "limit"), [(64, 128, 64), (64, 16, 8), (64, 2, 4), (0, 128, 0)]
)
def test_at_most_half_the_threads_receive(setting: int, threads: int, limit: int) -> None:
    assert receiving_limit(setting, Settings(server_threads=threads).worker_threads) == limit


@pytest.mark.parametrize("length", [None, 10])
def test_a_body_read_in_pieces_counts_until_its_end(length: int | None) -> None:
    done: list[int] = []
    stream = _Receiving(io.BytesIO(b"line one\nline two\n"), length, lambda: done.append(1))
    assert stream.readline() == b"line one\n" and not done
    assert stream.read(4) == b"line" and done == ([1] if length == 10 else [])
    assert stream.read() == b" two\n"
    assert stream.read() == b"" and done == [1]  # the end, for a body without a length
    stream.received()  # and the server's layer, when the answer is ready: counted once
    assert done == [1]
    iterated = _Receiving(io.BytesIO(b"a\nb\n"), None, lambda: done.append(2))
    assert list(iterated) == [b"a\n", b"b\n"] and done == [1, 2]
