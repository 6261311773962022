"""The Alatau endpoint (``server.app``) as the thing under test, on a real loopback server.

:func:`alatau_endpoint` serves our Flask app with waitress over a scratch Oxigraph engine
(``kg.engine.OxigraphProcess``). The endpoint is read-only, so test data goes in (and is dropped)
through the engine process's own Graph Store and update URLs, while every query goes through our
``/sparql``: :func:`endpoint_engine` is the :class:`~.engines.HttpEngine` wired so.

The W3C suites take the store's default graph as the default graph; the app is started with
``Settings(union_default_graph=False)`` for them (our default, a union of all graphs, is a deployment
choice the suites know nothing of).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyoxigraph as ox

from kg.config import Settings
from kg.engine.process import OxigraphProcess
from server.app import create_app
from tests.server_support import serving

from .engines import Engine, HttpEngine
from .manifest import QUERY_EVALUATION, QUERY_SYNTAX, tests_of
from .protocol import (
    ProtocolTarget,
    load_protocol_tests,
    manifest_quads,
    oxigraph_target,
    protocol_outcomes,
    read_only_skip,
)
from .report import _QUERY_MANIFEST_FOLDERS
from .runner import outcome
from .server import oxigraph_server

ENGINE_NAME = "alatau-endpoint"
"""The known-failure profile of the W3C suites through our endpoint."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    """Our app's base URL (``/sparql`` is its query operation)."""
    engine: OxigraphProcess

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"

    @property
    def engine_url(self) -> str:
        """The scratch Oxigraph's base URL (its ``/store``, ``/update`` and ``/query``)."""
        return self.engine.query_url.removesuffix("/query")


@contextlib.contextmanager
def alatau_endpoint(
    quads: Iterable[ox.Quad] = (), settings: Settings | None = None, timeout_s: float = 10.0
) -> Iterator[Endpoint]:
    """Our app over an in-memory Oxigraph holding ``quads``, served on a free loopback port.

    Each test loads its data into the engine itself, behind the app's back (no write of the app's
    moves the store's version): the app runs without its result cache, which would answer a query
    over one test's data with another's. The suites' one client sends hundreds of failing queries on
    purpose: no per-client budgets either."""
    settings = (settings or Settings(union_default_graph=False, query_timeout_s=timeout_s)).with_(
        result_cache_bytes=0,
        query_seconds_per_minute=0.0,
        errors_per_minute=0.0,
        steward_query_seconds_per_minute=0.0,
    )
    with OxigraphProcess.from_quads(list(quads), timeout_s=settings.query_timeout_s) as engine:
        app = create_app(settings, engine)
        with serving(app, engine) as live:
            yield Endpoint(live.url, engine)


def endpoint_engine(endpoint: Endpoint, name: str = ENGINE_NAME) -> HttpEngine:
    """Queries through our ``/sparql``; ``reset``/``load`` through the engine's own Graph Store."""
    return HttpEngine(
        endpoint.engine_url,
        query_path=endpoint.sparql,
        update_path="/update",
        store_path="/store",
        name=name,
    )


# ------------------------------------------------------------------------------------------------
# The comparison table of docs/pages/conformance.md, measured


@dataclass(frozen=True)
class Counts:
    passed: int
    run: int
    skipped: int = 0

    def __str__(self) -> str:
        skipped = f" ({self.skipped} skipped)" if self.skipped else ""
        return f"{self.passed}/{self.run} passed{skipped}"

    @classmethod
    def of(cls, statuses: Iterable[str]) -> Counts:
        counted = Counter(statuses)
        return cls(counted["passed"], counted["passed"] + counted["failed"], counted["skipped"])


def _suite_counts(engine: Engine) -> tuple[Counts, Counts]:
    """Query evaluation (``manifest-sparql11-query.ttl``'s folders) and query syntax."""
    evaluation = [t for t in tests_of(QUERY_EVALUATION) if t.folder in _QUERY_MANIFEST_FOLDERS]
    syntax = tests_of(QUERY_SYNTAX)
    return (
        Counts.of(outcome(t, engine).status for t in evaluation),
        Counts.of(outcome(t, engine).status for t in syntax),
    )


def comparison_table() -> str:
    """The conformance page's table: our endpoint beside ``oxigraph serve``, every figure measured now."""
    protocol_tests = load_protocol_tests()
    implied = sum(t.implied for t in protocol_tests)
    stated = len(protocol_tests) - implied
    with alatau_endpoint() as endpoint, endpoint_engine(endpoint) as engine:
        ours = _suite_counts(engine)
    with alatau_endpoint(manifest_quads(), Settings()) as endpoint:
        target = ProtocolTarget(endpoint.sparql, endpoint.sparql)
        ours_protocol = Counts.of(protocol_outcomes(protocol_tests, target, read_only_skip).values())
    with oxigraph_server() as url, HttpEngine(url, name="oxigraph-http") as engine:
        theirs = _suite_counts(engine)
        theirs_protocol = Counts.of(
            protocol_outcomes(protocol_tests, oxigraph_target(url), lambda t: None).values()
        )
    rows = [
        ("suite", "our endpoint (`/sparql`)", "Oxigraph server (`oxigraph serve`)"),
        ("---", "---", "---"),
        (
            f"protocol (`protocol/manifest.ttl`: {stated} tests + {implied} implied checks)",
            str(ours_protocol),
            str(theirs_protocol),
        ),
        ("query evaluation (`manifest-sparql11-query.ttl`)", str(ours[0]), str(theirs[0])),
        ("query syntax (`mf:PositiveSyntaxTest11`, `mf:NegativeSyntaxTest11`)", str(ours[1]), str(theirs[1])),
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows) + "\n"
