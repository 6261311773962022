"""Benchmark the build at scale: synthetic cities of 10k, 100k, 1M triples, phase by phase.

    .venv/bin/python -m bench.scale [--scales 10k,100k,1M] [--seed 1] [--owlrl-up-to 100k]
                                    [--compare-up-to 100k] [--shapes-at 100k] [--build-timeout S]
                                    [--json FILE]

For each scale it generates a city (``bench/synthetic.py``, the real ``data/*.trig`` included), then
runs the real build (``kg.build.build``, as ``alatau-kg build`` does) in a fresh subprocess and
records the time and the peak resident memory of each phase: load, reason (the compiled rules),
validate (SHACL), write. Peaks are per phase: the kernel's high-water mark (``VmHWM``) is read at the
end of each phase and reset (``/proc/self/clear_refs``) for the next, so a phase is charged only for
what it holds at its worst. Then, in another subprocess, the same asserted graph is reasoned by the
rules and by owlrl (up to ``--owlrl-up-to``, each run cut at ``--owlrl-timeout``) for the ratio,
and the two closures are compared. Up to ``--compare-up-to``, validation alone is timed both ways:
set-at-a-time on Oxigraph (``kg.checks.compiled``, what the build uses) and node by node with pySHACL
(the reference), and their reports compared. ``--shapes-at`` times pySHACL shape by shape, to show
where its time goes.

Progress goes to stderr; the summary table, and with ``--json FILE`` every figure, at the end. The
issue's target: a 1M-triple build in under 5 minutes and 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.synthetic import generate, parse_count

TARGET_SECONDS = 300.0
TARGET_MB = 4096.0
PHASES = ("load", "reason", "validate", "write")


# --- memory ---------------------------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


class PeakMeter:
    """Peak RSS per phase: the high-water mark since the last reset (Linux), else ``ru_maxrss``."""

    def __init__(self) -> None:
        self.resettable = self._reset()

    @staticmethod
    def _reset() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak RSS to the current RSS
            return True
        except OSError:
            return False

    def take(self) -> float:
        """The peak (MB) since the last take, and start a new window."""
        kb = _status_kb("VmHWM") if self.resettable else None
        if kb is None:
            kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # since start: an upper bound
        self._reset()
        return kb / 1024


# --- the child processes ----------------------------------------------------------------------------


def child_build(data_dir: Path, store: Path) -> dict[str, Any]:
    """The real build, with the peak memory of each phase read at the progress line that ends it."""
    from kg.build import build
    from kg.config import Settings

    meter = PeakMeter()
    peaks: dict[str, float] = {}
    t_start = time.perf_counter()

    def progress(message: str) -> None:
        stamp = time.perf_counter() - t_start
        phase = None
        if message.startswith(("loaded", "replayed")):
            phase = "load"
        elif message.startswith("reasoned"):
            phase = "reason"
        elif message.startswith("validated"):
            phase = "validate"
        elif message.startswith("wrote"):
            phase = "write"
        peak = ""
        if phase:
            peaks[phase] = max(peaks.get(phase, 0.0), meter.take())
            peak = f" (peak so far in {phase}: {peaks[phase]:.0f} MB)"
        print(f"    [{stamp:7.1f}s] {message}{peak}", file=sys.stderr, flush=True)

    settings = Settings.from_env(data_dir=data_dir, store_path=store)
    summary = build(settings, progress)
    return {
        "timings": summary.timings,
        "peak_mb": peaks,
        # The windows tile the whole run (resetting the mark also resets ru_maxrss), so their maximum
        # is the process's peak.
        "process_peak_mb": max([*peaks.values(), meter.take()]),
        "graphs": summary.graphs,
        "total": summary.total,
        "conforms": summary.report.conforms,
        "violations": summary.report.count("Violation"),
        "warnings": summary.report.count("Warning"),
        "per_phase_peaks": meter.resettable,
    }


def load_asserted(data_dir: Path) -> tuple[Any, Any]:
    """The asserted graph (ontology + sources) and the ontology, as ``kg.build.assemble`` makes them."""
    from rdflib import Graph

    from kg.build import load_graph_file, load_source_file, ontology_files
    from kg.config import Settings
    from kg.rdf.names import Names
    from kg.rdf.terms import triples_to_graph

    settings = Settings.from_env(data_dir=data_dir)
    names = Names(settings.base_iri)
    ontology = Graph()
    for path in ontology_files(settings):
        triples_to_graph(load_graph_file(path, names.ontology_graph, names), ontology)
    asserted = Graph()
    for t in ontology:
        asserted.add(t)
    for path in sorted(data_dir.glob("*.trig")):
        triples_to_graph(load_source_file(path, names), asserted)
    return asserted, ontology


def child_reasoners(data_dir: Path, engine: str) -> dict[str, Any]:
    """Reason over the asserted graph with ``rules`` or ``owlrl``; the closure goes to a file.

    The peak is that of the reasoning itself (the loaded graph included, its loading not).
    """
    from kg.checks.reasoning import materialize, owlrl_closure

    asserted, ontology = load_asserted(data_dir)
    meter = PeakMeter()
    t0 = time.perf_counter()
    inferred = materialize(asserted, ontology) if engine == "rules" else owlrl_closure(asserted)
    seconds = time.perf_counter() - t0
    peak = meter.take()
    out = data_dir.parent / f"closure-{engine}.nt"
    with out.open("w", encoding="utf-8") as f:
        for s, p, o in inferred:
            f.write(f"{s.n3()} {p.n3()} {o.n3()} .\n")
    return {"seconds": seconds, "peak_mb": peak, "inferred": len(inferred), "asserted": len(asserted)}


def child_shapes(data_dir: Path) -> dict[str, Any]:
    """Validation time per shape: the whole graph against each targeted shape alone (its targets kept,
    every other shape's dropped), validated as the build does (SHACL-SPARQL on an Oxigraph mirror)."""
    from rdflib import Graph

    from kg.build import load_shapes
    from kg.checks.guard import mirror_of
    from kg.checks.reasoning import materialize
    from kg.checks.validation import validate
    from kg.config import Settings
    from kg.rdf.names import SH

    asserted, ontology = load_asserted(data_dir)
    data = asserted + materialize(asserted, ontology)
    shapes = load_shapes(Settings.from_env(data_dir=data_dir))
    store = mirror_of(data)
    targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
    seconds: dict[str, float] = {}
    for shape in sorted({s for t in targets for s in shapes.subjects(t, None)}):
        alone = Graph()
        for t in shapes:
            if t[1] not in targets or t[0] == shape:
                alone.add(t)
        t0 = time.perf_counter()
        validate(data, alone, sparql_store=store)
        name = str(shape).rsplit("#", 1)[-1]
        seconds[name] = time.perf_counter() - t0
        print(f"    shapes:{name}: {seconds[name]:.2f}s", file=sys.stderr, flush=True)
    return {"seconds": seconds, "triples": len(data)}


def child_validators(data_dir: Path) -> dict[str, Any]:
    """Validation alone, compiled (``kg.validation.validate_store``) then pySHACL (``validate``, with the
    SHACL-SPARQL constraints on the same Oxigraph store, as the build did before), on the same triples;
    and whether the two reports hold the same results."""
    from kg.build import load_shapes
    from kg.checks.guard import mirror_of
    from kg.checks.reasoning import materialize
    from kg.checks.validation import validate, validate_store
    from kg.config import Settings

    asserted, ontology = load_asserted(data_dir)
    data = asserted + materialize(asserted, ontology)
    shapes = load_shapes(Settings.from_env(data_dir=data_dir))
    store = mirror_of(data)

    def key(r: Any) -> tuple:
        return (
            r.focusNode,
            r.resultPath,
            r.sourceConstraintComponent,
            r.value,
            r.resultSeverity,
            r.sourceShape,
        )

    t0 = time.perf_counter()
    compiled = validate_store(store, shapes, label_graph=data)
    compiled_s = time.perf_counter() - t0
    _log(f"    compiled: {compiled_s:.2f}s, {len(compiled.results)} results")
    t0 = time.perf_counter()
    reference = validate(data, shapes, sparql_store=store)
    pyshacl_s = time.perf_counter() - t0
    _log(f"    pySHACL:  {pyshacl_s:.2f}s, {len(reference.results)} results")
    return {
        "triples": len(data),
        "compiled_s": compiled_s,
        "pyshacl_s": pyshacl_s,
        "results": len(compiled.results),
        "same": sorted(map(key, compiled.results)) == sorted(map(key, reference.results)),
    }


def run_child(args: list[str], timeout: float | None) -> dict[str, Any] | None:
    """Run this module as a child; its last stdout line is JSON. ``None`` when it ran out of time."""
    command = [sys.executable, "-m", "bench.scale", *args]
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the parent ---------------------------------------------------------------------------------------


def closures_equal(workdir: Path) -> tuple[bool, int, int]:
    """Whether the rules' and owlrl's closures (N-Triples files) hold the same triples."""
    rules = set((workdir / "closure-rules.nt").read_text(encoding="utf-8").splitlines())
    owl = set((workdir / "closure-owlrl.nt").read_text(encoding="utf-8").splitlines())
    return rules == owl, len(rules - owl), len(owl - rules)


def bench_scale(
    label: str, triples: int, seed: int, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    log = _log
    log(f"== {label}: generating about {triples} triples (seed {seed}) in {workdir}")
    t0 = time.perf_counter()
    generated = generate(workdir, triples, seed)
    gen_seconds = time.perf_counter() - t0
    log(
        f"   {generated.triples} data triples ({generated.synthetic_triples} synthetic, "
        f"{generated.real_triples} real), {generated.facilities} facilities, "
        f"{len(generated.graphs)} source graphs, in {gen_seconds:.1f}s"
    )
    row: dict[str, Any] = {
        "scale": label,
        "data_triples": generated.triples,
        "synthetic_triples": generated.synthetic_triples,
        "facilities": generated.facilities,
        "source_graphs": len(generated.graphs),
        "generate_s": gen_seconds,
    }
    log("   build (load → reason → validate → write), in a subprocess:")
    t0 = time.perf_counter()
    build = run_child(["--child", "build", str(workdir / "data"), str(workdir / "store")], args.build_timeout)
    wall = time.perf_counter() - t0
    if build is None:
        log(f"   build: stopped after {args.build_timeout:.0f}s (--build-timeout)")
        row["build"] = None
    else:
        build["wall_s"] = wall
        row["build"] = build
        total = sum(build["timings"].values())
        log(
            f"   build: {total:.1f}s in phases ({wall:.1f}s with the interpreter), peak "
            f"{build['process_peak_mb']:.0f} MB, {build['total']} triples stored, "
            f"conforms: {build['conforms']}"
        )
    if label in args.shapes_at:
        log("   validation time per shape (each shape alone over the whole graph), in a subprocess:")
        shapes = run_child(["--child", "shapes", str(workdir / "data")], None)
        assert shapes is not None
        row["shapes"] = shapes
        ranked = sorted(shapes["seconds"].items(), key=lambda kv: -kv[1])
        total = sum(shapes["seconds"].values())
        log(
            "   slowest shapes: "
            + ", ".join(f"{name} {sec:.1f}s ({sec / total:.0%})" for name, sec in ranked[:6])
            + f"; all {len(ranked)} shapes: {total:.1f}s"
        )
    if triples <= args.compare_up_to:
        log("   validation alone, compiled then pySHACL (in a subprocess):")
        both = run_child(["--child", "validators", str(workdir / "data")], None)
        assert both is not None
        row["validators"] = both
        log(
            f"   validation: compiled {both['compiled_s']:.2f}s, pySHACL {both['pyshacl_s']:.1f}s: "
            f"{both['pyshacl_s'] / both['compiled_s']:.0f}× faster; same results: {both['same']}"
        )
    if triples <= args.owlrl_up_to:
        log("   reasoning alone, rules then owlrl (each in a subprocess):")
        rules = run_child(["--child", "rules", str(workdir / "data")], None)
        assert rules is not None
        log(
            f"   rules: {rules['seconds']:.2f}s, {rules['inferred']} inferred, peak {rules['peak_mb']:.0f} MB"
        )
        owl = run_child(["--child", "owlrl", str(workdir / "data")], args.owlrl_timeout)
        row["rules"] = rules
        row["owlrl"] = owl
        if owl is None:
            log(f"   owlrl: skipped, not done within {args.owlrl_timeout:.0f}s (--owlrl-timeout)")
        else:
            same, only_rules, only_owlrl = closures_equal(workdir)
            row["closures_equal"] = same
            row["closure_diff"] = [only_rules, only_owlrl]
            log(
                f"   owlrl: {owl['seconds']:.2f}s, {owl['inferred']} inferred, peak {owl['peak_mb']:.0f} MB; "
                f"{owl['seconds'] / rules['seconds']:.0f}× the rules; closures equal: {same}"
                + ("" if same else f" ({only_rules} only by the rules, {only_owlrl} only by owlrl)")
            )
    else:
        log(f"   owlrl: skipped at this scale (--owlrl-up-to {args.owlrl_up_to})")
    return row


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> str:
    mem = _meminfo_gb()
    load = os.getloadavg()
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, {mem:.1f} GB RAM, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start"
    )


def _meminfo_gb() -> float:
    try:
        text = Path("/proc/meminfo").read_text()
        match = re.search(r"MemTotal:\s+(\d+) kB", text)
        return int(match.group(1)) / 1024 / 1024 if match else 0.0
    except OSError:
        return 0.0


def table(rows: list[dict[str, Any]]) -> str:
    head = ["scale", "data triples", "stored", *[f"{p} s" for p in PHASES], "build s"]
    head += [f"{p} MB" for p in PHASES] + ["peak MB", "conforms", "rules s", "owlrl s", "owlrl/rules", "same"]
    head += ["compiled s", "pySHACL s", "pySHACL/compiled", "same report"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        b = row.get("build")
        cells = [row["scale"], f"{row['data_triples']:,}"]
        if b:
            cells.append(f"{b['total']:,}")
            cells += [f"{b['timings'].get(p, 0):.1f}" for p in PHASES]
            cells.append(f"{sum(b['timings'].values()):.1f}")
            cells += [f"{b['peak_mb'].get(p, 0):.0f}" for p in PHASES]
            cells += [f"{b['process_peak_mb']:.0f}", "yes" if b["conforms"] else "NO"]
        else:
            cells += ["—"] * (1 + len(PHASES) + 1 + len(PHASES) + 1) + ["timed out"]
        rules, owl = row.get("rules"), row.get("owlrl")
        cells.append(f"{rules['seconds']:.2f}" if rules else "—")
        if owl and rules:
            cells += [f"{owl['seconds']:.1f}", f"{owl['seconds'] / rules['seconds']:.0f}×"]
            cells.append("yes" if row.get("closures_equal") else "NO")
        else:
            cells += ["skipped" if rules else "—", "—", "—"]
        v = row.get("validators")
        if v:
            cells += [
                f"{v['compiled_s']:.2f}",
                f"{v['pyshacl_s']:.1f}",
                f"{v['pyshacl_s'] / v['compiled_s']:.0f}×",
            ]
            cells.append("yes" if v["same"] else "NO")
        else:
            cells += ["—"] * 4
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(rows: list[dict[str, Any]]) -> list[str]:
    """The issue's target (1M triples: < 5 min, < 4 GB): measured at 1M; below, extrapolated.

    The extrapolation is linear along the slope from the previous (smaller) scale, so that fixed costs
    (the interpreter, the ontology) are not multiplied; the first scale has no slope and is skipped.
    """
    out = []
    previous: tuple[int, float, float] | None = None
    for row in sorted(rows, key=lambda r: r["data_triples"]):
        b = row.get("build")
        if b is None:
            out.append(f"{row['scale']}: the build did not finish in the time allowed: target NOT met")
            continue
        n, seconds, mb = row["data_triples"], sum(b["timings"].values()), b["process_peak_mb"]
        if n >= 900_000:
            met = "met" if seconds < TARGET_SECONDS and mb < TARGET_MB else "NOT met"
            out.append(f"{row['scale']}: {seconds:.0f}s, {mb:.0f} MB peak: target (5 min, 4 GB) {met}")
        elif previous is not None:
            n0, s0, m0 = previous
            at_1m = 1_000_000 - n
            t_1m = seconds + (seconds - s0) / (n - n0) * at_1m
            m_1m = mb + (mb - m0) / (n - n0) * at_1m
            out.append(
                f"{row['scale']}: {seconds:.0f}s, {mb:.0f} MB peak; extrapolated to 1M: ~{t_1m:.0f}s, "
                f"~{m_1m:.0f} MB (target {TARGET_SECONDS:.0f}s, {TARGET_MB:.0f} MB)"
            )
        else:
            out.append(f"{row['scale']}: {seconds:.0f}s, {mb:.0f} MB peak")
        previous = (n, seconds, mb)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="10k,100k", help="comma-separated sizes, e.g. 10k,100k,1M")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--owlrl-up-to", default="100k", help="run owlrl at scales up to this size")
    parser.add_argument("--owlrl-timeout", type=float, default=300.0, help="seconds before owlrl is skipped")
    parser.add_argument("--build-timeout", type=float, default=None, help="seconds before a build is stopped")
    parser.add_argument("--workdir", type=Path, help="keep the cities and stores here (default: a temp dir)")
    parser.add_argument(
        "--shapes-at", default="", help="scales (e.g. 100k) at which to time validation shape by shape"
    )
    parser.add_argument(
        "--compare-up-to", default="100k", help="time validation compiled vs pySHACL up to this size"
    )
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *paths = args.child
        if kind == "build":
            result = child_build(Path(paths[0]), Path(paths[1]))
        elif kind == "shapes":
            result = child_shapes(Path(paths[0]))
        elif kind == "validators":
            result = child_validators(Path(paths[0]))
        else:
            result = child_reasoners(Path(paths[0]), kind)
        print(json.dumps(result))
        return 0
    args.owlrl_up_to = parse_count(args.owlrl_up_to)
    args.compare_up_to = parse_count(args.compare_up_to)
    args.shapes_at = {s.strip() for s in args.shapes_at.split(",") if s.strip()}
    print(f"machine: {machine()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="alatau-scale-") as tmp:
        root = args.workdir or Path(tmp)
        for label in [s.strip() for s in args.scales.split(",") if s.strip()]:
            rows.append(bench_scale(label, parse_count(label), args.seed, root / label, args))
    print(table(rows))
    for line in verdict(rows):
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
