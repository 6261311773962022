"""The query engine: where SPARQL is evaluated, and the one interface the web layer asks it through.

    Engine (Protocol)        query, triple counts per graph, a status
    ├── SparqlClient         any SPARQL 1.1 store over HTTP (kg.engine.client): the one HTTP client
    ├── OxigraphProcess      an ``oxigraph serve`` we run and supervise (kg.engine.process), queried
    │                        through a SparqlClient; killed and restarted when a query will not stop
    └── Failover             two of them: the primary in memory and a standby on disk that answers
                             while the primary is down or loading, and takes the heavy queries
                             (kg.engine.failover); what ``serve`` runs

``kg.engine.loading`` says where an in-memory engine's N-Quads come from (the store's snapshot).
``kg.engine.spawning`` starts programs (engines, dumps) so that no worker is forked meanwhile.
``kg.engine.local`` runs Oxigraph in this process (pyoxigraph) for the build, the CLI and the checks:
no timeout and no cancellation, so it never answers the web's queries. ``kg.engine.shared`` holds the
engines' state, and the heavy queries, where forked server workers read them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from kg.rdf.sparql import QUERY_FORMS, tokenize, unescape

T = TypeVar("T")


@dataclass(frozen=True)
class EngineResponse:
    """A successful answer, as the engine wrote it."""

    status: int
    content_type: str
    body: bytes


class Engine(Protocol):
    """What the web layer asks of a query engine."""

    timeout_s: float

    def query(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        union_default_graph: bool = False,
    ) -> EngineResponse: ...

    def graph_counts(self) -> dict[str, int]: ...

    def status(self) -> dict[str, Any]: ...


def wrapped(sparql: str, after: str) -> str:
    """``sparql`` (a SELECT) as the subquery of ``SELECT * WHERE { { … } } <after>``, its prologue
    (PREFIX, BASE) kept in front."""
    text = unescape(sparql)
    forms = (t.offset for t in tokenize(sparql) if t.kind == "name" and t.text.upper() in QUERY_FORMS)
    start = next(forms, 0)
    return f"{text[:start]}SELECT * WHERE {{ {{ {text[start:]} }} }} {after}"


def in_pages(sparql: str, page: int, variables: Sequence[str], run: Callable[[str], list[T]]) -> list[T]:
    """Every solution of the SELECT ``sparql``, read in pages of ``page`` rows (ordered by every
    variable, so that the pages follow each other): for a store that cuts a result at a row cap
    (:class:`kg.errors.ResultTruncated` says the cap), which a page of at most that many never hits.
    ``run`` runs one page's query and returns its solutions; ``variables`` are the SELECT's (those of
    ``wrapped(sparql, "LIMIT 0")``)."""
    order = " ".join(f"?{v}" for v in variables)
    rows: list[T] = []
    while True:
        batch = run(wrapped(sparql, f"ORDER BY {order} LIMIT {page} OFFSET {len(rows)}"))
        rows += batch
        if len(batch) < page:
            return rows
