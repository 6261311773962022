"""The service over OpenLink Virtuoso 7.2 (Debian's ``virtuoso-opensource``) as its engine.

One throw-away Virtuoso for the module (``tests/virtuoso_support.py``), the real city pushed into it
with ``alatau-kg push`` as an operator would, answers cut at 1,000 rows (``ResultSetMaxRows``: below
the city's 5,359 quads, so the cap is met); the app served over it with ``--engine <its /sparql>``,
its profile detected from its ``Server`` header (:mod:`kg.engine.profiles`). Every answer is compared
with the same question put to the built store itself (pyoxigraph): through Virtuoso, our endpoint,
pages and linked data must say what they say over Oxigraph — or refuse, never answer less.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from kg.config import PROJECT_ROOT, Settings
from kg.engine.client import SparqlClient
from kg.engine.local import OxigraphStore
from kg.engine.profiles import Plan, VirtuosoProfile
from kg.errors import ResultTruncated, UsageError
from kg.rdf.names import Names
from server.cli import main
from server.deploy import standalone_app
from tests.server_support import Live, serving, serving_standalone
from tests.virtuoso_city import city_in_virtuoso, environment, push
from tests.virtuoso_support import VirtuosoProcess

pytestmark = pytest.mark.slow

NAMES = Names()
MAX_ROWS = 1000
JSON = "application/sparql-results+json"
VIRTRDF = "http://www.openlinksw.com/schemas/virtrdf#"
QUERIES = sorted((PROJECT_ROOT / "queries").glob("*.rq"))
# Virtuoso computes a boolean expression as "1"/"0"^^xsd:integer, not xsd:boolean (a deviation from
# SPARQL 1.1 §17.3 no answer can be mended from: the integer 1 may be meant)
COMPUTED_BOOLEAN = "Virtuoso: a computed boolean is answered as xsd:integer 1/0, not xsd:boolean"
DEVIATIONS = {
    "04-investment-growth-factor": COMPUTED_BOOLEAN,
    "23-private-investment-share": COMPUTED_BOOLEAN,
}


@pytest.fixture(scope="module")
def city(real_settings: Settings) -> Iterator[tuple[VirtuosoProcess, Settings]]:
    with city_in_virtuoso(real_settings, max_rows=MAX_ROWS) as pair:
        yield pair


@pytest.fixture(scope="module")
def virtuoso(city: tuple[VirtuosoProcess, Settings]) -> VirtuosoProcess:
    return city[0]


@pytest.fixture(scope="module")
def local(real_settings: Settings) -> OxigraphStore:
    return OxigraphStore(NAMES, real_settings.store_path, read_only=True)


@pytest.fixture(scope="module")
def live(city: tuple[VirtuosoProcess, Settings], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    _, settings = city
    settings = settings.with_(
        tokens_file=tmp_path_factory.mktemp("tokens") / "none.json", query_timeout_s=5.0
    )
    app = standalone_app(settings)
    engine = app.extensions["alatau_kg"].engine
    with serving(app, engine) as served:
        yield served


def sparql(live: Live, query: str, accept: str = JSON, **params: str | list[str]) -> requests.Response:
    return requests.post(live.sparql, data={"query": query, **params}, headers={"Accept": accept}, timeout=60)


def solutions(body: bytes, media_type: str = JSON) -> Counter[str]:
    """A SELECT's rows as a multiset of their N-Triples terms (blank nodes as one placeholder)."""
    fmt = ox.QueryResultsFormat.from_media_type(media_type)
    assert fmt is not None
    parsed = ox.parse_query_results(body, format=fmt)
    assert isinstance(parsed, ox.QuerySolutions)
    names = [v.value for v in parsed.variables]
    return Counter(
        json.dumps(
            {n: "_:b" if isinstance(s[n], ox.BlankNode) else str(s[n]) for n in names if s[n] is not None}
        )
        for s in parsed
    )


def local_solutions(local: OxigraphStore, query: str) -> Counter[str]:
    return solutions(local.query(query).serialize("json"))


def graph_of(body: bytes, media_type: str) -> ox.Store:
    fmt = ox.RdfFormat.from_media_type(media_type)
    assert fmt is not None, media_type
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in ox.parse(body, format=fmt))
    return store


def ground(store: ox.Store) -> set[str]:
    """The triples without blank nodes (isomorphism of the rest is checked by counts)."""
    return {
        f"{q.subject} {q.predicate} {q.object}"
        for q in store
        if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)
    }


# --- push ----------------------------------------------------------------------------------------------


def test_push_loads_every_graph_and_shows_queries_only_ours(virtuoso, local):
    client = SparqlClient(virtuoso.query_url)
    assert isinstance(client.profile, VirtuosoProfile)  # detected: Server: Virtuoso/…
    assert client.graph_counts() == {g: local.count(g) for g in local.graphs()}
    facts = client.profile.facts()
    assert facts["system_graphs_hidden"] is True and facts["result_set_max_rows"] == MAX_ROWS
    # its own graph is still there, for its admin: only queries through the public endpoint lose it
    assert not client.ask(f"ASK {{ GRAPH <{VIRTRDF}> {{ ?s ?p ?o }} }}")
    admin = SparqlClient(virtuoso.query_url, credentials=virtuoso.credentials)
    assert (
        admin.admin_select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{VIRTRDF}> {{ ?s ?p ?o }} }}")[0]["n"]
        != "0"
    )


def test_a_second_push_refuses_nothing_and_says_what_it_did(virtuoso, real_settings):
    code, output = push(virtuoso, real_settings.store_path)
    assert code == 0, output
    assert re.search(r"pushed \d+ triples in \d+ graphs", output)
    assert "graph-level security" in output


def test_push_with_a_wrong_password_fails_and_never_shows_it(virtuoso, real_settings, capsys):
    secret = "not-the-password-" + "x" * 8
    with environment({"ALATAU_KG_ENGINE_USER": "dba", "ALATAU_KG_ENGINE_PASSWORD": secret}):
        code = main(
            ["push", "--store", str(real_settings.store_path), "--engine", virtuoso.query_url], io.StringIO()
        )
    assert code == 2
    err = capsys.readouterr().err
    assert "401" in err and "credentials were refused" in err and secret not in err


def test_serve_refuses_a_virtuoso_that_shows_queries_its_own_graphs(real_settings, tmp_path):
    """A Virtuoso nobody pushed to (its own graphs readable by queries): the service does not start, and
    says what to run; nor over Virtuoso without a union default graph, which it cannot keep."""
    with VirtuosoProcess() as fresh:
        settings = real_settings.with_(engine_url=fresh.query_url, tokens_file=tmp_path / "none.json")
        refused = r"shows its own system graphs.*alatau-kg push.*RDF_DEFAULT_USER_PERMS_SET"
        with pytest.raises(UsageError, match=refused):
            standalone_app(settings)
        with pytest.raises(UsageError, match="no default graph of its own"):
            standalone_app(settings.with_(union_default_graph=False))


# --- the endpoint over Virtuoso -------------------------------------------------------------------------


def test_health_names_the_profile_and_counts_our_graphs_only(live, local):
    health = requests.get(live.url + "/-/health", timeout=30).json()
    assert health["status"] == "ok"
    engine = health["engine"]
    assert engine["profile"] == "virtuoso" and engine["version"].startswith("07.")
    assert set(health["graphs"]) == set(local.graphs())
    assert health["triples"] == sum(local.count(g) for g in local.graphs())
    version = requests.get(live.url + "/-/version", timeout=30).json()
    assert version["engine"] == {"profile": "virtuoso", "version": engine["version"]}
    assert version["oxigraph"] != engine["version"]  # the store's version is not Oxigraph's


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=DEVIATIONS[p.stem]))
        if p.stem in DEVIATIONS
        else p
        for p in QUERIES
    ],
    ids=[p.stem for p in QUERIES],
)
def test_competency_question_through_virtuoso(live, local, path):
    """Each of the 30 questions answers through Virtuoso what it answers over the built store."""
    query = path.read_text(encoding="utf-8")
    r = sparql(live, query)
    assert r.status_code == 200, r.text[:500]
    expected = local.query(query).serialize("json")
    if b'"boolean"' in expected:
        assert r.json()["boolean"] == json.loads(expected)["boolean"]
        return
    assert solutions(r.content) == solutions(expected)


# --- formats: asked of Virtuoso as JSON and N-Triples, written here ----------------------------------

PREFIXES = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""
LABELS = (
    PREFIXES + "SELECT ?s ?label WHERE { ?s a ak:FunctionalDistrict ; rdfs:label ?label } ORDER BY ?s ?label"
)
DISTRICTS = PREFIXES + "CONSTRUCT { ?s ?p ?o } WHERE { ?s a ak:FunctionalDistrict ; ?p ?o }"


@pytest.mark.parametrize(
    "accept",
    ["application/sparql-results+json", "application/sparql-results+xml", "text/tab-separated-values"],
)
def test_select_in_every_results_format_is_the_built_stores_answer(live, local, accept):
    r = sparql(live, LABELS, accept)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(accept), r.text[:300]
    assert (
        solutions(r.content, accept) == local_solutions(local, LABELS)
        and len(local_solutions(local, LABELS)) > 5
    )


def test_csv_is_the_w3c_csv(live, local):
    r = sparql(live, LABELS, "text/csv")
    assert r.status_code == 200
    assert r.content == local.query(LABELS).serialize("csv")  # ordered: the same bytes


@pytest.mark.parametrize(
    "accept", ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"]
)
def test_construct_in_every_rdf_format_is_the_built_stores_graph(live, local, accept):
    r = sparql(live, DISTRICTS, accept)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(accept), r.text[:300]
    got = graph_of(r.content, accept)
    want = ox.Store()
    want.extend(ox.Quad(t.subject, t.predicate, t.object) for t in local.query(DISTRICTS).triples())
    assert len(got) == len(want) > 20 and ground(got) == ground(want)


def test_blank_nodes_and_stored_booleans_come_back_standard(live, local):
    blank = "SELECT ?o WHERE { ?s ?p ?o FILTER(isBlank(?o)) } LIMIT 5"
    r = sparql(live, blank)
    assert r.status_code == 200
    kinds = {row["o"]["type"] for row in r.json()["results"]["bindings"]}
    assert kinds == {"bnode"} and "nodeID://" not in r.text  # Virtuoso's own label, mended
    booleans = PREFIXES + "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(DATATYPE(?o) = xsd:boolean) }"
    r = sparql(live, booleans)
    assert solutions(r.content) == local_solutions(local, booleans)  # "true", not Virtuoso's "1"


def test_a_query_with_its_own_base_declarations(live, local):
    """Virtuoso takes one BASE, first in the prologue: relative IRIs are resolved here."""
    query = (
        "BASE <https://w3id.org/>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "BASE <alatau-kg/id/>\nSELECT ?l WHERE { <place/alatau> rdfs:label ?l }"
    )
    r = sparql(live, query)
    assert r.status_code == 200, r.text
    assert solutions(r.content) == local_solutions(local, query) and r.json()["results"]["bindings"]


def test_group_concat_without_a_separator(live, local):
    query = (
        PREFIXES
        + "SELECT ?s (GROUP_CONCAT(?l) AS ?all) "
        + "WHERE { ?s a ak:FunctionalDistrict ; rdfs:label ?l } GROUP BY ?s"
    )
    r = sparql(live, query)
    assert r.status_code == 200, r.text  # Virtuoso alone: 500 "Required argument delim"
    got = {
        row["s"]["value"]: sorted(row["all"]["value"].split(" ")) for row in r.json()["results"]["bindings"]
    }
    want = json.loads(local.query(query).serialize("json"))["results"]["bindings"]
    assert got == {row["s"]["value"]: sorted(row["all"]["value"].split(" ")) for row in want}


def test_a_syntax_error_says_the_line_of_the_query_sent(live):
    r = sparql(live, "SELECT ?s\nWHERE {\n  ?s ?p \n}")
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "query_syntax_error" and body["position"]["line"] == 4
    assert "define sql" not in body["message"] and "SPARQL query:" not in body["message"]


# --- graphs: ours, and exactly those named ---------------------------------------------------------


def _values(response: requests.Response, var: str) -> set[str]:
    assert response.status_code == 200, response.text[:300]
    return {row[var]["value"] for row in response.json()["results"]["bindings"] if var in row}


def _count(response: requests.Response) -> int:
    assert response.status_code == 200, response.text[:300]
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_queries_see_our_graphs_and_none_of_virtuosos(live, local):
    ours = set(local.graphs())
    # the form Virtuoso answers from its list of every graph, whatever its permissions
    assert _values(sparql(live, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"), "g") == ours
    assert (
        _values(sparql(live, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"), "g")
        == ours
    )
    assert _count(sparql(live, f"SELECT (COUNT(*) AS ?n) FROM <{VIRTRDF}> WHERE {{ ?s ?p ?o }}")) == 0
    assert sparql(live, f"ASK {{ GRAPH <{VIRTRDF}> {{ ?s ?p ?o }} }}").json()["boolean"] is False
    union = _count(sparql(live, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"))
    assert union == sum(local.count(g) for g in ours)  # the union of our graphs: a bag, as Oxigraph's


def test_the_graphs_a_request_names_are_the_dataset(live, local):
    ontology, shapes = NAMES.ontology_graph, NAMES.shapes_graph
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert _count(sparql(live, count, **{"default-graph-uri": ontology})) == local.count(ontology)
    named = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert _values(sparql(live, named, **{"default-graph-uri": ontology}), "g") == set()  # no named graph
    assert _values(sparql(live, named, **{"named-graph-uri": [ontology, shapes]}), "g") == {ontology, shapes}
    # the request's graphs replace the query's FROM (SPARQL 1.1 Protocol §2.1.4; Virtuoso would add them)
    source = local.source_graphs()[0]
    from_query = f"SELECT (COUNT(*) AS ?n) FROM <{source}> WHERE {{ ?s ?p ?o }}"
    assert _count(sparql(live, from_query, **{"default-graph-uri": ontology})) == local.count(ontology)
    assert _count(sparql(live, from_query)) == local.count(source)
    asserted = sum(local.count(g) for g in NAMES.view_graphs("asserted", local.graphs()) or [])
    assert _count(sparql(live, count, view="asserted")) == asserted


@pytest.mark.xfail(
    strict=True, reason="Virtuoso: GRAPH <g> of a graph outside the named graphs matches (ASK true)"
)
def test_a_graph_outside_the_named_graphs_is_empty(live):
    r = sparql(
        live,
        f"ASK {{ GRAPH <{NAMES.shapes_graph}> {{ ?s ?p ?o }} }}",
        **{"named-graph-uri": NAMES.ontology_graph},
    )
    assert r.json()["boolean"] is False


# --- refused: Virtuoso's functions and pragmas -----------------------------------------------------


@contextlib.contextmanager
def listening() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback recording the paths it is asked for."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"internal secret")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_virtuoso_never_fetches_a_url_for_a_query(live, virtuoso):
    with listening() as (url, asked):
        direct = requests.post(
            virtuoso.query_url,
            data={"query": f"SELECT (bif:http_get('{url}/direct') AS ?body) WHERE {{}}"},
            headers={"Accept": JSON},
            timeout=30,
        )
        assert "internal secret" in direct.text and asked == ["/direct"]  # the hole, in Virtuoso itself
        for query in (
            f"SELECT (bif:http_get('{url}/ours') AS ?body) WHERE {{}}",
            f"PREFIX f: <bif:> SELECT (f:http_get('{url}/ours') AS ?body) WHERE {{}}",
            f"SELECT ?body WHERE {{ BIND(<bif:http_get>('{url}/ours') AS ?body) }}",
            "SELECT (sql:RDF_DEFAULT_USER_PERMS_SET('nobody', 7) AS ?x) WHERE {}",
        ):
            r = sparql(live, query)
            assert r.status_code == 400 and r.json()["error"] == "function_refused", (query, r.text)
        assert asked == ["/direct"]
    r = sparql(
        live, "define input:default-graph-uri <http://www.openlinksw.com/schemas/virtrdf#> SELECT * {}"
    )
    assert r.status_code == 400 and r.json()["error"] == "pragma_refused"
    r = sparql(live, 'SELECT ?s WHERE { ?s ?p "bif:http_get" } LIMIT 1')  # in a string: only text
    assert r.status_code == 200


# --- never a cut answer ------------------------------------------------------------------------------


def test_a_select_the_store_cut_is_refused_with_the_setting_that_raises_it(live):
    r = sparql(live, "SELECT * WHERE { ?s ?p ?o }")
    assert r.status_code == 503, r.text[:300]
    body = r.json()
    assert body["error"] == "result_truncated" and body["store_limit"] == MAX_ROWS
    assert "ResultSetMaxRows" in body["message"] and str(MAX_ROWS) in body["message"]
    # within the cap by its own LIMIT, the answer is complete (Virtuoso flags it all the same)
    r = sparql(live, f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {MAX_ROWS}")
    assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == MAX_ROWS
    assert sparql(live, f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {MAX_ROWS + 1}").status_code == 503


def test_construct_and_describe_the_store_would_cut_silently_are_refused(live, local):
    r = sparql(live, "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "text/turtle")
    assert r.status_code == 503 and r.json()["error"] == "result_truncated"
    r = sparql(live, "DESCRIBE ?s ?o WHERE { ?s ?p ?o }", "text/turtle")  # thousands of resources
    assert r.status_code == 503 and r.json()["error"] == "result_truncated"
    r = sparql(live, "DESCRIBE ?s WHERE { ?s ?p ?o }", "application/n-triples")  # ~940: within the cap
    assert r.status_code == 200
    r = sparql(live, "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 500", "application/n-triples")
    assert r.status_code == 200 and 0 < len(graph_of(r.content, "application/n-triples")) <= 500
    r = sparql(live, PREFIXES + "DESCRIBE ?s WHERE { ?s a ak:FunctionalDistrict }", "application/n-triples")
    assert r.status_code == 200, r.text[:300]
    districts = {
        s["s"]
        for s in local.query(PREFIXES + "SELECT ?s WHERE { ?s a ak:FunctionalDistrict }").rows()
        if False
    } or {row[0] for row in local.query(PREFIXES + "SELECT ?s WHERE { ?s a ak:FunctionalDistrict }").rows()}
    described = {q.subject for q in graph_of(r.content, "application/n-triples")}
    assert districts and districts <= described


def test_a_partial_anytime_answer_is_refused(virtuoso):
    """Virtuoso's anytime answers (a ``timeout`` parameter: never sent by us) are 200s with whatever
    was found, marked by X-SQL-State only: the profile refuses any such answer."""
    cross = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f FILTER(STR(?c) = CONCAT(STR(?f), 'x')) }"
    # on a busy machine Virtuoso now and then answers 500 instead (seen once under make test)
    for _ in range(5):
        r = requests.post(
            virtuoso.query_url, data={"query": cross, "timeout": "1000"}, headers={"Accept": JSON}, timeout=60
        )
        if r.status_code != 500:
            break
    assert r.status_code == 200 and r.headers.get("X-SQL-State"), (dict(r.headers), r.text[:300])
    profile = SparqlClient(virtuoso.query_url).profile
    plan = Plan(cross, JSON, JSON, form="SELECT")
    from kg.engine import EngineResponse

    with pytest.raises(ResultTruncated, match="partial result"):
        profile.answer(plan, EngineResponse(200, r.headers["Content-Type"], r.content), r.headers)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


def test_a_query_past_the_timeout_is_answered_503_at_the_timeout(live, virtuoso):
    """The client leaves at the app's timeout (5 s here) and answers 503. Virtuoso 7.2 goes on computing
    an aggregate its client left (and one its own MaxQueryExecutionTime answered): measured here, so
    that the docs' advice (MaxQueryExecutionTime, MaxQueryCostEstimationTime) stays true."""
    cross = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f FILTER(STR(?c) = CONCAT(STR(?f), 'x')) }"
    started = time.monotonic()
    r = sparql(live, cross)
    took = time.monotonic() - started
    assert r.status_code == 503 and r.json()["error"] == "query_timeout", r.text[:300]
    assert 4.5 <= took < 9, took
    assert virtuoso.pid is not None
    before = _cpu_s(virtuoso.pid)
    started = time.monotonic()
    assert sparql(live, "ASK { ?s ?p ?o }").json()["boolean"] is True  # others are answered meanwhile
    assert time.monotonic() - started < 2
    time.sleep(1.5)
    assert _cpu_s(virtuoso.pid) - before > 0.5  # the abandoned count still runs in Virtuoso


# --- pages and linked data, as over Oxigraph ---------------------------------------------------------


@pytest.fixture(scope="module")
def oxigraph_live(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    settings = real_settings.with_(tokens_file=tmp_path_factory.mktemp("tokens-ox") / "none.json")
    with serving_standalone(settings) as served:
        yield served


def _quads(body: bytes) -> tuple[int, set[str]]:
    quads = list(ox.parse(body, format=ox.RdfFormat.N_QUADS))
    return len(quads), {
        str(q)
        for q in quads
        if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)
    }


@pytest.mark.parametrize("path", ["/data/id/place/alatau.nq", "/data/def/ontology.nq", "/dumps/alatau-kg.nq"])
def test_linked_data_is_what_oxigraph_serves(live, oxigraph_live, path):
    """A resource, the ontology and the whole dump (read in pages of 1,000 through Virtuoso)."""
    ours = requests.get(live.url + path, timeout=60)
    theirs = requests.get(oxigraph_live.url + path, timeout=60)
    assert ours.status_code == theirs.status_code == 200, ours.text[:300]
    assert _quads(ours.content) == _quads(theirs.content)


@pytest.mark.parametrize("path", ["/page/id/place/alatau", "/home", "/search?q=Alatau", "/dataset", "/"])
def test_pages_are_what_oxigraph_serves(live, oxigraph_live, path):
    ours = requests.get(live.url + path, headers={"Accept": "text/html"}, timeout=60)
    theirs = requests.get(oxigraph_live.url + path, headers={"Accept": "text/html"}, timeout=60)
    assert ours.status_code == theirs.status_code == 200, ours.text[:300]
    links = lambda html: sorted(set(re.findall(r'href="(/[^"]*)"', html)))  # noqa: E731
    assert links(ours.text) == links(theirs.text)


def test_completion_reads_the_whole_graph_in_pages(live, oxigraph_live):
    params = {
        "query": "PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#> SELECT * WHERE { ?s a ak:",
        "cursor": "62",
    }
    ours = requests.get(live.url + "/workbench/complete", params=params, timeout=60)
    theirs = requests.get(oxigraph_live.url + "/workbench/complete", params=params, timeout=60)
    assert ours.status_code == theirs.status_code == 200, ours.text[:300]
    assert ours.json() == theirs.json()
