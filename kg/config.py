"""Settings, built once (from defaults, the environment, then CLI flags) and passed explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from kg.rdf.complexity import Limits
from kg.rdf.names import CANONICAL_BASE, Names

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ENV_PREFIX = "ALATAU_KG_"

# How the client speaks to an external store (kg.engine.profiles): auto reads the store's Server header
ENGINE_PROFILES = ("auto", "oxigraph", "virtuoso", "generic")


@dataclass(frozen=True)
class Settings:
    """Every knob of the service. Each field can be set by ``ALATAU_KG_<NAME>`` or a CLI flag."""

    base_iri: str = CANONICAL_BASE
    ontology_dir: Path = PROJECT_ROOT / "ontology"
    data_dir: Path = PROJECT_ROOT / "data"
    store_path: Path = PROJECT_ROOT / "build" / "store"
    host: str = "127.0.0.1"
    port: int = 8000
    query_timeout_s: float = 10.0
    max_body_bytes: int = 2_000_000
    max_result_rows: int = 100_000
    # --- the SPARQL endpoint (server/, kg/engine.py) ---
    max_result_bytes: int = 50_000_000  # a larger result is refused with 503 result_too_large
    service_allowlist: str = ""  # space-separated IRI prefixes SERVICE may call; empty: SERVICE refused
    cors_origin: str = "*"  # Access-Control-Allow-Origin for queries; empty: CORS off
    # the default graph of a request that names no graphs: the union of all graphs (true), or the
    # store's own default graph, as in SPARQL 1.1 (false; the W3C suites run through the endpoint so)
    union_default_graph: bool = True
    rate_limit_per_minute: float = 0.0  # queries per client and minute; 0: no rate limit
    rate_limit_burst: int = 30  # how many queries a client may send at once before the rate applies
    # --- per-client budgets (server/core/budgets.py), shared by the workers; 0: no such budget ---
    query_seconds_per_minute: float = 60.0  # engine time a client may use per minute …
    query_seconds_burst: float = 120.0  # … and at once
    errors_per_minute: float = 30.0  # failed queries a client may cause per minute …
    errors_burst: float = 60.0  # … and at once
    steward_query_seconds_per_minute: float = 600.0  # the engine time of a write token's holder
    steward_query_seconds_burst: float = 1200.0
    timeout_cost_factor: float = 2.0  # a query stopped by the timeout costs this many times its time
    kill_cost_s: float = 120.0  # a query the engine had to be killed for costs this much more
    refused_cost_s: float = 1.0  # engine time a refused request costs (ignoring Retry-After prolongs it)
    budget_clients: int = 65536  # clients the shared budget table holds at once (least recent go first)
    # addresses or networks of reverse proxies whose X-Forwarded-For is believed (space-separated)
    trusted_proxies: str = ""
    # --- the result cache (kg/engine/cache.py) ---
    result_cache_bytes: int = 64_000_000  # per worker process; 0: no cache
    cache_max_age_s: int = 0  # Cache-Control max-age of GET results; 0: no-cache (revalidate by ETag)
    access_log: bool = True  # one line per request on stderr (about an eighth of a cached answer's CPU)
    # log lines (but warnings and errors) are written in batches at most this old; 0: each at once
    log_batch_ms: int = 100
    # threads per worker process: granian starts them as requests need them, up to this many (a
    # request waiting for its body holds one; server/core/inflight.py)
    server_threads: int = 128
    # requests one client (address; IPv6 /64) may have in flight at once in a worker; past it 429
    # at once (0: no limit)
    max_client_requests: int = 16
    # requests receiving their bodies at once in a worker, all clients together (never more than half
    # of server_threads); past it 503 at once, and the other threads stay for requests without a
    # body (0: no limit)
    max_receiving_requests: int = 64
    # of them, one client's (address; IPv6 /64); past it 429 at once (0: no limit)
    max_client_receiving: int = 4
    # --- query limits (kg/rdf/complexity.py): a query or update past any of them is refused before
    # any engine sees it (400 query_too_complex); see docs/pages/availability.md for the measurements
    max_query_length: int = Limits.query_length  # characters
    max_group_depth: int = Limits.group_depth  # { } groups nested
    max_optional_depth: int = Limits.optional_depth  # OPTIONAL blocks nested
    max_expression_depth: int = Limits.expression_depth  # parentheses/brackets nested outside paths
    max_path_depth: int = Limits.path_depth  # parentheses nested in a property path
    max_triple_patterns: int = Limits.triple_patterns  # patterns joined in one group
    max_union_branches: int = Limits.union_branches
    max_bindings: int = Limits.bindings  # expressions bound to variables (BIND, SELECT … AS)
    # JSON-LD and RDF/XML bodies nested deeper are refused (400 document_too_complex) before parsing
    max_document_depth: int = 100
    workers: int = 0  # server worker processes (granian); 0: one per core, at least two
    oxigraph_bin: str = ""  # the `oxigraph` executable; empty: the one installed beside Python, or PATH
    queries_dir: Path = PROJECT_ROOT / "queries"  # example queries shown on the query page
    # the query URL of an external SPARQL 1.1 store to serve instead of the built store; with write
    # tokens, guarded writes are committed to it too (several front processes may share it)
    engine_url: str = ""
    # its SPARQL 1.1 Update URL; empty: the query URL with a final /query replaced by /update
    engine_update_url: str = ""
    # its Graph Store Protocol URL (used by `alatau-kg push`); empty: push loads with SPARQL Update
    engine_store_url: str = ""
    # whether to send Oxigraph's `union-default-graph` parameter to an external store; off: the store's
    # own default graph is used (configure it as the union, e.g. Fuseki's tdb2:unionDefaultGraph)
    engine_union_param: bool = True
    # how to speak to it: auto (its Server header and service description say), oxigraph, virtuoso, generic
    engine_profile: str = "auto"
    # the user and password its update and Graph Store URLs ask for (HTTP digest or basic authentication,
    # as the store challenges); the password is never shown or logged: set it in the environment
    engine_user: str = ""
    engine_password: str = field(default="", repr=False)
    # --- guarded writes (kg/writes.py, server/writes.py) ---
    tokens_file: Path = PROJECT_ROOT / "tokens.json"  # hashed write tokens (`alatau-kg token add`)
    tokens: str = ""  # more tokens inline: name:role:sha256hex, comma-separated
    # graphs writes may change (IRI prefixes, space-separated); empty: the source graphs under the base
    write_graphs: str = ""
    # check every write against the shapes (with reasoning); off only for a scratch store (W3C suites)
    guard_writes: bool = True
    # blank nodes in writes: refused (false), or replaced by Skolem IRIs <base>.well-known/genid/…
    # that the Graph Store serves back as blank nodes (true; the W3C Graph Store Protocol tests)
    skolemize_blank_nodes: bool = False
    # --- the stewards' pages (server/stewards/, kg/changes/proposals.py) ---
    # API writes (/update, /store) by writer tokens become proposals an admin approves, as the
    # stewards' forms always do (false: they are committed at once, checked by the shapes)
    review_writes: bool = False
    # the proposals' database (SQLite); empty: proposals.sqlite3 beside the store
    proposals_path: str = ""
    # signs the stewards' session cookies (the same on every front); empty: a random one per start
    session_secret: str = ""
    session_expiry_s: int = 8 * 3600  # a steward signs in again after this long
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.base_iri.endswith(("/", "#")):
            raise ValueError(f"base IRI must end with '/' or '#': {self.base_iri!r}")
        if self.engine_profile not in ENGINE_PROFILES:
            known = ", ".join(ENGINE_PROFILES)
            raise ValueError(f"unknown engine profile {self.engine_profile!r} (known: {known})")

    @property
    def worker_threads(self) -> int:
        """The threads a server worker runs: ``server_threads``, at least 8."""
        return max(8, self.server_threads)

    @property
    def proposals_file(self) -> Path:
        """Where the proposals are kept: ``proposals_path``, or beside the store."""
        if self.proposals_path:
            return Path(self.proposals_path)
        return self.store_path.with_name(self.store_path.name + "-proposals.sqlite3")

    @cached_property
    def query_limits(self) -> Limits:
        """The limits queries and updates are checked against (the ``max_…`` settings)."""
        return Limits(**{f.name: getattr(self, "max_" + f.name) for f in fields(Limits)})

    @property
    def names(self) -> Names:
        """The project's own IRIs under this deployment's base."""
        return Names(self.base_iri)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _coerce(f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _coerce(type_name: Any, raw: str) -> Any:
    name = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", "")
    if name == "bool":
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"not a boolean: {raw!r} (use true or false)")
    if name == "Path":
        return Path(raw)
    if name == "bool":
        if raw.strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
            raise ValueError(f"not a boolean: {raw!r} (true or false)")
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if name == "int":
        return int(raw)
    if name == "float":
        return float(raw)
    return raw
