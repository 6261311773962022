"""Tests the engines under test are known to fail, with the reason (test IRI -> reason).

Each entry was investigated: the harness is right and the engine deviates from SPARQL 1.1.  The pytest
modules mark these ``xfail(strict=True)``, so a test that starts passing (an engine fix, or a harness
change) fails the run until it is removed from here.
"""

from __future__ import annotations

_SUITE = "http://www.w3.org/2009/sparql/docs/tests/data-sparql11/"

OXIGRAPH: dict[str, str] = {
    _SUITE + "aggregates/manifest#agg-groupconcat-04": (
        'Oxigraph: GROUP_CONCAT of literals sharing a language tag keeps the tag ("1 2"@en); '
        "SPARQL 1.1 GROUP_CONCAT returns a simple literal"
    ),
    _SUITE + "aggregates/manifest#agg-groupconcat-06": (
        'Oxigraph: GROUP_CONCAT of a single "1"@en returns "1"@en instead of the simple literal "1"'
    ),
    _SUITE + "aggregates/manifest#agg-empty-group-count-graph": (
        "Oxigraph: GRAPH ?g { SELECT (COUNT(*) AS ?c) ... } is evaluated once over all graphs instead of "
        "once per named graph (no ?g binding, no COUNT 0 row for the graph without matches)"
    ),
    _SUITE + "bindings/manifest#graph": (
        "Oxigraph: VALUES binding the graph variable inside GRAPH ?g leaves ?g unbound for the UNDEF row "
        "instead of joining it with the named graphs"
    ),
    _SUITE + "csv-tsv-res/manifest#tsv03": (
        'Oxigraph: the store keeps derived integer types by value only, so "-3"^^xsd:negativeInteger '
        'comes back as "-3"^^xsd:integer'
    ),
    _SUITE + "functions/manifest#bnode01": (
        "Oxigraph: BNODE(str) returns the same blank node for the same string across different solutions; "
        "it must be a fresh blank node per solution mapping"
    ),
    _SUITE + "negation/manifest#graph-minus": (
        "Oxigraph: an outer GRAPH ?g makes ?g shared between MINUS operands, so MINUS removes solutions "
        "with disjoint domains"
    ),
    _SUITE + "property-path/manifest#zero_or_more_set_start": (
        "Oxigraph: ?s :p* :o on an empty dataset does not return the zero-length match ?s = :o"
    ),
    _SUITE + "property-path/manifest#zero_or_more_set_end": (
        "Oxigraph: :s :p* ?o on an empty dataset does not return the zero-length match ?o = :s"
    ),
    _SUITE + "property-path/manifest#zero_or_one_set_start": (
        "Oxigraph: ?s :p? :o on an empty dataset does not return the zero-length match ?s = :o"
    ),
    _SUITE + "property-path/manifest#zero_or_one_set_end": (
        "Oxigraph: :s :p? ?o on an empty dataset does not return the zero-length match ?o = :s"
    ),
}
"""Oxigraph 0.5.13, in-process (pyoxigraph) and ``oxigraph serve`` alike."""

PROFILES: dict[str, dict[str, str]] = {
    "pyoxigraph": OXIGRAPH,
    "oxigraph-http": OXIGRAPH,
    "alatau-endpoint": OXIGRAPH,  # our /sparql passes queries to Oxigraph: its deviations, no others
    "none": {},
}
"""Known failures per engine name (:attr:`Engine.name`)."""


def known_failures(engine_name: str) -> dict[str, str]:
    """The known failures of an engine; unknown names have none (every failure then shows)."""
    return PROFILES.get(engine_name, {})
