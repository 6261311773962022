"""Print the W3C SPARQL 1.1 pass counts per suite.

    .venv/bin/python -m tests.w3c.report                      # pyoxigraph, in-process
    .venv/bin/python -m tests.w3c.report --serve              # a throw-away `oxigraph serve`
    .venv/bin/python -m tests.w3c.report --http URL           # any running endpoint (its data is dropped!)
    .venv/bin/python -m tests.w3c.report --endpoint           # the conformance table: /sparql vs Oxigraph

Exit status 0 when the failures are exactly the known ones of the engine's profile, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import Counter
from collections.abc import Iterator, Sequence

from .engines import Engine, HttpEngine, PyOxigraphEngine
from .known_failures import known_failures
from .manifest import QUERY_EVALUATION, SUITES, load_tests
from .runner import Outcome, outcome
from .server import oxigraph_server

_QUERY_MANIFEST_FOLDERS = frozenset(
    [
        "aggregates",
        "bind",
        "bindings",
        "cast",
        "construct",
        "exists",
        "functions",
        "grouping",
        "negation",
        "project-expression",
        "property-path",
        "subquery",
    ]
)
"""The evaluation tests of manifest-sparql11-query.ttl (without json-res and csv-tsv-res)."""


def summary_lines(outcomes: Sequence[Outcome]) -> list[str]:
    """``"<suite>: passed/run passed (n skipped)"`` per suite, plus the manifest-sparql11-query subset."""
    lines = []
    for suite in SUITES:
        counts = Counter(o.status for o in outcomes if o.test.suite == suite)
        run = counts["passed"] + counts["failed"]
        skipped = f" ({counts['skipped']} skipped)" if counts["skipped"] else ""
        lines.append(f"{suite}: {counts['passed']}/{run} passed{skipped}")
    subset = [
        o for o in outcomes if o.test.suite == QUERY_EVALUATION and o.test.folder in _QUERY_MANIFEST_FOLDERS
    ]
    passed = sum(o.status == "passed" for o in subset)
    lines.append(f"  (query-evaluation, manifest-sparql11-query.ttl only: {passed}/{len(subset)} passed)")
    return lines


@contextlib.contextmanager
def _engine(args: argparse.Namespace) -> Iterator[Engine]:
    if args.http is None and not args.serve:
        yield PyOxigraphEngine()
        return
    with contextlib.ExitStack() as stack:
        base_url = args.http or stack.enter_context(oxigraph_server())
        yield stack.enter_context(
            HttpEngine(
                base_url,
                query_path=args.query_path,
                update_path=args.update_path,
                store_path=args.store_path or None,
                name=args.profile,
            )
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run every suite against the chosen engine and print the summary."""
    parser = argparse.ArgumentParser(prog="python -m tests.w3c.report", description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--endpoint",
        action="store_true",
        help="print the conformance page's table: the Alatau endpoint beside `oxigraph serve` (protocol too)",
    )
    target.add_argument(
        "--http", metavar="URL", help="base URL of a running SPARQL endpoint (DROP ALL is run!)"
    )
    target.add_argument("--serve", action="store_true", help="start a throw-away `oxigraph serve` and use it")
    parser.add_argument("--query-path", default="/query", help="query endpoint path or URL (default /query)")
    parser.add_argument(
        "--update-path", default="/update", help="update endpoint path or URL (default /update)"
    )
    parser.add_argument(
        "--store-path", default="/store", help="Graph Store path or URL; empty: load with INSERT DATA"
    )
    parser.add_argument("--profile", default="oxigraph-http", help="known-failure profile for --http/--serve")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failure with its reason")
    args = parser.parse_args(argv)
    if args.endpoint:
        from .endpoint import comparison_table  # imports the Flask app: only when asked for

        print(comparison_table(), end="")
        return 0

    with _engine(args) as engine:
        outcomes = [outcome(test, engine) for test in load_tests()]
        label = engine.name if isinstance(engine, PyOxigraphEngine) else repr(engine)
    known = known_failures(engine.name)

    print(f"W3C SPARQL 1.1 test suites, engine: {label}")
    for line in summary_lines(outcomes):
        print(line)

    failed = {o.test.iri: o for o in outcomes if o.status == "failed"}
    unexpected = sorted(set(failed) - set(known))
    fixed = sorted(iri for iri in known if iri not in failed)
    if args.verbose:
        for iri, result in failed.items():
            reason = known.get(iri, "NOT A KNOWN FAILURE:\n" + result.detail)
            print(f"\nFAILED {iri}\n  {reason}")
    for iri in unexpected:
        print(f"unexpected failure: {iri}", file=sys.stderr)
    for iri in fixed:
        print(f"known failure now passes (remove it from known_failures.py): {iri}", file=sys.stderr)
    return 1 if unexpected or fixed else 0


if __name__ == "__main__":
    sys.exit(main())
