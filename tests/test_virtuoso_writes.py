"""Guarded writes committed to OpenLink Virtuoso 7.2, with several front processes: the race tests of
``tests/test_external_writes.py`` (over Oxigraph) run again over Virtuoso, under its default isolation
(read committed) and under repeatable read (``DefaultIsolation = 4``, which the deployment docs
recommend).

Under read committed, two conditional updates racing for the same version both commit (pinned in
``tests/test_virtuoso_store.py``): the version condition alone is not enough there. What keeps writers
apart is the claim on the next sequence number (:meth:`kg.changes.durable.RemoteStore.claim`), which
needs only that an update's insert is visible to every read begun after its answer; these tests show
it holds on Virtuoso with either setting. Each setting: one Virtuoso, the city pushed into it (answers
cut at 1,000 rows, so that a writer reads the store in pages).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import requests

from kg.changes.durable import RemoteStore, read_version, versioned_update
from kg.changes.tokens import digest
from kg.changes.writer import Writer
from kg.config import Settings
from kg.engine.local import OxigraphStore
from kg.errors import ChangeRejected, WriteRefused
from kg.rdf.names import Names
from tests.server_support import ServeProcess, serve_process
from tests.test_writes import BASE, EDITS, PREFIXES, WRITER, WRITER_TOKEN, school_update
from tests.virtuoso_city import city_in_virtuoso, engine_env, push
from tests.virtuoso_support import VirtuosoProcess

pytestmark = pytest.mark.slow

NAMES = Names()
AK = "https://w3id.org/alatau-kg/def/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"
ISOLATION = {"read-committed": None, "repeatable-read": {"Parameters": {"DefaultIsolation": 4}}}


@pytest.fixture(scope="module", params=list(ISOLATION))
def remote(request, real_settings: Settings) -> Iterator[VirtuosoProcess]:
    with city_in_virtuoso(real_settings, max_rows=1000, ini=ISOLATION[request.param]) as (v, _):
        yield v


def store_of(v: VirtuosoProcess) -> RemoteStore:
    return RemoteStore(v.query_url, credentials=v.credentials)


def writer_of(v: VirtuosoProcess) -> Writer:
    return Writer(store_of(v), NAMES)


def count_rows(v: VirtuosoProcess, where: str) -> int:
    rows = store_of(v).select(f"{PREFIXES} SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
    return int(rows[0]["n"].value)


def sequences(v: VirtuosoProcess) -> list[int]:
    rows = store_of(v).select(
        f"SELECT ?n WHERE {{ GRAPH <{NAMES.changes_graph}> {{ ?c <{AK}sequence> ?n }} }} ORDER BY ?n"
    )
    return [int(r["n"].value) for r in rows]


def test_the_isolation_is_the_one_asked(remote, request):
    isolation = store_of(remote).profile.facts()["default_isolation"]
    assert isolation == (4 if "repeatable-read" in request.node.callspec.id else 2)


def test_a_writer_reads_the_whole_store_in_pages(remote, real_settings):
    """Every graph is more than the 1,000 rows a Virtuoso answer holds here: read in pages."""
    local = OxigraphStore(NAMES, real_settings.store_path, read_only=True)
    writer = writer_of(remote)
    ours = {q for q in writer.working if q.graph_name != ox.NamedNode(NAMES.graph_base + "locks")}
    ground = {
        q for q in ours if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)
    }
    want = {
        q
        for q in local.raw
        if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)
    }
    assert want <= ground and len(ours) >= len(local.raw)


def test_versioned_update_does_nothing_at_a_stale_version(remote):
    store = store_of(remote)
    graph = NAMES.source_graph_base + "scratch-versioned"
    before = read_version(store, NAMES)
    q = ox.Quad(ox.NamedNode(BASE + "id/x"), ox.NamedNode(AK + "p"), ox.Literal("1"), ox.NamedNode(graph))
    store.prepare_graphs([graph])
    store.update(versioned_update(NAMES, before, [], [q]))
    assert read_version(store, NAMES) == before + 1
    store.update(versioned_update(NAMES, before, [q], []))  # stale: must change nothing
    assert read_version(store, NAMES) == before + 1
    assert count_rows(remote, f"GRAPH <{graph}> {{ ?s ?p ?o }}") == 1
    store.update(versioned_update(NAMES, before + 1, [q], []))
    assert read_version(store, NAMES) == before + 2
    assert count_rows(remote, f"GRAPH <{graph}> {{ ?s ?p ?o }}") == 0


def test_literals_keep_their_datatype_through_a_commit(remote):
    """Virtuoso turns an integral decimal written as a template constant into an integer: commits carry
    such literals as STRDT variables (the profile's binds_literal)."""
    store = store_of(remote)
    graph = NAMES.source_graph_base + "scratch-literals"
    store.prepare_graphs([graph])
    subject, version = ox.NamedNode(BASE + "id/area"), read_version(store, NAMES)
    literals = [
        ox.Literal("31730", datatype=ox.NamedNode(XSD + "decimal")),
        ox.Literal("5", datatype=ox.NamedNode(XSD + "long")),
    ]
    quads = [
        ox.Quad(subject, ox.NamedNode(f"{AK}v{i}"), lit, ox.NamedNode(graph))
        for i, lit in enumerate(literals)
    ]
    store.update(versioned_update(NAMES, version, [], quads, bind=store.binds_literal))
    rows = store.select(f"SELECT ?p ?o WHERE {{ GRAPH <{graph}> {{ <{subject.value}> ?p ?o }} }}")
    assert {row["o"] for row in rows} == set(literals)
    # the same as constants: Virtuoso keeps neither type
    store.update(
        versioned_update(
            NAMES,
            version + 1,
            quads,
            [ox.Quad(q.subject, ox.NamedNode(AK + "w"), q.object, q.graph_name) for q in quads],
        )
    )
    rows = store.select(f"SELECT ?o WHERE {{ GRAPH <{graph}> {{ <{subject.value}> <{AK}w> ?o }} }}")
    assert {row["o"].datatype.value for row in rows} == {XSD + "integer"}


def test_a_literal_virtuoso_would_store_otherwise_is_refused(remote):
    """Virtuoso keeps numbers, times and durations by value, in lexical forms of its own: a write whose
    literal it would keep as another term is refused (the working copies, the guard and the change
    log would otherwise hold a term the store does not)."""
    writer = writer_of(remote)
    for literal, why in (
        ('"PT5S"^^xsd:dayTimeDuration', "xsd:dayTimeDuration"),
        ('"1.5E3"^^xsd:double', '"1500.0"'),
    ):
        triple = f"<{BASE}id/place/alatau> <{BASE}def/x> {literal}"
        update = f"{PREFIXES} INSERT DATA {{ GRAPH <{EDITS}> {{ {triple} }} }}"
        with pytest.raises(WriteRefused, match=re.escape(why)) as refused:
            writer.submit(writer.plan_update(update), agent="t")
        assert refused.value.code == "literal_changed"
    assert count_rows(remote, f"GRAPH ?g {{ <{BASE}id/place/alatau> <{BASE}def/x> ?o }}") == 0


# --- two writers in one process: the races made deterministic ---------------------------------------


def test_a_writer_that_loses_the_race_validates_again_and_is_refused(remote):
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
    assert read_version(w1.durable, NAMES) == before + 1


def test_a_writer_that_loses_to_a_compatible_change_commits_after_it(remote):
    w1, w2 = writer_of(remote), writer_of(remote)
    mine = w1.plan_update(school_update("race-a"))
    theirs = w2.plan_update(school_update("race-b"))
    commit = w1.durable.update
    commits: list[str] = []
    raced: list[object] = []

    def racing(sparql: str) -> None:
        if "#claims>" in sparql and not raced:
            raced.append(w2.submit(theirs, agent="w2"))
        if "#version>" in sparql:
            commits.append(sparql)
        commit(sparql)

    w1.durable.update = racing  # type: ignore[method-assign]
    before = read_version(w1.durable, NAMES)
    outcome = w1.submit(mine, agent="w1")
    assert len(commits) == 2 and outcome.change_iri and read_version(w1.durable, NAMES) == before + 2
    seq = sequences(remote)
    assert seq == list(range(seq[0], seq[0] + len(seq)))  # no gap, no duplicate
    for key in ("race-a", "race-b"):
        assert count_rows(remote, f"GRAPH ?g {{ <{BASE}id/facility/{key}> a ak:School }}") == 1
    assert w2.sync() == 1 and set(w1.working) == set(w2.working)


def test_while_a_writer_holds_its_claim_no_other_writer_can_claim(remote):
    w1, w2 = writer_of(remote), writer_of(remote)
    commit = w1.durable.update
    seen: list[str | None] = []

    def racing(sparql: str) -> None:
        if "#version>" in sparql and not seen:
            seen.append(w2.durable.claim(NAMES, w1.version + 1))
        commit(sparql)

    w1.durable.update = racing  # type: ignore[method-assign]
    assert w1.submit(w1.plan_update(school_update("claim-holder")), agent="w1").change_iri
    assert seen == [None]
    claim = w2.durable.claim(NAMES, w1.version + 1)
    assert claim is not None
    w2.durable.release(NAMES, claim, w1.version)
    assert count_rows(remote, f"GRAPH <{NAMES.graph_base}locks> {{ ?s ?p ?o }}") == 0


def _claim(store: RemoteStore, number: int, start: threading.Barrier, won: list[str | None], i: int) -> None:
    start.wait()
    won[i] = store.claim(NAMES, number)


def test_simultaneous_claims_never_both_win(remote):
    """Two writers claim the same number at the same moment, 20 times: at most one wins each time. Under
    repeatable read their withdrawals deadlock now and then (SQLSTATE 40001, rolled back): sent again."""
    stores = [store_of(remote), store_of(remote)]
    number = read_version(stores[0], NAMES) + 1000
    for round_ in range(20):
        won: list[str | None] = [None, None]
        start = threading.Barrier(2)
        threads = [
            threading.Thread(target=_claim, args=(stores[i], number + round_, start, won, i)) for i in (0, 1)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sum(w is not None for w in won) <= 1, won
        for i, w in enumerate(won):
            if w is not None:
                stores[i].release(NAMES, w, 0)


# --- two front processes ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fronts(remote, real_settings, tmp_path_factory) -> Iterator[tuple[ServeProcess, ServeProcess]]:
    env = {
        **engine_env(remote),
        "ALATAU_KG_TOKENS": f"steward:writer:{digest(WRITER_TOKEN)}",
        "ALATAU_KG_TOKENS_FILE": str(tmp_path_factory.mktemp("tokens") / "none.json"),
    }
    settings = real_settings.with_(
        store_path=tmp_path_factory.mktemp("no-local") / "store", query_timeout_s=20.0
    )
    with serve_process(settings, env) as a, serve_process(settings, env) as b:
        yield a, b
        for front in (a, b):  # nothing the fronts logged holds the password
            logged = []
            while not front.lines.empty():
                logged.append(front.lines.get())
            assert remote.password not in "".join(logged)


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
    keys = [f"front-{side}-{i}" for i in range(3) for side in ("a", "b")]
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
    for key in keys:  # visible through both fronts (its new graph granted to queries), inferences too
        for front in (a, b):
            assert ask(front, f"ASK {{ <{BASE}id/facility/{key}> a ak:School ; a ak:Facility }}"), (
                key,
                front.url,
            )
    seq = sequences(remote)
    assert seq == list(range(seq[0], seq[0] + len(seq)))  # no gap, no duplicate
    logs = []
    for front in (a, b):
        r = requests.get(
            front.url + "/changes", params={"limit": 1000}, headers={"Accept": "application/json"}, timeout=60
        )
        assert r.status_code == 200
        logs.append([(c["sequence"], c["change"]) for c in r.json()["changes"]])
    assert logs[0] == logs[1] and [n for n, _ in logs[0]] == sorted(seq, reverse=True)


def _contest(
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
            threading.Thread(target=_contest, args=(a, key, 600, start, statuses)),
            threading.Thread(target=_contest, args=(b, key, 700, start, statuses)),
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


def test_the_edits_graph_a_write_created_is_readable_by_queries(remote):
    r = requests.post(
        remote.query_url,
        data={"query": f"ASK {{ GRAPH <{EDITS}> {{ ?s ?p ?o }} }}"},
        headers={"Accept": "application/sparql-results+json"},
        timeout=30,
    )
    assert r.json()["boolean"] is True  # granted to Virtuoso's public user before the first commit


def test_push_refuses_to_overwrite_the_writes_it_would_lose(remote, real_settings, capsys):
    """The store now holds acknowledged writes the built store does not: push refuses, as over Oxigraph."""
    before = read_version(store_of(remote), NAMES)
    assert before > 0
    code, _ = push(remote, real_settings.store_path)
    assert code == 2
    assert "pushing would lose acknowledged writes" in capsys.readouterr().err
    assert read_version(store_of(remote), NAMES) == before
