"""Oxigraph's recursive parsers and evaluator, run in this process on a thread with a deep stack.

pyoxigraph runs on the calling thread. Its SPARQL parser, optimizer and evaluator, and its JSON-LD
parser, recurse as deep as their input is nested, and a Rust stack overflow aborts the process:
here, the whole server. A server thread has the stack the platform gives (8 MiB with glibc's
defaults, 2 MiB or less elsewhere), so whatever pyoxigraph does with text from outside (an update
planned by the writer, a request's RDF body, the CLI's query) runs through :func:`on_deep_stack`,
on a thread of its own with :data:`DEEP_STACK` bytes of stack: 32 times the glibc default, and the
limits of :mod:`kg.rdf.complexity` keep the input far below what even the default stack takes.
The stack is reserved address space; only the pages a call touches become memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEEP_STACK = 256 * 2**20  # bytes; as the engine's threads get (kg.engine.process.ENGINE_STACK)

_STARTING = threading.Lock()  # threading.stack_size() is process-wide: one thread started at a time


def on_deep_stack(call: Callable[[], T]) -> T:
    """``call()`` on a thread with a :data:`DEEP_STACK` stack; its result, or its exception raised here."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller, whatever it is
            outcome["error"] = exc

    with _STARTING:
        previous = threading.stack_size(DEEP_STACK)
        try:
            thread = threading.Thread(target=run, name="deep-stack", daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
