"""The service's log: its line format, and the handler that writes the lines to stderr in batches.

Every request logs a line (:mod:`server.core.observation`), so what a line costs is paid by every
request. Formatting it is cheap; writing it is a system call in the middle of the request, which on
a small virtual machine costs 25–55 µs of CPU (``bench/RESULTS.md``, third pass), as much as the
rest of a cached answer. :class:`BatchedLines` writes the lines of up to ``log_batch_ms`` together,
in one ``write``, from a thread of its own, as nginx's ``access_log … buffer= flush=`` does:

* every line is written, whole, in the order it was logged, with the time it was logged;
* a warning or an error is written at once, after the lines before it;
* lines pile up to at most :data:`MAX_BATCH_BYTES` before the thread that logs the next one writes
  them itself;
* the lines still waiting are written when the process exits (a worker too); a process killed by
  SIGKILL loses at most the last ``log_batch_ms`` of lines;
* a forked process starts with no lines (its parent writes its own) and its own thread.

``log_batch_ms = 0`` writes every line at once (``logging.StreamHandler``'s behaviour).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import os
import sys
import threading
import time
from typing import TextIO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_BATCH_BYTES = 32768  # waiting lines past this are written by the thread that logs the next one


class LineFormatter(logging.Formatter):
    """:class:`logging.Formatter` with its default date and time (``2026-12-04 18:21:22,353``), the
    date and time to the second made once a second: every request logs a line, and ``time.strftime``
    was a fifth of a line's cost."""

    def __init__(self, fmt: str = LOG_FORMAT) -> None:
        super().__init__(fmt)
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        return f"{self._to_the_second(int(record.created))},{int(record.msecs):03d}"

    def stamp(self, created: float) -> str:
        """The default date and time of a record made at ``created`` (``time.time()``)."""
        second = int(created)
        msecs = int((created - second) * 1000)  # as logging.LogRecord makes it
        return f"{self._to_the_second(second)},{msecs:03d}"  # logging.Formatter.default_msec_format

    def _to_the_second(self, second: int) -> str:
        last, text = self._second  # one tuple, read and replaced whole: safe between threads
        if last != second:
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, text)
        return text


class BatchedLines(logging.Handler):
    """Formatted records to ``stream``, written in batches at most ``batch_s`` old (see the module's
    docstring). Everything is done under the handler's own lock (:meth:`logging.Handler.handle` takes
    it around :meth:`emit`): the lines are written in the order they were logged."""

    def __init__(self, stream: TextIO, batch_s: float) -> None:
        super().__init__()
        self.stream = stream
        self.batch_s = batch_s
        self._lines: list[str] = []
        self._size = 0
        self._due = threading.Event()  # set when a line waits and the writing thread should wake
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forked)
        atexit.register(self.flush)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:
            self.handleError(record)
            return
        self._add(line, record.levelno)

    def info_line(self, name: str, message: str) -> bool:
        """Write an INFO line of the logger ``name`` as :meth:`emit` writes a record of it (in the
        default format), without making the record: what every request's access line is
        (:mod:`server.core.observation`). Making and formatting the record cost ~20 µs a request,
        this ~4 (``bench/RESULTS.md``, issue 12's eighth pass). False, and nothing written, where
        this handler would not write it so (another format, a filter, a level above INFO): the
        caller logs it the usual way."""
        formatter = self.formatter
        if type(formatter) is not LineFormatter or formatter._fmt != LOG_FORMAT:
            return False
        if self.filters or self.level > logging.INFO:
            return False
        line = f"{formatter.stamp(time.time())} INFO {name}: {message}\n"
        with self.lock:  # type: ignore[union-attr]  # as Handler.handle holds it around emit
            self._add(line, logging.INFO)
        return True

    def _add(self, line: str, level: int) -> None:
        self._lines.append(line)
        self._size += len(line)
        if self.batch_s <= 0 or level >= logging.WARNING or self._size >= MAX_BATCH_BYTES:
            self.flush()
        elif len(self._lines) == 1:  # the first of a batch: the writing thread writes it in batch_s
            if self._thread is None:
                self._start()
            self._due.set()

    def flush(self) -> None:
        """Write the waiting lines (in one ``write``)."""
        with self.lock:  # type: ignore[union-attr]  # made by Handler.__init__
            if not self._lines:
                return
            text, self._lines, self._size = "".join(self._lines), [], 0
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed or gone: nothing to write the lines to
                pass

    def _start(self) -> None:
        """The writing thread of this process (the first time a line waits in it)."""
        self._thread = threading.Thread(target=self._write_batches, name="log lines", daemon=True)
        self._thread.start()
        # a worker process forked by granian (multiprocessing) ends with os._exit, after its
        # finalizers and without atexit's: the lines it still holds are written then
        multiprocessing.util.Finalize(self, self.flush, exitpriority=0)

    def _write_batches(self) -> None:
        while True:
            self._due.wait()
            time.sleep(self.batch_s)
            self._due.clear()  # before the lines are taken: a line logged after them sets it again
            self.flush()

    def _forked(self) -> None:
        """In a forked process: its parent writes the lines it held; the thread did not come along."""
        self._lines, self._size = [], 0
        self._due = threading.Event()
        self._thread = None


def configure_logging(batch_ms: int = 0) -> None:
    """The root logger's handler (once): lines in :data:`LOG_FORMAT` to stderr, at INFO, written in
    batches of ``batch_ms`` (0: each at once)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = BatchedLines(sys.stderr, batch_ms / 1000)
    handler.setFormatter(LineFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Every request logs a line. Our format uses neither the caller's file and line nor thread or
    # process names: not gathering them halves a line's cost (the "Optimization" section of the
    # logging HOWTO, https://docs.python.org/3/howto/logging.html#optimization).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
