"""The engine's state where the processes forked from its owner (server workers) read it."""

from __future__ import annotations

import mmap
import struct
import threading
import time


class SharedState:
    """The engine's state where processes forked from its owner (server workers) read it: ready,
    generation, port and pid, in an anonymous shared mapping. Only the owner writes (under a lock);
    a reader retries a read that overlapped a write (a sequence lock: the count is odd while writing).
    """

    _LAYOUT = struct.Struct("=5q")  # sequence, ready, generation, port, pid
    _SEQUENCE = struct.Struct("=q")

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, self._LAYOUT.size)  # MAP_SHARED | MAP_ANONYMOUS: survives fork
        self._lock = threading.Lock()

    def read(self) -> tuple[int, int, int, int]:
        while True:
            sequence, ready, generation, port, pid = self._LAYOUT.unpack_from(self._map)
            if sequence % 2 == 0 and self._SEQUENCE.unpack_from(self._map)[0] == sequence:
                return ready, generation, port, pid
            time.sleep(0)

    def write(self, **changes: int) -> None:
        with self._lock:
            sequence, *values = self._LAYOUT.unpack_from(self._map)
            state = dict(zip(("ready", "generation", "port", "pid"), values, strict=True))
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
