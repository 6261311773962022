"""Starting programs from a process that forks: no fork while a program is being started.

The server's master runs the engines' supervisors in threads, and the WSGI server (granian, through
``multiprocessing``) forks the workers from the same process, at start and whenever a worker dies.
``subprocess.Popen`` waits for its child's ``exec`` by reading a pipe until its end of file; a worker
forked in between inherits that pipe's write end (close-on-exec closes it only at an ``exec``, and
workers never exec), so the end of file never comes and the supervisor waits for ever (measured: one
start in three of ``serve --workers 2`` on the test store left the primary engine unloaded, its
supervisor stuck in ``Popen._execute_child``). :func:`popen` holds a lock that every fork of this
process takes first (``os.register_at_fork``), so the two never overlap. The lock is reentrant:
``Popen`` with a ``preexec_fn`` runs the fork hooks itself, in the thread that holds it.
"""

from __future__ import annotations

import os
import subprocess
import threading
from typing import Any

_lock = threading.RLock()


def _before_fork() -> None:
    _lock.acquire()


def _after_fork_in_parent() -> None:
    _lock.release()


def _after_fork_in_child() -> None:
    global _lock  # the child's copy is held by a thread it does not have
    _lock = threading.RLock()


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
)


def popen(args: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(args, **options)``, with no fork of this process while it starts."""
    with _lock:
        return subprocess.Popen(args, **options)


def run(args: list[str], *, timeout_s: float) -> str:
    """The standard output of a short program (``subprocess.run``, checked), no fork meanwhile: its
    pipes are read to their end of file, which a worker forked meanwhile would withhold."""
    with _lock:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=True).stdout
