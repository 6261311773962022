"""The service's metrics, in the Prometheus text format at ``/-/metrics`` (prometheus_client).

Every metric, its labels, and what records it (the names are the agreement with other modules; the
engine's own events come through :mod:`kg.engine.events`):

    alatau_kg_requests_total{route,status}          every request, by route (the URL rule) and status
    alatau_kg_request_seconds{route,form}           latency histogram, by route and query form
                                                    (SELECT, ASK, CONSTRUCT, DESCRIBE; "" off /sparql)
    alatau_kg_engine_seconds{form}                  histogram of the engine time of queries that ran
    alatau_kg_query_timeouts_total                  queries stopped by the timeout (503 query_timeout)
    alatau_kg_refusals_total{code}                  requests refused, by error code (every 4xx/5xx
                                                    the web layer answers: limits, bad input, budgets)
    alatau_kg_budget_refusals_total{budget}         429s of the per-client budgets: query_time,
                                                    errors, queries (server.core.budgets)
    alatau_kg_engine_kills_total{reason}            events.ENGINE_KILLED
    alatau_kg_engine_restarts_total                 events.ENGINE_RESTARTED
    alatau_kg_engine_refusals_total{limit}          events.QUERY_REFUSED
    alatau_kg_engine_generation_restarts            gauge: restarts of the engine, read from the
                                                    engine at each scrape (any cause)
    alatau_kg_writes_total{outcome}                 writes accepted or refused (/update, /store)
    alatau_kg_cache_total{cache,result}             look-ups of the result caches: cache "sparql"
                                                    (the endpoint) or "pages"; result hit or miss

With several worker processes the metrics are prometheus_client's *multiprocess mode*: each process
writes its values to files in one directory (``PROMETHEUS_MULTIPROC_DIR``), and a scrape, whichever
worker answers it, sums them all. The server chooses that directory when it starts, after this library
has been imported, so :func:`use_multiprocess_dir` sets it and makes the library choose its value
class again (the library reads the variable once, at import). Without it (one process, the tests),
each app keeps its metrics in a registry of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from kg.engine import events

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BUDGETS = {"query_time_exceeded": "query_time", "errors_exceeded": "errors", "rate_limited": "queries"}


def use_multiprocess_dir(directory: Path) -> None:
    """Metrics made from now on (in this process and those forked from it) go to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # a previous run's values
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.get_value_class()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """One app's metrics (see the module's docstring for the names)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "alatau_kg_requests", "Requests by route and status", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "alatau_kg_request_seconds",
            "Request latency by route and query form",
            ["route", "form"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.engine_seconds = Histogram(
            "alatau_kg_engine_seconds",
            "Engine time of the queries that ran",
            ["form"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.timeouts = Counter("alatau_kg_query_timeouts", "Queries stopped by the timeout", registry=r)
        self.refusals = Counter("alatau_kg_refusals", "Requests refused, by error code", ["code"], registry=r)
        self.budget_refusals = Counter(
            "alatau_kg_budget_refusals", "429s of the per-client budgets", ["budget"], registry=r
        )
        self.engine_kills = Counter(
            "alatau_kg_engine_kills", "Engine processes killed", ["reason"], registry=r
        )
        self.engine_restarts = Counter("alatau_kg_engine_restarts", "Engine processes restarted", registry=r)
        self.engine_refusals = Counter(
            "alatau_kg_engine_refusals", "Queries refused by a limit of the engine", ["limit"], registry=r
        )
        self.writes = Counter("alatau_kg_writes", "Writes accepted or refused", ["outcome"], registry=r)
        self.cache = Counter("alatau_kg_cache", "Result cache look-ups", ["cache", "result"], registry=r)
        self._cache_hits = {c: self.cache.labels(c, "hit") for c in ("sparql", "pages")}
        self._cache_misses = {c: self.cache.labels(c, "miss") for c in ("sparql", "pages")}
        self._request_children: dict[tuple[str, int], Counter] = {}
        self._latency_children: dict[tuple[str, str], Histogram] = {}
        self._pid = os.getpid()  # a forked worker inherits the listener: only its maker's counts
        events.listen(self.on_event)

    # --- recording (cheap: children are looked up once) -----------------------------------------------

    def request(self, route: str, status: int, form: str, seconds: float) -> None:
        counter = self._request_children.get((route, status))
        if counter is None:
            counter = self._request_children[(route, status)] = self.requests.labels(route, str(status))
        counter.inc()
        histogram = self._latency_children.get((route, form))
        if histogram is None:
            histogram = self._latency_children[(route, form)] = self.latency.labels(route, form)
        histogram.observe(seconds)

    def refused(self, code: str) -> None:
        self.refusals.labels(code).inc()
        budget = BUDGETS.get(code)
        if budget is not None:
            self.budget_refusals.labels(budget).inc()

    def cache_lookup(self, cache: str, hit: bool) -> None:
        (self._cache_hits if hit else self._cache_misses)[cache].inc()

    def on_event(self, name: str, labels: dict[str, str]) -> None:
        if os.getpid() != self._pid:
            return
        if name == events.ENGINE_KILLED:
            self.engine_kills.labels(labels.get("reason", "")).inc()
        elif name == events.ENGINE_RESTARTED:
            self.engine_restarts.inc()
        elif name == events.QUERY_REFUSED:
            self.engine_refusals.labels(labels.get("limit", "")).inc()

    def close(self) -> None:
        events.forget(self.on_event)

    # --- exposition ------------------------------------------------------------------------------------

    def exposition(self, restarts: int | None = None) -> bytes:
        """The text format: every process's values in multiprocess mode, else this app's."""
        directory = multiprocess_dir()
        if directory is not None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=directory)
        else:
            registry = self.registry
        text = generate_latest(registry)
        if restarts is not None:
            gauge = GaugeMetricFamily(
                "alatau_kg_engine_generation_restarts", "Restarts of the engine process (any cause)"
            )
            gauge.add_metric([], float(restarts))
            extra = CollectorRegistry()
            extra.register(_Fixed([gauge]))
            text += generate_latest(extra)
        return text


class _Fixed:
    def __init__(self, families: list[GaugeMetricFamily]):
        self.families = families

    def collect(self) -> list[GaugeMetricFamily]:
        return self.families
