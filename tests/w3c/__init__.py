"""Harness for the W3C SPARQL 1.1 test suites (query evaluation, syntax, update evaluation).

Layout:

* :mod:`.manifest`: reads the manifests into :class:`W3CTest` records (one per manifest entry);
* :mod:`.engines`: the pluggable thing under test (:class:`Engine`) with :class:`PyOxigraphEngine`
  (in-process) and :class:`HttpEngine` (any SPARQL 1.1 Protocol endpoint);
* :mod:`.runner`: runs one test against an engine; :mod:`.results` parses and compares results;
* :mod:`.known_failures`: investigated engine deviations, run as strict xfails;
* :mod:`.report`: ``python -m tests.w3c.report [--http URL]`` prints pass counts per suite.

The pytest entry points are ``tests/test_w3c_inprocess.py`` and ``tests/test_w3c_http.py``.
"""

from .engines import Engine, EngineError, EngineSyntaxError, HttpEngine, PyOxigraphEngine, QueryResponse
from .known_failures import known_failures
from .manifest import (
    QUERY_EVALUATION,
    QUERY_SYNTAX,
    SUITE_ROOT,
    SUITES,
    UPDATE_EVALUATION,
    UPDATE_SYNTAX,
    W3CTest,
    load_tests,
    tests_of,
)
from .runner import Outcome, W3CTestFailure, outcome, run_test

__all__ = [
    "QUERY_EVALUATION",
    "QUERY_SYNTAX",
    "SUITES",
    "SUITE_ROOT",
    "UPDATE_EVALUATION",
    "UPDATE_SYNTAX",
    "Engine",
    "EngineError",
    "EngineSyntaxError",
    "HttpEngine",
    "Outcome",
    "PyOxigraphEngine",
    "QueryResponse",
    "W3CTest",
    "W3CTestFailure",
    "known_failures",
    "load_tests",
    "outcome",
    "run_test",
    "tests_of",
]
