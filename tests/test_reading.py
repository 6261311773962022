"""kg.rdf.reading: a query read once for the endpoint's checks gives what shape(), normalise() and
measure() give it read apart, whatever was read before it; the shape is shared between texts of one
skeleton only where their terms cannot change it (no FROM, no SERVICE)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.rdf import reading
from kg.rdf.complexity import measure
from kg.rdf.reading import read_query
from kg.rdf.sparql import normalise, shape, tokenize

ROOT = Path(__file__).resolve().parents[1]
BASE = "http://example.org/sparql"
OTHER_BASE = "http://other.example/dir/endpoint"

QUERIES = [
    "SELECT * WHERE { ?s ?p ?o }",
    "select ?s where { ?s a <Thing> } limit 3",
    "PREFIX ex: <http://e/> SELECT ?s FROM ex:g FROM NAMED <g2> WHERE { GRAPH ?g { ?s ?p ?o } }",
    "BASE <http://b/dir/> SELECT * FROM <../g> FROM <x> { ?s ?p ?o }",
    "SELECT * from <http://e/g> { ?s ?p ?o }",
    "SELECT * { SERVICE <http://remote/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE SILENT ?endpoint { ?s ?p ?o } }",
    "PREFIX r: <http://remote/> SELECT * { service r:sparql { ?s ?p ?o } }",
    "SELECT (RAND() AS ?r) (NOW() AS ?t) { }",
    "SELECT (STRUUID() AS ?u) { ?s ?p ?o }",
    'CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(?o = "rand now from service") }',
    "DESCRIBE <http://e/a>",
    'ASK { <http://e/a> ?p "\\u0046ROM" }',
    'SELECT * { ?s ?p "x" } VALUES ?unused { 1 }',
    "\\u0053ELECT * \\u0046ROM <http://e/g> { ?s ?p ?o }",  # codepoint escapes are read as the letters
    "INSERT DATA { <http://e/a> <http://e/p> 1 }",
    "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "nonsense that is no query",
    "",
]


def _apart(query: str, base: str) -> tuple[object, object, object]:
    return shape(query, base=base), normalise(query), measure(query)


def _other_terms(query: str) -> str:
    """The query with every IRI and number replaced by another one (so, mostly, the same skeleton)."""
    out = []
    for n, token in enumerate(tokenize(query)):
        if token.kind == "iri":
            out.append(f"<http://elsewhere.example/t{n}>")
        elif token.kind == "number":
            out.append(str(n + 7))
        else:
            out.append(token.text)
    return " ".join(out)


def _corpus() -> list[str]:
    own = sorted((ROOT / "queries").glob("*.rq"))
    return QUERIES + [path.read_text(encoding="utf-8") for path in own]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "_SHAPES", {})


def test_the_reading_is_what_each_function_gives_read_apart() -> None:
    corpus = _corpus()
    assert len(corpus) > 40  # the project's own queries are there
    # twice, then with other terms and another base: later readings meet what earlier ones remembered
    for base in (BASE, BASE, OTHER_BASE):
        for query in corpus:
            assert read_query(query, base) == _apart(query, base), query
            variant = _other_terms(query)
            assert read_query(variant, base) == _apart(variant, base), variant


def test_a_template_filled_in_again_shares_its_shape() -> None:
    first, _, _ = read_query('SELECT ?s { ?s <http://e/p> "a" } LIMIT 1', BASE)
    again, normal, _ = read_query('SELECT ?s { ?s <http://e/q> "bb" } LIMIT 20', OTHER_BASE)
    assert again is first  # not read again
    assert normal == normalise('SELECT ?s { ?s <http://e/q> "bb" } LIMIT 20')  # its own text's


@pytest.mark.parametrize(
    ("template", "attribute"),
    [
        ("SELECT * FROM <{}> {{ ?s ?p ?o }}", "dataset_iris"),
        ("SELECT * FROM NAMED <{}> {{ GRAPH ?g {{ ?s ?p ?o }} }}", "dataset_iris"),
        ("SELECT * {{ SERVICE <{}> {{ ?s ?p ?o }} }}", "services"),
        ("SELECT * {{ service silent <{}> {{ ?s ?p ?o }} }}", "services"),
    ],
)
def test_graphs_and_services_are_read_from_each_text(template: str, attribute: str) -> None:
    seen = [
        getattr(read_query(template.format(iri), BASE)[0], attribute) for iri in ("http://e/1", "http://e/2")
    ]
    assert seen == [["http://e/1"], ["http://e/2"]]
    relative = [getattr(read_query(template.format("g"), base)[0], attribute) for base in (BASE, OTHER_BASE)]
    assert relative == [["http://example.org/g"], ["http://other.example/dir/g"]]  # each its base
    assert reading._SHAPES == {}


def test_a_prefixed_graph_is_read_with_its_own_prologue() -> None:
    """Same skeleton, other prefix declarations: the FROM IRI is each text's own."""
    template = "PREFIX ex: <{}> SELECT * FROM ex:g {{ ?s ?p ?o }}"
    assert [read_query(template.format(ns), BASE)[0].dataset_iris for ns in ("http://a/", "http://b/")] == [
        ["http://a/g"],
        ["http://b/g"],
    ]


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "_SHAPES_MAX", 3)
    for n in range(10):
        read_query("SELECT * { ?s ?p ?o }" + " . ?s ?p ?o" * n, BASE)
    assert 0 < len(reading._SHAPES) <= 3
