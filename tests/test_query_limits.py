"""Queries, updates and documents that could crash or stall Oxigraph are refused before it sees them
(issue 11): the measures of kg.rdf.complexity, the 400 ``query_too_complex`` at /sparql, /update and
/validate, ``document_too_complex`` for RDF bodies, and the engine still the same process after each.
Real servers on loopback, a real engine; the constructs are the issue's own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from kg.config import Settings
from kg.errors import QueryTooComplex
from kg.rdf import complexity
from kg.rdf.complexity import Complexity, Limits, measure
from kg.rdf.formats import rdf_format
from kg.rdf.parsing import document_depth, parse_bytes
from kg.rdf.sparql import kinds_of, lex
from kg.rdf.stacks import on_deep_stack
from tests.server_support import Live, assert_error, serving_standalone, writable_copy

pytest_plugins = ["tests.server_support"]

T = "?s <http://e/p> ?o"
P = "<http://e/p>"
TOKEN = "limits-writer-token"
WRITER = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}


def nest(open_: str, inner: str, close: str, n: int) -> str:
    return open_ * n + inner + close * n


# The issue's four crashers, and a few more of the same families (bench/overflow.py has them all).
CRASHERS = {
    "5,000 nested groups": ("SELECT * WHERE " + nest("{ ", T, " }", 5000), "max_group_depth"),
    "2,000 nested OPTIONAL": (
        "SELECT * WHERE { " + nest(f"{T} OPTIONAL {{ ", T, " }", 2000) + " }",
        "max_group_depth",
    ),
    "a FILTER with 3,000 nested parentheses": (
        f"SELECT * WHERE {{ {T} FILTER(" + nest("(", "?o", ")", 3000) + ") }",
        "max_expression_depth",
    ),
    "a 10,000-branch UNION": (
        "SELECT * WHERE { " + " UNION ".join([f"{{ {T} }}"] * 10_000) + " }",
        "max_query_length",
    ),
    "300 nested EXISTS": (
        "SELECT * WHERE " + nest(f"{{ {T} FILTER EXISTS ", f"{{ {T} }}", " }", 300),
        "max_group_depth",
    ),
    "a 512-pattern star": (
        f"SELECT * WHERE {{ ?s {P} " + ", ".join(f"?o{i}" for i in range(512)) + " }",
        "max_triple_patterns",
    ),
    "a 512-step path": ("SELECT * WHERE { ?s " + "/".join([P] * 512) + " ?o }", "max_triple_patterns"),
    "128 groups in sequence": ("SELECT * WHERE { " + f"{{ {T} }} " * 128 + "}", "max_triple_patterns"),
    "32 nested OPTIONAL": (
        "SELECT * WHERE { " + nest(f"{T} OPTIONAL {{ ", T, " }", 32) + " }",
        "max_optional_depth",
    ),
    "a path 100 parentheses deep": (
        "SELECT * WHERE { ?s " + nest("(", P, ")", 100) + " ?o }",
        "max_path_depth",
    ),
    "2,000 BINDs": (
        f"SELECT * WHERE {{ {T} " + "".join(f"BIND(1 AS ?b{i}) " for i in range(2000)) + "}",
        "max_bindings",
    ),
    "1,000 UNION branches": (
        "SELECT * WHERE { " + " UNION ".join([f"{{ {T} }}"] * 1000) + " }",
        "max_union_branches",
    ),
}


# --- the measures -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ASK {}", Complexity(query_length=6, group_depth=1)),
        (
            f"SELECT * {{ {T} OPTIONAL {{ {T} OPTIONAL {{ {T} }} }} }}",
            Complexity(group_depth=3, optional_depth=2, triple_patterns=2),
        ),
        (
            f"SELECT * {{ ?s {P} ?a, ?b ; {P} ?c . ?c {P} [ {P} ?d ] }}",
            Complexity(group_depth=1, triple_patterns=5, expression_depth=1),
        ),
        (f"SELECT * {{ ?s {P}/{P}/{P} ?o }}", Complexity(group_depth=1, triple_patterns=3)),
        (f"SELECT * {{ ?s ({P}|^({P}))* ?o }}", Complexity(group_depth=1, path_depth=2, triple_patterns=1)),
        (
            f"SELECT * {{ ?s {P} (1 (2 3)) }}",
            Complexity(group_depth=1, expression_depth=2, triple_patterns=9),
        ),
        (
            f"SELECT * {{ {T} FILTER(STR(LCASE(?o)) = 'a' && (?o > 1)) }}",
            Complexity(group_depth=1, expression_depth=3, triple_patterns=1),
        ),
        (
            f"SELECT * {{ {{ {T} }} UNION {{ {T} }} UNION {{ {T} }} }}",
            Complexity(group_depth=2, triple_patterns=1, union_branches=3),
        ),
        (f"SELECT * {{ {{ {T} . {{ {T} }} }} }}", Complexity(group_depth=3, triple_patterns=2)),
        (
            f"SELECT ?s (COUNT(*) AS ?n) {{ {{ SELECT ?s {{ {T} . {T} }} }} }} GROUP BY ?s",
            Complexity(group_depth=3, expression_depth=2, triple_patterns=2, bindings=1),
        ),
        (
            'SELECT * { ?s ?p "1.5"^^<http://www.w3.org/2001/XMLSchema#decimal> , 2.5 . }',
            Complexity(group_depth=1, triple_patterns=2),
        ),
        (
            f"INSERT DATA {{ GRAPH <http://e/g> {{ <http://e/s> {P} 1, 2, 3 }} }}",
            Complexity(group_depth=2),
        ),
        (
            f"DELETE {{ ?s ?p ?o }} INSERT {{ ?s {P} 1 }} WHERE {{ {T} . ?o {P} ?x }}",
            Complexity(group_depth=1, triple_patterns=2),
        ),
        ("VALUES (?x ?y) { (1 2) (3 4) } ", Complexity(group_depth=1, expression_depth=1)),
    ],
)
def test_what_is_measured(query: str, expected: Complexity) -> None:
    measured = measure(query)
    assert measured == Complexity(**{**expected.__dict__, "query_length": len(query)}), measured


def test_a_template_filled_in_again_is_walked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk of a query's skeleton (its terms replaced by their kinds) is remembered: the same
    template with other terms is measured without walking it again, and measures the same."""
    walks: list[int] = []
    walk = complexity._walk
    monkeypatch.setattr(complexity, "_walk", lambda texts, kinds: walks.append(1) or walk(texts, kinds))
    monkeypatch.setattr(complexity, "_WALKED", {})
    template = 'SELECT ?n WHERE {{ ?s <http://e/{}> "{}"@en ; ex:p {} OPTIONAL {{ ?s ?p ?n }} }}'
    first = measure(template.format("a", "b", 1))
    again = measure(template.format("other/iri", "a longer literal", 1234.5))
    assert len(walks) == 1
    assert again == Complexity(**{**first.__dict__, "query_length": again.query_length})
    assert again.query_length != first.query_length


@pytest.mark.parametrize(
    ("first", "then"),
    [
        # a name whose text is a kind's (the function iri) where a term of that kind stands
        ('SELECT * { ?s ?p iri ("x") }', 'SELECT * { ?s ?p <x> ("x") }'),
        ("SELECT * { ?s ?p ?o . ?o ?q a }", "SELECT * { ?s ?p ?o . ?o ?q ?a }"),
        (f"SELECT * {{ {T} {{ {T} }} UNION {{ {T} }} }}", f"SELECT * {{ {T} {{ {T} }} {{ {T} }} }}"),
        ("SELECT * { ?s ?p [] }", "SELECT * { ?s ?p [ ?q ?r ] }"),
    ],
)
def test_queries_of_other_skeletons_are_walked_afresh(
    first: str, then: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever was measured before, a query measures what its own walk finds."""
    monkeypatch.setattr(complexity, "_WALKED", {})
    for query in (first, then, first):
        texts = lex(query)
        fresh = Complexity(len(query), *complexity._walk(texts, kinds_of(texts)))
        assert measure(query) == fresh, query


def test_a_long_query_is_walked_without_being_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(complexity, "_WALKED", {})
    query = "SELECT * { " + " . ".join([T] * complexity._WALKED_TOKENS) + " }"
    assert measure(query).triple_patterns == complexity._WALKED_TOKENS
    assert complexity._WALKED == {}


def test_each_limit_is_named_with_its_value() -> None:
    limits = Limits(group_depth=3)
    with pytest.raises(QueryTooComplex) as caught:
        limits.check_text("SELECT * { { { { ?s ?p ?o } } } }")
    error = caught.value
    assert (error.limit, error.value, error.measured) == ("max_group_depth", 3, 4)
    assert "max_group_depth" in str(error) and "3" in str(error)
    assert error.to_dict()["error"] == "query_too_complex"


def test_a_deep_text_is_measured_without_recursion() -> None:
    query = "SELECT * WHERE " + nest("{ ", T, " }", 200_000)
    assert measure(query).group_depth == 200_000


def test_the_settings_are_the_limits() -> None:
    settings = Settings(max_group_depth=5, max_union_branches=7)
    assert settings.query_limits == Limits(group_depth=5, union_branches=7)
    assert Settings().query_limits == Limits()


# --- at the endpoint --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CRASHERS))
def test_a_query_that_could_crash_the_engine_is_a_400_naming_the_limit(live: Live, name: str) -> None:
    query, limit = CRASHERS[name]
    pid, restarts = live.engine.pid, live.engine.restarts  # type: ignore[attr-defined]
    response = requests.post(
        live.sparql, data={"query": query}, headers={"Accept": "application/sparql-results+json"}, timeout=60
    )
    body = assert_error(response, 400, "query_too_complex")
    assert body["limit"] == limit, body
    assert body["value"] == getattr(Settings(), limit) and body["measured"] > body["value"], body
    assert limit in body["message"]
    assert live.engine.pid == pid and live.engine.restarts == restarts  # type: ignore[attr-defined]


def test_queries_within_the_limits_are_answered(live: Live) -> None:
    limits = Limits()
    for query in (
        "SELECT * WHERE " + nest("{ ", T, " }", limits.group_depth),
        f"SELECT * WHERE {{ {T} FILTER(" + nest("(", "?o", ")", limits.expression_depth - 1) + ") }",
        "SELECT * WHERE { " + " UNION ".join([f"{{ {T} }}"] * limits.union_branches) + " }",
        f"SELECT * WHERE {{ ?s {P} " + ", ".join(f"?o{i}" for i in range(limits.triple_patterns)) + " }",
    ):
        response = requests.post(live.sparql, data={"query": query}, timeout=60)
        assert response.status_code == 200, response.text[:300]


# --- updates and documents, at /update and /validate --------------------------------------------------


@pytest.fixture(scope="module")
def writable(server_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    settings = writable_copy(server_settings, tmp_path_factory, TOKEN, "limits")
    with serving_standalone(settings) as server:
        yield server


def _triples(live: Live) -> int:
    return int(requests.get(live.url + "/-/health", timeout=30).json()["triples"])


@pytest.mark.parametrize(
    ("update", "limit"),
    [
        ("DELETE { ?s ?p ?o } WHERE " + nest("{ ", T, " }", 5000), "max_group_depth"),
        (
            f"DELETE {{ ?s ?p ?o }} WHERE {{ {T} FILTER(" + nest("(", "?o", ")", 3000) + ") }",
            "max_expression_depth",
        ),
        (
            f"INSERT DATA {{ <http://e/s> {P} " + nest(f"[ {P} ", "1", " ]", 5000) + " }",
            "max_expression_depth",
        ),
        ('INSERT DATA { <http://e/s> <http://e/p> "' + "x" * 200_000 + '" }', "max_query_length"),
    ],
    ids=["nested groups", "nested parentheses", "nested blank nodes", "long"],
)
def test_an_update_that_could_crash_is_refused_and_changes_nothing(
    writable: Live, update: str, limit: str
) -> None:
    before = _triples(writable)
    pid = writable.engine.primary.pid  # type: ignore[attr-defined]
    for path, headers in (("/update", WRITER), ("/validate", {"Content-Type": "application/sparql-update"})):
        response = requests.post(writable.url + path, data=update.encode(), headers=headers, timeout=60)
        body = assert_error(response, 400, "query_too_complex")
        assert body["limit"] == limit, body
    assert _triples(writable) == before
    assert writable.engine.primary.pid == pid  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("media_type", "body"),
    [
        (
            "application/ld+json",
            '{"@id": "http://e/s", ' + '"http://e/p": {' * 10_000 + '"@value": 1' + "}" * 10_001,
        ),
        (
            "application/rdf+xml",
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
            + "<rdf:Description><e:p>" * 5000
            + "1"
            + "</e:p></rdf:Description>" * 5000
            + "</rdf:RDF>",
        ),
    ],
    ids=["JSON-LD", "RDF/XML"],
)
def test_a_document_nested_too_deep_is_refused_before_parsing(
    writable: Live, media_type: str, body: str
) -> None:
    """A 10,000-deep JSON-LD body crashed the whole server (pyoxigraph's parser, in process), and an
    anonymous client may send one to /validate."""
    for path, headers in (
        ("/validate", {}),
        ("/store?graph=http://e/g", {"Authorization": f"Bearer {TOKEN}"}),
    ):
        response = requests.post(
            writable.url + path,
            data=body.encode(),
            headers={**headers, "Content-Type": media_type},
            timeout=60,
        )
        refused = assert_error(response, 400, "document_too_complex")
        assert refused["limit"] == Settings().max_document_depth and refused["measured"] > refused["limit"]
    assert requests.get(writable.url + "/-/health", timeout=30).json()["status"] == "ok"


def test_document_depth_is_measured_outside_strings() -> None:
    jsonld = rdf_format("jsonld")
    assert document_depth(b'{"a": "{{{{[[[[", "b": [1, {"c": 2}]}', jsonld) == 3
    assert document_depth(b'{"a": "\\"{{"}', jsonld) == 1
    xml = rdf_format("rdfxml")
    assert document_depth(b"<a><!-- <b><c> --><d/><e><f>x</f></e></a>", xml) == 3
    assert document_depth(b"<s> <p> [ <p> [ <p> 1 ] ] .", rdf_format("turtle")) == 0


def test_documents_within_the_depth_parse() -> None:
    body = '{"@id": "http://e/s", ' + '"http://e/p": {' * 50 + '"@value": 1' + "}" * 51
    assert len(parse_bytes(body.encode(), rdf_format("jsonld"))) == 50


def test_deep_stack_returns_and_raises() -> None:
    assert on_deep_stack(lambda: 41 + 1) == 42
    with pytest.raises(ZeroDivisionError):
        on_deep_stack(lambda: 1 / 0)
