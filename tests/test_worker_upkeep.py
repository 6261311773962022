"""What a serving process does besides answering, kept cheap per request: its log lines
(server/deploy/logs.py: written in batches, whole, in order, none lost at exit, none written twice
across a fork) and the garbage collector (what was built before serving is frozen out of its passes)."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from server.core.observation import _line_writer
from server.deploy.logs import LOG_FORMAT, MAX_BATCH_BYTES, BatchedLines, LineFormatter


@pytest.fixture
def logger_to() -> Iterator[tuple[logging.Logger, io.StringIO, list[BatchedLines]]]:
    """A logger of its own and the stream its handlers write to; handlers are added by the test."""
    stream = io.StringIO()
    logger = logging.getLogger(f"test.lines.{time.monotonic_ns()}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handlers: list[BatchedLines] = []
    yield logger, stream, handlers
    for handler in handlers:
        logger.removeHandler(handler)


def _handler(
    logger: logging.Logger, stream: io.StringIO, batch_s: float, into: list[BatchedLines]
) -> BatchedLines:
    handler = BatchedLines(stream, batch_s)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    into.append(handler)
    return handler


def test_lines_wait_for_their_batch_then_are_written_together_in_order(logger_to) -> None:
    logger, stream, handlers = logger_to
    _handler(logger, stream, 0.2, handlers)
    for i in range(5):
        logger.info("line %d", i)
    deadline = time.monotonic() + 10
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue() == "".join(f"INFO line {i}\n" for i in range(5))


def test_a_warning_is_written_at_once_after_the_lines_before_it(logger_to) -> None:
    logger, stream, handlers = logger_to
    _handler(logger, stream, 60.0, handlers)  # the batch would wait a minute
    logger.info("first")
    logger.info("second")
    assert stream.getvalue() == ""  # waiting for the batch
    logger.warning("trouble")
    assert stream.getvalue() == "INFO first\nINFO second\nWARNING trouble\n"


def test_no_batch_writes_each_line_at_once(logger_to) -> None:
    logger, stream, handlers = logger_to
    _handler(logger, stream, 0.0, handlers)
    logger.info("now")
    assert stream.getvalue() == "INFO now\n"


def test_a_large_batch_is_written_by_the_thread_that_fills_it(logger_to) -> None:
    logger, stream, handlers = logger_to
    _handler(logger, stream, 60.0, handlers)
    line = "x" * 1000
    count = MAX_BATCH_BYTES // 1000 + 1
    for _ in range(count):
        logger.info(line)
    assert stream.getvalue() == f"INFO {line}\n" * count


def test_lines_from_many_threads_are_each_written_once_and_whole(logger_to) -> None:
    import threading

    logger, stream, handlers = logger_to
    _handler(logger, stream, 0.01, handlers)

    def log(k: int) -> None:
        for i in range(500):
            logger.info("thread %d line %d", k, i)

    threads = [threading.Thread(target=log, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    handlers[0].flush()
    lines = stream.getvalue().splitlines()
    assert sorted(lines) == sorted(f"INFO thread {k} line {i}" for k in range(8) for i in range(500))
    for k in range(8):  # each thread's lines in the order it logged them
        mine = [line for line in lines if line.startswith(f"INFO thread {k} ")]
        assert mine == [f"INFO thread {k} line {i}" for i in range(500)]


PROGRAM = textwrap.dedent(
    """
    import logging, multiprocessing, os, sys
    from server.deploy.logs import configure_logging
    configure_logging(60_000)  # a batch would wait a minute: only the exit writes the lines
    log = logging.getLogger("t")
    log.info("parent before the fork")

    def child():
        log.info("child %s", "multiprocessing")

    if __name__ == "__main__":
        if os.fork() == 0:  # a plain fork: the parent's waiting line is not the child's to write
            log.info("child fork")
            logging.getLogger().handlers[0].flush()
            os._exit(0)
        os.wait()
        process = multiprocessing.get_context("fork").Process(target=child)
        process.start()
        process.join()
        log.info("parent at exit")
    """
)


def _python(program: str) -> subprocess.CompletedProcess[str]:
    """``program`` run by a Python process of its own (this project importable), to its end."""
    return subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=os.getcwd(),
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )


def test_waiting_lines_are_written_at_exit_and_never_twice_across_a_fork() -> None:
    done = _python(PROGRAM)
    assert done.returncode == 0, done.stderr
    messages = [line.split(": ", 1)[1] for line in done.stderr.splitlines()]
    # the multiprocessing child ends with os._exit after its finalizers: its line is written then
    assert sorted(messages) == sorted(
        ["parent before the fork", "child fork", "child multiprocessing", "parent at exit"]
    )
    assert messages.index("child fork") < messages.index("child multiprocessing")


def test_the_line_format_is_the_services() -> None:
    record = logging.LogRecord("alatau_kg.access", logging.INFO, "", 0, "%s %d", ("GET /", 200), None)
    assert LineFormatter().format(record).endswith(" INFO alatau_kg.access: GET / 200")


@pytest.mark.parametrize(
    "created", [1_764_910_000.0, 1_764_910_000.0005, 1_764_910_000.9999, 1_764_910_059.25]
)
def test_a_lines_date_and_time_are_the_standard_formatters(
    created: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: created)
    record = logging.LogRecord("x", logging.INFO, "", 0, "m", None, None)  # made at `created`
    ours = LineFormatter()
    assert ours.stamp(created) == ours.formatTime(record) == logging.Formatter(LOG_FORMAT).formatTime(record)


def _own_logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers, logger.propagate, logger.filters = [handler], False, []
    logger.setLevel(logging.INFO)
    return logger


def test_an_access_line_written_directly_is_the_line_logging_writes() -> None:
    stream = io.StringIO()
    handler = BatchedLines(stream, 0)
    handler.setFormatter(LineFormatter())
    logger = _own_logger("test.access.direct", handler)
    write = _line_writer(logger)
    assert write == handler.info_line
    assert write(logger.name, "127.0.0.1 GET /sparql 200 1.5ms")
    logger.info("%s %s %s %d %.1fms", "127.0.0.1", "GET", "/sparql", 200, 1.5)
    direct, logged = stream.getvalue().splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "
    assert re.match(stamp, direct) and re.match(stamp, logged)
    assert direct[24:] == logged[24:] == "INFO test.access.direct: 127.0.0.1 GET /sparql 200 1.5ms"


def test_a_line_goes_through_logging_where_it_would_not_be_written_as_is() -> None:
    stream = io.StringIO()
    handler = BatchedLines(stream, 0)
    handler.setFormatter(LineFormatter())
    logger = _own_logger("test.access.around", handler)
    logger.addFilter(lambda record: True)  # a filter on the way: logging must see every record
    assert _line_writer(logger) is None
    logger.filters = []
    logger.propagate = True  # and the root's handlers (pytest's capture, at least) see them too
    assert _line_writer(logger) is None
    logger.propagate = False
    handler.addFilter(lambda record: False)  # the handler's own filter, a level, another format:
    assert not handler.info_line("x", "a line")  # refused, so that the caller logs it
    handler.filters = []
    handler.setLevel(logging.WARNING)
    assert not handler.info_line("x", "a line")
    handler.setLevel(logging.NOTSET)
    handler.setFormatter(LineFormatter("%(levelname)s %(message)s"))
    assert not handler.info_line("x", "a line")
    assert stream.getvalue() == ""


FREEZE = textwrap.dedent(
    """
    import gc, weakref
    from server.deploy.granian import freeze_what_was_built

    class Node:
        pass

    built = [{"n": i} for i in range(50_000)]  # what building the app made
    freeze_what_was_built()
    assert gc.get_freeze_count() >= 50_000, gc.get_freeze_count()
    later = Node(); later.me = later  # garbage a request makes after: a cycle, still collected
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None
    print("ok")
    """
)


def test_what_was_built_is_frozen_and_later_garbage_still_collected() -> None:
    done = _python(FREEZE)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
