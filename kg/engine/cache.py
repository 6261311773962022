"""Query results kept for reuse, keyed by what decides them and by the store's version.

A result is the same as long as the query (normalised: :func:`kg.rdf.sparql.normalise`), the dataset
(default and named graphs, the union flag, the base IRI, which the web layer writes into the query),
the result's media type and the store's version are. The version is a token that changes with every
acknowledged write (:mod:`kg.changes.versions`), read once per request: an entry is served only under
the version it was made under, so no result from before an acknowledged write is ever served.
When the version moves, every entry is dropped at once (they are all stale).

Bounded in bytes (bodies and keys), least recently used first out; a result larger than an eighth of
the bound is not kept. One cache per process: a look-up is a dict access under a lock, where a cache
shared by the workers would cost a system call or a copy per request (measured: bench/RESULTS.md).

:class:`CachedEngine` puts the cache in front of an engine for the pages, the charts and linked data;
the SPARQL endpoint uses :class:`ResultCache` directly (it answers ETag, 304 and X-Cache).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kg.engine import Engine, EngineResponse
from kg.rdf.sparql import Normal, lex, normalise, shape

ENTRY_OVERHEAD = 200  # bytes an entry costs besides its body and key (objects, dict slots)
TOKEN_OVERHEAD = 57  # a normal form kept as a tuple: each token's string object and slot

# (base IRI, normal form, media type, default graphs, named graphs, union default graph)
Key = tuple[str, Normal, str, tuple[str, ...], tuple[str, ...], bool]


@dataclass(frozen=True)
class Entry:
    response: EngineResponse
    etag: str  # weak: the same query over the same data under the same version
    size: int


def key_of(
    query: str,
    accept: str,
    default_graphs: Sequence[str] = (),
    named_graphs: Sequence[str] = (),
    union_default_graph: bool = False,
    base: str = "",
    texts: list[str] | None = None,
) -> Key:
    """``texts``: the query's tokens (:func:`kg.rdf.sparql.lex`), when the caller has them."""
    normal = normalise(query, texts)
    return (base, normal, accept, (*default_graphs,), (*named_graphs,), union_default_graph)


def etag_of(key: Key, version: str) -> str:
    digest = hashlib.blake2b(repr(key).encode("utf-8"), digest_size=9).hexdigest()
    return f'W/"{version}-{digest}"'


def cacheable(query: str, texts: list[str] | None = None) -> bool:
    """Whether a query's result depends on the data alone: not when it calls another service or a
    function whose value changes from one run to the next (RAND, NOW, UUID, STRUUID, BNODE)."""
    found = shape(query, texts=texts)
    return not found.services and not found.volatile


class ResultCache:
    """Results by key, for one store version at a time, within ``max_bytes``."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, max_bytes)
        self.max_entry_bytes = self.max_bytes // 8
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._version = ""
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key, version: str) -> Entry | None:
        with self._lock:
            if version != self._version:
                if self._newer(version):
                    self._move_to(version)  # a write was acknowledged: everything kept is stale
                entry = None  # (an older version: a request that began before the write; no entry)
            else:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
            if entry is None:
                self.misses += 1
            else:
                self.hits += 1
            return entry

    def put(self, key: Key, version: str, response: EngineResponse) -> Entry:
        """Keep ``response`` (read under ``version``) and return its entry; a result read under a
        version the cache has since left is returned but not kept."""
        normal = key[1]
        size = len(response.body) + len(key[0]) + ENTRY_OVERHEAD
        size += (
            len(normal) if isinstance(normal, str) else sum(map(len, normal)) + TOKEN_OVERHEAD * len(normal)
        )
        entry = Entry(response, etag_of(key, version), size)
        if not self.enabled or size > self.max_entry_bytes:
            return entry
        with self._lock:
            if version != self._version:
                if not self._newer(version):
                    return entry
                self._move_to(version)
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= previous.size
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _move_to(self, version: str) -> None:
        self._entries.clear()
        self._bytes = 0
        self._version = version

    def _newer(self, version: str) -> bool:
        """Whether ``version`` comes after the cache's (same epoch, larger number; another epoch:
        the store was replaced, and the newest reader decides)."""
        epoch, _, number = version.rpartition(".")
        mine_epoch, _, mine = self._version.rpartition(".")
        if epoch != mine_epoch or not number.isdigit() or not mine.isdigit():
            return True
        return int(number) > int(mine)


class CachedEngine:
    """An engine whose query results are kept in a :class:`ResultCache` (for the pages: their
    queries repeat on every view). Everything else is the engine's."""

    def __init__(
        self,
        engine: Engine,
        cache: ResultCache,
        version: Callable[[], str],
        *,
        on_lookup: Callable[[str, bool], None] | None = None,
    ):
        self.engine = engine
        self.cache = cache
        self.version = version
        self.timeout_s = engine.timeout_s
        self._on_lookup = on_lookup  # (cache name, hit): for the metrics

    def query(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        union_default_graph: bool = False,
    ) -> EngineResponse:
        def ask() -> EngineResponse:
            return self.engine.query(
                sparql,
                accept=accept,
                default_graphs=default_graphs,
                named_graphs=named_graphs,
                union_default_graph=union_default_graph,
            )

        if not self.cache.enabled:
            return ask()
        texts = lex(sparql)  # once, for both
        if not cacheable(sparql, texts):
            return ask()
        version = self.version()
        key = key_of(sparql, accept, default_graphs, named_graphs, union_default_graph, texts=texts)
        entry = self.cache.get(key, version)
        if self._on_lookup is not None:
            self._on_lookup("pages", entry is not None)
        if entry is None:
            entry = self.cache.put(key, version, ask())
        return entry.response

    def graph_counts(self) -> dict[str, int]:
        return self.engine.graph_counts()

    def status(self) -> dict[str, Any]:
        return self.engine.status()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)
