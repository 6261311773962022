"""Benchmark the build: time and peak memory of load, reasoning, validation and the store write.

    .venv/bin/python -m bench.build [--repeat N]

Prints one line per phase per run and a summary with the median of each phase. Figures belong here,
never in unit tests.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kg.build import build
from kg.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    phases: dict[str, list[float]] = {}
    totals = []
    for run in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings.from_env(store_path=Path(tmp) / "store")
            t0 = time.perf_counter()
            summary = build(settings)
            totals.append(time.perf_counter() - t0)
        for phase, seconds in summary.timings.items():
            phases.setdefault(phase, []).append(seconds)
        line = ", ".join(f"{p} {s * 1000:.0f} ms" for p, s in summary.timings.items())
        print(f"run {run}/{args.repeat}: {summary.total} triples; {line}", file=sys.stderr, flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"triples: {summary.total}")
    for phase, values in phases.items():
        share = statistics.median(values) / statistics.median(totals)
        print(f"{phase:>9}: median {statistics.median(values) * 1000:8.1f} ms  ({share:5.1%} of the build)")
    print(f"    total: median {statistics.median(totals) * 1000:8.1f} ms; peak RSS {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
