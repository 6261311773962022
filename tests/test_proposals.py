"""Proposals (kg/changes/proposals.py): stored apart from the graph, listed, approved only after they
are planned and checked again against the graph as it is then, rejected without touching the graph,
decided once, and still there after a restart (another process opening the same database)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pyoxigraph as ox
import pytest

from kg.changes import proposals
from kg.changes.durable import LocalDurable
from kg.changes.proposals import Proposals
from kg.changes.writer import Writer
from kg.engine.local import OxigraphStore
from kg.errors import ChangeRejected, NotFound, ProposalClosed, UsageError

BASE = "https://w3id.org/alatau-kg/"
AK = BASE + "def/ontology#"
EDITS = ox.NamedNode(BASE + "graph/source/article-2026-01-17")
KELESHEK = ox.NamedNode(BASE + "id/facility/keleshek-school-enbek")
INT = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


@pytest.fixture
def writer(real_settings) -> Writer:
    store = ox.Store()
    store.bulk_extend(OxigraphStore(real_settings.names, real_settings.store_path, read_only=True).raw)
    return Writer(LocalDurable(store), real_settings.names)


@pytest.fixture
def store(tmp_path, real_settings) -> Proposals:
    return Proposals(tmp_path / "proposals.sqlite3", real_settings.names)


def school_quads(key: str, seats: int = 600) -> list[ox.Quad]:
    s = ox.NamedNode(BASE + f"id/facility/{key}")
    cap = ox.NamedNode(BASE + f"id/quantity/{key}-capacity")
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    typ = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    src = ox.NamedNode(BASE + "id/source/article-2026-01-17")
    return [
        ox.Quad(s, typ, ox.NamedNode(AK + "School"), EDITS),
        ox.Quad(s, label, ox.Literal(f"School {key}", language="en"), EDITS),
        ox.Quad(s, label, ox.Literal(f"Школа {key}", language="ru"), EDITS),
        ox.Quad(s, ox.NamedNode(AK + "locatedIn"), ox.NamedNode(BASE + "id/place/daulet"), EDITS),
        ox.Quad(s, ox.NamedNode(AK + "capacity"), cap, EDITS),
        ox.Quad(cap, typ, ox.NamedNode(AK + "QuantityValue"), EDITS),
        ox.Quad(cap, label, ox.Literal(f"Capacity of {key}", language="en"), EDITS),
        ox.Quad(cap, label, ox.Literal(f"Мощность {key}", language="ru"), EDITS),
        ox.Quad(
            cap,
            ox.NamedNode("http://qudt.org/schema/qudt/numericValue"),
            ox.Literal(str(seats), datatype=INT),
            EDITS,
        ),
        ox.Quad(cap, ox.NamedNode("http://qudt.org/schema/qudt/unit"), ox.NamedNode(AK + "Seat"), EDITS),
        ox.Quad(cap, ox.NamedNode(AK + "statedValue"), ox.Literal(f"на {seats} мест", language="ru"), EDITS),
        ox.Quad(cap, ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom"), src, EDITS),
    ]


def propose(store: Proposals, key: str = "school-p", **kwargs) -> proposals.Proposal:
    quads = school_quads(key, **kwargs)
    return store.create(
        author="aigerim",
        kind="patch",
        operation="create",
        payload=proposals.patch_payload(quads, []),
        summary=f"a new school {key}",
        source=BASE + "id/source/article-2026-01-17",
        subject=BASE + f"id/facility/{key}",
        minted=[BASE + f"id/facility/{key}"],
        counts=(len(quads), 0),
    )


def test_a_proposal_is_stored_listed_and_read_back(store):
    p = propose(store)
    assert p.status == "pending" and p.author == "aigerim" and p.added == 12
    assert [c.action for c in p.comments] == ["submit"] and p.comments[0].text == "a new school school-p"
    assert [x.id for x in store.list(status="pending")] == [p.id]
    assert [x.id for x in store.list(author="aigerim")] == [p.id]
    assert store.list(author="someone-else") == []
    assert [x.id for x in store.list(entity=BASE + "id/facility/school-p")] == [p.id]
    assert store.taken(BASE + "id/facility/school-p") and not store.taken(BASE + "id/facility/other")
    assert store.counts() == {"pending": 1, "approved": 0, "rejected": 0, "withdrawn": 0}
    with pytest.raises(NotFound):
        store.get("nope")


def test_a_proposal_survives_a_restart_in_another_process(store, tmp_path):
    p = propose(store)
    store.comment(p.id, "chief", "looks right")
    script = (
        "import sys; from kg.changes.proposals import Proposals; from kg.rdf.names import Names; "
        "from pathlib import Path; s = Proposals(Path(sys.argv[1]), Names()); p = s.get(sys.argv[2]); "
        "print(p.status, p.author, len(p.payload['added'].splitlines()), [c.text for c in p.comments][-1])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(store.path), p.id], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pending aigerim 12 looks right"


def test_a_proposal_is_not_in_the_graph(store, writer):
    p = propose(store)
    dataset = writer.dump_nquads().decode("utf-8")  # the durable store, every graph
    assert "school-p" not in dataset and p.id not in dataset


def test_approval_plans_checks_and_commits_with_its_record(store, writer):
    p = propose(store)
    store.comment(p.id, "aigerim", "from the akimat's site")
    decided, outcome = proposals.approve(store, writer, p.id, "chief", "thanks")
    assert (
        decided.status == "approved"
        and decided.decided_by == "chief"
        and decided.change == outcome.change_iri
    )
    assert outcome.added == 12 and outcome.report.conforms
    school = ox.NamedNode(BASE + "id/facility/school-p")
    assert (
        ox.Quad(school, ox.NamedNode(AK + "locatedIn"), ox.NamedNode(BASE + "id/place/daulet"), EDITS)
        in writer.working
    )
    # the change log's record: who proposed it, who approved it, the proposal, its comments in order
    log = f"""PREFIX ak: <{AK}> PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX schema: <http://schema.org/>
        ASK {{ GRAPH <{BASE}graph/changes> {{
            <{outcome.change_iri}> prov:wasAssociatedWith <{BASE}id/agent/aigerim> ;
                ak:approvedBy <{BASE}id/agent/chief> ; ak:proposal "{p.id}" ; ak:subject {school} ;
                ak:comment ?c1 , ?c3 .
            ?c1 ak:position 1 ; schema:text "a new school school-p" .
            ?c3 ak:position 3 ; schema:text "thanks" ; ak:action "approve" ;
                schema:author <{BASE}id/agent/chief> .
        }} }}"""
    assert writer.working.query(log)
    assert [c.action for c in store.get(p.id).comments] == ["submit", "comment", "approve"]


def test_approval_checks_against_the_graph_as_it_is_then(store, writer):
    park = ox.NamedNode(BASE + "id/facility/industrial-park-alatau")  # no current status yet
    status = ox.NamedNode(AK + "currentStatus")

    def set_status(concept: str) -> ox.Quad:
        return ox.Quad(park, status, ox.NamedNode(f"{BASE}def/facility-status/{concept}"), EDITS)

    p = store.create(
        author="aigerim",
        kind="patch",
        operation="edit",
        payload=proposals.patch_payload([set_status("planned")], []),
        subject=park.value,
    )
    assert writer.check(proposals.replan(writer, p)).report.conforms  # fine when proposed
    # meanwhile an admin gives the park another status: approved now, it would have two
    writer.submit(writer.plan_quads([set_status("operating")]), agent="chief")
    version = writer.version
    with pytest.raises(ChangeRejected) as refused:
        proposals.approve(store, writer, p.id, "chief")
    components = [r.sourceConstraintComponent for r in refused.value.report.results]
    assert any(c.endswith("MaxCountConstraintComponent") for c in components), components
    assert writer.version == version  # nothing committed
    assert set_status("planned") not in writer.working
    again = store.get(p.id)
    assert again.status == "pending" and again.deciding_by is None  # still pending, free to decide


def test_rejecting_leaves_the_graph_unchanged(store, writer):
    p = propose(store)
    before = set(writer.working)
    with pytest.raises(UsageError):
        proposals.reject(store, p.id, "chief", "  ")  # a rejection says why
    decided = proposals.reject(store, p.id, "chief", "no source for the capacity")
    assert decided.status == "rejected" and decided.comments[-1].action == "reject"
    assert set(writer.working) == before
    with pytest.raises(ProposalClosed):
        proposals.approve(store, writer, p.id, "chief")
    assert set(writer.working) == before


def test_a_proposal_is_decided_once(store, writer):
    p = propose(store)
    proposals.approve(store, writer, p.id, "chief")
    version = writer.version
    for decide in (
        lambda: proposals.approve(store, writer, p.id, "other-admin"),
        lambda: proposals.reject(store, p.id, "other-admin", "too late"),
        lambda: proposals.withdraw(store, p.id, "aigerim"),
    ):
        with pytest.raises(ProposalClosed):
            decide()
    assert writer.version == version


def test_an_approval_already_in_the_log_is_not_committed_twice(store, writer):
    """A crash between the commit and the status update leaves the proposal pending with its change
    in the log: approving it again commits nothing and repairs its status."""
    p = propose(store)
    change = proposals.replan(writer, p)
    outcome = writer.submit(
        change, agent="aigerim", annotate=proposals.record_of(writer.names, p, "chief", "")
    )
    version = writer.version
    with pytest.raises(ProposalClosed, match="approved already"):
        proposals.approve(store, writer, p.id, "chief")
    assert writer.version == version
    assert store.get(p.id).status == "approved" and store.get(p.id).change == outcome.change_iri


def test_two_admins_approving_at_once_commit_once(store, writer):
    p = propose(store)
    results: list[str] = []

    def approve(admin: str) -> None:
        try:
            proposals.approve(store, writer, p.id, admin)
            results.append("approved")
        except ProposalClosed:
            results.append("closed")

    threads = [threading.Thread(target=approve, args=(f"admin-{i}",)) for i in range(4)]
    version = writer.version
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["approved", "closed", "closed", "closed"]
    assert writer.version == version + 1


def test_only_its_author_withdraws_a_proposal(store):
    p = propose(store)
    with pytest.raises(UsageError):
        proposals.withdraw(store, p.id, "someone-else")
    assert proposals.withdraw(store, p.id, "aigerim", "duplicate").status == "withdrawn"


def test_an_update_proposal_is_planned_again_from_its_text(store, writer):
    update = f"""PREFIX ak: <{AK}> DELETE {{ GRAPH ?g {{ ?s ak:currentStatus ?old }} }}
        INSERT {{ GRAPH ?g {{ ?s ak:currentStatus <{BASE}def/facility-status/operating> }} }}
        WHERE {{ GRAPH ?g {{ ?s ak:currentStatus ?old }}
                 FILTER(?s = <{BASE}id/facility/keleshek-school-koyankus>) }}"""
    p = store.create(
        author="aigerim", kind="update", operation="update", payload=proposals.update_payload(update, [], [])
    )
    decided, outcome = proposals.approve(store, writer, p.id, "chief")
    assert outcome.added == 1 and outcome.removed == 1 and decided.status == "approved"
