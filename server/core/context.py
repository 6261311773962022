"""What every request handler shares: settings, the engine, the limits. Built once per app."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from kg.changes.proposals import Proposals
from kg.changes.tokens import Tokens
from kg.changes.writer import Writer
from kg.config import Settings
from kg.engine import Engine
from kg.rdf.names import Names
from server.core.limits import RateLimiter, ServicePolicy


@dataclass(frozen=True)
class Context:
    settings: Settings
    engine: Engine
    names: Names
    services: ServicePolicy
    rate_limiter: RateLimiter
    tokens: Tokens
    writer: Writer | None = None  # None: the service is read-only
    proposals: Proposals | None = None  # changes awaiting review (with a writer only)

    @classmethod
    def build(cls, settings: Settings, engine: Engine, writer: Writer | None = None) -> Context:
        return cls(
            settings=settings,
            engine=engine,
            names=settings.names,
            services=ServicePolicy.from_setting(settings.service_allowlist),
            rate_limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
            tokens=Tokens.load(settings.tokens_file, settings.tokens),
            writer=writer,
            proposals=Proposals(settings.proposals_file, settings.names) if writer is not None else None,
        )


EXTENSION_KEY = "alatau_kg"


def context() -> Context:
    """The context of the app handling the current request."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
