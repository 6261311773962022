"""Planning a change: the O(change) plan of INSERT DATA / DELETE DATA updates gives exactly the change
the general plan (run the update on the working copy, diff before and after) gives."""

from __future__ import annotations

import pytest

from kg.changes.writer import Writer
from kg.engine.local import OxigraphStore
from kg.rdf.names import Names
from kg.rdf.sparql import data_operations

G = "https://w3id.org/alatau-kg/graph/source/edits"
SRC = "https://w3id.org/alatau-kg/graph/source/article-test"
P = "PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#> PREFIX f: <https://w3id.org/alatau-kg/id/facility/>\n"


def ins(graph: str, body: str) -> str:
    return f"INSERT DATA {{ GRAPH <{graph}> {{ {body} }} }}"


def dele(graph: str, body: str) -> str:
    return f"DELETE DATA {{ GRAPH <{graph}> {{ {body} }} }}"


LABEL = '<http://www.w3.org/2000/01/rdf-schema#label> "x"@en'
UPDATES = [
    P + ins(G, f"f:x ak:seatCount 5 ; {LABEL}"),
    P + dele(SRC, "f:keleshek ak:seatCount 600") + " ;\n" + ins(SRC, "f:keleshek ak:seatCount 601"),
    # inserted then deleted in the same request: no change; deleting what is absent: no change
    P
    + " ; ".join(
        [ins(G, "f:y ak:seatCount 1"), dele(G, "f:y ak:seatCount 1"), dele(G, "f:nothing ak:seatCount 9")]
    ),
    # deleted then inserted back: no change
    P + dele(SRC, "f:keleshek ak:seatCount 600") + " ; " + ins(SRC, "f:keleshek ak:seatCount 600"),
    # a base, a codepoint escape
    "BASE <https://w3id.org/alatau-kg/id/> PREFIX q: <http://e/>\n"
    + ins(G, "<facility/z> <p> '\\u0041' . q:a q:b q:c"),
]


@pytest.fixture
def writer(mini_built) -> Writer:
    names = Names()
    return Writer(OxigraphStore(names, mini_built.store_path), names, guard=False)


@pytest.mark.parametrize("update", UPDATES)
def test_the_fast_plan_equals_the_general_plan(writer, update):
    assert data_operations(update) is not None
    fast = writer.plan_update(update)
    writer._plan_data_only = lambda text, base=None: None  # type: ignore[method-assign]  # the general plan
    general = writer.plan_update(update)
    assert (fast.added, fast.removed) == (general.added, general.removed)


def test_what_the_engine_refuses_is_refused_the_same_way(writer):
    from kg.errors import QuerySyntaxError

    # SPARQL allows a prologue after ';', Oxigraph does not: both plans must say what the engine says
    update = ins(G, "<http://e/a> <http://e/b> 1") + " ;\nPREFIX q: <http://e/> INSERT DATA { }"
    assert data_operations(update) is not None
    with pytest.raises(QuerySyntaxError) as fast:
        writer.plan_update(update)
    assert "2:" in str(fast.value)


@pytest.mark.parametrize(
    "update",
    [
        P + f"DELETE {{ GRAPH <{SRC}> {{ ?s ak:seatCount ?n }} }} WHERE {{ ?s ak:seatCount ?n }}",
        f"CLEAR GRAPH <{G}>",
        ins(G, "<http://e/a> <http://e/b> <http://e/c>") + f" ; CLEAR GRAPH <{G}>",
        "INSERT DATA { GRAPH <x> {",
    ],
)
def test_other_updates_take_the_general_plan(update):
    assert data_operations(update) is None or "{" not in update.rsplit("DATA", 1)[-1]
