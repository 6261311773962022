"""The W3C SPARQL 1.1 suites through OUR endpoint (``/sparql``) over OpenLink Virtuoso 7.2.

As ``tests/test_w3c_endpoint.py`` and ``tests/test_w3c_protocol.py`` do over Oxigraph: one throw-away
Virtuoso per suite family (``tests/w3c/virtuoso.py``), our app in front of it with the ``virtuoso``
engine profile. Query evaluation and syntax: each test's data loaded into Virtuoso, its query sent to
our ``/sparql`` naming its dataset (Virtuoso has no default graph of its own). Protocol: the manifest's
graphs loaded once, our endpoint as deployed (the union of the graphs). Virtuoso's own deviations are
strict xfails (profile ``alatau-virtuoso`` of ``tests/w3c/known_failures.py``); the counts of the
docs' conformance page are what this module measured (checked by its last test, when it ran whole).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from kg.config import PROJECT_ROOT
from tests.virtuoso_support import VirtuosoProcess, require_virtuoso
from tests.w3c import QUERY_EVALUATION, QUERY_SYNTAX, W3CTest, run_test
from tests.w3c.params import suite_params, suites_available
from tests.w3c.protocol import (
    ProtocolTarget,
    ProtocolTest,
    load_protocol_tests,
    manifest_quads,
    read_only_skip,
    run_protocol_test,
)
from tests.w3c.report import _QUERY_MANIFEST_FOLDERS
from tests.w3c.runner import W3CTestFailure
from tests.w3c.virtuoso import ENGINE_NAME, VirtuosoBehindUs, VirtuosoEndpoint, virtuoso_endpoint

if not suites_available():
    pytest.skip("W3C SPARQL 1.1 suites not found (set ALATAU_W3C_SPARQL11)", allow_module_level=True)

pytestmark = pytest.mark.slow

EVALUATION = suite_params(QUERY_EVALUATION, ENGINE_NAME)
SYNTAX = suite_params(QUERY_SYNTAX, ENGINE_NAME)
PROTOCOL = load_protocol_tests()
OUTCOMES: dict[str, str] = {}  # test IRI or protocol test name → passed / failed, as this run found


@pytest.fixture(scope="module")
def engine() -> Iterator[VirtuosoBehindUs]:
    require_virtuoso()
    with (
        VirtuosoProcess(result_set_max_rows=100_000) as v,
        virtuoso_endpoint(v) as served,
        VirtuosoBehindUs(served) as http,
    ):
        yield http


def _measured(key: str, run: object) -> None:
    try:
        run()  # type: ignore[operator]
    except (W3CTestFailure, AssertionError):
        OUTCOMES[key] = "failed"
        raise
    OUTCOMES[key] = "passed"


@pytest.mark.parametrize("case", EVALUATION)
def test_query_evaluation(case: W3CTest, engine: VirtuosoBehindUs) -> None:
    _measured(case.iri, lambda: run_test(case, engine))


@pytest.mark.parametrize("case", SYNTAX)
def test_query_syntax(case: W3CTest, engine: VirtuosoBehindUs) -> None:
    _measured(case.iri, lambda: run_test(case, engine))


@pytest.fixture(scope="module")
def protocol_endpoint() -> Iterator[VirtuosoEndpoint]:
    require_virtuoso()
    with VirtuosoProcess() as v, virtuoso_endpoint(v, manifest_quads()) as served:
        yield served


@pytest.fixture(scope="module")
def target(protocol_endpoint: VirtuosoEndpoint) -> Iterator[ProtocolTarget]:
    served = ProtocolTarget(protocol_endpoint.sparql, protocol_endpoint.sparql)
    yield served
    served.session.close()


def _protocol_params() -> list[object]:
    params = []
    for test in PROTOCOL:
        marks = [pytest.mark.skip(reason=reason)] if (reason := read_only_skip(test)) else []
        params.append(pytest.param(test, id=test.iri, marks=marks))
    return params


@pytest.mark.parametrize("case", _protocol_params())
def test_protocol(case: ProtocolTest, target: ProtocolTarget) -> None:
    _measured(case.name, lambda: run_protocol_test(case, target))


# --- the docs cannot drift --------------------------------------------------------------------------


def _counts(keys: list[str], skipped: int) -> str:
    counted = Counter(OUTCOMES[k] for k in keys)
    run = counted["passed"] + counted["failed"]
    return f"{counted['passed']}/{run} passed" + (f" ({skipped} skipped)" if skipped else "")


def virtuoso_table() -> str:
    """The conformance page's table for Virtuoso, from this run's outcomes."""
    evaluation = [p.values[0] for p in EVALUATION if p.values[0].folder in _QUERY_MANIFEST_FOLDERS]
    syntax = [p.values[0] for p in SYNTAX]
    protocol_run = [t for t in PROTOCOL if not read_only_skip(t)]
    implied = sum(t.implied for t in PROTOCOL)
    rows = [
        ("suite", "our endpoint (`/sparql`) over Virtuoso 7.2"),
        ("---", "---"),
        (
            f"protocol (`protocol/manifest.ttl`: {len(PROTOCOL) - implied} tests + {implied} implied checks)",
            _counts([t.name for t in protocol_run], len(PROTOCOL) - len(protocol_run)),
        ),
        (
            "query evaluation (`manifest-sparql11-query.ttl`)",
            _counts(
                [t.iri for t in evaluation if not t.skip_reason], sum(bool(t.skip_reason) for t in evaluation)
            ),
        ),
        (
            "query syntax (`mf:PositiveSyntaxTest11`, `mf:NegativeSyntaxTest11`)",
            _counts([t.iri for t in syntax if not t.skip_reason], sum(bool(t.skip_reason) for t in syntax)),
        ),
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows) + "\n"


def test_the_virtuoso_table_is_what_the_suites_measured() -> None:
    expected = {p.values[0].iri for p in (*EVALUATION, *SYNTAX) if not p.values[0].skip_reason}
    expected |= {t.name for t in PROTOCOL if not read_only_skip(t)}
    if not expected <= set(OUTCOMES):
        pytest.skip("measured only when the whole module runs")
    table = virtuoso_table()
    page = (PROJECT_ROOT / "docs" / "pages" / "conformance.md").read_text(encoding="utf-8")
    assert table in page, (
        "the Virtuoso table of docs/pages/conformance.md is not what the suites measure; replace it with:\n"
        + table
    )
