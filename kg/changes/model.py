"""What a change is (quads added and removed, and what the request said of itself), what committing
it gave (:class:`Outcome`), and one entry of the change log (:class:`LogEntry`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyoxigraph as ox

from kg.checks.report import Report

Quad = ox.Quad


@dataclass
class Change:
    """Quads to add and to remove, and what the request said about itself."""

    added: set[Quad] = field(default_factory=set)
    removed: set[Quad] = field(default_factory=set)
    operation: str = "update"
    reverts: str | None = None
    # the store version the change was planned at, and how to plan it again at a newer one
    base_version: int | None = None
    replan: Callable[[], Change] | None = field(default=None, repr=False, compare=False)

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed


@dataclass
class Outcome:
    change_iri: str | None  # None when the change was empty
    added: int
    removed: int
    inferred_added: int
    inferred_removed: int
    report: Report

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "change": self.change_iri,
            "added": self.added,
            "removed": self.removed,
            "inferred": {"added": self.inferred_added, "removed": self.inferred_removed},
            "report": self.report.to_dict(lang),
        }


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class LogEntry:
    """One change as the log holds it: its number, its quads, the inferences it added and withdrew,
    and the quads of its record (the ``prov:Activity`` and its statements)."""

    sequence: int | None  # None for changes logged before sequence numbers existed
    change: Change
    inferred_added: set[Quad] = field(default_factory=set)
    inferred_removed: set[Quad] = field(default_factory=set)
    record: set[Quad] = field(default_factory=set)
