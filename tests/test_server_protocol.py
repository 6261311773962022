"""The SPARQL 1.1 Protocol query operation against a real server and a real Oxigraph engine.

https://www.w3.org/TR/sparql11-protocol/ — every request goes over loopback HTTP.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import xml.etree.ElementTree as ET

import pytest
import requests
from rdflib import Graph, Literal, URIRef

from tests.server_support import INFERRED, ONTOLOGY, SOURCE, Live, assert_error, get

pytest_plugins = ["tests.server_support"]

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
ENBEK = "https://w3id.org/alatau-kg/id/place/enbek"
LABELS = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?label WHERE { <" + ENBEK + "> rdfs:label ?label } ORDER BY ?label"
)
CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <" + SOURCE + "> { ?s ?p ?o } }"
SRJ = "application/sparql-results+json"


def count_of(response: requests.Response) -> int:
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


# --- the three ways to send a query (§2.1) ---------------------------------------------------------


def test_get_with_query_parameter(live: Live) -> None:
    response = get(live, query=COUNT)
    assert response.headers["Content-Type"].startswith(SRJ)
    assert count_of(response) == 77


def test_post_form_encoded(live: Live) -> None:
    response = requests.post(live.sparql, data={"query": COUNT}, timeout=30)
    assert count_of(response) == 77


def test_post_query_directly(live: Live) -> None:
    response = requests.post(
        live.sparql,
        data=COUNT.encode(),
        headers={"Content-Type": "application/sparql-query"},
        timeout=30,
    )
    assert count_of(response) == 77


def test_non_ascii_query_text_survives_every_way(live: Live) -> None:
    query = 'ASK { ?s ?p "Еңбек"@kk }'
    answers = [
        get(live, query=query),
        requests.post(live.sparql, data={"query": query}, timeout=30),
        requests.post(
            live.sparql,
            data=query.encode("utf-8"),
            headers={"Content-Type": "application/sparql-query; charset=utf-8"},
            timeout=30,
        ),
    ]
    assert [r.json()["boolean"] for r in answers] == [True, True, True]


# --- the dataset (§2.1.4) -------------------------------------------------------------------------


def test_default_graph_is_the_union_of_all_named_graphs(live: Live) -> None:
    assert count_of(get(live, query=COUNT)) == sum(live.engine.graph_counts().values())


def test_default_graph_uri_sets_the_default_graph(live: Live) -> None:
    assert count_of(get(live, query=COUNT, **{"default-graph-uri": INFERRED})) == 10


def test_default_graph_uri_is_repeatable(live: Live) -> None:
    both = get(live, query=COUNT, **{"default-graph-uri": [INFERRED, ONTOLOGY]})
    assert count_of(both) == 10 + 24


def test_named_graph_uri_limits_the_named_graphs(live: Live) -> None:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    response = get(live, query=query, **{"named-graph-uri": [SOURCE, INFERRED]})
    graphs = {b["g"]["value"] for b in response.json()["results"]["bindings"]}
    assert graphs == {SOURCE, INFERRED}


def test_graph_parameters_in_a_form_post(live: Live) -> None:
    response = requests.post(live.sparql, data={"query": COUNT, "default-graph-uri": INFERRED}, timeout=30)
    assert count_of(response) == 10


def test_graph_parameters_in_the_url_of_a_direct_post(live: Live) -> None:
    response = requests.post(
        live.sparql,
        params={"default-graph-uri": INFERRED},
        data=COUNT.encode(),
        headers={"Content-Type": "application/sparql-query"},
        timeout=30,
    )
    assert count_of(response) == 10


def test_protocol_graphs_override_from_in_the_query(live: Live) -> None:
    query = f"SELECT (COUNT(*) AS ?n) FROM <{ONTOLOGY}> WHERE {{ ?s ?p ?o }}"
    assert count_of(get(live, query=query)) == 24
    assert count_of(get(live, query=query, **{"default-graph-uri": INFERRED})) == 10


@pytest.mark.parametrize(("view", "expected"), [("all", 77), ("inferred", 10), ("asserted", 24 + 15)])
def test_view_parameter(live: Live, view: str, expected: int) -> None:
    assert count_of(get(live, query=COUNT, view=view)) == expected


def test_view_and_graph_uris_together_are_refused(live: Live) -> None:
    response = get(live, query=COUNT, view="inferred", **{"default-graph-uri": ONTOLOGY})
    assert_error(response, 400, "bad_request")


def test_unknown_view_is_refused(live: Live) -> None:
    assert_error(get(live, query=COUNT, view="everything"), 400, "unknown_view")


# --- results and content negotiation ---------------------------------------------------------------


def test_select_default_is_json(live: Live) -> None:
    response = requests.get(live.sparql, params={"query": LABELS}, headers={"Accept": ""}, timeout=30)
    assert response.headers["Content-Type"].startswith(SRJ)
    assert response.headers["Vary"] == "Accept"


def test_select_star_star_is_json(live: Live) -> None:
    assert get(live, "*/*", query=LABELS).headers["Content-Type"].startswith(SRJ)


def test_select_as_xml(live: Live) -> None:
    response = get(live, "application/sparql-results+xml", query=LABELS)
    assert response.headers["Content-Type"].startswith("application/sparql-results+xml")
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    literals = ET.fromstring(response.content).findall(".//r:literal", ns)
    assert sorted(el.text for el in literals) == ["Enbek", "Енбек", "Еңбек"]


def test_select_as_csv(live: Live) -> None:
    response = get(live, "text/csv", query=LABELS)
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0] == ["label"]
    assert sorted(r[0] for r in rows[1:]) == ["Enbek", "Енбек", "Еңбек"]


def test_select_as_tsv(live: Live) -> None:
    response = get(live, "text/tab-separated-values", query=LABELS)
    assert response.headers["Content-Type"].startswith("text/tab-separated-values")
    lines = response.content.decode("utf-8").splitlines()
    assert lines[0] == "?label"
    assert '"Enbek"@en' in lines[1:]


def test_ask_as_json_and_xml(live: Live) -> None:
    query = f"ASK {{ <{ENBEK}> ?p ?o }}"
    assert get(live, query=query).json() == {"head": {}, "boolean": True}
    xml = get(live, "application/sparql-results+xml", query=query).content
    assert b"<boolean>true</boolean>" in xml


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "text/turtle"),
        ("*/*", "text/turtle"),
        ("text/turtle", "text/turtle"),
        ("application/n-triples", "application/n-triples"),
        ("application/ld+json", "application/ld+json"),
        ("application/rdf+xml", "application/rdf+xml"),
    ],
)
def test_construct_in_each_rdf_format(live: Live, accept: str | None, media_type: str) -> None:
    response = get(live, accept, query=CONSTRUCT)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].split(";")[0] == media_type
    graph = Graph().parse(data=response.content, format=media_type)
    assert len(graph) == 15
    assert (URIRef(ENBEK), None, Literal("Еңбек", lang="kk")) in graph


def test_describe_is_a_graph(live: Live) -> None:
    response = get(live, query=f"DESCRIBE <{ENBEK}>")
    assert response.headers["Content-Type"].startswith("text/turtle")
    assert (URIRef(ENBEK), None, None) in Graph().parse(data=response.text, format="turtle")


def test_accept_q_values_pick_the_preferred_format(live: Live) -> None:
    accept = "application/sparql-results+json;q=0.5, text/csv;q=0.9, */*;q=0.1"
    assert get(live, accept, query=LABELS).headers["Content-Type"].startswith("text/csv")


def test_accept_q_zero_excludes(live: Live) -> None:
    accept = "application/sparql-results+json;q=0, */*;q=0.2"
    assert (
        get(live, accept, query=LABELS).headers["Content-Type"].startswith("application/sparql-results+xml")
    )


def test_accept_specific_range_beats_wildcard(live: Live) -> None:
    accept = "text/*;q=0.9, text/csv;q=0.1, text/xml;q=0"  # text/xml: SPARQL XML results too
    assert get(live, accept, query=LABELS).headers["Content-Type"].startswith("text/tab-separated-values")


def test_nothing_acceptable_is_406(live: Live) -> None:
    body = assert_error(get(live, "image/png", query=LABELS), 406, "not_acceptable")
    assert SRJ in body["available"]
    assert_error(get(live, "text/csv", query=CONSTRUCT), 406, "not_acceptable")


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("json", SRJ), ("xml", "application/sparql-results+xml"), ("csv", "text/csv"), ("text/csv", "text/csv")],
)
def test_format_parameter_overrides_accept(live: Live, fmt: str, media_type: str) -> None:
    response = get(live, "application/sparql-results+json", query=LABELS, format=fmt)
    assert response.headers["Content-Type"].startswith(media_type)


def test_format_parameter_for_graphs(live: Live) -> None:
    response = get(live, query=CONSTRUCT, format="ntriples")
    assert response.headers["Content-Type"].startswith("application/n-triples")
    assert get(live, query=CONSTRUCT, format="xml").headers["Content-Type"].startswith("application/rdf+xml")


def test_format_that_cannot_hold_the_result_is_406(live: Live) -> None:
    assert_error(get(live, query=CONSTRUCT, format="csv"), 406, "not_acceptable")


def test_unknown_format_is_400(live: Live) -> None:
    assert_error(get(live, query=LABELS, format="yaml"), 400, "unknown_format")


# --- errors ------------------------------------------------------------------------------------------


def test_syntax_error_is_400_with_position(live: Live) -> None:
    body = assert_error(get(live, query="SELECT * WHERE {\n  ?s ?p \n"), 400, "query_syntax_error")
    assert body["position"]["line"] >= 2
    assert "column" in body["position"]


def test_several_query_parameters_are_400(live: Live) -> None:
    body = assert_error(get(live, query=[COUNT, COUNT]), 400, "multiple_parameters")
    assert body["parameter"] == "query"


def test_query_in_both_url_and_direct_body_is_400(live: Live) -> None:
    response = requests.post(
        live.sparql,
        params={"query": COUNT},
        data=COUNT.encode(),
        headers={"Content-Type": "application/sparql-query"},
        timeout=30,
    )
    assert_error(response, 400, "multiple_parameters")


def test_empty_query_is_400(live: Live) -> None:
    assert_error(get(live, query="  "), 400, "missing_query")


def test_post_without_query_is_400(live: Live) -> None:
    assert_error(requests.post(live.sparql, data={"x": "1"}, timeout=30), 400, "missing_query")


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"data": {"update": "INSERT DATA { <a:a> <a:b> <a:c> }"}},
        {
            "data": b"INSERT DATA { <a:a> <a:b> <a:c> }",
            "headers": {"Content-Type": "application/sparql-update"},
        },
        {"data": {"query": "INSERT DATA { <a:a> <a:b> <a:c> }"}},
        {"data": {"query": "PREFIX a: <a:> # a comment\nDROP ALL"}},
    ],
    ids=["update-param", "update-body", "update-as-query", "drop-as-query"],
)
def test_updates_are_refused(live: Live, request_kwargs: dict) -> None:
    body = assert_error(requests.post(live.sparql, timeout=30, **request_kwargs), 400, "update_not_supported")
    assert "read-only" in body["message"]
    assert count_of(get(live, query=COUNT)) == 77  # nothing was written


def test_update_param_on_get_is_refused(live: Live) -> None:
    assert_error(get(live, update="CLEAR ALL"), 400, "update_not_supported")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/json", "multipart/form-data; boundary=x"]
)
def test_wrong_media_type_is_415(live: Live, content_type: str) -> None:
    response = requests.post(live.sparql, data=b"x", headers={"Content-Type": content_type}, timeout=30)
    body = assert_error(response, 415, "unsupported_media_type")
    assert "application/sparql-query" in body["accepted"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405_with_allow(live: Live, method: str) -> None:
    response = requests.request(method, live.sparql, timeout=30)
    assert_error(response, 405, "method_not_allowed")
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed


def test_unknown_path_is_404_json(live: Live) -> None:
    assert_error(requests.get(live.url + "/nothing-here", timeout=30), 404, "not_found")


def test_request_too_large_is_413(live: Live) -> None:
    limit = live.app.config["MAX_CONTENT_LENGTH"]
    padding = "#" + "x" * limit + "\n"
    direct = requests.post(
        live.sparql,
        data=(padding + COUNT).encode(),
        headers={"Content-Type": "application/sparql-query"},
        timeout=30,
    )
    assert_error(direct, 413, "request_too_large")
    form = requests.post(live.sparql, data={"query": padding + COUNT}, timeout=30)
    assert_error(form, 413, "request_too_large")


# --- the service description -------------------------------------------------------------------------

SD = "http://www.w3.org/ns/sparql-service-description#"


def _description(response: requests.Response, fmt: str) -> Graph:
    assert response.status_code == 200, response.text
    return Graph().parse(data=response.content, format=fmt)


def test_service_description_in_turtle(live: Live) -> None:
    g = _description(get(live, "text/turtle"), "turtle")
    rows = g.query(
        """
        PREFIX sd: <http://www.w3.org/ns/sparql-service-description#>
        SELECT ?endpoint WHERE {
            ?service a sd:Service ; sd:endpoint ?endpoint ;
                sd:supportedLanguage sd:SPARQL11Query ; sd:feature sd:UnionDefaultGraph .
        }"""
    )
    assert [str(r[0]) for r in rows] == [live.sparql]
    formats = {str(o) for o in g.objects(None, URIRef(SD + "resultFormat"))}
    assert {
        "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
        "http://www.w3.org/ns/formats/SPARQL_Results_XML",
        "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
        "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
        "http://www.w3.org/ns/formats/Turtle",
        "http://www.w3.org/ns/formats/N-Triples",
        "http://www.w3.org/ns/formats/JSON-LD",
        "http://www.w3.org/ns/formats/RDF_XML",
    } <= formats


def test_service_description_names_every_graph_and_the_inferred_profile(live: Live) -> None:
    g = _description(get(live), "turtle")
    rows = g.query(
        """
        PREFIX sd: <http://www.w3.org/ns/sparql-service-description#>
        PREFIX void: <http://rdfs.org/ns/void#>
        SELECT ?name ?triples ?profile WHERE {
            ?service sd:defaultDataset ?dataset .
            ?dataset a sd:Dataset ; sd:namedGraph ?ng .
            ?ng a sd:NamedGraph ; sd:name ?name ; sd:graph [ void:triples ?triples ] .
            OPTIONAL { ?ng sd:entailmentProfile ?profile }
        }"""
    )
    found = {str(name): (int(triples), profile) for name, triples, profile in rows}  # type: ignore[misc]
    assert found.keys() == live.engine.graph_counts().keys()
    assert found[INFERRED] == (10, URIRef("http://www.w3.org/ns/owl-profile/RL"))
    assert found[SOURCE] == (15, None)


@pytest.mark.parametrize(
    ("accept", "media_type", "fmt"),
    [
        ("application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "text/turtle", "turtle"),
        (None, "text/turtle", "turtle"),
    ],
)
def test_service_description_formats(live: Live, accept: str | None, media_type: str, fmt: str) -> None:
    response = get(live, accept)
    assert response.headers["Content-Type"].split(";")[0] == media_type
    g = _description(response, fmt)
    assert (None, URIRef(SD + "endpoint"), URIRef(live.sparql)) in g


# --- CORS, introspection, logging ------------------------------------------------------------------


def test_cors_on_queries(live: Live) -> None:
    response = requests.get(
        live.sparql, params={"query": COUNT}, headers={"Origin": "https://example.org"}, timeout=30
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    error = requests.get(live.sparql, params={"query": "nonsense"}, timeout=30)
    assert error.headers["Access-Control-Allow-Origin"] == "*"  # a browser client can read the error


def test_cors_preflight(live: Live) -> None:
    response = requests.options(
        live.sparql,
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
        timeout=30,
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()


def test_health(live: Live) -> None:
    response = requests.get(live.url + "/-/health", timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["engine"]["reachable"] is True
    assert body["graphs"][INFERRED] == 10
    assert body["triples"] == 77


def test_version(live: Live) -> None:
    body = requests.get(live.url + "/-/version", timeout=30).json()
    assert body["alatau_kg"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", body["python"])
    for component in ("rdflib", "pyoxigraph", "oxigraph", "flask"):
        assert re.match(r"\d+\.\d+", body[component]), component


def test_one_log_line_per_request(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="alatau_kg.access"):
        get(live, query=COUNT)
        requests.put(live.sparql, timeout=30)
    lines = [r.getMessage() for r in caplog.records if r.name == "alatau_kg.access"]
    assert len(lines) == 2
    assert re.fullmatch(r"127\.0\.0\.1 GET /sparql 200 \d+\.\dms", lines[0])
    assert re.fullmatch(r"127\.0\.0\.1 PUT /sparql 405 \d+\.\dms", lines[1])


def test_error_bodies_are_json_objects_with_the_same_keys(live: Live) -> None:
    responses = [
        get(live, query="SELECT"),
        get(live, "image/png", query=COUNT),
        requests.delete(live.sparql, timeout=30),
        requests.post(live.sparql, data=b"x", headers={"Content-Type": "text/plain"}, timeout=30),
    ]
    for response in responses:
        body = json.loads(response.content)
        assert {"error", "message", "status"} <= body.keys()
        assert body["status"] == response.status_code


def test_an_unsupported_function_is_the_query_s_fault_400(live):
    r = requests.get(
        live.sparql, params={"query": "PREFIX ex: <http://e/> SELECT (ex:nofunc(1) AS ?x) {}"}, timeout=30
    )
    assert_error(r, 400, "bad_request")
    assert "not supported" in r.json()["message"]
