"""Unit tests of the W3C harness itself: result parsing, W3C-style comparison, failure detection."""

from __future__ import annotations

import pytest

try:
    from tests.w3c import (
        PyOxigraphEngine,
        QueryResponse,
        W3CTestFailure,
        known_failures,
        load_tests,
        run_test,
    )
    from tests.w3c.params import suites_available
    from tests.w3c.results import (
        Boolean,
        CsvTable,
        Solutions,
        compare_datasets,
        compare_results,
        parse_csv,
        parse_srj,
        parse_srx,
        parse_tsv,
        rows_isomorphic,
    )
    from tests.w3c.terms import IRI, XSD, BNode, Literal, Quad, canonical
except ModuleNotFoundError:  # pytest's default "prepend" import mode puts tests/ itself on sys.path
    from w3c import (  # type: ignore[no-redef]
        PyOxigraphEngine,
        QueryResponse,
        W3CTestFailure,
        known_failures,
        load_tests,
        run_test,
    )
    from w3c.params import suites_available  # type: ignore[no-redef]
    from w3c.results import (  # type: ignore[no-redef]
        Boolean,
        CsvTable,
        Solutions,
        compare_datasets,
        compare_results,
        parse_csv,
        parse_srj,
        parse_srx,
        parse_tsv,
        rows_isomorphic,
    )
    from w3c.terms import IRI, XSD, BNode, Literal, Quad, canonical  # type: ignore[no-redef]

needs_suites = pytest.mark.skipif(not suites_available(), reason="W3C SPARQL 1.1 suites not found")

A, B = BNode("a"), BNode("b")
X, Y = BNode("x"), BNode("y")


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (Literal("01", XSD + "integer"), Literal("1", XSD + "integer")),
        (Literal("+7", XSD + "int"), Literal("7", XSD + "int")),
        (Literal("1.50", XSD + "decimal"), Literal("1.5", XSD + "decimal")),
        (Literal("1.0E6", XSD + "double"), Literal("1000000", XSD + "double")),
        (Literal("1", XSD + "boolean"), Literal("true", XSD + "boolean")),
        (
            Literal("2001-01-01T00:00:00.0Z", XSD + "dateTime"),
            Literal("2001-01-01T00:00:00+00:00", XSD + "dateTime"),
        ),
        (Literal.lang("chat", "EN-gb"), Literal.lang("chat", "en-GB")),
    ],
)
def test_literals_compare_by_value(left: Literal, right: Literal) -> None:
    assert canonical(left) == canonical(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (Literal("1", XSD + "integer"), Literal("1.0", XSD + "decimal")),  # the datatype still matters
        (Literal("1", XSD + "integer"), Literal("1")),
        (Literal("abc", XSD + "integer"), Literal("ABC", XSD + "integer")),  # ill-typed: exact comparison
        (Literal("01", "http://example/custom"), Literal("1", "http://example/custom")),
        (Literal("chat"), Literal.lang("chat", "fr")),
    ],
)
def test_different_literals_stay_different(left: Literal, right: Literal) -> None:
    assert canonical(left) != canonical(right)


def test_blank_nodes_match_up_to_one_consistent_renaming() -> None:
    assert rows_isomorphic([(A, IRI("p")), (B, IRI("q"))], [(Y, IRI("q")), (X, IRI("p"))])
    # Per-row renaming would accept this; one renaming over the whole result must not.
    assert not rows_isomorphic([(A, A), (B, B)], [(X, X), (X, X)])
    assert not rows_isomorphic([(A, IRI("p")), (A, IRI("q"))], [(X, IRI("p")), (Y, IRI("q"))])
    assert not rows_isomorphic([(A, IRI("p")), (B, IRI("q"))], [(X, IRI("p")), (X, IRI("q"))])


def test_solutions_are_multisets() -> None:
    one, two = (IRI("s"), Literal("1")), (IRI("s"), Literal("2"))
    assert rows_isomorphic([one, two], [two, one])
    assert not rows_isomorphic([one, one, two], [one, two, two])
    assert not rows_isomorphic([one, two], [two, one], ordered=True)


def test_result_formats_parse_to_the_same_solutions() -> None:
    srx = b"""<?xml version="1.0"?>
<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head><variable name="x"/><variable name="y"/></head>
<results><result><binding name="x"><uri>http://e/a</uri></binding>
<binding name="y"><literal xml:lang="en">hi</literal></binding></result>
<result><binding name="x"><bnode>b1</bnode></binding>
<binding name="y"><literal datatype="http://www.w3.org/2001/XMLSchema#integer">01</literal></binding></result>
</results></sparql>"""
    srj = b"""{"head": {"vars": ["y", "x"]}, "results": {"bindings": [
      {"x": {"type": "bnode", "value": "zz"}, "y": {"type": "literal", "value": "1",
       "datatype": "http://www.w3.org/2001/XMLSchema#integer"}},
      {"x": {"type": "uri", "value": "http://e/a"},
       "y": {"type": "literal", "value": "hi", "xml:lang": "EN"}}]}}"""
    tsv = b'?x\t?y\n_:q\t1\n<http://e/a>\t"hi"@en\n'
    assert compare_results(parse_srx(srx), parse_srj(srj)) is None
    assert compare_results(parse_srx(srx), parse_tsv(tsv)) is None
    wrong = b'?x\t?y\n_:q\t2\n<http://e/a>\t"hi"@en\n'
    assert compare_results(parse_srx(srx), parse_tsv(wrong)) is not None


def test_tsv_unbound_and_escapes() -> None:
    result = parse_tsv(b'?a\t?b\n\t"tab\\there"\n')
    assert isinstance(result, Solutions)
    assert result.rows == [{"b": Literal("tab\there")}]


def test_csv_compares_text_blank_nodes_and_numbers() -> None:
    expected = parse_csv(b"s,o\r\nhttp://e/s,1.0E6\r\nhttp://e/t,_:a\r\n")
    assert (
        compare_results(expected, CsvTable(("o", "s"), [("_:x", "http://e/t"), ("1000000", "http://e/s")]))
        is None
    )
    assert (
        compare_results(expected, CsvTable(("s", "o"), [("http://e/s", "1.0E6"), ("http://e/t", "b")]))
        is not None
    )


def test_kinds_must_match() -> None:
    assert compare_results(Boolean(True), Solutions(("x",), [])) is not None
    assert compare_results(Boolean(True), Boolean(False)) is not None


def test_datasets_compare_graph_names_and_blank_nodes() -> None:
    g1, g2, p = IRI("http://e/g1"), IRI("http://e/g2"), IRI("http://e/p")
    expected: list[Quad] = [(A, p, Literal("1", XSD + "integer"), g1), (A, p, B, None)]
    assert compare_datasets(expected, [(X, p, Y, None), (X, p, Literal("01", XSD + "integer"), g1)]) is None
    assert (
        compare_datasets(expected, [(X, p, Y, None), (X, p, Literal("1", XSD + "integer"), g2)]) is not None
    )
    assert (
        compare_datasets(expected, [(X, p, Y, None), (Y, p, Literal("1", XSD + "integer"), g1)]) is not None
    )


class _WrongAnswers(PyOxigraphEngine):
    """An engine that answers every SELECT with no solutions and accepts any text."""

    name = "wrong-answers"

    def query(self, text: str, base_iri: str, results_format: str = "application/sparql-results+json"):
        response = super().query(text, base_iri, results_format)
        if response.body.startswith(b'{"head":{"vars"'):
            return QueryResponse(response.media_type, b'{"head":{"vars":[]},"results":{"bindings":[]}}')
        return response

    def accepts_query(self, text: str, base_iri: str) -> bool:
        return True

    def update(self, text: str, base_iri: str) -> None:
        pass


@needs_suites
def test_the_harness_notices_a_broken_engine() -> None:
    tests = {t.iri.split("data-sparql11/", 1)[1]: t for t in load_tests()}
    engine = _WrongAnswers()
    for name in (
        "aggregates/manifest#agg01",
        "syntax-query/manifest#test_60",
        "basic-update/manifest#insert-where-01",
    ):
        with pytest.raises(W3CTestFailure):
            run_test(tests[name], engine)
    run_test(tests["syntax-query/manifest#test_1"], engine)  # a positive syntax test still passes


@needs_suites
@pytest.mark.parametrize("profile", ["pyoxigraph", "oxigraph-http"])
def test_known_failures_name_runnable_tests(profile: str) -> None:
    runnable = {t.iri for t in load_tests() if not t.skip_reason}
    assert set(known_failures(profile)) <= runnable
