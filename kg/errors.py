"""The library's error tree. Every error a user can cause is one of these; anything else is a bug.

    KGError
    ├── LoadError            an RDF file or body could not be read or parsed (has ``line``)
    ├── QuerySyntaxError     a SPARQL query or update does not parse (has ``position``)
    ├── ShapesError          the SHACL shapes themselves are broken
    ├── NotConformant        data does not conform to the shapes (carries the report)
    ├── StoreError           the store is missing, locked or unreadable
    └── UsageError           a request the library cannot honour as asked (bad option value)

The CLI maps them to exit codes and the web layer to HTTP statuses, each in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kg.validation import Report


class KGError(Exception):
    """Base of every error the library raises on purpose."""

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": str(self)}


class LoadError(KGError):
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


class QuerySyntaxError(KGError):
    def __init__(self, message: str, *, position: dict[str, int] | None = None):
        super().__init__(message)
        self.position = position

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.position:
            data["position"] = self.position
        return data


class ShapesError(KGError):
    pass


class NotConformant(KGError):
    def __init__(self, report: Report):
        super().__init__(f"data does not conform: {report.violation_count} violation(s)")
        self.report = report

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["report"] = self.report.to_dict()
        return data


class StoreError(KGError):
    pass


class UsageError(KGError):
    pass
