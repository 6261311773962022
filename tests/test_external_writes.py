"""Guarded writes against an external SPARQL 1.1 store, with several front processes.

The store is a real Oxigraph server on loopback, durable (RocksDB in a temporary directory), loaded
with the real city graph by ``alatau-kg push``. Writers in this process and ``alatau-kg serve``
processes in front of the same store commit guarded writes; every commit is conditioned on the store's
version, so two writers can never both pass validation and together break a shape.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from kg.changes.durable import LocalDurable, RemoteStore, read_version, versioned_update
from kg.changes.tokens import digest
from kg.changes.writer import Writer
from kg.config import Settings
from kg.engine.local import OxigraphStore
from kg.errors import ChangeRejected
from kg.rdf.names import Names
from server.cli import main
from tests.server_support import ServeProcess, serve_process
from tests.test_writes import BASE, PREFIXES, WRITER, WRITER_TOKEN, school_update
from tests.w3c import server as w3c_server

NAMES = Names()
AK = "https://w3id.org/alatau-kg/def/ontology#"


def oxigraph_server(location: Path) -> contextlib.AbstractContextManager[str]:
    """An ``oxigraph serve`` on disk at ``location`` (started again on another port if its port was
    taken before it bound it)."""
    return w3c_server.oxigraph_server("--location", str(location))


@pytest.fixture(scope="module")
def remote(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An Oxigraph server (on disk) holding the built city, loaded with `alatau-kg push`."""
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph") / "db") as url:
        out = io.StringIO()
        code = main(
            [
                "push",
                "--store",
                str(real_settings.store_path),
                "--engine",
                url + "/query",
                "--engine-store-url",
                url + "/store",
            ],
            out,
        )
        assert code == 0, out.getvalue()
        assert "pushed" in out.getvalue()
        yield url


def store_of(url: str) -> RemoteStore:
    return RemoteStore(url + "/query", url + "/update")


def writer_of(url: str) -> Writer:
    return Writer(store_of(url), NAMES)


def count_rows(url: str, where: str) -> int:
    rows = store_of(url).select(f"{PREFIXES} SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
    return int(rows[0]["n"].value)


def sequences(url: str) -> list[int]:
    rows = store_of(url).select(
        f"SELECT ?n WHERE {{ GRAPH <{NAMES.changes_graph}> {{ ?c <{AK}sequence> ?n }} }} ORDER BY ?n"
    )
    return [int(r["n"].value) for r in rows]


# --- push ---------------------------------------------------------------------------------------------


def test_push_loads_every_graph_of_the_build(remote, real_settings):
    local = OxigraphStore(NAMES, real_settings.store_path, read_only=True)
    remote_store = store_of(remote)
    assert set(remote_store.graph_names()) == set(local.graphs())
    for graph in local.graphs():
        assert count_rows(remote, f"GRAPH <{graph}> {{ ?s ?p ?o }}") == local.count(graph), graph


def test_versioned_update_does_nothing_at_a_stale_version(tmp_path):
    with oxigraph_server(tmp_path / "db") as url:
        store = store_of(url)
        quad_graph = NAMES.source_graph_base + "scratch"
        import pyoxigraph as ox

        q = ox.Quad(
            ox.NamedNode(BASE + "id/x"), ox.NamedNode(AK + "p"), ox.Literal("1"), ox.NamedNode(quad_graph)
        )
        store.update(versioned_update(NAMES, 0, [], [q]))
        assert read_version(store, NAMES) == 1
        store.update(versioned_update(NAMES, 0, [q], []))  # stale: must change nothing
        assert read_version(store, NAMES) == 1
        assert count_rows(url, f"GRAPH <{quad_graph}> {{ ?s ?p ?o }}") == 1
        store.update(versioned_update(NAMES, 1, [q], []))
        assert read_version(store, NAMES) == 2
        assert count_rows(url, f"GRAPH <{quad_graph}> {{ ?s ?p ?o }}") == 0


# --- two writers in one process: the race made deterministic -------------------------------------------


def test_a_writer_that_loses_the_race_validates_again_and_is_refused(remote):
    """w1 validated its capacity; before its commit reaches the store, w2 commits another value for the
    same capacity. Each is valid alone, together they break sh:maxCount 1 on qudt:numericValue: w1's
    commit must store nothing, and w1, caught up, must refuse its change."""
    w1, w2 = writer_of(remote), writer_of(remote)
    mine = w1.plan_update(school_update("race-school", 600))
    theirs = w2.plan_update(school_update("race-school", 700))
    commit = w1.durable.update
    raced = []

    def racing(sparql: str) -> None:
        if not raced:
            raced.append(w2.submit(theirs, agent="w2"))  # lands between w1's check and its commit
        commit(sparql)

    w1.durable.update = racing  # type: ignore[method-assign]
    before = read_version(w1.durable, NAMES)
    with pytest.raises(ChangeRejected) as refused:
        w1.submit(mine, agent="w1")
    assert raced and raced[0].change_iri
    components = {r.sourceConstraintComponent for r in refused.value.report.results}
    assert any(c.endswith("MaxCountConstraintComponent") for c in components)
    capacity = f"<{BASE}id/quantity/race-school-capacity>"
    values = store_of(remote).select(
        f"{PREFIXES} SELECT ?v WHERE {{ GRAPH ?g {{ {capacity} qudt:numericValue ?v }} }}"
    )
    assert [int(r["v"].value) for r in values] == [700]
    assert read_version(w1.durable, NAMES) == before + 1  # w2's change only
    assert w1.caught_up >= 1 and w1.version == before + 1


def test_a_writer_that_loses_the_race_to_a_compatible_change_commits_after_it(remote):
    w1, w2 = writer_of(remote), writer_of(remote)
    mine = w1.plan_update(school_update("race-a"))
    theirs = w2.plan_update(school_update("race-b"))
    commit = w1.durable.update
    commits: list[str] = []
    raced: list[object] = []

    def racing(sparql: str) -> None:
        if "#claims>" in sparql and not raced:  # w2 commits just before w1 claims and commits
            raced.append(w2.submit(theirs, agent="w2"))
        if "#version>" in sparql:
            commits.append(sparql)
        commit(sparql)

    w1.durable.update = racing  # type: ignore[method-assign]
    before = read_version(w1.durable, NAMES)
    outcome = w1.submit(mine, agent="w1")
    assert len(commits) == 2  # the first commit matched nothing; the second, re-validated, landed
    assert outcome.change_iri and read_version(w1.durable, NAMES) == before + 2
    seq = sequences(remote)
    assert seq == list(range(1, len(seq) + 1))  # no gaps, no duplicates
    for key in ("race-a", "race-b"):
        assert count_rows(remote, f"GRAPH ?g {{ <{BASE}id/facility/{key}> a ak:School }}") == 1
    # w2 learns of w1's change the next time it looks, inferences included
    assert w2.sync() == 1
    assert set(w1.working) == set(w2.working)
    assert w2.guard is not None and w1.guard is not None
    assert w2.guard.asserted == w1.guard.asserted and w2.guard.inferred == w1.guard.inferred


def test_while_a_writer_holds_its_claim_no_other_writer_can_claim(remote):
    """Oxigraph runs concurrent updates on one snapshot, so the version condition alone would let two
    simultaneous commits both land; the claim on the next sequence number keeps them apart."""
    w1, w2 = writer_of(remote), writer_of(remote)
    commit = w1.durable.update
    seen: list[str | None] = []

    def racing(sparql: str) -> None:
        if "#version>" in sparql and not seen:  # w1 holds its claim and is about to commit
            seen.append(w2.durable.claim(NAMES, w1.version + 1))
        commit(sparql)

    w1.durable.update = racing  # type: ignore[method-assign]
    assert w1.submit(w1.plan_update(school_update("claim-holder")), agent="w1").change_iri
    assert seen == [None]
    # the claim is gone with the commit: the next number can be claimed, and released
    claim = w2.durable.claim(NAMES, w1.version + 1)
    assert claim is not None
    w2.durable.release(NAMES, claim, w1.version)
    assert count_rows(remote, f"GRAPH <{NAMES.graph_base}locks> {{ ?s ?p ?o }}") == 0


def test_a_fresh_writer_reads_the_same_state_as_one_that_caught_up(remote):
    w1 = writer_of(remote)
    w1.submit(w1.plan_update(school_update("fresh-check", 480)), agent="w1")
    w2 = writer_of(remote)
    assert w2.version == w1.version
    assert set(w2.working) == set(w1.working)


# --- two front processes ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fronts(remote, real_settings, tmp_path_factory) -> Iterator[tuple[ServeProcess, ServeProcess]]:
    env = {
        "ALATAU_KG_ENGINE_URL": remote + "/query",
        "ALATAU_KG_TOKENS": f"steward:writer:{digest(WRITER_TOKEN)}",
        "ALATAU_KG_TOKENS_FILE": str(tmp_path_factory.mktemp("tokens") / "none.json"),
    }
    settings = real_settings.with_(
        store_path=tmp_path_factory.mktemp("no-local") / "store", query_timeout_s=20.0
    )
    with serve_process(settings, env) as a, serve_process(settings, env) as b:
        yield a, b


def post(front: ServeProcess, text: str) -> requests.Response:
    return requests.post(
        front.url + "/update",
        data=text.encode("utf-8"),
        headers={"Content-Type": "application/sparql-update", **WRITER},
        timeout=120,
    )


def ask(front: ServeProcess, query: str) -> bool:
    r = requests.get(
        front.url + "/sparql",
        params={"query": PREFIXES + query},
        headers={"Accept": "application/sparql-results+json"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return bool(r.json()["boolean"])


def test_two_fronts_write_and_read_at_once(fronts, remote):
    a, b = fronts
    keys = [f"front-{side}-{i}" for i in range(4) for side in ("a", "b")]
    results: dict[str, int] = {}

    def write(key: str) -> None:
        front = a if "-a-" in key else b
        results[key] = post(front, school_update(key)).status_code

    threads = [threading.Thread(target=write, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert results == {k: 200 for k in keys}
    for key in keys:  # every write is visible through both fronts, with its inferences
        for front in (a, b):
            found = ask(front, f"ASK {{ <{BASE}id/facility/{key}> a ak:School ; a ak:Facility }}")
            assert found, (key, front.url)
    seq = sequences(remote)
    assert seq == list(range(1, len(seq) + 1))
    # each front's change log lists every change, the other front's included, in commit order
    logs = []
    for front in (a, b):
        r = requests.get(
            front.url + "/changes", params={"limit": 1000}, headers={"Accept": "application/json"}, timeout=60
        )
        assert r.status_code == 200
        logs.append([(c["sequence"], c["change"]) for c in r.json()["changes"]])
    assert logs[0] == logs[1]
    assert [n for n, _ in logs[0]] == sorted(seq, reverse=True)


def contest(
    front: ServeProcess, key: str, seats: int, start: threading.Barrier, statuses: dict[int, int]
) -> None:
    start.wait()
    statuses[seats] = post(front, school_update(key, seats)).status_code


def test_two_fronts_never_both_accept_changes_that_together_break_a_shape(fronts, remote):
    """Two capacities for one new school, sent to the two fronts at the same moment: each alone is
    valid, together they break sh:maxCount 1. Whatever the interleaving, exactly one is stored."""
    a, b = fronts
    for round_ in range(3):
        key = f"contested-{round_}"
        statuses: dict[int, int] = {}
        start = threading.Barrier(2)
        threads = [
            threading.Thread(target=contest, args=(a, key, 600, start, statuses)),
            threading.Thread(target=contest, args=(b, key, 700, start, statuses)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert sorted(statuses.values()) == [200, 422], statuses
        winner = next(seats for seats, status in statuses.items() if status == 200)
        capacity = f"<{BASE}id/quantity/{key}-capacity>"
        values = store_of(remote).select(
            f"{PREFIXES} SELECT ?v WHERE {{ GRAPH ?g {{ {capacity} qudt:numericValue ?v }} }}"
        )
        assert [int(r["v"].value) for r in values] == [winner]


# --- several writers publishing to one query engine ---------------------------------------------------


def test_writers_keep_a_query_engine_in_step_whatever_order_their_updates_reach_it(real_settings):
    """Two writers over one durable store, and a query engine (a copy) they publish to. The later
    writer's own update reaches the engine first and, conditioned on a version the engine is not at,
    changes nothing; replaying the log brings the engine level with the store, and replaying again
    changes nothing."""
    local = OxigraphStore(NAMES, real_settings.store_path, read_only=True)
    durable_store, engine_store = ox.Store(), ox.Store()
    durable_store.bulk_extend(iter(local.raw))
    engine_store.bulk_extend(iter(local.raw))
    durable, engine = LocalDurable(durable_store), LocalDurable(engine_store)
    w1, w2 = Writer(durable, NAMES), Writer(durable, NAMES)
    updates: list[str] = []
    w1.publish = w2.publish = updates.append  # held back: delivered below, out of order
    first = w1.submit(w1.plan_update(school_update("engine-a")), agent="w1")
    w2.submit(w2.plan_update(school_update("engine-b")), agent="w2")
    assert first.change_iri
    w2.revert(first.change_iri, agent="w2")  # a removal, and a record linking to another change
    assert len(updates) == 3 and w2.version == 3
    engine.update(updates[2])  # the last update first: the engine is not at version 2, nothing happens
    assert read_version(engine, NAMES) == 0
    assert w1.replay_to(engine) == 1  # w1 knows only its own change (it has not synced since)
    assert w2.replay_to(engine) == 2
    assert w2.replay_to(engine) == 0 and read_version(engine, NAMES) == 3
    for update in updates:  # the updates arriving late change nothing
        engine.update(update)
    assert set(engine_store) == set(durable_store)


def test_a_write_through_one_front_is_seen_at_once_through_the_others_cache(fronts):
    """Each front caches results; a write acknowledged by one moves the store's own version, which the
    other reads per request (kg.changes.versions.RemoteVersion): its cached answer is not served."""
    a, b = fronts
    query = "ASK { <https://w3id.org/alatau-kg/id/facility/cache-two-fronts> ?p ?o }"
    seen = [
        requests.get(b.url + "/sparql", params={"query": PREFIXES + query}, timeout=60) for _ in range(8)
    ]  # new connections: both of b's workers answer, and cache the answer
    assert all(r.json()["boolean"] is False for r in seen)
    assert any(r.headers["X-Cache"] == "hit" for r in seen)
    assert post(a, school_update("cache-two-fronts")).status_code == 200
    assert all(ask(b, query) for _ in range(8))
