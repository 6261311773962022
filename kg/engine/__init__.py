"""The query engine: where SPARQL is evaluated, and the one interface the web layer asks it through.

    Engine (Protocol)        query, triple counts per graph, a status
    ├── SparqlClient         any SPARQL 1.1 store over HTTP (kg.engine.client): the one HTTP client
    ├── OxigraphProcess      an ``oxigraph serve`` we run and supervise (kg.engine.process), queried
    │                        through a SparqlClient; killed and restarted when a query will not stop
    └── Failover             two of them: the primary in memory and a standby on disk that answers
                             while the primary is down or loading, and takes the heavy queries
                             (kg.engine.failover); what ``serve`` runs

``kg.engine.loading`` says where an in-memory engine's N-Quads come from (the store's snapshot).
``kg.engine.local`` runs Oxigraph in this process (pyoxigraph) for the build, the CLI and the checks:
no timeout and no cancellation, so it never answers the web's queries. ``kg.engine.shared`` holds the
engines' state, and the heavy queries, where forked server workers read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


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
