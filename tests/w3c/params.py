"""pytest parametrisation: one ``pytest.param`` per manifest entry, the test IRI as its id."""

from __future__ import annotations

from typing import Any

import pytest

from .known_failures import known_failures
from .manifest import SUITE_ROOT, tests_of
from .runner import W3CTestFailure


def suites_available() -> bool:
    """Whether the W3C suites are where :data:`manifest.SUITE_ROOT` says."""
    return (SUITE_ROOT / "manifest-all.ttl").is_file()


def suite_params(suite: str, engine_name: str) -> list[Any]:
    """The tests of ``suite``; skipped ones marked ``skip``, the engine's known failures ``xfail(strict)``."""
    if not suites_available():
        return []
    known = known_failures(engine_name)
    params = []
    for test in tests_of(suite):
        marks: list[pytest.MarkDecorator] = []
        if test.skip_reason:
            marks.append(pytest.mark.skip(reason=test.skip_reason))
        elif test.iri in known:
            marks.append(pytest.mark.xfail(reason=known[test.iri], strict=True, raises=W3CTestFailure))
        params.append(pytest.param(test, id=test.iri, marks=marks))
    return params
