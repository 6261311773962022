"""Events of the engine that operators count, recorded where they happen (the library has no metrics
library; the web layer listens: :mod:`server.core.metrics` turns them into Prometheus counters).

The agreed names, and who records them:

    ENGINE_KILLED      the engine process was killed to stop a query; ``reason``: ``stuck`` (a query
                       outlived its timeout and grace: recorded by the web layer when the engine
                       reports it), or another reason recorded where the kill happens
                       (:mod:`kg.engine.process`: memory, …)
    ENGINE_RESTARTED   an engine process was started again after it died or was killed
                       (:mod:`kg.engine.process`, in the process that supervises it)
    QUERY_REFUSED      a query refused before it ran by a limit of the engine's (complexity, size, …);
                       ``limit``: the limit's name, as in its error code

``record(name, **labels)`` calls every listener; a listener that fails is left out of the way (counting
must never fail a query). Listeners are per process: each forked worker registers its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

ENGINE_KILLED = "engine_killed"
ENGINE_RESTARTED = "engine_restarted"
QUERY_REFUSED = "query_refused"

Listener = Callable[[str, dict[str, str]], None]
_listeners: list[Listener] = []
log = logging.getLogger("alatau_kg.engine")


def listen(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def forget(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def record(name: str, **labels: str) -> None:
    for listener in list(_listeners):
        try:
            listener(name, labels)
        except Exception:  # a metrics bug must not fail the query or the supervisor
            log.exception("an engine event listener failed on %s", name)
