"""The heavy queries' tables shared by forked processes (kg.engine.shared): rows taken under one lock
by every process, and that lock taken over when a process died holding it."""

from __future__ import annotations

import os
import signal
import time

from kg.engine.shared import TAKE_OVER_S, HeavyQueries

ROWS_EACH = 40


def test_rows_taken_at_once_by_several_processes_are_all_different() -> None:
    heavy = HeavyQueries()
    children = []
    for child in range(4):
        pid = os.fork()
        if pid == 0:  # a worker: takes rows as fast as it can, each under the lock
            code = 0
            try:
                for i in range(ROWS_EACH):
                    if heavy.started(child * 1000 + i + 1) is None:
                        code = 1
            finally:
                os._exit(code)
        children.append(pid)
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    keys = [key for _, key, _ in heavy._rows(heavy._running) if key]
    assert sorted(keys) == sorted(c * 1000 + i + 1 for c in range(4) for i in range(ROWS_EACH))
    for row in range(4 * ROWS_EACH):
        heavy.ended(row)
    assert not [key for _, key, _ in heavy._rows(heavy._running) if key]


def test_a_lock_held_by_a_killed_process_is_taken_over() -> None:
    heavy = HeavyQueries()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # takes the lock, says so, and waits there to be killed
        heavy._lock.__enter__()
        os.write(write, b"x")
        time.sleep(60)
        os._exit(0)
    assert os.read(read, 1) == b"x"
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    started = time.monotonic()
    row = heavy.started(7)  # waits for the lock, then takes it over
    waited = time.monotonic() - started
    assert row is not None and TAKE_OVER_S * 0.9 <= waited < TAKE_OVER_S + 5
    heavy.ended(row)
    started = time.monotonic()
    heavy.flag(8)  # the lock is whole again: no wait
    assert time.monotonic() - started < TAKE_OVER_S / 2
    assert heavy.is_heavy(8) and not heavy.is_heavy(7)
    assert heavy._lock.taken_over == 1


def test_what_one_process_writes_deep_in_a_table_is_found_by_another() -> None:
    # a search stops where rows have ever been written: that mark is shared as the rows are
    heavy = HeavyQueries(running_s=0.0)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for i in range(300):  # rows 0..299 of the running table, then the last one's key flagged
                heavy.started(10_000 + i)
            heavy.flag(777)
            heavy.suspect(888)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    time.sleep(0.01)
    assert heavy.is_heavy(10_299)  # running (for longer than running_s = 0) in row 299
    assert heavy.is_heavy(777)
    assert heavy.is_suspect(888)
    assert not heavy.is_heavy(12_345)
    assert not heavy.is_suspect(777)
    assert heavy.started(5) == 300  # the first free row, past the other process's
