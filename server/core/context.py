"""What every request handler shares: settings, the engine, the limits, the caches. Built once per app.

``engine`` is the engine itself; ``pages_engine`` is it behind the result cache, for the pages,
charts and linked data, whose queries repeat on every view (:mod:`kg.engine.cache`). ``version``
reads the store's version, which every acknowledged write moves on (:mod:`kg.changes.versions`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from kg.changes.proposals import Proposals
from kg.changes.tokens import Tokens
from kg.changes.versions import StoreVersion, VersionCounter
from kg.changes.writer import Writer
from kg.config import Settings
from kg.engine import Engine
from kg.engine.cache import CachedEngine, ResultCache
from kg.rdf.names import Names
from server.core.budgets import Budgets, ClientTable
from server.core.clients import Identifier
from server.core.limits import ServicePolicy
from server.core.metrics import Metrics


@dataclass(frozen=True)
class Context:
    settings: Settings
    engine: Engine
    names: Names
    services: ServicePolicy
    budgets: Budgets
    identifier: Identifier
    tokens: Tokens
    version: StoreVersion
    cache: ResultCache
    pages_engine: Engine
    metrics: Metrics
    writer: Writer | None = None  # None: the service is read-only
    proposals: Proposals | None = None  # changes awaiting review (with a writer only)

    @classmethod
    def build(
        cls,
        settings: Settings,
        engine: Engine,
        writer: Writer | None = None,
        *,
        version: StoreVersion | None = None,
        clients: ClientTable | None = None,
    ) -> Context:
        """``version`` and ``clients`` are made before the workers are forked, to be shared by them;
        without them this app has its own (one process)."""
        tokens = Tokens.load(settings.tokens_file, settings.tokens)
        version = version if version is not None else VersionCounter()
        if writer is not None and isinstance(version, VersionCounter):
            writer.committed.append(version.advance_to)
        metrics = Metrics()
        cache = ResultCache(settings.result_cache_bytes)
        pages_cache = ResultCache(settings.result_cache_bytes // 4)
        pages_engine = CachedEngine(engine, pages_cache, version.token, on_lookup=metrics.cache_lookup)
        return cls(
            settings=settings,
            engine=engine,
            names=settings.names,
            services=ServicePolicy.from_setting(settings.service_allowlist),
            budgets=Budgets(settings, clients),
            identifier=Identifier(settings.trusted_proxies, tokens),
            tokens=tokens,
            version=version,
            cache=cache,
            pages_engine=pages_engine,
            metrics=metrics,
            writer=writer,
            proposals=Proposals(settings.proposals_file, settings.names) if writer is not None else None,
        )


EXTENSION_KEY = "alatau_kg"


def context() -> Context:
    """The context of the app handling the current request."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
