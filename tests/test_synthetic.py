"""The synthetic city (bench/synthetic.py): seeded, sized as asked, parses, builds and conforms."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from bench.synthetic import count_quads, generate, parse_count
from kg.build import build
from kg.config import Settings

GRAPH_BASE = "https://w3id.org/alatau-kg/graph/source/synthetic-"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("city")
    return generate(out, 5_000, seed=7)


def test_parse_count() -> None:
    assert [parse_count(t) for t in ("5000", "10k", "1M", "2.5m", "100_000")] == [
        5_000,
        10_000,
        1_000_000,
        2_500_000,
        100_000,
    ]


def test_size_and_exact_count(city) -> None:
    assert 5_000 <= city.triples < 5_600  # stops at the first microdistrict past the target
    assert count_quads(city.files) == city.triples  # the printed count is what a parser reads
    assert city.real_triples > 0 and city.facilities > 20


def test_graphs_blank_nodes_and_articles(city) -> None:
    quads = [
        q
        for p in city.files
        if p.name.startswith("synthetic-")
        for q in ox.parse(path=str(p), format=ox.RdfFormat.TRIG)
    ]
    graphs = {q.graph_name.value for q in quads}
    assert graphs == set(city.graphs) and all(g.startswith(GRAPH_BASE) for g in graphs)
    assert not any(isinstance(t, ox.BlankNode) for q in quads for t in (q.subject, q.object))
    news = ox.NamedNode("http://schema.org/NewsArticle")
    assert sum(1 for q in quads if q.object == news) == len(graphs)  # each graph describes its article
    langs = {q.object.language for q in quads if isinstance(q.object, ox.Literal) and q.object.language}
    assert {"kk", "ru", "en"} <= langs


def test_seeded(tmp_path: Path, city) -> None:
    again = generate(tmp_path / "again", 5_000, seed=7)
    other = generate(tmp_path / "other", 5_000, seed=8)
    mine = [p for p in city.files if p.name.startswith("synthetic-")]
    theirs = [p for p in again.files if p.name.startswith("synthetic-")]
    assert [p.read_bytes() for p in mine] == [p.read_bytes() for p in theirs]
    assert (
        mine[0].read_bytes() != next(p for p in other.files if p.name.startswith("synthetic-")).read_bytes()
    )


def test_builds_and_conforms(city, tmp_path: Path) -> None:
    settings = Settings.from_env(data_dir=city.out / "data", store_path=tmp_path / "store")
    summary = build(settings)
    assert summary.report.conforms, summary.report.to_text()
    assert not [r for r in summary.report.results if "/syn-" in r.focusNode]  # not even a warning
    for graph in city.graphs:
        assert summary.graphs[graph] > 0


def test_standalone_city_conforms(tmp_path: Path) -> None:
    """Without the real data, the city describes Alatau and its akimat itself."""
    alone = generate(tmp_path / "alone", 3_000, seed=3, real_data=False)
    assert alone.real_triples == 0 and all(p.name.startswith("synthetic-") for p in alone.files)
    settings = Settings.from_env(data_dir=alone.out / "data", store_path=tmp_path / "store")
    summary = build(settings)
    assert summary.report.conforms, summary.report.to_text()
    assert summary.report.count("Warning") == 0
