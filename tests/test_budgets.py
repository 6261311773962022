"""Per-client budgets: engine time, errors and queries per minute, shared by the workers; who a client
is (address, IPv6 network, trusted proxies, steward tokens); what a refusal looks like."""

from __future__ import annotations

import os
import time

import pytest
import requests
from flask.testing import FlaskClient

from kg.changes.tokens import Tokens, digest
from kg.config import Settings
from kg.engine.process import OxigraphProcess
from kg.errors import Forbidden
from server.app import create_app
from server.core.budgets import Budgets
from server.core.clients import Client, Identifier
from server.core.errors import HttpError
from tests.server_support import PATHOLOGICAL, serve_process, workers_seen

pytest_plugins = ["tests.server_support"]

ALICE = Client("ip:192.0.2.1", "address 192.0.2.1")
BOB = Client("ip:192.0.2.2", "address 192.0.2.2")
STEWARD = Client("token:aigerim", "token aigerim", steward=True)


def budgets(**changes: float) -> Budgets:
    values = {
        "query_seconds_per_minute": 6.0,  # 0.1 s a second
        "query_seconds_burst": 1.0,
        "errors_per_minute": 0.0,
        "steward_query_seconds_per_minute": 0.0,
        **changes,
    }
    return Budgets(Settings().with_(**values))


# --- the buckets ------------------------------------------------------------------------------------


def test_engine_time_past_the_budget_is_refused_with_retry_after() -> None:
    b = budgets()
    b.admit(ALICE)
    b.charge(ALICE, 1.5, failed=False)  # 0.5 s into debt
    with pytest.raises(HttpError) as refused:
        b.admit(ALICE)
    error = refused.value
    assert error.status == 429 and error.code == "query_time_exceeded"
    assert 5 <= int(error.headers["Retry-After"]) <= 7  # 0.5 s of debt at 0.1 s a second
    assert "1.5 s of engine time" in error.message and "6 s a minute" in error.message
    assert error.details["spent_s"] == pytest.approx(1.5, abs=0.01)
    b.admit(BOB)  # another client has its own budget


def test_a_refused_request_costs_time_so_hammering_pushes_the_wait_out() -> None:
    b = budgets(refused_cost_s=1.0)
    b.charge(ALICE, 1.5, failed=False)
    waits = []
    for _ in range(3):
        with pytest.raises(HttpError) as refused:
            b.admit(ALICE)
        waits.append(int(refused.value.headers["Retry-After"]))
    assert waits[0] < waits[1] < waits[2]


def test_a_timeout_costs_more_and_a_kill_most() -> None:
    plain, timed_out, killed = budgets(), budgets(), budgets()
    plain.charge(ALICE, 1.2, failed=True)
    timed_out.charge(ALICE, 1.2, failed=True, timed_out=True)
    killed.charge(ALICE, 1.2, failed=True, timed_out=True, killed=True)

    def wait(b: Budgets) -> int:
        with pytest.raises(HttpError) as refused:
            b.admit(ALICE)
        return int(refused.value.headers["Retry-After"])

    assert wait(plain) < wait(timed_out) < wait(killed)
    assert wait(killed) > 120 * 10  # kill_cost_s (120 s) at 0.1 s a second


def test_the_budget_refills_with_time() -> None:
    b = budgets(query_seconds_per_minute=600.0)  # 10 s a second
    b.charge(ALICE, 1.2, failed=False)
    with pytest.raises(HttpError):
        b.admit(ALICE)
    time.sleep(0.2)  # 2 s back: out of debt
    b.admit(ALICE)


def test_errors_past_their_budget_are_refused() -> None:
    b = budgets(query_seconds_per_minute=0.0, errors_per_minute=6.0, errors_burst=3.0)
    for _ in range(3):
        b.admit(ALICE)
        b.charge(ALICE, 0.001, failed=True)
    with pytest.raises(HttpError) as refused:
        b.admit(ALICE)
    assert refused.value.code == "errors_exceeded" and "3 failed queries" in refused.value.message


def test_stewards_have_their_own_budget() -> None:
    b = budgets(steward_query_seconds_per_minute=60.0, steward_query_seconds_burst=10.0)
    b.charge(STEWARD, 5.0, failed=False)
    b.admit(STEWARD)  # within its own, larger budget
    b.charge(ALICE, 5.0, failed=False)
    with pytest.raises(HttpError):
        b.admit(ALICE)
    unlimited = budgets(steward_query_seconds_per_minute=0.0)
    unlimited.charge(STEWARD, 1e6, failed=False)
    unlimited.admit(STEWARD)


def test_a_cached_answer_is_limited_only_by_the_query_rate() -> None:
    b = budgets()
    b.charge(ALICE, 5.0, failed=False)
    b.admit(ALICE, cached=True)  # costs no engine time: not refused for it
    rated = budgets(rate_limit_per_minute=60.0, rate_limit_burst=1)
    rated.admit(ALICE, cached=True)
    with pytest.raises(HttpError) as refused:
        rated.admit(ALICE, cached=True)
    assert refused.value.code == "rate_limited"


def test_the_budgets_are_shared_with_forked_workers() -> None:
    b = budgets()
    pid = os.fork()
    if pid == 0:  # a worker spends the client's budget
        b.charge(ALICE, 5.0, failed=False)
        os._exit(0)
    os.waitpid(pid, 0)
    with pytest.raises(HttpError):  # and every other worker sees it
        b.admit(ALICE)


def test_the_table_reuses_the_least_recent_slot_when_full() -> None:
    b = Budgets(Settings().with_(query_seconds_per_minute=6.0, query_seconds_burst=1.0, budget_clients=16))
    for i in range(200):  # far more clients than slots: no error, budgets kept for recent clients
        client = Client(f"ip:10.0.0.{i}", f"address 10.0.0.{i}")
        b.charge(client, 5.0, failed=False)
        with pytest.raises(HttpError):
            b.admit(client)


# --- who is asking ------------------------------------------------------------------------------------


def environ(address: str, **headers: str) -> dict[str, str]:
    return {"REMOTE_ADDR": address, **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}}


def test_a_client_is_its_address_and_an_ipv6_client_its_network() -> None:
    identify = Identifier().identify
    assert identify(environ("192.0.2.7")).key == "ip:192.0.2.7"
    assert identify(environ("2001:db8:1:2::7")) == identify(environ("2001:db8:1:2:ffff::1"))
    assert identify(environ("2001:db8:1:2::7")).key == "net:2001:db8:1:2::/64"
    assert identify(environ("2001:db8:1:3::7")) != identify(environ("2001:db8:1:2::7"))
    assert identify(environ("::ffff:192.0.2.7")).key == "ip:192.0.2.7"


def test_x_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    identify = Identifier("10.0.0.0/8 ::1").identify
    assert identify(environ("10.1.2.3", x_forwarded_for="198.51.100.9")).key == "ip:198.51.100.9"
    # the client writes what it likes to the left of the proxies' hops: only the last untrusted counts
    spoofed = environ("10.1.2.3", x_forwarded_for="203.0.113.1, 198.51.100.9, 10.0.0.5")
    assert identify(spoofed).key == "ip:198.51.100.9"
    assert identify(environ("198.51.100.9", x_forwarded_for="203.0.113.1")).key == "ip:198.51.100.9"
    assert identify(environ("10.1.2.3", x_forwarded_for="not an address")).key == "ip:10.1.2.3"
    assert Identifier().identify(environ("10.1.2.3", x_forwarded_for="198.51.100.9")).key == "ip:10.1.2.3"


def test_a_steward_token_is_its_own_client_and_a_bad_one_is_refused() -> None:
    tokens = Tokens.load(None, f"aigerim:writer:{digest('secret')}")
    identify = Identifier("", tokens).identify
    assert identify(environ("192.0.2.7", authorization="Bearer secret")) == STEWARD
    with pytest.raises(Forbidden):
        identify(environ("192.0.2.7", authorization="Bearer wrong"))
    # without tokens configured the header means nothing: the address is the client
    assert Identifier().identify(environ("192.0.2.7", authorization="Bearer x")).key == "ip:192.0.2.7"


# --- at the endpoint ------------------------------------------------------------------------------------


def refusal(response, code: str) -> dict:
    """A 429 in the one error shape (a Flask test response)."""
    assert response.status_code == 429, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code and body["status"] == 429 and body["message"], body
    return body  # type: ignore[no-any-return]


@pytest.fixture
def budgeted(server_settings: Settings, server_engine: OxigraphProcess) -> FlaskClient:
    settings = server_settings.with_(
        query_seconds_per_minute=6.0, query_seconds_burst=1.0, errors_per_minute=6.0, errors_burst=3.0
    )
    return create_app(settings, server_engine).test_client()


def test_a_client_whose_query_timed_out_is_refused_then(budgeted: FlaskClient) -> None:
    timed_out = budgeted.get("/sparql", query_string={"query": PATHOLOGICAL})
    assert timed_out.status_code == 503
    refused = budgeted.get("/sparql", query_string={"query": "ASK { ?s ?p 1 }"})
    body = refusal(refused, "query_time_exceeded")
    assert int(refused.headers["Retry-After"]) == body["retry_after_s"] >= 1
    assert body["budget"] == "query_time" and body["spent_s"] > 2
    assert "try again in" in body["message"]
    other = budgeted.get(
        "/sparql", query_string={"query": "ASK {}"}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other.status_code == 200


def test_a_client_that_keeps_failing_is_refused(budgeted: FlaskClient) -> None:
    for i in range(3):
        assert budgeted.get("/sparql", query_string={"query": f"SELECT nonsense {i}"}).status_code == 400
    refused = budgeted.get("/sparql", query_string={"query": "ASK {}"})
    assert refusal(refused, "errors_exceeded")["errors"] == 3


def test_budgets_hold_across_the_workers(server_settings: Settings) -> None:
    """One client spends its budget through one worker; the next queries, on new connections spread
    over both workers, are all refused."""
    env = {
        "ALATAU_KG_WORKERS": "2",
        "ALATAU_KG_QUERY_SECONDS_PER_MINUTE": "6",
        "ALATAU_KG_QUERY_SECONDS_BURST": "1",
    }
    with serve_process(server_settings, env) as served:
        timed_out = requests.get(served.url + "/sparql", params={"query": PATHOLOGICAL}, timeout=60)
        assert timed_out.status_code == 503
        close = {"Connection": "close"}
        statuses = [
            requests.get(
                served.url + "/sparql", params={"query": f"ASK {{ ?s ?p {i} }}"}, headers=close, timeout=30
            ).status_code
            for i in range(12)
        ]
        assert statuses == [429] * 12
        assert len(workers_seen(served.url)) == 2  # both workers answer: one refused every query above
