"""Find where Oxigraph runs out of stack, construct by construct, and set the query limits by it.

    .venv/bin/python -m bench.overflow [--only NAME,...] [--cap N] [--in-process]

A query nested or chained deeply enough makes Oxigraph's recursive parser, optimizer or evaluator
overflow its thread's stack, and Rust aborts the whole process ("fatal runtime error: stack
overflow"): the engine, or, for pyoxigraph, the Python process that called it. For each construct of
:data:`CONSTRUCTS` this doubles N until the engine dies, then bisects to the smallest N that kills it,

- in ``oxigraph serve`` (in memory, as the service runs it: each connection is a thread with Rust's
  default 2 MiB stack, or ``RUST_MIN_STACK`` as :mod:`kg.engine.process` sets it), and
- with ``--in-process``, in pyoxigraph on a Python thread (``Store.query``/``Store.update`` in a
  subprocess, so a crash costs only that subprocess),

and prints the threshold beside the limit of :class:`kg.rdf.complexity.Limits` that refuses the
construct first, with the margin. N is what the limit counts (nesting depth, branches, patterns).
Nothing here is timed: the figures are sizes, and they go in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from urllib.parse import urlencode

from kg.engine.process import ENGINE_STACK, find_oxigraph
from kg.rdf.complexity import Limits, measure

T = "?s <http://e/p> ?o"
P = "<http://e/p>"


@dataclass(frozen=True)
class Construct:
    name: str
    text: Callable[[int], str]  # N → the query (or update) text
    update: bool = False


def _nest(open_: str, inner: str, close: str, n: int) -> str:
    return open_ * n + inner + close * n


def _select(body: str) -> str:
    return "SELECT * WHERE { " + body + " }"


def _filter(expression: str) -> str:
    return _select(f"{T} FILTER({expression})")


def _chain(separator: str, item: str, n: int) -> str:
    return separator.join([item] * n)


CONSTRUCTS = [
    Construct("nested groups", lambda n: "SELECT * WHERE " + _nest("{ ", T, " }", n)),
    Construct("nested OPTIONAL", lambda n: _select(_nest(f"{T} OPTIONAL {{ ", T, " }", n))),
    Construct("OPTIONAL in sequence", lambda n: _select(T + f" OPTIONAL {{ {T} }}" * n)),
    Construct("nested OPTIONAL, chained", lambda n: _select(
        "?x0 <http://e/p> ?x1 " + "".join(f"OPTIONAL {{ ?x{i} <http://e/p> ?x{i + 1} " for i in range(1, n))
        + "}" * (n - 1))),
    Construct("groups in sequence", lambda n: _select(f"{{ {T} }} " * n)),
    Construct("nested groups, a star", lambda n: "SELECT * WHERE "
        + "".join(f"{{ ?s <http://e/p> ?o{i} . " for i in range(n)) + "}" * n),
    Construct("UNION branches", lambda n: _select(_chain(" UNION ", f"{{ {T} }}", n))),
    Construct("nested MINUS", lambda n: _select(_nest(f"{T} MINUS {{ ", T, " }", n))),
    Construct("nested subqueries", lambda n: "SELECT * WHERE "
        + _nest("{ SELECT * WHERE ", f"{{ {T} }}", " }", n)),
    Construct("nested GRAPH", lambda n: "SELECT * WHERE " + _nest("{ GRAPH ?g ", f"{{ {T} }}", " }", n)),
    Construct("nested EXISTS", lambda n: "SELECT * WHERE "
        + _nest(f"{{ {T} FILTER EXISTS ", f"{{ {T} }}", " }", n)),
    Construct("FILTERs in sequence", lambda n: _select(T + " FILTER(?o)" * n)),
    Construct("BINDs in sequence", lambda n: _select(T + "".join(f" BIND(1 AS ?b{i})" for i in range(n)))),
    Construct("nested parentheses", lambda n: _filter(_nest("(", "?o", ")", n))),
    Construct("nested function calls", lambda n: _filter(_nest("STR(", "?o", ")", n))),
    Construct("nested negation", lambda n: _filter(_nest("!(", "?o", ")", n))),
    Construct("+ chain", lambda n: _filter(_chain(" + ", "?o", n))),
    Construct("|| chain", lambda n: _filter(_chain(" || ", "?o", n))),
    Construct("= chain", lambda n: _filter(_nest("(", "?o", " = ?o)", n))),
    Construct("IN list", lambda n: _filter("?o IN (" + _chain(", ", "1", n) + ")")),
    Construct("CONCAT arguments", lambda n: _filter("CONCAT(" + _chain(", ", "?o", n) + ")")),
    Construct("path sequence", lambda n: _select("?s " + _chain("/", P, n) + " ?o")),
    Construct("path alternatives", lambda n: _select("?s " + _chain("|", P, n) + " ?o")),
    Construct("nested path parentheses", lambda n: _select("?s " + _nest("(", P, ")", n) + " ?o")),
    Construct("nested path modifiers", lambda n: _select("?s " + _nest("(", P, ")*", n) + " ?o")),
    Construct("nested inverse paths", lambda n: _select("?s " + _nest("^(", P, ")", n) + " ?o")),
    Construct("nested blank node lists", lambda n: _select(f"?s {P} " + _nest(f"[ {P} ", "?o", " ]", n))),
    Construct("nested collections", lambda n: _select(f"?s {P} " + _nest("( ", "?o", " )", n))),
    Construct("triple patterns", lambda n: _select(" . ".join(f"?s{i} {P} ?o{i}" for i in range(n)))),
    Construct("object lists", lambda n: _select(f"?s {P} " + ", ".join(f"?o{i}" for i in range(n)))),
    Construct("VALUES rows", lambda n: _select("VALUES ?x { " + "1 " * n + "}")),
    Construct("projected expressions", lambda n: "SELECT "
        + " ".join(f"(1 AS ?x{i})" for i in range(n)) + " {}"),
    Construct("ORDER BY keys", lambda n: _select(T) + " ORDER BY " + "?o " * n),
    Construct("nested triple terms", lambda n: _select(f"?s {P} " + _nest(f"<<( ?s {P} ", "?o", " )>>", n))),
    Construct("update: nested groups", lambda n: "DELETE { ?s ?p ?o } WHERE "
        + _nest("{ ", T, " }", n), True),
    Construct("update: UNION branches", lambda n: "DELETE { ?s ?p ?o } WHERE { "
        + _chain(" UNION ", f"{{ {T} }}", n) + " }", True),
    Construct("update: nested parentheses", lambda n: f"DELETE {{ ?s ?p ?o }} WHERE {{ {T} FILTER("
        + _nest("(", "?o", ")", n) + ") }", True),
    Construct("update: operations", lambda n: _chain(" ; ", "CLEAR SILENT GRAPH <http://e/g>", n), True),
    Construct("update: INSERT DATA triples", lambda n: "INSERT DATA { "
        + " ".join(f"<http://e/s{i}> {P} {i} ." for i in range(n)) + " }", True),
    Construct("update: nested blank node lists", lambda n: f"INSERT DATA {{ <http://e/s> {P} "
        + _nest(f"[ {P} ", "1", " ]", n) + " }", True),
    Construct("update: nested collections", lambda n: f"INSERT DATA {{ <http://e/s> {P} "
        + _nest("( ", "1", " )", n) + " }", True),
]  # fmt: skip


class Engine:
    """One ``oxigraph serve`` in memory, restarted after each crash."""

    def __init__(self, stack: bool):
        self.stack = stack
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, "RUST_MIN_STACK": str(ENGINE_STACK)} if self.stack else None
        self.process = subprocess.Popen(
            [find_oxigraph(), "serve", "--bind", f"127.0.0.1:{self.port}", "--timeout-s", "20"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("oxigraph did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def run(self, text: str, update: bool) -> str:
        """``ok``, ``refused`` (the engine answered an error), ``slow`` or ``crash``."""
        if self.process is None or self.process.poll() is not None:
            self.start()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        path = "/update" if update else "/query"
        body = urlencode({"update" if update else "query": text}).encode()
        try:
            conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except TimeoutError:
            self.stop()
            return "slow"
        except (OSError, http.client.HTTPException):
            status = 0
        finally:
            conn.close()
        time.sleep(0.05)
        assert self.process is not None
        if self.process.poll() is not None:
            return "crash"
        return "ok" if status in (200, 204) else "refused"


_IN_PROCESS = """
import sys, threading, pyoxigraph as ox
text, update = sys.stdin.read(), sys.argv[1] == "update"
def run():
    store = ox.Store()
    try:
        store.update(text) if update else list(store.query(text))
    except (SyntaxError, OSError, ValueError):
        sys.exit(3)
t = threading.Thread(target=run)
t.start(); t.join()
"""


def run_in_process(text: str, update: bool) -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _IN_PROCESS, "update" if update else "query"],
            input=text.encode(),
            capture_output=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        return "slow"
    if done.returncode < 0 or b"overflow" in done.stderr:
        return "crash"
    return "ok" if done.returncode == 0 else "refused"


def threshold(run: Callable[[str, bool], str], construct: Construct, cap: int) -> tuple[int | None, str]:
    """The smallest N that crashes (None: none up to ``cap``), and what the largest N did."""
    n, ok, outcome = 16, 0, "ok"
    while n <= cap:
        outcome = run(construct.text(n), construct.update)
        if outcome == "crash":
            break
        if outcome in ("refused", "slow"):
            return None, f"{outcome} at {n}"
        ok, n = n, n * 2
    else:
        return None, f"ok up to {ok}"
    low, high = ok, n  # low survives, high crashes
    while high - low > max(1, low // 50):
        middle = (low + high) // 2
        if run(construct.text(middle), construct.update) == "crash":
            high = middle
        else:
            low = middle
    return high, "crash"


def limit_for(construct: Construct, n: int, limits: Limits) -> str:
    """The limits that refuse the construct at ``n``: each as measured ÷ limit (the margin)."""
    measured = measure(construct.text(n))
    exceeded = []
    for f in fields(limits):
        value, limit = getattr(measured, f.name), getattr(limits, f.name)
        if value > limit:
            exceeded.append(f"max_{f.name} {limit} ({value / limit:.0f}× under)")
    return ", ".join(exceeded) or "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated construct names")
    parser.add_argument("--cap", type=int, default=200_000, help="the largest N tried (default 200000)")
    parser.add_argument(
        "--in-process", action="store_true", help="also pyoxigraph on a Python thread (a subprocess)"
    )
    parser.add_argument(
        "--default-stack",
        action="store_true",
        help="run the engine with Rust's default 2 MiB thread stack instead of the service's",
    )
    args = parser.parse_args(argv)
    chosen = [c for c in CONSTRUCTS if not args.only or c.name in args.only.split(",")]
    engine = Engine(stack=not args.default_stack)
    limits = Limits()
    stack = "2 MiB (Rust's default)" if args.default_stack else f"{ENGINE_STACK // 2**20} MiB"
    print(f"oxigraph serve, thread stack {stack}; N up to {args.cap}")
    header = f"{'construct':<32} {'engine dies at':>14} {'pyoxigraph dies at':>18}  refused first by"
    print(header)
    try:
        for construct in chosen:
            at, note = threshold(engine.run, construct, args.cap)
            local, local_note = (None, "-")
            if args.in_process:
                local, local_note = threshold(run_in_process, construct, args.cap)
            lowest = min((x for x in (at, local) if x is not None), default=None)
            refused = limit_for(construct, lowest, limits) if lowest is not None else ""
            print(
                f"{construct.name:<32} {at if at is not None else note:>14} "
                f"{local if local is not None else local_note:>18}  {refused}",
                flush=True,
            )
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
