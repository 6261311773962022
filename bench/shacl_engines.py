"""Weigh other SHACL engines against ours: pyshacl-turbo and pyrudof beside the compiled validator
(``kg.shacl_compiled``, what the build and the guard use) and pySHACL (the reference).

    .venv/bin/python -m bench.shacl_engines [--scales city,10k,100k,1M] [--rounds 3]
                                            [--engines compiled,pyshacl,turbo,rudof]
                                            [--pyshacl-up-to 100k] [--engine-timeout 1200]
                                            [--max-mb 10000] [--guard-at 100k] [--guard-rounds 15]
                                            [--no-fixtures] [--workdir DIR] [--json FILE]

1. *Parity fixtures*: every engine over the inputs of the parity suite (``tests/test_shacl_compiled.py``:
   each invalid fixture of ``tests/test_kg_shapes.py`` applied to the city through the guard, the mini
   project's CLI fixtures, a synthetic city broken in many ways, and the small graphs of SHACL Core
   beyond ``shapes.ttl``); each report compared with the compiled one.
2. *Builds*: per scale, the data graph the build validates (the city, or a seeded synthetic city of
   ``bench/synthetic.py``, reasoned: asserted + inferred in one default graph) and ``shapes.ttl``.
   Each engine runs in a fresh subprocess per round, the rounds interleaved (the engine order rotates),
   each run cut at ``--engine-timeout`` or ``--max-mb`` (the machine is shared). A child starts from
   what the build has, the data graph in an Oxigraph store, and is timed for *input* (making what the
   engine takes from that store: an rdflib graph for pySHACL, N-Triples read by pyrudof; nothing for
   the compiled path and for pyshacl-turbo, which takes the store) and *validate*; its peak is the
   resident high-water mark over both (the store itself included). Every report is compared with the
   compiled one.
3. *The guard's case*: a handful of focus nodes in the ``--guard-at`` graph, validated again and again
   in one process per engine, the way the guard would use it (data and shapes loaded once).

"Equal" means the same set of (focus node, result path, constraint component, value, severity, source
shape) as the compiled report, the key of the parity suite (``tests.test_shacl_compiled.keys``).

pyshacl-turbo and pyrudof are not dependencies of the project: an engine that is not installed is
skipped, with a note (``pip install pyshacl-turbo pyrudof`` to compare). Progress goes to stderr, the
tables to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import XSD, Graph, Literal, URIRef
from rdflib.collection import Collection

# The project's modules, all here so that a move of the library's modules is one edit.
from bench.scale import PeakMeter, machine
from bench.synthetic import generate, parse_count
from kg.build import assemble, build
from kg.checks.guard import Guard
from kg.checks.report import Report
from kg.checks.validation import FocusedValidation, restrict_targets, validate, validate_store
from kg.config import Settings
from kg.engine.local import OxigraphStore
from kg.rdf.formats import rdf_format
from kg.rdf.names import SH, Names
from kg.rdf.parsing import parse_bytes, parse_file
from kg.rdf.terms import triples_to_graph
from tests.test_shacl_compiled import (
    CONSTRUCTS,
    FIXTURES,
    MINI_CASES,
    SPARQL_SHAPES,
    UNSUPPORTED,
    Key,
    _small,
    broken,
    fixture_applied,
    keys,
)

PROJECT = Path(__file__).resolve().parent.parent
MINI = PROJECT / "tests" / "fixtures" / "mini"
ENGINES = ("compiled", "pyshacl", "turbo", "rudof")
OPTIONAL = {"turbo": "pyshacl_turbo", "rudof": "pyrudof"}
INSTALL_NOTE = "pip install pyshacl-turbo pyrudof"


def installed(engine: str) -> bool:
    module = OPTIONAL.get(engine)
    return module is None or importlib.util.find_spec(module) is not None


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("pyshacl", "pyshacl-turbo", "pyrudof", "pyoxigraph", "rdflib"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


# --- the engines: each takes the data graph in an Oxigraph store (default graph) and the shapes ---------


@dataclass
class Run:
    keys: set[Key]
    results: int  # sh:result nodes in the report (a set of keys can hide duplicates)
    input_s: float
    validate_s: float


class Engine:
    """One engine: ``prepare`` turns the build's store into the engine's input (timed as *input*),
    ``validate`` checks it (timed as *validate*)."""

    name = ""

    def prepare(self, store: ox.Store) -> Any:
        return store

    def validate(self, data: Any, store: ox.Store, shapes: Graph) -> tuple[set[Key], int]:
        raise NotImplementedError

    def run(self, store: ox.Store, shapes: Graph) -> Run:
        t0 = time.perf_counter()
        data = self.prepare(store)
        t1 = time.perf_counter()
        found, count = self.validate(data, store, shapes)
        return Run(found, count, t1 - t0, time.perf_counter() - t1)


class Compiled(Engine):
    name = "compiled"

    def validate(self, data: Any, store: ox.Store, shapes: Graph) -> tuple[set[Key], int]:
        report = validate_store(store, shapes, label_graph=Graph())
        return keys(report), len(report.results)


class PySHACL(Engine):
    """pySHACL as ``kg.validation.validate`` runs it (SHACL-SPARQL on the same Oxigraph store)."""

    name = "pyshacl"

    def prepare(self, store: ox.Store) -> Any:
        return triples_to_graph(store.quads_for_pattern(None, None, None, None))

    def validate(self, data: Any, store: ox.Store, shapes: Graph) -> tuple[set[Key], int]:
        report = validate(data, shapes, sparql_store=store, label_graph=Graph())
        return keys(report), len(report.results)


class Turbo(Engine):
    """pyshacl-turbo, given the Oxigraph store itself (it takes a native N-Quads snapshot of it)."""

    name = "turbo"

    def validate(self, data: Any, store: ox.Store, shapes: Graph) -> tuple[set[Key], int]:
        import pyshacl_turbo

        conforms, graph, _ = pyshacl_turbo.validate(
            data, shacl_graph=shapes, inference="none", allow_warnings=True, allow_infos=True
        )
        report = Report(conforms, [], graph)
        return keys(report), len(set(graph.objects(None, SH.result)))


class Rudof(Engine):
    """pyrudof (its native engine, the default), the data read as N-Triples from the store's dump and the
    shapes as N-Triples (blank-node labels kept, so source shapes compare)."""

    name = "rudof"

    def prepare(self, store: ox.Store) -> Any:
        import pyrudof

        session = pyrudof.Rudof(pyrudof.RudofConfig())
        with tempfile.NamedTemporaryFile(suffix=".nt") as f:
            store.dump(f.name, format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
            session.read_data(f.name, format=pyrudof.RDFFormat.NTriples)
        return session

    def validate(self, data: Any, store: ox.Store, shapes: Graph) -> tuple[set[Key], int]:
        import pyrudof

        data.read_shacl(
            shapes.serialize(format="nt", encoding="utf-8").decode(), format=pyrudof.ShaclFormat.NTriples
        )
        report = data.validate_shacl()
        return rudof_keys(report, shapes), len(report)


def rudof_keys(report: Any, shapes: Graph) -> set[Key]:
    """pyrudof's entries (terms as text) as the parity suite's keys."""
    return {
        (
            e.focus_node.removeprefix("_:"),
            rudof_path(e.path, shapes),
            e.constraint_component.removeprefix(str(SH)),
            rudof_term(e.value),
            e.severity,
            e.source_shape.removeprefix("_:"),
        )
        for e in report
    }


_PREFIXES = {
    "xsd": str(XSD),
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}
_LITERAL = re.compile(
    r'^"(?P<text>.*)"(?:@(?P<lang>[A-Za-z0-9-]+)|\^\^(?P<dt><[^>]*>|[\w-]*:[\w.-]*))?$', re.S
)


def rudof_term(text: str | None) -> str | None:
    """pyrudof shows IRIs bare and datatypes prefixed (``"1"^^xsd:integer``); ours are N-Triples terms."""
    if text is None:
        return None
    match = _LITERAL.match(text)
    if match is None:
        return text if text.startswith("_:") else f"<{text}>"
    lang, dt = match.group("lang"), match.group("dt")
    if dt and not dt.startswith("<"):
        prefix, local = dt.split(":", 1)
        dt = f"<{_PREFIXES.get(prefix, prefix + ':')}{local}>"
    datatype = URIRef(dt[1:-1]) if dt else None
    if datatype == XSD.string:
        datatype = None  # the parity key's plain literal (RDF 1.1: the same term)
    return Literal(match.group("text"), lang=lang, datatype=datatype).n3()


def rudof_path(text: str | None, shapes: Graph) -> str | None:
    """pyrudof's path text as the parity key's (``kg.validation._path_text``): a sequence ``(a / b)`` is
    ``a/b``, an inverse ``^(a)`` is ``^a``; an alternative ``a | b`` is the path node of the shapes."""
    if text is None:
        return None
    if text.startswith("^(") and text.endswith(")"):
        return "^" + text[2:-1]
    if text.startswith("(") and text.endswith(")") and " / " in text:
        return text[1:-1].replace(" / ", "/")
    if " | " in text:
        steps = [URIRef(step) for step in text.removeprefix("(").removesuffix(")").split(" | ")]
        for node, head in shapes.subject_objects(SH.alternativePath):
            if list(Collection(shapes, head)) == steps:
                return node.n3()  # as _path_text shows a path it does not spell out
    return text


def engine(name: str) -> Engine:
    return {"compiled": Compiled, "pyshacl": PySHACL, "turbo": Turbo, "rudof": Rudof}[name]()


# --- comparing reports ---------------------------------------------------------------------------------


def compare(found: set[Key], reference: set[Key], examples: int = 2) -> str:
    """``equal``, or the differences: counts and a few examples each way."""
    if found == reference:
        return "equal"
    extra, missing = sorted(found - reference, key=str), sorted(reference - found, key=str)
    parts = [f"DIFFERENT: {len(extra)} only here, {len(missing)} only in compiled"]
    parts += [f"      + {_short(k)}" for k in extra[:examples]]
    parts += [f"      - {_short(k)}" for k in missing[:examples]]
    return "\n".join(parts)


def _short(key: Key) -> str:
    def local(text: str | None) -> str | None:
        return None if text is None else re.sub(r"https?://[^ >]*[/#]", "", text)

    return str(tuple(local(k) if isinstance(k, str) else k for k in key))


# --- 1. the parity fixtures ----------------------------------------------------------------------------


def fixture_inputs(workdir: Path) -> Iterator[tuple[str, ox.Store, Graph]]:
    """(name, data graph in a store, shapes) of every input of the parity suite."""
    settings = Settings(
        ontology_dir=PROJECT / "ontology", data_dir=PROJECT / "data", store_path=workdir / "store"
    )
    build(settings)
    guard = Guard.from_store(OxigraphStore(Names(settings.base_iri), settings.store_path, read_only=True))
    for name, add, remove, _ in FIXTURES:
        with fixture_applied(guard, add, remove):
            yield f"fixture: {name}", guard.mirror, guard.shapes
    mini = Settings(ontology_dir=MINI / "ontology", data_dir=MINI / "data", store_path=workdir / "mini")
    for case, (ttl, _) in MINI_CASES.items():
        graph = ox.NamedNode("https://w3id.org/alatau-kg/graph/source/cli-fixture")
        extra = parse_bytes(ttl.encode(), rdf_format("turtle"), to_graph=graph)
        assembled = assemble(mini, extra=extra)
        yield f"mini: {case}", merged(assembled), assembled.shapes
    city = generate(workdir / "city4k", 4_000, seed=5)
    assembled = assemble(Settings.from_env(data_dir=city.out / "data", store_path=workdir / "city4k-store"))
    _, store = broken(assembled.asserted + assembled.inferred)
    yield "synthetic city (4k) broken in many ways", store, assembled.shapes
    for name, ttl in (
        ("Core constructs", CONSTRUCTS),
        ("SPARQL constraints", SPARQL_SHAPES),
        ("outside the compiler (pySHACL fallback)", UNSUPPORTED),
    ):
        _, shapes, store = _small(ttl)
        yield f"beyond shapes.ttl: {name}", store, shapes


def merged(assembled: Any) -> ox.Store:
    """The data graph the build validates: ontology, sources and inferences in one default graph."""
    store = ox.Store()
    raw = assembled.store.raw
    store.bulk_extend(
        ox.Quad(q.subject, q.predicate, q.object)
        for g in assembled.data_graphs()
        for q in raw.quads_for_pattern(None, None, None, ox.NamedNode(g))
    )
    return store


def run_fixtures(workdir: Path, engines: list[str]) -> list[dict[str, Any]]:
    rows = []
    logging.getLogger("rdflib").setLevel(logging.CRITICAL)  # the ill-formed literals of the fixtures
    logging.getLogger("alatau_kg.shacl_compiled").setLevel(logging.WARNING)
    for name, store, shapes in fixture_inputs(workdir):
        reference = engine("compiled").run(store, shapes)
        row: dict[str, Any] = {"input": name, "results": len(reference.keys)}
        for other in engines:
            if other == "compiled":
                continue
            try:
                got = engine(other).run(store, shapes)
                row[other] = compare(got.keys, reference.keys)
            except Exception as exc:  # an engine that cannot run an input is a finding, not a crash
                row[other] = f"ERROR {type(exc).__name__}: {str(exc)[:200]}"
        rows.append(row)
        _log(
            f"  {name}: {len(reference.keys)} results; "
            + "; ".join(f"{e} {row[e].splitlines()[0]}" for e in engines if e in row)
        )
    return rows


# --- 2. the builds: one child process per engine and round ---------------------------------------------


def prepare_scale(label: str, workdir: Path, seed: int) -> dict[str, Any]:
    """The data graph (N-Triples) and the shapes (N-Triples, blank-node labels kept) of a scale."""
    out = workdir / label
    data_nt, shapes_nt = out / "data.nt", out / "shapes.nt"
    meta = out / "meta.json"
    if meta.exists():
        return json.loads(meta.read_text())
    out.mkdir(parents=True, exist_ok=True)
    if label == "city":
        data_dir = PROJECT / "data"
    else:
        _log(f"  generating the {label} city (seed {seed})")
        data_dir = generate(out / "city", parse_count(label), seed).out / "data"
    _log(f"  assembling (load, reason) {label}")
    assembled = assemble(Settings.from_env(data_dir=data_dir, store_path=out / "store"))
    store = merged(assembled)
    store.dump(str(data_nt), format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())
    assembled.shapes.serialize(str(shapes_nt), format="nt", encoding="utf-8")
    info = {"triples": len(store), "data": str(data_nt), "shapes": str(shapes_nt)}
    meta.write_text(json.dumps(info))
    return info


def load_inputs(info: dict[str, Any]) -> tuple[ox.Store, Graph]:
    store = ox.Store()
    store.bulk_load(path=info["data"], format=ox.RdfFormat.N_TRIPLES)
    # Oxigraph's parser keeps blank-node labels (rdflib's does not): the same shape ids in every child
    shapes = triples_to_graph(parse_file(Path(info["shapes"]), rdf_format("nt")))
    return store, shapes


def child_build(name: str, meta: Path, keys_out: Path) -> dict[str, Any]:
    info = json.loads(meta.read_text())
    store, shapes = load_inputs(info)
    meter = PeakMeter()
    meter.take()  # the window opens now: the store (what the build holds) is in it, its loading not
    run = engine(name).run(store, shapes)
    peak = meter.take()
    keys_out.write_text(json.dumps(sorted(run.keys, key=str)))
    return {"input_s": run.input_s, "validate_s": run.validate_s, "peak_mb": peak, "results": run.results}


def run_child(args: list[str], timeout: float | None, max_mb: float) -> dict[str, Any] | None:
    """This module as a child; its last stdout line is JSON. ``None`` when it ran out of time; an error
    when it failed or outgrew ``max_mb`` of resident memory (the machine is shared: it is stopped)."""
    command = [sys.executable, "-m", "bench.shacl_engines", "--child", *args]
    with tempfile.TemporaryFile(mode="w+") as out:
        child = subprocess.Popen(command, stdout=out, text=True)
        t0, rss = time.monotonic(), 0.0
        while child.poll() is None:
            rss = max(rss, _rss_mb(child.pid))
            if rss > max_mb or (timeout is not None and time.monotonic() - t0 > timeout):
                child.kill()
                child.wait()
                elapsed = time.monotonic() - t0
                return {"error": f"stopped at {max_mb:.0f} MB after {elapsed:.0f}s"} if rss > max_mb else None
            time.sleep(0.2)
        if child.returncode != 0:
            return {"error": f"exit code {child.returncode}"}
        out.seek(0)
        return json.loads(out.read().strip().splitlines()[-1])


def _rss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def bench_scale(
    label: str, info: dict[str, Any], engines: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    out = Path(info["data"]).parent
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    timed_out: set[str] = set()
    for r in range(args.rounds):
        order = engines[r % len(engines) :] + engines[: r % len(engines)]  # rotate: drift hits all alike
        for name in order:
            if name in timed_out:
                continue
            keys_file = out / f"keys-{name}.json"
            got = run_child(
                ["build", name, str(out / "meta.json"), str(keys_file)], args.engine_timeout, args.max_mb
            )
            if got is None:
                _log(f"    round {r + 1} {name}: stopped after {args.engine_timeout:.0f}s (--engine-timeout)")
                timed_out.add(name)
                continue
            if "error" in got:
                _log(f"    round {r + 1} {name}: {got['error']}")
                timed_out.add(name)
                runs[name].append(got)
                continue
            runs[name].append(got)
            _log(
                f"    round {r + 1} {name}: input {got['input_s']:.2f}s + validate {got['validate_s']:.2f}s, "
                f"peak {got['peak_mb']:.0f} MB, {got['results']} results"
            )
    reference = _read_keys(out / "keys-compiled.json")
    row: dict[str, Any] = {"scale": label, "triples": info["triples"], "engines": {}}
    for name in engines:
        ok = [g for g in runs[name] if "error" not in g]
        entry: dict[str, Any] = {"rounds": len(ok), "timed_out": name in timed_out and not ok}
        if ok:
            entry["input_s"] = statistics.median(g["input_s"] for g in ok)
            entry["validate_s"] = statistics.median(g["validate_s"] for g in ok)
            entry["total_s"] = statistics.median(g["input_s"] + g["validate_s"] for g in ok)
            entry["peak_mb"] = max(g["peak_mb"] for g in ok)
            entry["results"] = ok[-1]["results"]
            entry["same"] = compare(_read_keys(out / f"keys-{name}.json"), reference)
        elif runs[name]:
            entry["error"] = runs[name][-1]["error"]
        row["engines"][name] = entry
    return row


def _read_keys(path: Path) -> set[Key]:
    return {tuple(k) for k in json.loads(path.read_text())} if path.exists() else set()  # type: ignore[misc]


# --- 3. the guard's case ---------------------------------------------------------------------------------

# Focus nodes a guarded write touches, in the synthetic cities (the real data they include): a school,
# its capacity and status record, and the city's population and age groups (which carry warnings).
_ID = "https://w3id.org/alatau-kg/id/"
GUARD_FOCUS = [
    f"{_ID}facility/keleshek-school-enbek",
    f"{_ID}quantity/keleshek-school-enbek-capacity",
    f"{_ID}observation/population-alatau-age-0-17",
    f"{_ID}observation/population-alatau-age-18-35",
    f"{_ID}observation/population-alatau-2025-12-01",
]


def child_guard(name: str, meta: Path, rounds: int, keys_out: Path) -> dict[str, Any]:
    """``rounds`` validations of the focus nodes by one engine, data and shapes loaded once."""
    info = json.loads(meta.read_text())
    store, shapes = load_inputs(info)
    data = triples_to_graph(store.quads_for_pattern(None, None, None, None)) if name != "compiled" else None
    focus = [
        n for n in GUARD_FOCUS if any(True for _ in store.quads_for_pattern(ox.NamedNode(n), None, None))
    ]
    meter = PeakMeter()
    meter.take()
    t0 = time.perf_counter()
    check: Callable[[], tuple[set[Key], int]]
    if name == "compiled":  # as the guard: the shapes compiled once, run with the focus nodes bound
        focused = FocusedValidation(store, shapes)

        def check() -> tuple[set[Key], int]:
            report = focused.validate(focus)
            return keys(report), len(report.results)

    elif name == "pyshacl":  # as the guard did before: targets restricted, SHACL-SPARQL on Oxigraph
        assert data is not None

        def check() -> tuple[set[Key], int]:
            report = validate(data, shapes, focus_nodes=focus, sparql_store=store, label_graph=Graph())
            return keys(report), len(report.results)

    else:  # the targets restricted to the focus nodes in SHACL (kg.validation.restrict_targets), per check
        assert data is not None
        prepared = engine(name).prepare(store) if name == "rudof" else store  # rudof: its data kept loaded

        def check() -> tuple[set[Key], int]:
            restricted = restrict_targets(shapes, data, {URIRef(n) for n in focus})
            return engine(name).validate(prepared, store, restricted)

    ready = time.perf_counter() - t0
    seconds = []
    found: set[Key] = set()
    count = 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        found, count = check()
        seconds.append(time.perf_counter() - t0)
    peak = meter.take()
    keys_out.write_text(json.dumps(sorted(found, key=str)))
    return {
        "ready_s": ready,
        "p50_ms": statistics.median(seconds) * 1000,
        "min_ms": min(seconds) * 1000,
        "max_ms": max(seconds) * 1000,
        "peak_mb": peak,
        "results": count,
        "focus": len(focus),
    }


def bench_guard(
    label: str, info: dict[str, Any], engines: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    out = Path(info["data"]).parent
    row: dict[str, Any] = {"scale": label, "triples": info["triples"], "engines": {}}
    for name in engines:
        keys_file = out / f"guard-keys-{name}.json"
        got = run_child(
            ["guard", name, str(out / "meta.json"), str(args.guard_rounds), str(keys_file)],
            args.engine_timeout,
            args.max_mb,
        )
        if got is None or "error" in got:
            row["engines"][name] = {"error": "timed out" if got is None else got["error"]}
            _log(f"    guard {name}: {row['engines'][name]['error']}")
            continue
        got["same"] = compare(_read_keys(keys_file), _read_keys(out / "guard-keys-compiled.json"))
        row["engines"][name] = got
        _log(
            f"    guard {name}: ready in {got['ready_s']:.2f}s, p50 {got['p50_ms']:.1f} ms per check "
            f"({got['focus']} focus nodes, {got['results']} results), peak {got['peak_mb']:.0f} MB; "
            f"{got['same'].splitlines()[0]}"
        )
    return row


# --- the tables ---------------------------------------------------------------------------------------------


def fixtures_table(rows: list[dict[str, Any]], engines: list[str]) -> str:
    others = [e for e in engines if e != "compiled"]
    lines = [
        "| input | results (compiled) | " + " | ".join(others) + " |",
        "|---|---|" + "---|" * len(others),
    ]
    for row in rows:
        lines.append(
            f"| {row['input']} | {row['results']} | "
            + " | ".join(row.get(e, "—").splitlines()[0] for e in others)
            + " |"
        )
    return "\n".join(lines)


def builds_table(rows: list[dict[str, Any]], engines: list[str]) -> str:
    lines = [
        "| scale | triples | engine | rounds | input s | validate s | total s | × compiled | peak MB "
        "| results | report |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        base = row["engines"].get("compiled", {}).get("total_s")
        for name in engines:
            e = row["engines"].get(name)
            if e is None:
                continue
            if "total_s" not in e:
                why = e.get("error") or ("timed out" if e.get("timed_out") else "not run")
                lines.append(
                    f"| {row['scale']} | {row['triples']:,} | {name} | 0 | — | — | {why} | — | — | — | — |"
                )
                continue
            ratio = f"{e['total_s'] / base:.1f}×" if base else "—"
            lines.append(
                f"| {row['scale']} | {row['triples']:,} | {name} | {e['rounds']} | {e['input_s']:.2f} | "
                f"{e['validate_s']:.2f} | {e['total_s']:.2f} | {ratio} | {e['peak_mb']:.0f} | "
                f"{e['results']} | "
                f"{e['same'].splitlines()[0]} |"
            )
    return "\n".join(lines)


def guard_table(row: dict[str, Any], engines: list[str]) -> str:
    lines = [
        "| engine | ready s | p50 ms | min ms | max ms | × compiled | peak MB | results | report |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base = row["engines"].get("compiled", {}).get("p50_ms")
    for name in engines:
        e = row["engines"].get(name, {})
        if "p50_ms" not in e:
            lines.append(f"| {name} | {e.get('error', 'not run')} | | | | | | | |")
            continue
        ratio = f"{e['p50_ms'] / base:.1f}×" if base else "—"
        lines.append(
            f"| {name} | {e['ready_s']:.2f} | {e['p50_ms']:.1f} | {e['min_ms']:.1f} | {e['max_ms']:.1f} | "
            f"{ratio} | "
            f"{e['peak_mb']:.0f} | {e['results']} | {e['same'].splitlines()[0]} |"
        )
    return "\n".join(lines)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _workdir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="alatau-shacl-engines-") as tmp:
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="city,10k,100k", help="comma-separated: city, 10k, 100k, 1M")
    parser.add_argument(
        "--engines", default=",".join(ENGINES), help="comma-separated, of " + ", ".join(ENGINES)
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per scale")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pyshacl-up-to", default="100k", help="run pySHACL at scales up to this size")
    parser.add_argument(
        "--engine-timeout", type=float, default=1200.0, help="seconds before a run is stopped"
    )
    parser.add_argument(
        "--max-mb", type=float, default=10_000.0, help="resident memory (MB) at which a run is stopped"
    )
    parser.add_argument("--guard-at", default="100k", help="the scale of the guard's case ('' to skip)")
    parser.add_argument("--guard-rounds", type=int, default=15, help="checks per engine in the guard's case")
    parser.add_argument("--no-fixtures", dest="fixtures", action="store_false")
    parser.add_argument("--workdir", type=Path, help="keep the cities and data graphs here (reused)")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, name, *rest = args.child
        if kind == "build":
            result = child_build(name, Path(rest[0]), Path(rest[1]))
        else:
            result = child_guard(name, Path(rest[0]), int(rest[1]), Path(rest[2]))
        print(json.dumps(result))
        return 0
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    missing = [e for e in engines if not installed(e)]
    if missing:
        print(f"note: {', '.join(missing)} not installed, skipped; `{INSTALL_NOTE}` to compare")
        engines = [e for e in engines if e not in missing]
    print(f"machine: {machine()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    figures: dict[str, Any] = {"machine": machine(), "versions": versions()}
    pyshacl_up_to = parse_count(args.pyshacl_up_to)
    with _workdir(args.workdir) as root:
        if args.fixtures:
            _log("== the parity fixtures, every engine in this process")
            rows = run_fixtures(root / "fixtures", engines)
            figures["fixtures"] = rows
            print("\nParity fixtures (each report against the compiled one):\n")
            print(fixtures_table(rows, engines))
            for row in rows:
                for e in engines:
                    if e in row and row[e] != "equal":
                        print(f"  {row['input']} / {e}:\n    {row[e]}")
        builds = []
        scales = [s.strip() for s in args.scales.split(",") if s.strip()]
        for label in scales:
            _log(f"== {label}")
            info = prepare_scale(label, root, args.seed)
            here = [e for e in engines if e != "pyshacl" or info["triples"] <= pyshacl_up_to * 1.5]
            builds.append(bench_scale(label, info, here, args))
        if builds:
            figures["builds"] = builds
            print(
                f"\nBuilds: validation of the whole data graph, median of {args.rounds} interleaved rounds:\n"
            )
            print(builds_table(builds, engines))
            for row in builds:
                for name, e in row["engines"].items():
                    if "same" in e and e["same"] != "equal":
                        print(f"  {row['scale']} / {name}:\n    {e['same']}")
        if args.guard_at:
            _log(f"== the guard's case at {args.guard_at}")
            info = prepare_scale(args.guard_at, root, args.seed)
            guard = bench_guard(args.guard_at, info, engines, args)
            figures["guard"] = guard
            print(
                f"\nThe guard's case: focus nodes in the {args.guard_at} graph "
                f"({info['triples']:,} triples), "
                f"{args.guard_rounds} checks per engine:\n"
            )
            print(guard_table(guard, engines))
            for name, e in guard["engines"].items():
                if e.get("same", "equal") != "equal":
                    print(f"  guard / {name}:\n    {e['same']}")
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
