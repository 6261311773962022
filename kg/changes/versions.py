"""The store's version as the web layer's caches see it: a token that changes with every acknowledged
write, cheap enough to read on every request.

    VersionCounter   a counter in memory shared by the processes forked from its creator (the server's
                     workers), advanced by each front's writer after a commit has reached the engine
                     and before the write is acknowledged; read-only servers never advance it
    RemoteVersion    the version an external store records itself (``ak:version``, the sequence number
                     the guarded writes of every front commit: :mod:`kg.changes.durable`), read from it
                     per request: fronts of one shared store each see every front's writes

A token is ``<epoch>.<number>``: the epoch is drawn when the counter is made (a restarted server may
hold other data under the same numbers), or is ``store`` for a remote store's own numbers.
"""

from __future__ import annotations

import mmap
import secrets
import struct
import threading
from typing import Protocol

from kg.changes.durable import RemoteStore, read_version
from kg.rdf.names import Names


class StoreVersion(Protocol):
    def token(self) -> str: ...


class VersionCounter:
    """A version number in an anonymous shared mapping (MAP_SHARED survives fork): every process
    forked after it was made reads and advances the same number. Advancing never goes back."""

    _LAYOUT = struct.Struct("=q")

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(4)
        self._map = mmap.mmap(-1, self._LAYOUT.size)
        self._lock = threading.Lock()  # within a process; across processes, advance() only grows it

    @property
    def number(self) -> int:
        return int(self._LAYOUT.unpack_from(self._map)[0])

    def token(self) -> str:
        return f"{self.epoch}.{self._LAYOUT.unpack_from(self._map)[0]}"

    def advance_to(self, number: int) -> None:
        """After a writer's commit of change ``number`` (a writer's hook: kg.changes.writer)."""
        self.advance(number)

    def advance(self, to: int | None = None) -> int:
        """Move to ``to`` (a writer's version: several writers may report out of order) or one on.

        An 8-byte aligned store is atomic on the platforms we run on; two processes advancing at once
        may both write, and the larger (or either +1) stays: each is newer than every acknowledged
        write before it, which is all a reader needs."""
        with self._lock:
            current = self.number
            target = current + 1 if to is None else max(current, to)
            if target != current:
                self._LAYOUT.pack_into(self._map, 0, target)
            return target


class RemoteVersion:
    """The version an external store records (``ak:version`` in its changes graph), read per call."""

    def __init__(self, store: RemoteStore, names: Names):
        self._store = store
        self._names = names

    def token(self) -> str:
        return f"store.{read_version(self._store, self._names)}"
