"""Limits that keep the endpoint safe by default: who may call what, and how often.

- :class:`ServicePolicy`: no outbound requests from queries. ``SERVICE`` is refused unless its IRI
  starts with an allowlisted prefix; ``file:`` IRIs are refused everywhere, always.
- :class:`RateLimiter`: a token bucket per client address (off unless configured).

The request size cap is Flask's ``MAX_CONTENT_LENGTH``; the query timeout and the result size cap are
the engine's (:mod:`kg.engine.process`).
"""

from __future__ import annotations

import math
import threading
import time
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


class RateLimiter:
    """A token bucket per client: ``burst`` queries at once, then ``per_minute`` a minute."""

    def __init__(self, per_minute: float, burst: int, *, clock=time.monotonic, max_clients: int = 10_000):
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last update)
        self._lock = threading.Lock()
        self._max_clients = max_clients

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, client: str) -> None:
        """Spend one token of ``client``'s bucket, or refuse with 429 and when to come back."""
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.rate)
                raise HttpError(
                    429,
                    "rate_limited",
                    f"too many queries from {client}: try again in {wait} s",
                    headers={"Retry-After": str(wait)},
                    retry_after_s=wait,
                )
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self._max_clients:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: they hold no information (bounds the memory)."""
        for client, (tokens, last) in list(self._buckets.items()):
            if tokens + (now - last) * self.rate >= self.burst:
                del self._buckets[client]
