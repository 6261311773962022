"""The W3C SPARQL 1.1 Graph Store HTTP Protocol tests against our Graph Store, and against Oxigraph's.

One test per manifest entry, its local name as id: the 13 entries of ``graph-store-protocol/manifest.ttl``
(each a sequence of requests on an emptied store), then the 18 steps of the deprecated
``http-rdf-update/manifest.ttl`` (one scenario, run in order once; each step reports its own outcome).
``tests/w3c/graph_store.py`` says how paths map, what is checked, and which errata the deprecated prose
needs. Our app runs writable over a scratch store (:func:`~tests.w3c.graph_store.alatau_graph_store`:
no shapes guard, base IRI = its own URL, blank nodes skolemized); ``oxigraph serve`` runs the same tests,
its failures listed with their reasons as strict xfails.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from rdflib import BNode, Graph, URIRef
from rdflib.compare import isomorphic

from tests.w3c.graph_store import (
    CURRENT,
    DEPRECATED,
    ERRATA,
    GspTarget,
    GspTest,
    alatau_graph_store,
    load_current,
    load_deprecated,
    oxigraph_graph_store,
    run_deprecated,
    run_gsp_test,
)
from tests.w3c.params import suites_available
from tests.w3c.runner import W3CTestFailure

if not suites_available():
    pytest.skip("W3C SPARQL 1.1 suites not found (set ALATAU_W3C_SPARQL11)", allow_module_level=True)

_MULTIPART = "POST of multipart/form-data is refused (415 'No supported content Content-Type given')"
_HEAD = "HEAD is answered without a Content-Type (a GET of the same graph has one)"
OXIGRAPH_FAILURES = {
    "post_get_post_get_direct": _MULTIPART,
    "post_get_post_get_indirect": _MULTIPART,
    "head_existing_direct": _HEAD,
    "head_existing_indirect": _HEAD,
    "post__multipart_formdata": _MULTIPART,
    "get_of_post__multipart_formdata": "a GET without Accept is answered in N-Quads, not Turtle (and the "
    "multipart POST before was refused)",
    "head_on_an_existing_graph": _HEAD,
}
"""``oxigraph serve`` 0.5.13 (the binary beside the venv's Python): each failure, investigated."""


def _params(tests: tuple[GspTest, ...], known: dict[str, str] | None = None) -> list[object]:
    params = []
    for test in tests:
        marks = []
        if known and test.name in known:
            marks.append(pytest.mark.xfail(reason=known[test.name], strict=True, raises=W3CTestFailure))
        params.append(pytest.param(test, id=test.name, marks=marks))
    return params


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GspTarget]:
    with alatau_graph_store(tmp_path_factory.mktemp("graph-store")) as target:
        yield target


@pytest.fixture(scope="module")
def ours_deprecated(ours: GspTarget) -> dict[str, str | None]:
    return run_deprecated(ours)


@pytest.fixture(scope="module")
def oxigraph() -> Iterator[GspTarget]:
    with oxigraph_graph_store() as target:
        yield target


@pytest.fixture(scope="module")
def oxigraph_deprecated(oxigraph: GspTarget) -> dict[str, str | None]:
    return run_deprecated(oxigraph)


def _outcome(outcomes: dict[str, str | None], test: GspTest) -> None:
    problem = outcomes[test.name]
    if problem is not None:
        raise W3CTestFailure(problem)


# --- our Graph Store --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(load_current()))
def test_graph_store_protocol(case: GspTest, ours: GspTarget) -> None:
    run_gsp_test(case, ours)


@pytest.mark.parametrize("case", _params(load_deprecated()))
def test_graph_store_protocol_deprecated(case: GspTest, ours_deprecated: dict[str, str | None]) -> None:
    _outcome(ours_deprecated, case)


# --- Oxigraph's, for comparison ---------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(load_current(), OXIGRAPH_FAILURES))
def test_oxigraph_graph_store_protocol(case: GspTest, oxigraph: GspTarget) -> None:
    run_gsp_test(case, oxigraph)


@pytest.mark.parametrize("case", _params(load_deprecated(), OXIGRAPH_FAILURES))
def test_oxigraph_graph_store_protocol_deprecated(
    case: GspTest, oxigraph_deprecated: dict[str, str | None]
) -> None:
    _outcome(oxigraph_deprecated, case)


# --- the harness, and what the tests rely on --------------------------------------------------------


def test_manifests_are_read_whole() -> None:
    current = load_current()
    assert len(current) == 13  # manifest-direct.ttl lists 4 of its 5 tests (not head_non_existing_direct)
    assert sum(t.name.endswith("_direct") for t in current) == 4
    assert all(t.manifest == CURRENT and t.requests and all(r.statuses for r in t.requests) for t in current)
    assert sum(len(t.requests) for t in current) == 39
    deprecated = load_deprecated()
    assert len(deprecated) == 18 and all(t.manifest == DEPRECATED for t in deprecated)
    assert all(len(t.requests) == 1 or t.name == "delete__existing_graph" for t in deprecated)
    assert set(ERRATA) <= {t.name for t in deprecated}
    assert {t.name for t in deprecated if t.erratum} == set(ERRATA)
    names = [t.name for t in current + deprecated]
    assert len(names) == len(set(names))
    assert set(OXIGRAPH_FAILURES) <= set(names)


def test_blank_nodes_are_skolemized_and_served_back_as_blank_nodes(ours: GspTarget) -> None:
    """The scratch store's writes keep blank nodes as Skolem IRIs (RDF 1.1 §3.5): SPARQL sees the IRIs,
    the Graph Store serves the graph with blank nodes, as it was sent."""
    ours.reset()
    body = b"_:a <http://e/p> _:b . _:b <http://e/q> [] ."
    r = requests.put(
        ours.direct_url + "/bnodes", data=body, headers={**ours.write_headers, "Content-Type": "text/turtle"}
    )
    assert r.status_code == 201, r.text
    served = Graph().parse(data=requests.get(ours.direct_url + "/bnodes").text, format="turtle")
    assert len(served) == 2 and all(isinstance(s, BNode) and isinstance(o, BNode) for s, _, o in served)
    jsonld = requests.get(ours.direct_url + "/bnodes", headers={"Accept": "application/ld+json"})
    assert isomorphic(Graph().parse(data=jsonld.text, format="json-ld"), served)  # a graph too
    base = ours.direct_url.removesuffix("graph")
    answer = requests.get(
        base + "sparql",
        params={"query": f"SELECT ?s ?o {{ GRAPH <{ours.direct_url}/bnodes> {{ ?s ?p ?o }} }}"},
        headers={"Accept": "application/sparql-results+json"},
    ).json()
    terms = [b[v] for b in answer["results"]["bindings"] for v in ("s", "o")]
    assert len(terms) == 4 and all(
        t["type"] == "uri" and t["value"].startswith(base + ".well-known/genid/") for t in terms
    )


def test_multipart_parts_keep_their_blank_nodes_apart(ours: GspTarget) -> None:
    """Each part is its own document: the same label in two parts names two nodes (an RDF merge)."""
    ours.reset()
    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"; filename="{n}.ttl"\r\n'
        f"Content-Type: text/turtle\r\n\r\n_:x <http://e/p> {n} .\r\n"
        for n in (1, 2)
    ]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    r = requests.post(
        ours.direct_url + "/merged",
        data=body,
        headers={**ours.write_headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 201, r.text
    served = Graph().parse(data=requests.get(ours.direct_url + "/merged").text, format="turtle")
    assert len(served) == 2 and len(set(served.subjects())) == 2
    assert set(served.predicates()) == {URIRef("http://e/p")}
