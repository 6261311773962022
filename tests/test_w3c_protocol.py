"""The W3C SPARQL 1.1 Protocol tests (``protocol/manifest.ttl``) against our endpoint on loopback.

One test per manifest entry (the test IRI as id), then the 16 checks the manifest implies
(``tests/w3c/protocol.py`` says which and why). The endpoint runs as deployed (union default graph)
over an Oxigraph engine holding the graphs the manifest names (``data1.nt`` … as
``http://kasei.us/2009/09/sparql/data/data1.rdf`` …). ``/sparql`` is read-only: the tests whose
updates must succeed are skipped (the update operation will be served at ``/update``), and every update
sent to ``/sparql`` must be refused with our 400 ``update_not_supported``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from rdflib import Graph, URIRef

from kg.changes.tokens import digest
from kg.config import Settings
from kg.engine.local import OxigraphStore
from tests.server_support import assert_error, serving_standalone
from tests.w3c.endpoint import Endpoint, alatau_endpoint
from tests.w3c.params import suites_available
from tests.w3c.protocol import (
    UPDATE_ELSEWHERE,
    ProtocolTarget,
    ProtocolTest,
    load_manifest,
    load_protocol_tests,
    manifest_quads,
    read_only_skip,
    run_protocol_test,
)

if not suites_available():
    pytest.skip("W3C SPARQL 1.1 suites not found (set ALATAU_W3C_SPARQL11)", allow_module_level=True)


def _params() -> list[object]:
    params = []
    for test in load_protocol_tests():
        marks = [pytest.mark.skip(reason=reason)] if (reason := read_only_skip(test)) else []
        params.append(pytest.param(test, id=test.iri, marks=marks))
    return params


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    with alatau_endpoint(manifest_quads(), Settings()) as served:
        yield served


@pytest.fixture(scope="module")
def target(endpoint: Endpoint) -> Iterator[ProtocolTarget]:
    served = ProtocolTarget(endpoint.sparql, endpoint.sparql)
    yield served
    served.session.close()


@pytest.mark.parametrize("case", _params())
def test_protocol(case: ProtocolTest, target: ProtocolTarget) -> None:
    run_protocol_test(case, target)


def test_manifest_is_read_whole() -> None:
    """Every entry of the manifest, each with its requests and expected responses."""
    tests = load_manifest()
    assert len(tests) == 34
    assert all(t.requests and all(r.status_classes for r in t.requests) for t in tests)
    skipped = sorted(t.name for t in tests if read_only_skip(t))
    assert skipped == sorted(
        [
            "update_dataset_default_graph",
            "update_dataset_default_graphs",
            "update_dataset_named_graphs",
            "update_dataset_full",
            "update_post_form",
            "update_post_direct",
            "update_base_uri",
        ]
    )
    assert UPDATE_ELSEWHERE.startswith("update operation served at /update")


def test_every_update_is_refused_as_ours(target: ProtocolTarget) -> None:
    """Each update request of the manifest, positive or not, sent to /sparql as an update (by its
    media type or its ``update`` parameter) is our 400 ``update_not_supported``, not another 4xx."""
    sent = 0
    for test in load_manifest():
        for request in test.requests:
            content_type = (request.content_type or "").split(";")[0]
            as_update = content_type == "application/sparql-update" or "update=" in request.path + (
                (request.body or b"").decode("utf-8", "replace")
                if content_type.endswith("urlencoded")
                else ""
            )
            if not (request.is_update and as_update):
                continue
            response = target.session.request(
                request.method,
                target.url(request),
                headers=dict(request.headers),
                data=request.body,
                timeout=30,
            )
            assert_error(response, 400, "update_not_supported")
            sent += 1
    assert sent >= 10


def test_relative_iris_resolve_against_the_endpoint(endpoint: Endpoint) -> None:
    """The service's base IRI is its own URL, never the engine's internal one (Query §4.1.1.1)."""
    response = requests.post(
        endpoint.sparql,
        data=b"CONSTRUCT { <s> <p> <> } WHERE {}",
        headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    graph = Graph().parse(data=response.text, format="nt")
    assert set(graph) == {
        (URIRef(endpoint.url + "/s"), URIRef(endpoint.url + "/p"), URIRef(endpoint.sparql)),
    }
    assert endpoint.engine_url not in response.text


def test_a_base_in_the_query_wins(endpoint: Endpoint) -> None:
    query = "BASE <http://example.org/dir/> SELECT (STR(<x>) AS ?x) {}"
    response = requests.get(endpoint.sparql, params={"query": query}, timeout=30)
    assert response.json()["results"]["bindings"][0]["x"]["value"] == "http://example.org/dir/x"


def test_syntax_error_positions_are_those_of_the_query(endpoint: Endpoint) -> None:
    for query, line in (("SELECT * WHERE { ?s ?p }", 1), ("SELECT *\nWHERE {\n  ?s ?p\n}", 4)):
        response = requests.get(endpoint.sparql, params={"query": query}, timeout=30)
        body = assert_error(response, 400, "query_syntax_error")
        assert body["position"]["line"] == line, body
        assert f"error at {line}:" in body["message"], body


def test_host_header_cannot_inject_query_text(endpoint: Endpoint) -> None:
    """The base IRI comes from the Host header: one that is no IRI is refused, not pasted in."""
    response = requests.get(
        endpoint.sparql,
        params={"query": "# nothing but a comment"},
        headers={"Host": "x> SELECT * { SERVICE <http://evil.example/> { ?s ?p ?o } } #"},
        timeout=30,
    )
    body = assert_error(response, 400, "bad_request")
    assert "Host" in body["message"]


# --- the update operation, at /update with a write token ----------------------------------------------

UPDATE_TOKEN = "w3c-protocol-writer"


@pytest.fixture(scope="module")
def update_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProtocolTarget]:
    """``alatau-kg`` writable (one process): ``/sparql`` for queries, ``/update`` for updates, every
    request with a writer's token; each test starts from the manifest's graphs alone."""
    directory = tmp_path_factory.mktemp("w3c-update")
    store = OxigraphStore(Settings().names, directory / "store")
    store.add_quads(manifest_quads())
    store.flush()
    del store
    settings = Settings(
        store_path=directory / "store",
        tokens=f"w3c:writer:{digest(UPDATE_TOKEN)}",
        tokens_file=directory / "no-tokens.json",
        queries_dir=directory / "no-queries",
        guard_writes=False,
        write_graphs="http://example.org/ http://kasei.us/ http://www.example/",
        skolemize_blank_nodes=True,
        union_default_graph=False,
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {UPDATE_TOKEN}"
    try:
        with serving_standalone(settings) as live:
            yield ProtocolTarget(live.sparql, live.url + "/update", session=session)
    finally:
        session.close()


def test_update_base_uri_at_the_update_operation(update_target: ProtocolTarget) -> None:
    """Relative IRIs in an update resolve against the service's base, as in a query (the manifest's
    ``update_base_uri``, sent to ``/update`` with a token)."""
    test = next(t for t in load_protocol_tests() if t.name == "update_base_uri")
    run_protocol_test(test, update_target)
    answer = update_target.session.post(
        update_target.query_url,
        data=b"SELECT ?o { GRAPH <http://example.org/protocol-base-test/> { ?s ?p ?o } }",
        headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
        timeout=30,
    ).json()
    assert [b["o"]["value"] for b in answer["results"]["bindings"]] == [
        update_target.update_url.rsplit("/", 1)[0] + "/test"
    ]
