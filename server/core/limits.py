"""Limits that keep the endpoint safe by default: what a query may call.

- :class:`ServicePolicy`: no outbound requests from queries. ``SERVICE`` is refused unless its IRI
  starts with an allowlisted prefix; ``file:`` IRIs are refused everywhere, always.

How much a client may ask is :mod:`server.core.budgets` (engine time, errors, queries per minute,
shared by the workers). The request size cap is Flask's ``MAX_CONTENT_LENGTH``; the query timeout and
the result size cap are the engine's (:mod:`kg.engine.process`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kg.rdf.sparql import Shape
from server.core.errors import HttpError


@dataclass(frozen=True)
class ServicePolicy:
    allowlist: tuple[str, ...] = ()

    @classmethod
    def from_setting(cls, value: str) -> ServicePolicy:
        prefixes = tuple(p for p in value.split() if p)
        for prefix in prefixes:
            if prefix.lower().startswith("file:"):
                raise ValueError(f"file: IRIs cannot be allowed for SERVICE: {prefix!r}")
        return cls(prefixes)

    def check(self, shape: Shape, graph_iris: Iterable[str] = ()) -> None:
        """Refuse (400) a query that would call a service not allowed, or name a file."""
        for iri in [*shape.dataset_iris, *graph_iris]:
            if iri.lower().startswith("file:"):
                raise HttpError(400, "file_access_refused", f"file: IRIs are refused: <{iri}>")
        for target in shape.services:
            if target is None:
                raise HttpError(
                    400,
                    "service_refused",
                    "SERVICE with a variable or an undeclared prefix is refused: "
                    "this endpoint does not make outbound requests for queries",
                )
            if target.lower().startswith("file:"):
                raise HttpError(400, "file_access_refused", f"file: IRIs are refused: SERVICE <{target}>")
            if not any(target.startswith(prefix) for prefix in self.allowlist):
                raise HttpError(
                    400,
                    "service_refused",
                    f"SERVICE <{target}> is refused: this endpoint does not make outbound requests "
                    "for queries (federation is off, or that service is not in its allowlist)",
                    service=target,
                )
