"""Per-client budgets for queries, kept in memory shared by all worker processes.

As the Wikidata Query Service does, each client (:mod:`server.core.clients`) may use so many seconds
of engine time a minute, in bursts up to a larger amount, and cause so many errors a minute; past
either it is answered ``429`` with ``Retry-After`` and a message that says what it spent, until the
budget has refilled. Optionally (``rate_limit_per_minute``) the number of queries is limited too.

- **Engine time** is the wall time the engine spent on the client's query. A query cut by the timeout
  costs ``timeout_cost_factor`` times its time; one that outlived it so that the engine had to be
  killed costs ``kill_cost_s`` more: a client that causes kills is slowed first.
- **Errors** are queries answered 4xx or 5xx (not 429).
- **A refused request** costs ``refused_cost_s`` of engine time: a client that ignores ``Retry-After``
  pushes it further out with every request (it is banned for as long as it keeps hammering).
- **Stewards** (a valid write token) have their own engine-time budget; 0 means none.

Each budget is a bucket that refills at its rate up to its burst, and may go into debt (a query's
cost is known only once it has run); a client in debt is refused. The buckets live in a table in an
anonymous shared mapping made before the workers are forked (:class:`ClientTable`), so a client's
budget is one budget whichever worker serves it; one lock (a POSIX semaphore) serialises the updates.
"""

from __future__ import annotations

import hashlib
import math
import mmap
import multiprocessing
import struct
import time
from dataclasses import dataclass
from typing import Any

from kg.config import Settings
from server.core.clients import Client
from server.core.errors import HttpError

PROBES = 8  # slots looked at for a client before the least recently seen of them is reused


@dataclass(frozen=True)
class Allowance:
    """The refill rates (per minute) and bursts of one kind of client; a rate of 0 means unlimited."""

    seconds_per_minute: float
    seconds_burst: float
    errors_per_minute: float
    errors_burst: float
    queries_per_minute: float
    queries_burst: float

    @property
    def limited(self) -> bool:
        return bool(self.seconds_per_minute or self.errors_per_minute or self.queries_per_minute)


@dataclass
class Balance:
    seconds: float
    errors: float
    queries: float


class ClientTable:
    """Buckets by client in shared memory: an open-addressed table of ``slots`` fixed-size slots."""

    _SLOT = struct.Struct("=Qdddd")  # key hash (0: free), last update (monotonic), seconds, errors, queries

    def __init__(self, slots: int = 65536):
        self.slots = 1 << max(4, (max(16, slots) - 1).bit_length())
        self._map = mmap.mmap(-1, self.slots * self._SLOT.size)  # MAP_SHARED: survives fork
        self.lock = multiprocessing.Lock()  # a semaphore in shared memory: one across the workers

    def find(self, key: str, now: float, fresh: Balance) -> tuple[int, float, Balance]:
        """The slot of ``key`` (taken over if absent), its last update and balance. Under the lock."""
        digest = int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little") or 1
        size = self._SLOT.size
        oldest, oldest_at = -1, math.inf
        for probe in range(PROBES):
            slot = (digest + probe) & (self.slots - 1)
            found, updated, seconds, errors, queries = self._SLOT.unpack_from(self._map, slot * size)
            if found == digest:
                return slot, updated, Balance(seconds, errors, queries)
            if found == 0:
                oldest, oldest_at = slot, -math.inf
                break
            if updated < oldest_at:
                oldest, oldest_at = slot, updated
        self._SLOT.pack_into(self._map, oldest * self._SLOT.size, digest, now, *_values(fresh))
        return oldest, now, Balance(fresh.seconds, fresh.errors, fresh.queries)

    def store(self, slot: int, now: float, balance: Balance) -> None:
        """Write a slot's balance back (under the lock, after :meth:`find`)."""
        digest = self._SLOT.unpack_from(self._map, slot * self._SLOT.size)[0]
        self._SLOT.pack_into(self._map, slot * self._SLOT.size, digest, now, *_values(balance))


def _values(b: Balance) -> tuple[float, float, float]:
    return b.seconds, b.errors, b.queries


class Budgets:
    """Admits a client's query, or refuses it with 429; charges what the query cost afterwards."""

    def __init__(self, settings: Settings, table: ClientTable | None = None):
        self.public = Allowance(
            settings.query_seconds_per_minute,
            settings.query_seconds_burst,
            settings.errors_per_minute,
            settings.errors_burst,
            settings.rate_limit_per_minute,
            float(settings.rate_limit_burst),
        )
        self.steward = Allowance(
            settings.steward_query_seconds_per_minute,
            settings.steward_query_seconds_burst,
            0.0,
            0.0,
            0.0,
            0.0,
        )
        self.timeout_factor = settings.timeout_cost_factor
        self.kill_cost_s = settings.kill_cost_s
        self.refused_cost_s = settings.refused_cost_s
        self.enabled = self.public.limited or self.steward.limited
        self.table = (
            table if table is not None else (ClientTable(settings.budget_clients) if self.enabled else None)
        )

    def allowance(self, client: Client) -> Allowance:
        return self.steward if client.steward else self.public

    def _open(self, allowance: Allowance, now: float, client: Client) -> tuple[int, Balance]:
        assert self.table is not None
        full = Balance(allowance.seconds_burst, allowance.errors_burst, allowance.queries_burst)
        slot, updated, balance = self.table.find(client.key, now, full)
        elapsed = max(0.0, now - updated)
        balance.seconds = min(
            allowance.seconds_burst, balance.seconds + elapsed * allowance.seconds_per_minute / 60
        )
        balance.errors = min(
            allowance.errors_burst, balance.errors + elapsed * allowance.errors_per_minute / 60
        )
        balance.queries = min(
            allowance.queries_burst, balance.queries + elapsed * allowance.queries_per_minute / 60
        )
        return slot, balance

    def admit(self, client: Client, *, cached: bool = False) -> None:
        """Let the query through, or raise the 429 (see the module's docstring). A result served from
        the cache costs no engine time: only the number of queries is limited then."""
        allowance = self.allowance(client)
        if not self.enabled or not allowance.limited or self.table is None:
            return
        if cached and not allowance.queries_per_minute:
            return
        now = time.monotonic()
        with self.table.lock:
            slot, balance = self._open(allowance, now, client)
            refusal = self._refusal(client, allowance, balance, cached)
            if refusal is None and allowance.queries_per_minute:
                balance.queries -= 1.0
            elif refusal is not None and allowance.seconds_per_minute:
                balance.seconds -= self.refused_cost_s
            self.table.store(slot, now, balance)
        if refusal is not None:
            raise refusal

    def charge(
        self, client: Client, seconds: float, *, failed: bool, timed_out: bool = False, killed: bool = False
    ) -> None:
        """What a query that was let through cost: its engine time (more for a timeout or a kill),
        and an error if it failed."""
        allowance = self.allowance(client)
        if not self.enabled or not allowance.limited or self.table is None:
            return
        cost = seconds * (self.timeout_factor if timed_out else 1.0) + (self.kill_cost_s if killed else 0.0)
        now = time.monotonic()
        with self.table.lock:
            slot, balance = self._open(allowance, now, client)
            if allowance.seconds_per_minute:
                balance.seconds -= cost
            if failed and allowance.errors_per_minute:
                balance.errors -= 1.0
            self.table.store(slot, now, balance)

    def _refusal(
        self, client: Client, allowance: Allowance, balance: Balance, cached: bool
    ) -> HttpError | None:
        if allowance.queries_per_minute and balance.queries < 1.0:
            wait = _wait(1.0 - balance.queries, allowance.queries_per_minute)
            return _refused(
                "rate_limited",
                f"too many queries from {client.label}: {allowance.queries_per_minute:g} a minute, "
                f"{allowance.queries_burst:g} at once; try again in {wait} s",
                wait,
                budget="queries",
                queries_per_minute=allowance.queries_per_minute,
            )
        if cached:
            return None
        if allowance.seconds_per_minute and balance.seconds <= 0.0:
            wait = _wait(-balance.seconds, allowance.seconds_per_minute)
            spent = allowance.seconds_burst - balance.seconds  # what the bucket held, and the debt
            return _refused(
                "query_time_exceeded",
                f"{client.label} has spent its query time: {spent:.1f} s "
                f"of engine time in its last queries, against {allowance.seconds_per_minute:g} s a minute "
                f"(bursts to {allowance.seconds_burst:g} s; a query stopped by the timeout counts "
                f"{self.timeout_factor:g}×, one the engine had to be killed for {self.kill_cost_s:g} s "
                f"more); try again in {wait} s",
                wait,
                budget="query_time",
                spent_s=round(spent, 3),
                seconds_per_minute=allowance.seconds_per_minute,
                burst_s=allowance.seconds_burst,
            )
        if allowance.errors_per_minute and balance.errors < 1.0:  # not one error left
            wait = _wait(1.0 - balance.errors, allowance.errors_per_minute)
            return _refused(
                "errors_exceeded",
                f"{client.label} has caused too many errors: {allowance.errors_burst - balance.errors:.0f} "
                f"failed queries against {allowance.errors_per_minute:g} a minute (bursts to "
                f"{allowance.errors_burst:g}); try again in {wait} s",
                wait,
                budget="errors",
                errors=round(allowance.errors_burst - balance.errors),
                errors_per_minute=allowance.errors_per_minute,
            )
        return None


def _wait(debt: float, per_minute: float) -> int:
    return max(1, math.ceil(debt / (per_minute / 60.0)))


def _refused(code: str, message: str, wait: int, **details: Any) -> HttpError:
    return HttpError(429, code, message, retry_after_s=wait, **details)
