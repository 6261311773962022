"""kg.engine.spawning: a fork of the process waits while a program is being started (a worker forked
meanwhile would keep the pipe ``Popen`` waits on, and the supervisor would wait for ever)."""

from __future__ import annotations

import os
import subprocess
import threading
import time

from kg.engine import spawning


def test_a_fork_waits_until_a_program_has_started() -> None:
    events: list[str] = []
    started = threading.Event()

    def start() -> None:
        started.set()
        # the child sleeps before its exec: Popen waits for the exec (0.5 s) inside the lock
        process = spawning.popen(["true"], preexec_fn=lambda: time.sleep(0.5), stdout=subprocess.DEVNULL)
        events.append("started")
        process.wait()

    thread = threading.Thread(target=start)
    thread.start()
    started.wait()
    time.sleep(0.2)  # Popen is under way
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    events.append("forked")
    os.waitpid(pid, 0)
    thread.join()
    assert events == ["started", "forked"]


def test_a_short_program_is_run_and_read() -> None:
    assert spawning.run(["echo", "hello"], timeout_s=10) == "hello\n"
