"""The W3C SPARQL 1.1 query-evaluation and syntax suites through OUR endpoint (``/sparql``).

One server for the module: our Flask app (waitress, loopback) over a scratch Oxigraph engine. Each test
loads its data into the engine through the engine's own Graph Store (our endpoint is read-only) and
sends its query to our ``/sparql``, its file IRI declared as ``BASE`` (``tests/w3c/endpoint.py``).
The app runs with ``union_default_graph=False``: the suites take the store's default graph as the
default graph. Known failures are Oxigraph's own (profile ``alatau-endpoint``), run as strict xfails.

The comparison table of the docs' conformance page (our endpoint beside ``oxigraph serve``,
``docs/pages/conformance.md``) is measured here too: it must be what the suites produce now (regenerate
it with ``python -m tests.w3c.report --endpoint``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import requests
from rdflib import Graph, Namespace

from kg.config import PROJECT_ROOT, Settings
from tests.w3c import QUERY_EVALUATION, QUERY_SYNTAX, HttpEngine, W3CTest, run_test
from tests.w3c.endpoint import ENGINE_NAME, Endpoint, alatau_endpoint, comparison_table, endpoint_engine
from tests.w3c.params import suite_params, suites_available

if not suites_available():
    pytest.skip("W3C SPARQL 1.1 suites not found (set ALATAU_W3C_SPARQL11)", allow_module_level=True)

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    with alatau_endpoint() as served:
        yield served


@pytest.fixture(scope="module")
def engine(endpoint: Endpoint) -> Iterator[HttpEngine]:
    with endpoint_engine(endpoint) as http:
        yield http


@pytest.mark.parametrize("case", suite_params(QUERY_EVALUATION, ENGINE_NAME))
def test_query_evaluation(case: W3CTest, engine: HttpEngine) -> None:
    run_test(case, engine)


@pytest.mark.parametrize("case", suite_params(QUERY_SYNTAX, ENGINE_NAME))
def test_query_syntax(case: W3CTest, engine: HttpEngine) -> None:
    run_test(case, engine)


def test_queries_go_through_our_endpoint(engine: HttpEngine, endpoint: Endpoint) -> None:
    assert engine.query_url == endpoint.sparql
    response = engine.query("SELECT * { ?s ?p ?o }", "http://example.org/")
    assert response.media_type == "application/sparql-results+json"
    # answered by our read-only endpoint (in our error shape), not by the engine behind it
    refused = requests.post(endpoint.sparql, data={"update": "CLEAR ALL"}, timeout=30)
    assert refused.json()["error"] == "update_not_supported"


# --- the default graph: a setting ---------------------------------------------------------------

_QUADS = [
    ox.Quad(ox.NamedNode("http://ex/s"), ox.NamedNode("http://ex/p"), ox.Literal("in the default graph")),
    ox.Quad(
        ox.NamedNode("http://ex/s"),
        ox.NamedNode("http://ex/p"),
        ox.Literal("in a named graph"),
        ox.NamedNode("http://ex/g"),
    ),
]


def _objects(endpoint: Endpoint, query: str = "SELECT ?o { ?s ?p ?o }") -> set[str]:
    response = requests.get(endpoint.sparql, params={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    return {row["o"]["value"] for row in response.json()["results"]["bindings"]}


def _features(endpoint: Endpoint) -> set[str]:
    description = requests.get(endpoint.sparql, headers={"Accept": "text/turtle"}, timeout=30)
    graph = Graph().parse(data=description.text, format="turtle")
    return {str(o) for o in graph.objects(None, SD.feature)}


@pytest.mark.parametrize("union", [True, False])
def test_union_default_graph_setting(union: bool) -> None:
    """On (our default): the default graph is the union of all graphs, said by ``sd:UnionDefaultGraph``.
    Off: it is the store's default graph, as SPARQL 1.1 and the W3C suites have it. Graphs named by the
    request or the query define the dataset either way."""
    with alatau_endpoint(_QUADS, Settings(union_default_graph=union)) as endpoint:
        expected = {"in the default graph", "in a named graph"} if union else {"in the default graph"}
        assert _objects(endpoint) == expected
        assert (str(SD.UnionDefaultGraph) in _features(endpoint)) is union
        assert _objects(endpoint, "SELECT ?o FROM <http://ex/g> { ?s ?p ?o }") == {"in a named graph"}
        assert _objects(endpoint, "SELECT ?o { GRAPH ?g { ?s ?p ?o } }") == {"in a named graph"}


def test_union_default_graph_from_the_environment() -> None:
    assert Settings.from_env({}).union_default_graph is True
    assert Settings.from_env({"ALATAU_KG_UNION_DEFAULT_GRAPH": "false"}).union_default_graph is False
    assert Settings.from_env({"ALATAU_KG_UNION_DEFAULT_GRAPH": "1"}).union_default_graph is True
    with pytest.raises(ValueError, match="not a boolean"):
        Settings.from_env({"ALATAU_KG_UNION_DEFAULT_GRAPH": "maybe"})


# --- the docs cannot drift --------------------------------------------------------------------------


def test_the_conformance_table_is_what_the_suites_measure() -> None:
    table = comparison_table()
    page = (PROJECT_ROOT / "docs" / "pages" / "conformance.md").read_text(encoding="utf-8")
    assert table in page, (
        "the W3C table of docs/pages/conformance.md is not what the suites measure now; replace it with:\n"
        + table
    )
