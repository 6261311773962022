"""Content negotiation as data: Accept parsing and choice (RFC 9110 §12.5.1)."""

from __future__ import annotations

import pytest

from server.core.negotiation import (
    CSV,
    GRAPHS,
    JSON,
    JSONLD,
    NTRIPLES,
    RDFXML,
    RESULTS,
    TSV,
    TURTLE,
    XML,
    NotAcceptable,
    UnknownFormat,
    choose,
    parse_accept,
)


def test_parse_accept_reads_q_and_skips_malformed() -> None:
    ranges = parse_accept(
        'text/csv;q=0.5, application/json ; charset="utf-8", bogus, */x, text/tsv;q=x, */*;q=0'
    )
    assert [(r.type, r.subtype, r.q) for r in ranges] == [
        ("text", "csv", 0.5),
        ("application", "json", 1.0),
        ("*", "*", 0.0),
    ]
    assert ranges[1].params == (("charset", "utf-8"),)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("text/csv", CSV),
        ("TEXT/CSV", CSV),
        ("application/json", JSON),
        ("text/xml", XML),
        ("text/*", XML),  # text/xml is XML results, first in the table among text/*
        ("text/csv;q=0.4, text/tab-separated-values;q=0.5", TSV),
        ("application/sparql-results+json;q=0, */*;q=0.1", XML),
        ("text/*;q=0, text/csv", CSV),  # the most specific range decides
        ("application/sparql-results+xml, application/sparql-results+json", JSON),  # ties: table order
    ],
)
def test_results(accept: str | None, expected: object) -> None:
    assert choose(RESULTS, accept) is expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, TURTLE),
        ("*/*", TURTLE),
        ("application/json", JSONLD),
        ("application/xml", RDFXML),
        ("text/plain", NTRIPLES),
        ("application/rdf+xml;q=0.9, text/turtle;q=0.8", RDFXML),
        ("application/sparql-results+xml", RDFXML),  # rdflib's SPARQLStore, for CONSTRUCT too
        ("application/sparql-results+json", JSONLD),
    ],
)
def test_graphs(accept: str | None, expected: object) -> None:
    assert choose(GRAPHS, accept).name == expected.name  # type: ignore[attr-defined]


def test_nothing_acceptable() -> None:
    with pytest.raises(NotAcceptable) as caught:
        choose(RESULTS, "text/html, image/*")
    assert "application/sparql-results+json" in caught.value.available
    with pytest.raises(NotAcceptable):
        choose(RESULTS, "*/*;q=0")


@pytest.mark.parametrize(
    ("values", "table", "expected"),
    [
        (["csv"], RESULTS, CSV),
        (["text/csv"], RESULTS, CSV),
        (["xml"], RESULTS, XML),
        (["xml"], GRAPHS, RDFXML),  # SPARQLWrapper's name for RDF/XML
        (["rdf+xml", "application/rdf+xml"], GRAPHS, RDFXML),  # SPARQLWrapper sends both
        (["json-ld", "application/ld+json"], GRAPHS, JSONLD),
        (["tsv", "text/tab-separated-values"], RESULTS, TSV),
        (["ttl"], GRAPHS, TURTLE),
    ],
)
def test_format_parameter(values: list[str], table: tuple, expected: object) -> None:
    assert choose(table, "application/sparql-results+json", values).name == expected.name  # type: ignore[attr-defined]


def test_format_parameter_errors() -> None:
    with pytest.raises(NotAcceptable):
        choose(GRAPHS, None, ["csv"])
    with pytest.raises(UnknownFormat):
        choose(RESULTS, None, ["yaml"])
