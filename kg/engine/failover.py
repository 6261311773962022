"""Two engines, so that no killed or crashed engine is an outage: the primary (in memory: fast) and the
standby (Oxigraph over the store on disk: starts in milliseconds, costs little memory).

    Failover (Engine)
    ├── primary   OxigraphProcess in memory, loaded from the store's snapshot (kg.engine.loading)
    └── standby   OxigraphProcess on disk: ``serve-read-only`` over the store (read-only service), or
                  over a backup of it (writable, one process), or the durable store's own process
                  (writable, several workers: answers while the primary loads, never killed for a query)

**Where a query goes.** To the primary, while it is ready. While it is not (starting, or reloading
after it was killed or crashed: about 5 s at 1M triples), to the standby: there is never a window
without an answering engine. A query running on the primary when we kill it for another query is
sent again to the standby at once, if it had been running only briefly (else it may be heavy too:
503); one running when it crashed is not sent again (it may be the one that crashed it).

**Heavy queries.** A query that outlived its timeout or got the engine killed is *flagged* for ten
minutes (:class:`kg.engine.shared.HeavyQueries`, shared by every worker), and so is, while it runs,
the text of a query that has run on the primary for more than ``running_s`` (a quarter of the
timeout). A flagged query never goes to the primary: it runs on the standby (when the standby may be
killed for it, which costs milliseconds, not a reload), at most ``slots`` at once service-wide (one
per two cores); past that, or without such a standby, it is refused at once (503
``query_quarantined``, with ``Retry-After``). A query that was
running when the engine crashed is a *suspect* for as long: it goes to such a standby too, but where
there is none it is not refused (most suspects are innocent bystanders of the crash).

So a client repeating a query that cannot be cancelled gets the primary killed at most once, and its
repeats cost only it: "where a query cannot be cancelled, only that query may pay for it".

The standby runs on demand: started when needed (at start-up while the primary loads, when it goes
down, for a flagged query), stopped a minute after it was last needed, so at rest it costs nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import Any

from kg.engine import EngineResponse
from kg.engine.client import STUCK_GRACE_S
from kg.engine.process import READY_WAIT_S, OxigraphProcess
from kg.engine.shared import HeavyQueries, fingerprint
from kg.errors import EngineUnavailable, QueryQuarantined, QueryTimeout

log = logging.getLogger("alatau_kg.engine")

STANDBY_IDLE_S = 60.0  # the standby stops this long after it was last needed
QUARANTINE_S = 600.0  # a query flagged heavy stays off the primary this long after its last offence


class Failover:
    """An engine (:class:`kg.engine.Engine`) made of a primary and a standby (see the module)."""

    def __init__(
        self,
        primary: OxigraphProcess,
        standby: OxigraphProcess,
        *,
        standby_killable: bool = True,
        slots: int | None = None,
        running_s: float | None = None,
    ):
        self.primary = primary
        self.standby = standby
        self.standby_killable = standby_killable
        self.timeout_s = primary.timeout_s
        # a query running this long on the primary is heavy (a quarter of the timeout, at least a
        # second): its copies sent meanwhile go to the standby, not to the primary
        running = running_s if running_s is not None else max(1.0, primary.timeout_s / 4)
        # heavy queries at once on the standby: one core in two (each keeps a core busy)
        slots = slots if slots is not None else max(1, (os.cpu_count() or 2) // 2)
        self.heavy = HeavyQueries(flag_s=QUARANTINE_S, running_s=running, slots=slots)
        # the standby's answers are bound by the query timeout, whatever the standby's own; a query
        # it does not stop is stuck after the shortest grace when killing it costs milliseconds
        grace = {"grace_s": STUCK_GRACE_S} if standby_killable else {}
        self._standby_client = standby.client.copy(timeout_s=self.timeout_s, **grace)

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self, *, wait: bool = False) -> Failover:
        """Start the standby and wait for it (milliseconds), then the primary in the background: the
        service answers at once, from the standby until the primary has loaded (``wait``: return
        once the primary answers)."""
        self.standby.want(STANDBY_IDLE_S)
        self.standby.start()
        if not self.standby.wait_ready(READY_WAIT_S):
            log.warning("the standby engine is slow to start; waiting for the primary")
        self.primary.start(wait=wait)
        return self

    def stop(self) -> None:
        self.standby.stop()  # first: a primary stopping must not make it needed
        self.primary.stop()
        self.heavy.close()

    def __enter__(self) -> Failover:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def serving(self) -> str:
        return "primary" if self.primary.ready else "standby"

    # --- Engine -------------------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        union_default_graph: bool = False,
    ) -> EngineResponse:
        asked: dict[str, Any] = {
            "accept": accept,
            "default_graphs": default_graphs,
            "named_graphs": named_graphs,
            "union_default_graph": union_default_graph,
        }
        key = fingerprint(sparql)
        if self.heavy.is_heavy(key) or (self.standby_killable and self.heavy.is_suspect(key)):
            return self._heavy(key, sparql, asked)
        if not self.primary.ready:
            return self._on_standby(key, sparql, asked)
        row = self.heavy.started(key)
        started = time.monotonic()
        try:
            return self.primary.query(sparql, resend=False, **asked)
        except QueryTimeout:
            self.heavy.flag(key)
            raise
        except EngineUnavailable as exc:
            if exc.cause == "crashed":
                self.heavy.suspect(key)  # it may be the cause: on the standby for a while, if it may
                raise
            if exc.cause == "killed" and time.monotonic() - started >= self.heavy.running_s:
                self.heavy.flag(key)
                raise
            # killed for another query (this one had just begun), or restarting: the standby answers
            return self._on_standby(key, sparql, asked)
        finally:
            self.heavy.ended(row)

    def _on_standby(self, key: int, sparql: str, asked: dict[str, Any]) -> EngineResponse:
        self.standby.want(STANDBY_IDLE_S)
        try:
            return self.standby.query(sparql, client=self._standby_client, **asked)
        except QueryTimeout:
            self.heavy.flag(key)
            raise

    def _heavy(self, key: int, sparql: str, asked: dict[str, Any]) -> EngineResponse:
        """A flagged query: on the standby, in one of its slots, or refused."""
        retry = int(self.timeout_s) + 1
        if not self.standby_killable:
            raise QueryQuarantined(
                "this query recently outlived its timeout or stopped the engine; it is refused for a "
                f"while (up to {QUARANTINE_S / 60:g} minutes after the last time): simplify it, or add "
                "a LIMIT",
                timeout_s=self.timeout_s,
                retry_after_s=retry,
            )
        slot = self.heavy.take_slot(key)
        if slot is None:
            raise QueryQuarantined(
                "this query recently outlived its timeout or stopped the engine, so it runs apart, on "
                f"an engine that takes {self.heavy.slots} such at a time; none is free now: retry "
                "later, or simplify it",
                timeout_s=self.timeout_s,
                retry_after_s=retry,
            )
        try:
            return self._on_standby(key, sparql, asked)
        finally:
            self.heavy.give_slot(slot)

    def update(self, sparql: str) -> None:
        """A committed write, to the primary (a primary down reloads the store, which has it)."""
        if self.primary.ready:
            self.primary.update(sparql)

    def graph_counts(self) -> dict[str, int]:
        if self.primary.ready:
            return self.primary.graph_counts()
        self.standby.want(STANDBY_IDLE_S)
        return self.standby.graph_counts()

    def status(self) -> dict[str, Any]:
        """Reachable when the primary answers, or, while it is down (or killed and not yet seen to
        be), when the standby does: queries are answered then too."""
        serving = "primary"
        reachable = self.primary.ready and bool(self.primary.client.status()["reachable"])
        if not reachable:
            serving = "standby"
            self.standby.want(STANDBY_IDLE_S)
            reachable = self.standby.ready and bool(self.standby.client.status()["reachable"])
        return {
            "kind": "oxigraph-failover",
            "reachable": reachable,
            "serving": serving,
            "version": self.primary.version(),
            "restarts": self.primary.restarts,
            "kills": self.primary.kills,
            "crashes": self.primary.crashes,
            "standby": {
                "running": self.standby.ready,
                "killable": self.standby_killable,
                "restarts": self.standby.restarts,
                "kills": self.standby.kills,
                "crashes": self.standby.crashes,
            },
            "heavy_queries": self.heavy.flagged(),
            "timeout_s": self.timeout_s,
        }

    def version(self) -> str:
        return self.primary.version()
