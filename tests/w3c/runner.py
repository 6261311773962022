"""Running one W3C test against an :class:`~.engines.Engine`.

:func:`run_test` raises :class:`W3CTestFailure` (an ``AssertionError``) with an explanation when the
engine does not pass; any other exception is a harness (or environment) bug.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from .engines import Engine, EngineError
from .manifest import (
    QUERY_EVALUATION,
    QUERY_SYNTAX,
    SUITE_ROOT,
    UPDATE_EVALUATION,
    UPDATE_SYNTAX,
    W3CTest,
    iri_to_path,
)
from .rdfio import parse_rdf_file
from .results import (
    SPARQL_RESULTS_CSV,
    SPARQL_RESULTS_JSON,
    SPARQL_RESULTS_TSV,
    Solutions,
    compare_datasets,
    compare_results,
    load_expected,
    parse_results,
)
from .terms import IRI, Quad

_RESULTS_FORMAT_BY_SUFFIX = {".csv": SPARQL_RESULTS_CSV, ".tsv": SPARQL_RESULTS_TSV}
"""The CSV/TSV tests check those serializations; everything else is fetched as JSON."""
_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.IGNORECASE)


class W3CTestFailure(AssertionError):
    """The engine under test does not pass a W3C test."""


def _text(iri: str, root: Path) -> str:
    return iri_to_path(iri, root).read_text(encoding="utf-8")


def load_dataset(
    default: tuple[str, ...], named: tuple[tuple[str, str], ...], root: Path = SUITE_ROOT
) -> list[Quad]:
    """The quads of a test dataset: files into the default graph, ``(name, file)`` pairs into named graphs.

    Each file is parsed with its own IRI as base and its own blank nodes.
    """
    quads: list[Quad] = []
    for file in default:
        quads += parse_rdf_file(iri_to_path(file, root), file)
    for name, file in named:
        quads += parse_rdf_file(iri_to_path(file, root), file, IRI(name))
    return quads


def run_query_evaluation(test: W3CTest, engine: Engine, root: Path = SUITE_ROOT) -> None:
    """Load the data, run the query, compare with the expected result."""
    assert test.query is not None and test.result is not None, test
    result_path = iri_to_path(test.result, root)
    expected = load_expected(result_path, test.result)
    query = _text(test.query, root)
    if isinstance(expected, Solutions) and expected.ordered and not _ORDER_BY.search(query):
        expected = replace(expected, ordered=False)
    results_format = _RESULTS_FORMAT_BY_SUFFIX.get(result_path.suffix.lower(), SPARQL_RESULTS_JSON)
    try:
        engine.reset()
        engine.load(load_dataset(test.data, test.graph_data, root))
        response = engine.query(query, test.query, results_format)
    except EngineError as error:
        raise W3CTestFailure(f"engine error: {error}") from error
    actual = parse_results(response.body, response.media_type, test.query)
    problem = compare_results(expected, actual)
    if problem is not None:
        raise W3CTestFailure(f"{test.name}: {problem}\n  query:\n{query}")


def run_syntax(test: W3CTest, engine: Engine, root: Path = SUITE_ROOT) -> None:
    """A positive syntax test must be accepted, a negative one rejected."""
    assert test.query is not None, test
    text = _text(test.query, root)
    try:
        engine.reset()
        if test.suite == UPDATE_SYNTAX:
            accepted = engine.accepts_update(text, test.query)
        else:
            accepted = engine.accepts_query(text, test.query)
    except EngineError as error:
        raise W3CTestFailure(f"engine error: {error}") from error
    if accepted != test.positive:
        verdict = "rejects a valid" if test.positive else "accepts an invalid"
        kind = "update" if test.suite == UPDATE_SYNTAX else "query"
        raise W3CTestFailure(f"{test.name}: the engine {verdict} {kind}:\n{text}")


def run_update_evaluation(test: W3CTest, engine: Engine, root: Path = SUITE_ROOT) -> None:
    """Load the dataset, run the update, compare the resulting dataset with the expected one."""
    assert test.query is not None, test
    update = _text(test.query, root)
    expected = load_dataset(test.result_data, test.result_graph_data, root)
    try:
        engine.reset()
        engine.load(load_dataset(test.data, test.graph_data, root))
        engine.update(update, test.query)
        actual = engine.dump()
    except EngineError as error:
        raise W3CTestFailure(f"engine error: {error}") from error
    problem = compare_datasets(expected, actual)
    if problem is not None:
        raise W3CTestFailure(f"{test.name}: {problem}\n  update:\n{update}")


_RUNNERS = {
    QUERY_EVALUATION: run_query_evaluation,
    QUERY_SYNTAX: run_syntax,
    UPDATE_SYNTAX: run_syntax,
    UPDATE_EVALUATION: run_update_evaluation,
}


def run_test(test: W3CTest, engine: Engine, root: Path = SUITE_ROOT) -> None:
    """Run ``test``; raise :class:`W3CTestFailure` if ``engine`` does not pass it."""
    _RUNNERS[test.suite](test, engine, root)


@dataclass(frozen=True)
class Outcome:
    """What happened to one test (for reports)."""

    test: W3CTest
    status: str
    """``passed``, ``failed`` or ``skipped``."""
    detail: str = ""


def outcome(test: W3CTest, engine: Engine, root: Path = SUITE_ROOT) -> Outcome:
    """Run ``test`` and record the outcome instead of raising."""
    if test.skip_reason:
        return Outcome(test, "skipped", test.skip_reason)
    try:
        run_test(test, engine, root)
    except W3CTestFailure as failure:
        return Outcome(test, "failed", str(failure))
    return Outcome(test, "passed")
