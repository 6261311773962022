"""State shared by the engine's owner (the server's master process) and the processes forked from it
(server workers): each engine's state, and the table of heavy queries (:class:`HeavyQueries`).

Everything lives in anonymous shared mappings made before the fork. The engine's state has one
writer at a time (a sequence lock lets readers retry a read that overlapped a write); the heavy
queries' tables are written by every thread of every worker, under one lock (:class:`TableLock`).
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import multiprocessing
import struct
import threading
import time
from collections.abc import Iterator

log = logging.getLogger("alatau_kg.engine")

TAKE_OVER_S = 1.0  # a table lock held this long: its holder died holding it (TableLock)

_FIELDS = (
    "ready",
    "generation",
    "port",
    "pid",
    "killed",
    "crashes",
    "kills",
    "wanted_until_ms",
    "died_at_ms",
    "restarts",
)


class SharedState:
    """An engine's state where processes forked from its owner read it: ready, generation (one more
    at every start), port, pid, the generation we killed last (``killed``), how many times it crashed
    and was killed, until when (ms of :func:`time.monotonic`) it is wanted (an engine started on
    demand), when it last died, and how many times it was started again after dying. Writes are
    serialised by a lock in the writing process; a reader retries a read that overlapped a write (a
    sequence lock: the count is odd while writing).
    """

    _LAYOUT = struct.Struct("=" + "q" * (1 + len(_FIELDS)))  # sequence, then the fields
    _SEQUENCE = struct.Struct("=q")

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, self._LAYOUT.size)  # MAP_SHARED | MAP_ANONYMOUS: survives fork
        self._lock = threading.Lock()
        self._last: tuple[int, dict[str, int]] = (-1, {})  # this process's last read, by sequence

    def values(self) -> dict[str, int]:
        """The state (read only: the same dict is given until the state changes). Read several
        times a query: while nothing was written since the last read, its values are given again
        after reading the sequence alone."""
        last_sequence, last = self._last
        if self._SEQUENCE.unpack_from(self._map)[0] == last_sequence:
            return last
        while True:
            sequence, *values = self._LAYOUT.unpack_from(self._map)
            if sequence % 2 == 0 and self._SEQUENCE.unpack_from(self._map)[0] == sequence:
                state = dict(zip(_FIELDS, values, strict=True))
                self._last = (sequence, state)  # one tuple, replaced whole: safe between threads
                return state
            time.sleep(0)

    def read(self) -> tuple[int, int, int, int]:
        """ready, generation, port, pid."""
        v = self.values()
        return v["ready"], v["generation"], v["port"], v["pid"]

    def write(self, **changes: int) -> None:
        with self._lock:
            sequence, *values = self._LAYOUT.unpack_from(self._map)
            state = dict(zip(_FIELDS, values, strict=True))
            state.update(changes)
            self._SEQUENCE.pack_into(self._map, 0, sequence + 1)
            self._LAYOUT.pack_into(self._map, 0, sequence + 1, *state.values())
            self._SEQUENCE.pack_into(self._map, 0, sequence + 2)


class ReadyFlag:
    """``threading.Event``'s interface over the shared ready state (waiting polls it)."""

    def __init__(self, shared: SharedState) -> None:
        self._shared = shared

    def set(self) -> None:
        self._shared.write(ready=1)

    def clear(self) -> None:
        self._shared.write(ready=0)

    def is_set(self) -> bool:
        return bool(self._shared.read()[0])

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True


def fingerprint(sparql: str) -> int:
    """A query's text with its white space folded, as a number: the same query sent again (by the
    same client or another) has the same fingerprint."""
    folded = " ".join(sparql.split()).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(folded, digest_size=8).digest(), "little", signed=True) or 1


class HeavyQueries:
    """Which queries are heavy, across all the server's processes.

    A query is heavy while it is *flagged* (it outlived its timeout or got the engine killed: for
    ``flag_s`` seconds after the last time) or while the same text has been *running* on the primary
    engine for more than ``running_s`` seconds; it is a *suspect* (for as long) if it was running when
    the engine crashed. Both are kept off the primary engine where a standby may take them
    (:class:`kg.engine.failover.Failover`), and at most ``slots`` of them run at once on the standby.

    Three fixed tables of (fingerprint, time) rows: flagged (until when), running on the primary and
    running on the standby (since when). Times are ms of :func:`time.monotonic` (one clock for every
    process of the machine). A running row older than ``stale_s`` is taken for free (the worker that
    wrote it died before it could clear it).
    """

    SIZE = 512  # rows per table: more flagged or running queries than this, and the oldest give way
    _ROW = struct.Struct("=qq")

    def __init__(
        self, *, flag_s: float = 600.0, running_s: float = 5.0, slots: int = 2, stale_s: float = 300.0
    ) -> None:
        self.flag_s = flag_s
        self.running_s = running_s
        self.slots = slots
        self.stale_s = stale_s
        self._flagged = mmap.mmap(-1, self._ROW.size * self.SIZE)
        self._suspects = mmap.mmap(-1, self._ROW.size * self.SIZE)
        self._running = mmap.mmap(-1, self._ROW.size * self.SIZE)
        self._standby = mmap.mmap(-1, self._ROW.size * max(1, slots))
        # How far into each table rows have ever been written (bytes; only grows): past it every row
        # is free, so a search stops there. A table is filled from its first free row, so this is
        # the most rows ever in use at once (about the queries run at once), not the table's size:
        # searching a whole table took 2.4 µs, and every query searches three.
        tables = (self._flagged, self._suspects, self._running, self._standby)
        self._used = mmap.mmap(-1, _KEY.size * len(tables))
        self._used_at = {id(table): i * _KEY.size for i, table in enumerate(tables)}
        self._lock = TableLock()

    def close(self) -> None:
        """Nothing to give back: the lock and the tables go with the object (and the processes)."""

    def _rows(self, table: mmap.mmap) -> Iterator[tuple[int, int, int]]:
        for i in range(len(table) // self._ROW.size):
            key, value = self._ROW.unpack_from(table, i * self._ROW.size)
            yield i, key, value

    def _occupy(self, table: mmap.mmap, key: int) -> int | None:
        """A free (or stale) row of ``table``, now ``key``'s since now; None if there is none."""
        now = _now_ms()
        stale = now - int(self.stale_s * 1000)
        with self._lock:
            row = self._free_row(table)
            if row is None:  # none free: a stale one (its worker died before it could free it)
                row = next((i for i, k, since in self._rows(table) if k == 0 or since < stale), None)
            if row is not None:
                self._write(table, row, key, now)
            return row

    def _write(self, table: mmap.mmap, row: int, key: int, value: int) -> None:
        """Row ``row`` of ``table`` is (key, value); with the lock held."""
        self._ROW.pack_into(table, row * self._ROW.size, key, value)
        end, at = (row + 1) * self._ROW.size, self._used_at[id(table)]
        if end > _KEY.unpack_from(self._used, at)[0]:
            _KEY.pack_into(self._used, at, end)

    def _extent(self, table: mmap.mmap) -> int:
        """How far into ``table`` rows have ever been written (read without the lock: it only grows,
        and a row being written as it is read is misread once, harmlessly, as the rows are)."""
        return int(_KEY.unpack_from(self._used, self._used_at[id(table)])[0])

    def _holds(self, table: mmap.mmap, needle: bytes) -> bool:
        """Whether ``needle`` (a packed key) is anywhere in the rows of ``table`` written so far (maybe
        across two rows: :meth:`_times` tells rows apart)."""
        return table.find(needle, 0, self._extent(table)) >= 0

    def _free_row(self, table: mmap.mmap) -> int | None:
        """The first free row (all zeros), found at C speed: this is on every query's path."""
        size = self._ROW.size
        at = table.find(_FREE)
        while at >= 0 and at % size:  # a match across two rows: the next one at a row's start
            at = table.find(_FREE, at + size - at % size)
        return None if at < 0 else at // size

    def _free(self, table: mmap.mmap, row: int | None) -> None:
        if row is not None:
            with self._lock:
                self._ROW.pack_into(table, row * self._ROW.size, 0, 0)

    # --- flagged ------------------------------------------------------------------------------------

    def flag(self, key: int) -> None:
        """``key`` is heavy for the next ``flag_s`` seconds."""
        self._mark(self._flagged, key)

    def suspect(self, key: int) -> None:
        """``key`` was running when the engine crashed: it may be what crashed it."""
        self._mark(self._suspects, key)

    def is_suspect(self, key: int) -> bool:
        if not self._holds(self._suspects, _KEY.pack(key)):
            return False  # the common case, at C speed
        now = _now_ms()
        return any(until > now for until in self._times(self._suspects, key))

    def _mark(self, table: mmap.mmap, key: int) -> None:
        until = _now_ms() + int(self.flag_s * 1000)
        with self._lock:
            rows = list(self._rows(table))
            now = _now_ms()
            row = next((i for i, k, _ in rows if k == key), None)
            if row is None:  # a free (or lapsed) row, else the one lapsing first
                row = next((i for i, k, v in rows if k == 0 or v < now), min(rows, key=lambda r: r[2])[0])
            self._write(table, row, key, until)

    def flagged(self) -> int:
        now = _now_ms()
        return sum(1 for _, key, until in self._rows(self._flagged) if key and until > now)

    def _times(self, table: mmap.mmap, key: int) -> Iterator[int]:
        """The times of ``key``'s rows in ``table``, found at C speed (this is on every query's path;
        read without the lock: a row torn by a concurrent write is misread once, harmlessly)."""
        needle, end = _KEY.pack(key), self._extent(table)
        at = table.find(needle, 0, end)
        while at >= 0:
            if at % self._ROW.size == 0:
                yield self._ROW.unpack_from(table, at)[1]
            at = table.find(needle, at + 1, end)

    def is_heavy(self, key: int) -> bool:
        """Flagged, or the same text running long on the primary now."""
        needle = _KEY.pack(key)
        if not self._holds(self._flagged, needle) and not self._holds(self._running, needle):
            return False  # the common case (in neither table), at C speed: asked of every query
        now = _now_ms()
        if any(until > now for until in self._times(self._flagged, key)):
            return True
        long_ago = now - int(self.running_s * 1000)
        stale = now - int(self.stale_s * 1000)
        return any(stale < since < long_ago for since in self._times(self._running, key))

    # --- running on the primary, and heavy ones on the standby --------------------------------------

    def started(self, key: int) -> int | None:
        """Note that ``key`` runs on the primary from now; the row to give to :meth:`ended`."""
        return self._occupy(self._running, key)

    def ended(self, row: int | None) -> None:
        self._free(self._running, row)

    def take_slot(self, key: int) -> int | None:
        """One of the ``slots`` for a heavy query on the standby; None when all are taken."""
        return self._occupy(self._standby, key) if self.slots > 0 else None

    def give_slot(self, row: int | None) -> None:
        self._free(self._standby, row)


_FREE = bytes(HeavyQueries._ROW.size)  # a free row: no key, no time
_KEY = struct.Struct("=q")  # a row's first field


class TableLock:
    """Excludes every thread of every process forked after it was made: a POSIX semaphore in shared
    memory (:func:`multiprocessing.Lock`). Taken and given back free, it makes no system call (the
    record lock it replaces, ``lockf``, made two per use: four per query).

    Unlike a record lock, it is not given back when its holder dies: a worker killed (SIGKILL) while
    holding it, between two statements, would hold it for ever. So a thread that waited
    :data:`TAKE_OVER_S` for it (a use lasts microseconds) takes it over, and the lock is whole again
    when that thread gives it back. The tables only steer queries between the engines: the worst a
    wrong take-over does is let two threads write the tables at once, once."""

    def __init__(self) -> None:
        self._semaphore = multiprocessing.Lock()
        self.taken_over = 0  # in this process

    def __enter__(self) -> None:
        if not self._semaphore.acquire(timeout=TAKE_OVER_S):
            self.taken_over += 1
            log.warning("the heavy queries' table lock was held %g s: taken over", TAKE_OVER_S)

    def __exit__(self, *exc: object) -> None:
        try:  # noqa: SIM105 (on every query's path: contextlib.suppress costs more)
            self._semaphore.release()
        except ValueError:  # given back already, by a thread that had taken it over
            pass


def _now_ms() -> int:
    return int(time.monotonic() * 1000)
