"""What every request leaves behind: one access log line, the metrics, the error budget of a refusal.

One :class:`Observer` per app: Flask's hooks (:mod:`server.app`) call it for every request that goes
through Flask, the fast path (:mod:`server.sparql.fast`) for the queries it answers itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from werkzeug.wsgi import get_path_info

from server.core.clients import Client
from server.core.context import Context

access_log = logging.getLogger("alatau_kg.access")


class Observer:
    """What every request leaves behind: the access log line (client, method, path, status,
    duration), the metrics, and the error budget of a query refused before it reached the engine.
    Flask's hooks call it for every request, the fast path (:mod:`server.sparql.fast`) for its own."""

    def __init__(self, ctx: Context):
        self._metrics, self._budgets = ctx.metrics, ctx.budgets
        self._logging = ctx.settings.access_log

    def done(
        self,
        environ: dict[str, Any],
        rule: str,
        status: int,
        took: float,
        *,
        form: str = "",
        error_code: str | None = None,
        client: Client | None = None,
        charged: bool = False,
    ) -> None:
        self._metrics.request(rule, status, form, took)
        if status >= 400:
            if error_code is not None:
                self._metrics.refused(error_code)
            if client is not None and status != 429 and not charged:
                self._budgets.charge(client, 0.0, failed=True)
        if self._logging and access_log.isEnabledFor(logging.INFO):
            address, method, path = (
                environ.get("REMOTE_ADDR") or "-",
                environ.get("REQUEST_METHOD", ""),
                _path(environ),
            )
            write = _line_writer(access_log)
            line = f"{address} {method} {path} {status:d} {took * 1000:.1f}ms"  # as the format below makes it
            if write is None or not write(access_log.name, line):
                access_log.info("%s %s %s %d %.1fms", address, method, path, status, took * 1000)


def _line_writer(logger: logging.Logger) -> Callable[[str, str], bool] | None:
    """The handler's ``info_line`` (:class:`server.deploy.logs.BatchedLines`) when it is the one handler
    ``logger``'s records reach and no logger on their way filters them: the line can then go to it as
    is, without a record. None otherwise (another handler, pytest's capture, a filter): logging then
    does its work. Looked at on every line, so that a handler added later is never passed by."""
    found: logging.Handler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        for handler in current.handlers:
            if found is not None:
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    return getattr(found, "info_line", None)


def _path(environ: dict[str, Any]) -> str:
    """The request's path as werkzeug's ``request.path`` gives it."""
    return "/" + get_path_info(environ).lstrip("/")
