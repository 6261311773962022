"""Guarded writes over HTTP, on a copy of the real city graph: tokens, SPARQL Update, the Graph Store
Protocol, the dry run, the change log and revert, bad input, and concurrency.

A real server on loopback (waitress), a real Oxigraph engine, a real durable store on disk.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from rdflib import Graph
from rdflib.compare import isomorphic

from kg.changes.tokens import digest
from kg.config import Settings
from server.app import create_app
from tests.server_support import Live, serving, serving_standalone

BASE = "https://w3id.org/alatau-kg/"
EDITS = BASE + "graph/source/steward-edits"
WRITER_TOKEN = "writer-secret-token"
ADMIN_TOKEN = "admin-secret-token"
WRITER = {"Authorization": f"Bearer {WRITER_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
UPDATE = "application/sparql-update"

PREFIXES = """PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX fs: <https://w3id.org/alatau-kg/def/facility-status/>
"""


def school_update(key: str, seats: int = 600, *, status: bool = True, graph: str = EDITS) -> str:
    """A new school in Daulet with its capacity (and a dated status unless ``status`` is False)."""
    s = f"<{BASE}id/facility/{key}>"
    cap = f"<{BASE}id/quantity/{key}-capacity>"
    rec = f"<{BASE}id/status-record/{key}-planned>"
    src = f"<{BASE}id/source/article-2026-01-17>"
    status_triples = (
        f"""{s} ak:currentStatus fs:planned ; ak:hasStatusRecord {rec} .
        {rec} a ak:StatusRecord ; rdfs:label "{key}: planned"@en , "{key}: запланирована"@ru ;
            ak:statusOf {s} ; ak:status fs:planned ; ak:statusDate "2026-01-17"^^xsd:date ;
            prov:wasDerivedFrom {src} ."""
        if status
        else ""
    )
    return f"""{PREFIXES}
INSERT DATA {{ GRAPH <{graph}> {{
    {s} a ak:School ; rdfs:label "School {key}"@en , "Школа {key}"@ru ;
        ak:locatedIn <{BASE}id/place/daulet> ; ak:capacity {cap} .
    {cap} a ak:QuantityValue ; rdfs:label "Capacity of {key}"@en , "Мощность {key}"@ru ;
        qudt:numericValue {seats} ; qudt:unit ak:Seat ; ak:statedValue "на {seats} мест"@ru ;
        prov:wasDerivedFrom {src} .
    {status_triples}
}} }}"""


@pytest.fixture(scope="module")
def store_copy(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("writes") / "store"
    shutil.copytree(real_settings.store_path, target)
    return target


@pytest.fixture(scope="module")
def live(real_settings: Settings, store_copy: Path) -> Iterator[Live]:
    settings = real_settings.with_(
        store_path=store_copy,
        tokens=f"steward:writer:{digest(WRITER_TOKEN)},chief:admin:{digest(ADMIN_TOKEN)}",
        tokens_file=store_copy.parent / "none.json",
        query_timeout_s=5.0,
    )
    with serving_standalone(settings) as server:
        yield server


def ask(live: Live, query: str) -> bool:
    r = requests.post(
        live.sparql,
        data=PREFIXES + query,
        headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return bool(r.json()["boolean"])


def count(live: Live) -> int:
    r = requests.get(live.url + "/-/health", timeout=30)
    return int(r.json()["triples"])


def post_update(live: Live, text: str, headers: dict | None = None, **params) -> requests.Response:
    h = {"Content-Type": UPDATE, **(WRITER if headers is None else headers)}
    return requests.post(
        live.url + "/update", data=text.encode("utf-8"), headers=h, params=params, timeout=60
    )


# --- the guard --------------------------------------------------------------------------------------


def test_writes_need_a_token(live):
    r = post_update(live, school_update("no-token"), headers={})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = post_update(live, school_update("bad-token"), headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert not ask(live, f"ASK {{ <{BASE}id/facility/no-token> ?p ?o }}")


def test_a_valid_school_is_accepted_visible_inferred_and_logged(live):
    r = post_update(
        live,
        school_update("school-valid"),
        headers={**WRITER, "X-Change-Source": "akimat letter 12", "X-Change-Comment": "new school"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["change"].startswith(BASE + "id/change/")
    assert body["report"]["conforms"] is True and body["added"] > 10
    school = f"<{BASE}id/facility/school-valid>"
    assert ask(live, f"ASK {{ GRAPH <{EDITS}> {{ {school} a ak:School }} }}")
    # the inferences of the new facts are in the inferred graph, apart from the asserted ones
    assert ask(
        live,
        f"ASK {{ GRAPH <{BASE}graph/inferred> {{ {school} a ak:Facility ; "
        f"ak:locatedIn <{BASE}id/place/alatau> }} }}",
    )
    assert not ask(live, f"ASK {{ GRAPH <{EDITS}> {{ {school} a ak:Facility }} }}")
    # the change log, newest first, by SPARQL and at /changes
    assert ask(
        live,
        f"""ASK {{ GRAPH <{BASE}graph/changes> {{ <{body["change"]}> prov:wasAssociatedWith ?a ;
            <http://purl.org/dc/terms/source> "akimat letter 12" ; ak:addition ?st .
            ?a rdfs:label "steward" . ?st rdf:subject {school} }} }}""",
    )
    changes = requests.get(live.url + "/changes", headers={"Accept": "application/json"}, timeout=30).json()
    latest = changes["changes"][0]
    assert latest["change"] == body["change"] and latest["agent"] == "steward"
    assert latest["comment"] == "new school"
    html = requests.get(live.url + "/changes", headers={"Accept": "text/html"}, timeout=30)
    # for a browser, /changes is the recent-changes page
    assert html.status_code == 200 and html.url.endswith("/history")
    assert "steward" in html.text and "new school" in html.text and "akimat letter 12" in html.text


def test_an_invalid_school_is_refused_with_an_actionable_report(live):
    before = count(live)
    r = post_update(live, school_update("school-negative", seats=-5))
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "shapes_violated" and body["conforms"] is False
    (result,) = [x for x in body["results"] if x["resultSeverity"] == "Violation"]
    assert result["focusNode"] == f"{BASE}id/quantity/school-negative-capacity"
    assert result["resultPath"] == "http://qudt.org/schema/qudt/numericValue"
    assert result["sourceConstraintComponent"].endswith("MinExclusiveConstraintComponent")
    assert "Capacity of school-negative" in result["sentence"] and '"-5"' in result["sentence"]
    ru = post_update(
        live, school_update("school-negative", seats=-5), headers={**WRITER, "Accept-Language": "ru"}
    )
    assert "Мощность school-negative" in ru.json()["results"][0]["sentence"]
    ttl = post_update(
        live, school_update("school-negative", seats=-5), headers={**WRITER, "Accept": "text/turtle"}
    )
    assert ttl.status_code == 422 and ttl.headers["Content-Type"].startswith("text/turtle")
    report = Graph().parse(data=ttl.text, format="turtle")
    assert len(report) > 5
    assert count(live) == before
    assert not ask(live, f"ASK {{ <{BASE}id/facility/school-negative> ?p ?o }}")


def test_warnings_come_back_with_the_accepted_change(live):
    r = post_update(live, school_update("school-no-status", status=False))
    assert r.status_code == 200, r.text
    report = r.json()["report"]
    assert report["conforms"] is True and report["counts"]["Warning"] == 1
    assert report["results"][0]["resultPath"].endswith("hasStatusRecord")


def test_form_update_and_using_graph_uri(live):
    assert post_update(live, school_update("school-rename")).status_code == 200
    rename = f"""{PREFIXES}
        DELETE {{ GRAPH <{EDITS}> {{ ?s rdfs:label ?old }} }}
        INSERT {{ GRAPH <{EDITS}> {{ ?s rdfs:label "Renamed school"@en }} }}
        WHERE {{ ?s rdfs:label ?old FILTER(?s = <{BASE}id/facility/school-rename> && LANG(?old) = "en") }}"""
    r = requests.post(
        live.url + "/update",
        data={"update": rename, "using-graph-uri": EDITS},
        headers=WRITER,
        timeout=60,
    )
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 1 and r.json()["removed"] == 1
    assert ask(live, f'ASK {{ <{BASE}id/facility/school-rename> rdfs:label "Renamed school"@en }}')
    # the same update without USING sees the store's (empty) default graph: it changes nothing
    again = rename.replace("Renamed school", "Renamed twice")
    r = requests.post(live.url + "/update", data={"update": again}, headers=WRITER, timeout=60)
    assert r.status_code == 200 and r.json()["change"] is None


@pytest.mark.parametrize(
    ("text", "status", "code"),
    [
        ("LOAD <http://example.org/data.ttl> INTO GRAPH <" + EDITS + ">", 400, "load_refused"),
        ("LOAD <file:///etc/passwd>", 400, "load_refused"),
        (
            f"INSERT DATA {{ GRAPH <{BASE}graph/ontology> {{ <http://e/a> <http://e/b> <http://e/c> }} }}",
            403,
            "protected_graph",
        ),
        (
            f"INSERT DATA {{ GRAPH <{BASE}graph/inferred> {{ <http://e/a> <http://e/b> <http://e/c> }} }}",
            403,
            "protected_graph",
        ),
        ("INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }", 400, "default_graph_write"),
        (f"INSERT DATA {{ GRAPH <{EDITS}> {{ _:x <http://e/b> <http://e/c> }} }}", 400, "blank_node"),
        ("INSERT DATA { GRAPH <x> { ", 400, "query_syntax_error"),
        ("   ", 400, "missing_update"),
    ],
)
def test_refused_updates_change_nothing(live, text, status, code):
    before = count(live)
    r = post_update(live, text)
    assert r.status_code == status, r.text
    assert r.json()["error"] == code
    assert count(live) == before


def test_update_media_types(live):
    r = requests.post(
        live.url + "/update", data=b"x", headers={**WRITER, "Content-Type": "text/plain"}, timeout=30
    )
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"
    r = requests.get(live.url + "/update", timeout=30)
    assert r.status_code == 405


# --- Graph Store Protocol ---------------------------------------------------------------------------


def _school_ttl(key: str) -> str:
    return (
        school_update(key)
        .split("GRAPH <" + EDITS + "> {", 1)[1]
        .rsplit("} }", 1)[0]
        .replace("PREFIX", "@prefix")
    )


def ttl_body(key: str) -> bytes:
    prefixes = "\n".join(
        f"@prefix {line.split()[1]} {line.split()[2]} ." for line in PREFIXES.strip().splitlines()
    )
    return (prefixes + "\n" + _school_ttl(key)).encode("utf-8")


def test_graph_store_put_get_post_delete(live):
    graph = BASE + f"graph/source/gsp-{uuid.uuid4().hex[:6]}"
    url = live.url + "/store"
    r = requests.put(
        url,
        params={"graph": graph},
        data=ttl_body("gsp-a"),
        headers={**WRITER, "Content-Type": "text/turtle"},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    got = requests.get(url, params={"graph": graph}, headers={"Accept": "text/turtle"}, timeout=30)
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("text/turtle")
    g = Graph().parse(data=got.text, format="turtle")
    assert len(g) == r.json()["added"]
    head = requests.head(url, params={"graph": graph}, timeout=30)
    assert head.status_code == 200 and head.text == ""
    r = requests.post(
        url,
        params={"graph": graph},
        data=ttl_body("gsp-b"),
        headers={**WRITER, "Content-Type": "text/turtle"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    nt = requests.get(url, params={"graph": graph}, headers={"Accept": "application/n-triples"}, timeout=30)
    assert len(Graph().parse(data=nt.text, format="nt")) == len(g) + r.json()["added"]
    # direct identification: /graph/<path> is <base>graph/<path>
    direct = requests.get(
        live.url + "/graph/" + graph.removeprefix(BASE + "graph/"),
        headers={"Accept": "text/turtle"},
        timeout=30,
    )
    assert (
        direct.status_code == 200
        and len(Graph().parse(data=direct.text, format="turtle")) == len(g) + r.json()["added"]
    )
    r = requests.delete(url, params={"graph": graph}, headers=WRITER, timeout=60)
    assert r.status_code == 200, r.text
    assert requests.get(url, params={"graph": graph}, timeout=30).status_code == 404


def test_graph_store_reads_the_real_graphs(live):
    r = requests.get(
        live.url + "/store",
        params={"graph": BASE + "graph/source/article-2025-09-29"},
        headers={"Accept": "application/ld+json"},
        timeout=30,
    )
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/ld+json")
    # the graph's content, read as a graph (issue 15): the same as its Turtle
    turtle = Graph().parse(f"{live.url}/store?graph={BASE}graph/source/article-2025-09-29", format="turtle")
    assert len(turtle) > 100 and isomorphic(Graph().parse(data=r.text, format="json-ld"), turtle)
    assert (
        requests.get(live.url + "/store", params={"graph": BASE + "graph/nope"}, timeout=30).status_code
        == 404
    )


BAD_BODIES = [
    ("text/turtle", b"@prefix ex: <http://e/> .\nex:a ex:b .\n", 400, "unreadable_input", "line"),
    (
        "application/rdf+xml",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><r/>',
        400,
        "unreadable_input",
        "DOCTYPE",
    ),
    (
        "application/rdf+xml",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        400,
        "unreadable_input",
        "DOCTYPE",
    ),
    (
        "application/ld+json",
        b'{"@context": "http://example.org/context.jsonld", "@id": "http://e/a", "name": "x"}',
        400,
        "unreadable_input",
        "context",
    ),
    (
        "text/turtle",
        '<http://e/a> <http://e/b> "caf\xe9" .'.encode("latin-1"),
        400,
        "unreadable_input",
        "UTF-8",
    ),
    ("application/x-unknown", b"whatever", 415, "unsupported_media_type", "RDF format"),
]


@pytest.mark.parametrize(
    ("media", "body", "status", "code", "words"),
    BAD_BODIES,
    ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD_BODIES)],
)
def test_bad_bodies_are_refused_and_change_nothing(live, media, body, status, code, words):
    before = count(live)
    r = requests.put(
        live.url + "/store",
        params={"graph": EDITS},
        data=body,
        headers={**WRITER, "Content-Type": media},
        timeout=60,
    )
    assert r.status_code == status, r.text
    assert r.json()["error"] == code and words in r.json()["message"] + str(r.json().get("line", ""))
    assert count(live) == before


def test_syntax_errors_give_the_line(live):
    body = b"@prefix ex: <http://e/> .\nex:a ex:b ex:c .\nex:a ex:b .\n"
    r = requests.post(
        live.url + "/store",
        params={"graph": EDITS},
        data=body,
        headers={**WRITER, "Content-Type": "text/turtle"},
        timeout=60,
    )
    assert r.status_code == 400 and r.json()["line"] == 3


def test_a_body_over_the_limit_is_413(live):
    big = b"#" + b"x" * (live.app.extensions["alatau_kg"].settings.max_body_bytes + 10)
    r = requests.put(
        live.url + "/store",
        params={"graph": EDITS},
        data=big,
        headers={**WRITER, "Content-Type": "text/turtle"},
        timeout=60,
    )
    assert r.status_code == 413 and r.json()["error"] == "request_too_large"


# --- the dry run --------------------------------------------------------------------------------------


def test_validate_is_a_dry_run_with_200_and_conforms(live):
    before = count(live)
    ok = requests.post(
        live.url + "/validate",
        params={"graph": EDITS},
        data=ttl_body("dry-ok"),
        headers={"Content-Type": "text/turtle"},
        timeout=60,
    )
    assert ok.status_code == 200 and ok.json()["conforms"] is True
    bad = requests.post(
        live.url + "/validate",
        data=school_update("dry-bad", seats=0).encode(),
        headers={"Content-Type": UPDATE},
        timeout=60,
    )
    # pinned: the request succeeded, so 200 — the answer is in "conforms" (pySHACL's convention)
    assert bad.status_code == 200 and bad.json()["conforms"] is False
    assert bad.json()["results"][0]["focusNode"].endswith("dry-bad-capacity")
    assert count(live) == before
    assert not ask(live, f"ASK {{ <{BASE}id/facility/dry-ok> ?p ?o }}")


# --- revert and deletes ------------------------------------------------------------------------------


def test_admin_reverts_a_change_and_inferences_follow(live):
    r = post_update(live, school_update("school-revert"))
    assert r.status_code == 200
    change_id = r.json()["change"].rsplit("/", 1)[-1]
    school = f"<{BASE}id/facility/school-revert>"
    assert ask(live, f"ASK {{ GRAPH <{BASE}graph/inferred> {{ {school} a ak:Facility }} }}")
    denied = requests.post(live.url + f"/changes/{change_id}/revert", headers=WRITER, timeout=60)
    assert denied.status_code == 403
    r = requests.post(live.url + f"/changes/{change_id}/revert", headers=ADMIN, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["removed"] > 10 and r.json()["inferred"]["removed"] > 0
    assert not ask(live, f"ASK {{ {school} ?p ?o }}")
    assert not ask(live, f"ASK {{ GRAPH <{BASE}graph/inferred> {{ {school} ?p ?o }} }}")
    latest = requests.get(live.url + "/changes", timeout=30).json()["changes"][0]
    assert latest["operation"] == "revert" and latest["reverts"].endswith(change_id)
    assert requests.post(live.url + "/changes/nope/revert", headers=ADMIN, timeout=30).status_code == 404


def test_deleting_what_others_depend_on_is_refused(live):
    # the Enbek school's capacity loses its unit: the school breaks too, so the delete is refused
    capacity = f"<{BASE}id/quantity/keleshek-school-enbek-capacity>"
    r = post_update(
        live,
        f"DELETE DATA {{ GRAPH <{BASE}graph/source/article-2026-01-17> {{ "
        f"{capacity} <http://qudt.org/schema/qudt/unit> <https://w3id.org/alatau-kg/def/ontology#Seat> }} }}",
    )
    assert r.status_code == 422
    focus = {x["focusNode"] for x in r.json()["results"]}
    assert f"{BASE}id/facility/keleshek-school-enbek" in focus


# --- concurrency --------------------------------------------------------------------------------------


def test_two_writers_cannot_together_break_a_shape(live):
    # each update alone is valid (a facility may get one current status); together they break maxCount 1
    assert post_update(live, school_update("school-race", status=False)).status_code == 200
    statuses = ["planned", "under-construction", "completed", "operating", "in-commissioning", "designated"]
    results: list[int] = []

    def write(status: str) -> None:
        facility = f"<{BASE}id/facility/school-race>"
        text = f"{PREFIXES} INSERT DATA {{ GRAPH <{EDITS}> {{ {facility} ak:currentStatus fs:{status} }} }}"
        results.append(post_update(live, text).status_code)

    threads = [threading.Thread(target=write, args=(s,)) for s in statuses]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == [200] + [422] * (len(statuses) - 1)


def test_eight_writers_eight_readers_nothing_lost_nothing_partial(live):
    """Writers add schools (each a set of facts); readers never see a school without its capacity."""
    stop = time.monotonic() + 8
    acknowledged: list[str] = []
    problems: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            key = f"conc-{n}-{i}"
            r = post_update(live, school_update(key))
            if r.status_code == 200:
                with lock:
                    acknowledged.append(key)
            else:
                problems.append(f"{key}: {r.status_code} {r.text[:200]}")
            i += 1

    def reader() -> None:
        partial = f"""SELECT ?s WHERE {{ GRAPH <{EDITS}> {{ ?s a ak:School }}
            FILTER NOT EXISTS {{ GRAPH <{EDITS}> {{ ?s ak:capacity ?c . ?c qudt:numericValue ?n }} }}
            FILTER NOT EXISTS {{ GRAPH <{BASE}graph/inferred> {{ ?s a ak:Facility }} }} }}"""
        while time.monotonic() < stop:
            r = requests.post(
                live.sparql,
                data={"query": PREFIXES + partial},
                headers={"Accept": "application/sparql-results+json"},
                timeout=30,
            )
            if r.status_code != 200:
                problems.append(f"reader: {r.status_code}")
            elif r.json()["results"]["bindings"]:
                problems.append(f"partial change seen: {r.json()['results']['bindings']}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    threads += [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not problems, problems[:5]
    assert len(acknowledged) >= 8
    values = " ".join(f"<{BASE}id/facility/{k}>" for k in acknowledged)
    r = requests.post(
        live.sparql,
        data={
            "query": PREFIXES
            + f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ VALUES ?s {{ {values} }} "
            + f"GRAPH <{EDITS}> {{ ?s a ak:School }} }}"
        },
        headers={"Accept": "application/sparql-results+json"},
        timeout=30,
    )
    assert int(r.json()["results"]["bindings"][0]["n"]["value"]) == len(acknowledged)


def test_a_read_only_service_refuses_writes(real_settings, tmp_path):
    from kg.engine.process import OxigraphProcess

    settings = real_settings.with_(tokens="", tokens_file=tmp_path / "none.json")
    with (
        OxigraphProcess.from_settings(settings) as engine,
        serving(create_app(settings, engine), engine) as server,
    ):
        r = post_update(server, school_update("ro"))
        assert r.status_code == 403 and r.json()["error"] == "read_only"


# --- crash safety -------------------------------------------------------------------------------------


def test_kill_9_loses_no_acknowledged_write_and_leaves_none_half_applied(
    real_settings, tmp_path, monkeypatch
):
    from tests.server_support import serve_process

    store = tmp_path / "store"
    shutil.copytree(real_settings.store_path, store)
    monkeypatch.setenv("ALATAU_KG_TOKENS", f"steward:writer:{digest(WRITER_TOKEN)}")
    monkeypatch.setenv("ALATAU_KG_TOKENS_FILE", str(tmp_path / "none.json"))
    settings = real_settings.with_(store_path=store, query_timeout_s=5.0)
    acknowledged: list[str] = []
    with serve_process(settings) as server:
        live = Live(server.url, None, None)  # type: ignore[arg-type]
        i = 0
        deadline = time.monotonic() + 30
        while len(acknowledged) < 12 and time.monotonic() < deadline:
            key = f"crash-{i}"
            if post_update(live, school_update(key)).status_code == 200:
                acknowledged.append(key)
            i += 1
        # one more write in flight when the process dies
        in_flight = threading.Thread(
            target=lambda: _quietly(post_update, live, school_update("crash-in-flight"))
        )
        in_flight.start()
        time.sleep(0.05)
        server.process.kill()  # SIGKILL: no cleanup, no flush
        server.process.wait(timeout=10)
        in_flight.join(timeout=60)
    assert len(acknowledged) == 12
    with serve_process(settings) as server:
        live = Live(server.url, None, None)  # type: ignore[arg-type]
        for key in acknowledged:
            assert ask(live, f"ASK {{ GRAPH <{EDITS}> {{ <{BASE}id/facility/{key}> a ak:School }} }}"), key
        # no half-applied change: every school there has its capacity, its inferences and its log entry
        r = requests.post(
            live.sparql,
            data={
                "query": PREFIXES
                + f"""SELECT ?s WHERE {{ GRAPH <{EDITS}> {{ ?s a ak:School }}
                    FILTER (!EXISTS {{ GRAPH <{EDITS}> {{ ?s ak:capacity ?c . ?c qudt:numericValue ?n }} }}
                        || !EXISTS {{ GRAPH <{BASE}graph/inferred> {{ ?s a ak:Facility }} }}
                        || !EXISTS {{ GRAPH <{BASE}graph/changes> {{ ?st rdf:subject ?s }} }}) }}"""
            },
            headers={"Accept": "application/sparql-results+json"},
            timeout=30,
        )
        assert r.json()["results"]["bindings"] == []
        # and the service goes on accepting writes after the crash
        assert post_update(live, school_update("after-crash")).status_code == 200


def _quietly(fn, *args) -> None:
    with contextlib.suppress(requests.RequestException):  # the server died under it: that is the point
        fn(*args)
