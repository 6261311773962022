"""Limits: SERVICE and file: refused, the result size cap, the rate limit, CORS settings (the budgets:
tests/test_budgets.py)."""

from __future__ import annotations

import pytest
import requests

from kg.config import Settings
from kg.engine.client import SparqlClient
from kg.engine.process import OxigraphProcess
from kg.rdf.sparql import shape, tokenize
from server.app import create_app
from server.core.limits import ServicePolicy
from tests.server_support import Live, assert_error, serving

pytest_plugins = ["tests.server_support"]

# --- the lexer -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "form"),
    [
        ("SELECT * { ?s ?p ?o }", "SELECT"),
        ("prefix ex: <http://e/> base <http://b/> ask { ex:a ?p ?o }", "ASK"),
        ("# SELECT in a comment\nCONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
        ("DESCRIBE <http://e/a>", "DESCRIBE"),
        (
            "PREFIX select: <http://e/> CONSTRUCT { ?s select:p ?o } WHERE { { SELECT * {?s ?p ?o} } }",
            "CONSTRUCT",
        ),
        ("INSERT DATA { <a:a> <a:b> <a:c> }", "UPDATE"),
        ("WITH <http://g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", "UPDATE"),
        ("\\u0053ELECT * { ?s ?p ?o }", "SELECT"),
        ("nonsense", None),
    ],
)
def test_query_form(query: str, form: str | None) -> None:
    assert shape(query).form == form


@pytest.mark.parametrize(
    "query",
    [
        'SELECT * { ?s ?p "SERVICE <http://evil/> { }" }',
        "SELECT * { ?s ?p ?o } # SERVICE <http://evil/> { ?s ?p ?o }",
        "SELECT * { ?s <http://e/SERVICE> ?o }",
        "PREFIX service: <http://e/> SELECT * { ?s service:p ?o }",
        "SELECT ?service { ?service ?p ?o }",
        'SELECT * { ?s ?p "x"@service }',
        "SELECT * { ?s ?p '''multi\nline SERVICE <http://evil/>''' }",
    ],
)
def test_service_in_strings_iris_comments_and_names_is_not_a_call(query: str) -> None:
    assert shape(query).services == []


@pytest.mark.parametrize(
    ("query", "targets"),
    [
        ("SELECT * { SERVICE <http://e/sparql> { ?s ?p ?o } }", ["http://e/sparql"]),
        ("select * { service silent <http://e/sparql> { ?s ?p ?o } }", ["http://e/sparql"]),
        ("PREFIX e: <http://e/> SELECT * { SERVICE e:sparql { ?s ?p ?o } }", ["http://e/sparql"]),
        ("SELECT * { SERVICE ?where { ?s ?p ?o } }", [None]),
        ("SELECT * { SERVICE u:undeclared { ?s ?p ?o } }", [None]),
        ("BASE <http://e/> SELECT * { SERVICE <sparql> { ?s ?p ?o } }", ["http://e/sparql"]),
        ("SELECT * { \\u0053ERVICE <http://e/sparql> { ?s ?p ?o } }", ["http://e/sparql"]),
        ('SELECT * { ?s ?p "a\\"b" . SeRvIcE <http://e/x> {} }', ["http://e/x"]),
    ],
)
def test_service_calls_are_found(query: str, targets: list[str | None]) -> None:
    assert shape(query).services == targets


def test_less_than_is_not_an_iri() -> None:
    kinds = [t.kind for t in tokenize("FILTER(?a < ?b && ?c > 1)")]
    assert "iri" not in kinds


def test_from_iris_are_found() -> None:
    found = shape("SELECT * FROM <http://g/1> FROM NAMED <http://g/2> { ?s ?p ?o }").dataset_iris
    assert found == ["http://g/1", "http://g/2"]


# --- SERVICE and file: at the endpoint ----------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
        "SELECT * { SERVICE SILENT <https://query.wikidata.org/sparql> { ?s ?p ?o } }",
        "SELECT * { SERVICE ?endpoint { ?s ?p ?o } }",
        "PREFIX w: <https://query.wikidata.org/> SELECT * { SERVICE w:sparql { ?s ?p ?o } }",
    ],
)
def test_service_is_refused_by_default(live: Live, query: str) -> None:
    response = requests.get(live.sparql, params={"query": query}, timeout=30)
    body = assert_error(response, 400, "service_refused")
    assert "outbound" in body["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"query": "SELECT * { SERVICE <file:///etc/passwd> { ?s ?p ?o } }"},
        {"query": "SELECT * FROM <file:///etc/passwd> { ?s ?p ?o }"},
        {"query": "SELECT * { ?s ?p ?o }", "default-graph-uri": "file:///etc/passwd"},
        {"query": "SELECT * { ?s ?p ?o }", "named-graph-uri": "FILE:///etc/passwd"},
    ],
)
def test_file_iris_are_refused(live: Live, params: dict) -> None:
    assert_error(requests.get(live.sparql, params=params, timeout=30), 400, "file_access_refused")


def test_service_in_a_string_is_not_refused(live: Live) -> None:
    query = 'SELECT * { ?s ?p "SERVICE <http://evil/> { }" } # SERVICE <http://evil/>'
    assert requests.get(live.sparql, params={"query": query}, timeout=30).status_code == 200


def test_allowlisted_service_passes_the_policy() -> None:
    policy = ServicePolicy.from_setting("https://query.wikidata.org/ http://127.0.0.1:")
    policy.check(shape("SELECT * { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }"))
    with pytest.raises(Exception, match="refused"):
        policy.check(shape("SELECT * { SERVICE <https://query.wikidata.org.evil/sparql> { } }"))
    with pytest.raises(Exception, match="file"):
        policy.check(shape("SELECT * { SERVICE <file:///etc/passwd> { } }"))


def test_file_prefixes_cannot_be_allowlisted() -> None:
    with pytest.raises(ValueError, match="file"):
        ServicePolicy.from_setting("file:///")


# --- result size cap -------------------------------------------------------------------------------


def test_a_result_over_the_cap_is_a_503_not_a_truncated_200(
    server_settings: Settings, server_engine: OxigraphProcess
) -> None:
    capped = SparqlClient(lambda: server_engine.query_url, timeout_s=2, max_result_bytes=1000)
    settings = server_settings.with_(max_result_bytes=1000)
    with serving(create_app(settings, capped), capped) as server:
        big = requests.get(server.sparql, params={"query": "SELECT * { ?s ?p ?o }"}, timeout=30)
        small = requests.get(server.sparql, params={"query": "SELECT * { ?s ?p ?o } LIMIT 1"}, timeout=30)
    body = assert_error(big, 503, "result_too_large")
    assert body["limit_bytes"] == 1000
    assert "LIMIT" in body["message"]
    assert small.status_code == 200


# --- rate limit ------------------------------------------------------------------------------------


def test_rate_limit_is_off_by_default(live: Live) -> None:
    for _ in range(40):
        assert requests.get(live.sparql, params={"query": "ASK {}"}, timeout=30).status_code == 200


def test_rate_limit_at_the_endpoint(server_settings: Settings, server_engine: OxigraphProcess) -> None:
    settings = server_settings.with_(rate_limit_per_minute=6.0, rate_limit_burst=3)
    client = create_app(settings, server_engine).test_client()
    ask = {"query": "ASK {}"}
    statuses = [client.get("/sparql", query_string=ask).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/sparql", query_string=ask)
    assert refused.get_json()["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    other = client.get("/sparql", query_string=ask, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 200  # another client has its own bucket
    assert client.get("/-/health").status_code == 200  # only queries are limited


# --- CORS settings -----------------------------------------------------------------------------------


def test_cors_can_be_restricted_or_turned_off(
    server_settings: Settings, server_engine: OxigraphProcess
) -> None:
    restricted = create_app(server_settings.with_(cors_origin="https://alatau.example"), server_engine)
    response = restricted.test_client().get("/sparql", query_string={"query": "ASK {}"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://alatau.example"
    assert "Origin" in response.headers["Vary"]
    off = create_app(server_settings.with_(cors_origin=""), server_engine).test_client()
    assert "Access-Control-Allow-Origin" not in off.get("/sparql", query_string={"query": "ASK {}"}).headers
