"""``/-/metrics``: the Prometheus text format, every metric the docs name, summed over the workers."""

from __future__ import annotations

import logging
import os
import shutil
import signal

import pytest
import requests
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from kg.config import Settings
from kg.engine import events
from kg.engine.process import OxigraphProcess
from server.app import create_app
from server.deploy.logs import LOG_FORMAT, LineFormatter
from tests.server_support import PATHOLOGICAL, serve_process, wait_until, workers_seen

pytest_plugins = ["tests.server_support"]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and labels (parsed by prometheus_client's own parser)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def client(server_settings: Settings, server_engine: OxigraphProcess) -> FlaskClient:
    return create_app(server_settings, server_engine).test_client()


def test_requests_latency_cache_timeouts_and_refusals_are_counted(client: FlaskClient) -> None:
    for _ in range(3):
        assert client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"}).status_code == 200
    assert client.get("/sparql", query_string={"query": "SELECT nonsense"}).status_code == 400
    assert client.get("/sparql", query_string={"query": PATHOLOGICAL}).status_code == 503
    response = client.get("/-/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.get_data(as_text=True))
    assert value(found, "alatau_kg_requests_total", route="/sparql", status="200") == 3
    assert value(found, "alatau_kg_request_seconds_count", route="/sparql", form="ASK") == 3
    assert value(found, "alatau_kg_request_seconds_bucket", route="/sparql", form="ASK", le="+Inf") == 3
    assert value(found, "alatau_kg_cache_total", cache="sparql", result="miss") >= 1
    assert value(found, "alatau_kg_cache_total", cache="sparql", result="hit") >= 2
    assert value(found, "alatau_kg_refusals_total", code="query_syntax_error") == 1
    assert value(found, "alatau_kg_refusals_total", code="query_timeout") == 1
    assert value(found, "alatau_kg_query_timeouts_total") == 1
    assert value(found, "alatau_kg_engine_seconds_count", form="ASK") >= 1
    assert ("alatau_kg_engine_generation_restarts", ()) in found


def test_budget_refusals_are_counted(server_settings: Settings, server_engine: OxigraphProcess) -> None:
    settings = server_settings.with_(rate_limit_per_minute=1.0, rate_limit_burst=1)
    client = create_app(settings, server_engine).test_client()
    statuses = [client.get("/sparql", query_string={"query": "ASK {}"}).status_code for _ in range(3)]
    assert statuses == [200, 429, 429]
    found = samples(client.get("/-/metrics").get_data(as_text=True))
    assert value(found, "alatau_kg_budget_refusals_total", budget="queries") == 2
    assert value(found, "alatau_kg_refusals_total", code="rate_limited") == 2


def test_engine_events_are_counted(client: FlaskClient) -> None:
    events.record(events.ENGINE_KILLED, reason="memory")
    events.record(events.ENGINE_RESTARTED)
    events.record(events.QUERY_REFUSED, limit="too_many_joins")
    found = samples(client.get("/-/metrics").get_data(as_text=True))
    assert value(found, "alatau_kg_engine_kills_total", reason="memory") == 1
    assert value(found, "alatau_kg_engine_restarts_total") == 1
    assert value(found, "alatau_kg_engine_refusals_total", limit="too_many_joins") == 1


def test_the_metrics_of_every_worker_are_summed(server_settings: Settings) -> None:
    with serve_process(server_settings, {"ALATAU_KG_WORKERS": "2"}) as served:
        close = {"Connection": "close"}
        for i in range(20):
            r = requests.get(served.url + "/sparql", params={"query": f"ASK {{ ?s ?p {i} }}"}, headers=close)
            assert r.status_code == 200
        assert len(workers_seen(served.url)) == 2  # (health checks on new connections: both answered)
        health = None
        for _ in range(4):  # whichever worker answers the scrape, the sum is the same
            found = samples(requests.get(served.url + "/-/metrics", headers=close, timeout=30).text)
            assert value(found, "alatau_kg_requests_total", route="/sparql", status="200") == 20
            checks = value(found, "alatau_kg_requests_total", route="/-/health", status="200")
            assert checks >= 2 and health in (None, checks)
            health = checks


def test_the_access_log_is_one_line_per_request_and_can_be_turned_off(
    server_settings: Settings, server_engine: OxigraphProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="alatau_kg.access")
    create_app(server_settings, server_engine).test_client().get("/sparql", query_string={"query": "ASK {}"})
    assert [r.getMessage() for r in caplog.records if r.name == "alatau_kg.access"][-1].startswith(
        "127.0.0.1 GET /sparql 200 "
    )
    caplog.clear()
    quiet = create_app(server_settings.with_(access_log=False), server_engine).test_client()
    quiet.get("/sparql", query_string={"query": "ASK {}"})
    assert not [r for r in caplog.records if r.name == "alatau_kg.access"]


def test_refused_complex_queries_and_engine_restarts_reach_the_metrics(
    server_settings: Settings, tmp_path
) -> None:
    """The engine's events are recorded where they happen: a query past a limit at the endpoint
    (in a worker), an engine restart by its supervisor (the master): the scrape sums both."""
    store = tmp_path / "store"
    shutil.copytree(server_settings.store_path, store)
    settings = server_settings.with_(store_path=store)
    with serve_process(settings, {"ALATAU_KG_WORKERS": "2"}) as served:
        close = {"Connection": "close"}
        deep = "SELECT * WHERE " + "{ " * 100 + "?s ?p ?o" + " }" * 100
        r = requests.get(served.url + "/sparql", params={"query": deep}, headers=close, timeout=30)
        assert r.status_code == 400 and r.json()["limit"] == "max_group_depth"

        def serving() -> str:
            health = requests.get(served.url + "/-/health", headers=close, timeout=30).json()
            return health["engine"]["serving"]

        assert wait_until(lambda: serving() == "primary", timeout_s=30)  # loaded (a death before is a retry)
        primary = served.primary_pid()
        assert primary is not None
        os.kill(primary, signal.SIGKILL)
        assert wait_until(lambda: served.primary_pid() not in (None, primary))

        def scraped() -> dict:
            return samples(requests.get(served.url + "/-/metrics", headers=close, timeout=30).text)

        assert wait_until(lambda: value(scraped(), "alatau_kg_engine_restarts_total") == 1)
        found = scraped()
        assert value(found, "alatau_kg_engine_refusals_total", limit="max_group_depth") == 1
        assert value(found, "alatau_kg_refusals_total", code="query_too_complex") == 1


@pytest.mark.parametrize(
    "created",
    [
        1_780_000_000.0,
        1_780_000_000.999,
        1_780_000_001.0005,
        1_780_000_001.5,
        1_780_003_600.25,
        1_780_000_000.5,
    ],
)
def test_the_log_formatter_writes_what_logging_formatter_writes(created: float) -> None:
    """The date and time made once a second (LineFormatter) are logging.Formatter's own, to the ms,
    whatever second came before."""
    ours, reference = LineFormatter(), logging.Formatter(LOG_FORMAT)
    for at in (created - 1.25, created, created + 0.0004, created):
        record = logging.LogRecord(
            "alatau_kg.access", logging.INFO, __file__, 1, "%s %d", ("GET /", 200), None
        )
        record.created, record.msecs = at, int((at - int(at)) * 1000) + 0.0
        assert ours.format(record) == reference.format(record)
    record.created = created
    assert ours.formatTime(record, "%H") == reference.formatTime(record, "%H")  # a format of one's own
