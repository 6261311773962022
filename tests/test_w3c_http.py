"""The W3C SPARQL 1.1 test suites through the SPARQL 1.1 Protocol (:class:`HttpEngine`).

By default against a throw-away ``oxigraph serve`` started on a free loopback port (about 5 s for the
whole run, so the module is not marked ``slow``).  To test another, already running endpoint (e.g. the
Alatau Flask app), set ``ALATAU_W3C_ENDPOINT`` to its base URL, and if its layout differs from Oxigraph's
``ALATAU_W3C_QUERY_PATH`` / ``ALATAU_W3C_UPDATE_PATH`` / ``ALATAU_W3C_STORE_PATH`` (empty: load data with
``INSERT DATA``) and ``ALATAU_W3C_PROFILE`` (known-failure profile, default ``oxigraph-http``).
The endpoint's dataset is dropped (``DROP ALL``) before every test: never point this at real data.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:
    from tests.w3c import (
        QUERY_EVALUATION,
        QUERY_SYNTAX,
        UPDATE_EVALUATION,
        UPDATE_SYNTAX,
        HttpEngine,
        W3CTest,
        load_tests,
        outcome,
        run_test,
    )
    from tests.w3c.engines import http_engine_from_env, http_profile
    from tests.w3c.params import suite_params, suites_available
    from tests.w3c.server import oxigraph_binary, oxigraph_server
except ModuleNotFoundError:  # pytest's default "prepend" import mode puts tests/ itself on sys.path
    from w3c import (  # type: ignore[no-redef]
        QUERY_EVALUATION,
        QUERY_SYNTAX,
        UPDATE_EVALUATION,
        UPDATE_SYNTAX,
        HttpEngine,
        W3CTest,
        load_tests,
        outcome,
        run_test,
    )
    from w3c.engines import http_engine_from_env, http_profile  # type: ignore[no-redef]
    from w3c.params import suite_params, suites_available  # type: ignore[no-redef]
    from w3c.server import oxigraph_binary, oxigraph_server  # type: ignore[no-redef]

if not suites_available():
    pytest.skip("W3C SPARQL 1.1 suites not found (set ALATAU_W3C_SPARQL11)", allow_module_level=True)

PROFILE = http_profile()


@pytest.fixture(scope="module")
def engine() -> Iterator[HttpEngine]:
    """``$ALATAU_W3C_ENDPOINT`` if set, else a fresh in-memory ``oxigraph serve``."""
    configured = http_engine_from_env()
    if configured is not None:
        with configured:
            yield configured
        return
    try:
        oxigraph_binary()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    with oxigraph_server() as base_url, HttpEngine(base_url, name=PROFILE) as http:
        yield http


@pytest.mark.parametrize("case", suite_params(QUERY_EVALUATION, PROFILE))
def test_query_evaluation(case: W3CTest, engine: HttpEngine) -> None:
    run_test(case, engine)


@pytest.mark.parametrize("case", suite_params(QUERY_SYNTAX, PROFILE))
def test_query_syntax(case: W3CTest, engine: HttpEngine) -> None:
    run_test(case, engine)


@pytest.mark.parametrize("case", suite_params(UPDATE_SYNTAX, PROFILE))
def test_update_syntax(case: W3CTest, engine: HttpEngine) -> None:
    run_test(case, engine)


@pytest.mark.parametrize("case", suite_params(UPDATE_EVALUATION, PROFILE))
def test_update_evaluation(case: W3CTest, engine: HttpEngine) -> None:
    run_test(case, engine)


def test_loading_with_insert_data(engine: HttpEngine) -> None:
    """Loading test data with ``INSERT DATA`` (endpoints without a Graph Store) changes no outcome."""
    tests = [
        t
        for t in load_tests()
        if t.suite in (QUERY_EVALUATION, UPDATE_EVALUATION) and (t.data or t.graph_data) and not t.skip_reason
    ]
    assert tests
    with HttpEngine(
        "", query_path=engine.query_url, update_path=engine.update_url, store_path=None, name=engine.name
    ) as via_update:
        differences = [t.iri for t in tests if outcome(t, engine).status != outcome(t, via_update).status]
    assert differences == []
