"""Benchmark the workbench's completion route, ``/workbench/complete``, on the city graph and at 1M
triples, against doing the same lookup as a SPARQL query (what a completer without an index of its own,
such as YASGUI's with a SPARQL-backed source, would do).

    .venv/bin/python -m bench.completion [--store PATH] [--large PATH] [--requests N] [--seed S]

``--store``: the city graph's built store (default ``build/store``; built into a temporary folder when
missing). ``--large``: a store built from ``bench/synthetic.py`` at 1M triples (see the README,
*Scale*), optional. Per store: the app and an Oxigraph engine are started in this process (waitress on
loopback, as ``tests/server_support.py`` serves it); the first request waits for the index, whose build
time and the process's resident memory before and after are printed. Then ``N`` requests (default
400) of a seeded mix drawn from the graph itself, as a reader types: classes after ``a`` (nothing typed,
or the first letters of a class label), properties of a subject whose class the query gives, objects of
``ak:locatedIn`` by the first letters of a place's label, subjects by the first 1 to 6 letters of any
entity's label in kk, ru or en (Kazakh letters included), variables. Each request goes over HTTP with a
keep-alive connection; for the label lookups, the SPARQL anchor (the labels that contain the typed
text, case-folded, first 20) runs right after it on the same engine, interleaved. Prints p50, p95,
max per kind and overall, the anchor's, and the issue's targets: p95 under 50 ms on the city graph,
under 200 ms at 1M triples. Figures belong in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from flask import Flask

from kg.build import build
from kg.config import PROJECT_ROOT, Settings
from kg.engine.process import OxigraphProcess
from kg.rdf.names import RDFS_LABEL
from server.app import create_app
from server.pages.workbench import completions

AK = "https://w3id.org/alatau-kg/def/ontology#"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 1e6


@dataclass(frozen=True)
class Request:
    kind: str
    query: str
    lang: str
    typed: str = ""  # the label text typed, for the SPARQL anchor


def mix(index, count: int, seed: int) -> list[Request]:
    """Requests drawn from the index: what a reader of the graph would type."""
    rng = random.Random(seed)
    langs = ("kk", "ru", "en")
    classes = [t for t in index.classes if t.labels]
    located = sorted(index.objects_of.get(AK + "locatedIn", set()))
    labelled = range(len(index.entity_iris))
    found: list[Request] = []
    while len(found) < count:
        kind = rng.choice(["class", "class-typed", "property", "object", "subject", "subject", "variable"])
        lang = rng.choice(langs)
        if kind == "class":
            found.append(Request(kind, "SELECT * WHERE {\n  ?s a ", lang))
        elif kind == "class-typed":
            label = rng.choice(rng.choice(classes).labels)[0]
            found.append(Request(kind, f"SELECT * WHERE {{\n  ?s a {label[: rng.randint(2, 4)]}", lang))
        elif kind == "property":
            cls = rng.choice(classes).iri
            found.append(Request(kind, f"SELECT * WHERE {{\n  ?s a <{cls}> ;\n     ", lang))
        elif kind == "object" and located:
            e = rng.choice(located)
            label = index.label_values[rng.choice(index.entity_labels(e))]
            typed = label[: rng.randint(2, 5)].strip()
            found.append(Request(kind, f"SELECT * WHERE {{\n  ?s <{AK}locatedIn> {typed}", lang, typed))
        elif kind == "subject":
            e = rng.choice(labelled)
            label = index.label_values[rng.choice(index.entity_labels(e))]
            words = label.split()
            typed = rng.choice(words)[: rng.randint(1, 6)] if words else label
            typed = "".join(c for c in typed if c.isalnum()) or "а"
            found.append(Request(kind, f"SELECT * WHERE {{\n  {typed}", lang, typed))
        else:
            found.append(Request("variable", "SELECT ?place ?name WHERE { ?place ?p ?name . ?p", lang))
    return found


def anchor_query(typed: str) -> str:
    text = json.dumps(typed.lower())
    return f"SELECT ?s ?l WHERE {{ ?s <{RDFS_LABEL}> ?l FILTER(CONTAINS(LCASE(STR(?l)), {text})) }} LIMIT 20"


@contextlib.contextmanager
def serving_store(store: Path) -> Iterator[tuple[str, Flask]]:
    from tests.server_support import serving  # the loopback server the tests use

    settings = Settings(store_path=store, query_timeout_s=30.0)
    with OxigraphProcess.from_settings(settings) as engine:
        app = create_app(settings, engine)
        with serving(app, engine) as live:
            yield live.url, app


def measure(name: str, store: Path, count: int, seed: int) -> dict[str, float]:
    print(f"\n== {name}: {store}", flush=True)
    with serving_store(store) as (url, app), requests.Session() as http:
        before = rss_mb()
        started = time.perf_counter()
        while True:  # a request waits a while for the first index, then answers "not ready"
            first = http.post(
                f"{url}/workbench/complete", json={"query": "SELECT * WHERE { ?s a "}, timeout=600
            )
            assert first.status_code == 200, first.text
            if first.json().get("ready", True):
                break
        built_s = time.perf_counter() - started
        with app.app_context():
            index = completions().index()
        assert index is not None
        after = rss_mb()
        print(
            f"index: {len(index.entity_iris)} labelled IRIs, {len(index.label_values)} labels, "
            f"{len(index.classes)} classes, {len(index.properties)} properties; first answer after "
            f"{built_s:.1f} s (the build); process RSS {before:.0f} → {after:.0f} MB",
            flush=True,
        )
        requests_ = mix(index, count, seed)
        for request in requests_[:20]:  # warm the connection and the caches of common prefixes alike
            body = {"query": request.query, "lang": request.lang}
            http.post(f"{url}/workbench/complete", json=body, timeout=60)
        by_kind: dict[str, list[float]] = {}
        anchor: list[float] = []
        empty = 0
        for request in requests_:
            t0 = time.perf_counter()
            response = http.post(
                f"{url}/workbench/complete", json={"query": request.query, "lang": request.lang}, timeout=60
            )
            ms = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200, response.text
            empty += not response.json()["items"]
            by_kind.setdefault(request.kind, []).append(ms)
            if request.typed:
                t0 = time.perf_counter()
                answer = http.post(
                    f"{url}/sparql",
                    data={"query": anchor_query(request.typed)},
                    headers={"Accept": "application/sparql-results+json"},
                    timeout=120,
                )
                anchor.append((time.perf_counter() - t0) * 1000)
                assert answer.status_code == 200, answer.text
    every = [ms for values in by_kind.values() for ms in values]
    print(f"{'kind':>12}  {'n':>4}  {'p50 ms':>7}  {'p95 ms':>7}  {'max ms':>7}")
    for kind, values in sorted(by_kind.items()):
        print(
            f"{kind:>12}  {len(values):4d}  {statistics.median(values):7.1f}  {pct(values, 0.95):7.1f}  "
            f"{max(values):7.1f}"
        )
    p50, p95 = statistics.median(every), pct(every, 0.95)
    print(
        f"{'all':>12}  {len(every):4d}  {p50:7.1f}  {p95:7.1f}  {max(every):7.1f}  ({empty} with no proposal)"
    )
    label_lookups = by_kind.get("subject", []) + by_kind.get("object", [])
    a50, a95 = statistics.median(anchor), pct(anchor, 0.95)
    ours = statistics.median(label_lookups)
    print(
        f"{'SPARQL':>12}  {len(anchor):4d}  {a50:7.1f}  {a95:7.1f}  {max(anchor):7.1f}   "
        f"(the label lookups as a CONTAINS query: {a50 / ours:.1f}× our p50 for them)"
    )
    return {"p50": p50, "p95": p95, "build_s": built_s}


def city_store(explicit: Path | None, tmp: Path) -> Path:
    if explicit is not None:
        return explicit
    default = Settings().store_path
    if (default / "CURRENT").exists():
        return default
    store = tmp / "store"
    print(f"building the city graph into {store}", flush=True)
    build(Settings(ontology_dir=PROJECT_ROOT / "ontology", data_dir=PROJECT_ROOT / "data", store_path=store))
    return store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="the city graph's store (default build/store)")
    parser.add_argument("--large", type=Path, help="a store built from bench/synthetic.py (1M triples)")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = {"city": measure("city graph", city_store(args.store, Path(tmp)), args.requests, args.seed)}
        if args.large is not None:
            results["large"] = measure("large graph", args.large, args.requests, args.seed)
    print()
    for name, target in (("city", 50.0), ("large", 200.0)):
        if name in results:
            p95 = results[name]["p95"]
            verdict = "met" if p95 < target else "NOT met"
            share = p95 / target
            print(f"{name}: p95 {p95:.1f} ms, target < {target:.0f} ms ({share:.2f}× of it): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
