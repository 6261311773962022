"""The library's error tree. Every error a user can cause is one of these; anything else is a bug.

    KGError                    code
    ├── LoadError              unreadable_input      an RDF file or body could not be read (``line``)
    │   └── DocumentTooDeep    document_too_complex  … nested deeper than its parser can safely take
    ├── QuerySyntaxError       query_syntax_error    a SPARQL query or update does not parse (``position``)
    ├── UsageError             bad_request           a request the library cannot honour as asked
    │   ├── QueryRefused       (its own code)        a query uses what no engine may run for it (bif:)
    │   └── QueryTooComplex    query_too_complex     a query or update past a limit (``limit``, ``value``)
    ├── ShapesError            shapes_error          the SHACL shapes themselves are broken
    ├── NotConformant          shapes_violated       data does not conform to the shapes (``report``)
    │   └── ChangeRejected     shapes_violated       a change would break a shape; nothing was stored
    ├── NotFound               not_found             the graph or change asked for does not exist
    ├── Unauthorized           unauthorized          no credentials were given
    ├── Forbidden              forbidden             the credentials do not allow this
    ├── WriteRefused           (its own code)        a write asks for something writes never do
    │   └── ProtectedGraph     protected_graph       … namely to change a graph that is not writable
    ├── WriteConflict          write_conflict        other writers kept committing first; retry
    ├── ProposalClosed         proposal_closed       a proposal already decided, or being decided
    ├── QueryTimeout           query_timeout         the query ran past the timeout and was stopped
    │   └── QueryQuarantined   query_quarantined     … or did lately, and is kept apart (``Retry-After``)
    ├── ResultTooLarge         result_too_large      the result is larger than the configured cap
    ├── ResultTruncated        result_truncated      the store cut its answer or gave a partial one
    └── StoreError             store_unavailable     the store is missing, locked or unreadable
        ├── StoreChanged       (its own code)        the store was replaced or changed behind our back
        ├── EngineUnavailable  engine_unavailable    the engine cannot be reached (dead, restarting)
        └── EngineError        engine_error          the engine failed for a reason the query did not cause

Codes are the library's; the CLI maps the classes to exit codes and the web layer to HTTP statuses
(``server/core/errors.py``), each in one place. No HTTP status is decided here.

Two more classes are not errors a user causes but fallbacks inside the checks:
:class:`UnsupportedAxiom` (the rule reasoner hands the ontology to owlrl) and
:class:`UnsupportedConstraint` (the SHACL compiler hands a shape to pySHACL).
"""

from __future__ import annotations

from typing import Any


class KGError(Exception):
    """Base of every error the library raises on purpose."""

    code = "error"

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": str(self)}


class LoadError(KGError):
    code = "unreadable_input"

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        super().__init__(message)
        self.source = source
        self.line = line

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.source:
            data["source"] = self.source
        if self.line is not None:
            data["line"] = self.line
        return data


class DocumentTooDeep(LoadError):
    """An RDF document nested deeper than :data:`kg.rdf.parsing` lets its parser take."""

    code = "document_too_complex"

    def __init__(self, message: str, *, source: str | None = None, limit: int, measured: int):
        super().__init__(message, source=source)
        self.limit = limit
        self.measured = measured

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "limit": self.limit, "measured": self.measured}


class QuerySyntaxError(KGError):
    code = "query_syntax_error"

    def __init__(self, message: str, *, position: dict[str, int] | None = None):
        super().__init__(message)
        self.position = position

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.position:
            data["position"] = self.position
        return data


class UsageError(KGError):
    code = "bad_request"


class QueryRefused(UsageError):
    """The query uses something the engine must never run for a client (``code`` says what): a
    store's own functions that reach files or the network, or its pragmas."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


class QueryTooComplex(UsageError):
    """A query or update past one of the limits of :class:`kg.rdf.complexity.Limits` (refused before
    any engine sees it: nested or joined enough, it would crash or stall the engine)."""

    code = "query_too_complex"

    def __init__(self, message: str, *, limit: str, value: int, measured: int):
        super().__init__(message)
        self.limit = limit  # the setting's name, e.g. max_group_depth
        self.value = value
        self.measured = measured

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "limit": self.limit, "value": self.value, "measured": self.measured}


class ShapesError(KGError):
    code = "shapes_error"


class NotConformant(KGError):
    code = "shapes_violated"

    def __init__(self, report: Any, message: str | None = None):  # a kg.checks.report.Report
        super().__init__(message or f"data does not conform: {report.violation_count} violation(s)")
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["report"] = self.report.to_dict()
        return data


class ChangeRejected(NotConformant):
    """The change would break a shape; nothing was stored."""

    code = "shapes_violated"

    def __init__(self, report: Any):
        super().__init__(
            report, f"the change was refused: {report.violation_count} violation(s) of the shapes"
        )


class NotFound(KGError):
    """The graph or change asked for does not exist."""

    code = "not_found"


class Unauthorized(KGError):
    """No credentials were given."""

    code = "unauthorized"


class Forbidden(KGError):
    """Credentials were given but do not allow this."""

    code = "forbidden"


class WriteRefused(KGError):
    """The request asks for something writes never do (``code`` says what)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


class ProtectedGraph(WriteRefused):
    """The change touches a graph that is not writable (the ontology, the shapes, the inferences, …)."""

    def __init__(self, message: str):
        super().__init__(message, code="protected_graph")


class WriteConflict(KGError):
    """Other writers kept committing first: nothing was stored; the request may be retried."""

    code = "write_conflict"


class ProposalClosed(KGError):
    """The proposal was already approved, rejected or withdrawn, or another admin is deciding it."""

    code = "proposal_closed"


class QueryTimeout(KGError):
    code = "query_timeout"

    def __init__(self, message: str, *, timeout_s: float, stuck: bool = False):
        super().__init__(message)
        self.timeout_s = timeout_s
        self.stuck = stuck  # the engine did not stop the query itself

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "timeout_s": self.timeout_s}


class QueryQuarantined(QueryTimeout):
    """A query that lately outlived its timeout, stopped the engine or ran when it crashed, refused
    now: heavy queries run apart from the others, a few at a time (:mod:`kg.engine.failover`)."""

    code = "query_quarantined"

    def __init__(self, message: str, *, timeout_s: float, retry_after_s: int):
        super().__init__(message, timeout_s=timeout_s)
        self.retry_after_s = retry_after_s

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "retry_after_s": self.retry_after_s}


class ResultTooLarge(KGError):
    code = "result_too_large"

    def __init__(self, message: str, *, limit_bytes: int):
        super().__init__(message)
        self.limit_bytes = limit_bytes

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "limit_bytes": self.limit_bytes}


class ResultTruncated(KGError):
    """The store answered with less than the whole result (cut at its row cap, or partial after its
    own timeout): refused rather than passed on as if complete."""

    code = "result_truncated"

    def __init__(self, message: str, *, store_limit: int | None = None):
        super().__init__(message)
        self.store_limit = store_limit

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.store_limit is not None:
            data["store_limit"] = self.store_limit
        return data


class StoreError(KGError):
    code = "store_unavailable"


class StoreChanged(StoreError):
    """The store is not the one this process read: replaced, restored or written outside guarded writes."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


class EngineUnavailable(StoreError):
    code = "engine_unavailable"

    def __init__(self, message: str, *, retryable: bool = True, cause: str = ""):
        super().__init__(message)
        self.retryable = retryable  # the engine received nothing of it, or answered nothing yet
        # why, when the engine died under the query: "killed" (to stop another query), "crashed";
        # "restarting": it was not running
        self.cause = cause


class EngineError(StoreError):
    code = "engine_error"


# --- fallbacks inside the checks (never reach a user) ----------------------------------------------


class UnsupportedAxiom(Exception):
    """The ontology uses an OWL construct the rule engine does not implement (owlrl takes over)."""


class UnsupportedConstraint(Exception):
    """A SHACL construct the compiler does not translate (the shape goes to pySHACL)."""
