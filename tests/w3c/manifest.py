"""Reading the W3C SPARQL 1.1 manifests into :class:`W3CTest` records.

The suites live in ``/work/shared/w3c/sparql11`` (override with ``ALATAU_W3C_SPARQL11``).  Manifests are
read with the W3C base IRI ``http://www.w3.org/2009/sparql/docs/tests/data-sparql11/<folder>/``, the
namespace the test IRIs themselves use, so every file has a stable IRI: queries use it as their base IRI,
``qt:graphData`` graphs are named by it, and relative IRIs in expected results resolve against it.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import rdflib
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS

SUITE_ROOT = Path(os.environ.get("ALATAU_W3C_SPARQL11", "/work/shared/w3c/sparql11"))
BASE_IRI = "http://www.w3.org/2009/sparql/docs/tests/data-sparql11/"

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

QUERY_EVALUATION = "query-evaluation"
QUERY_SYNTAX = "query-syntax"
UPDATE_SYNTAX = "update-syntax"
UPDATE_EVALUATION = "update-evaluation"
SUITES = (QUERY_EVALUATION, QUERY_SYNTAX, UPDATE_SYNTAX, UPDATE_EVALUATION)
"""The suites, in report order."""

SKIPPED_FOLDERS = {
    "service": "SPARQL 1.1 Federated Query: SERVICE needs the remote endpoints the test describes",
    "syntax-fed": "SPARQL 1.1 Federated Query: out of scope (SERVICE)",
    "entailment": "SPARQL 1.1 Entailment Regimes: out of scope (the store does simple entailment only)",
}
"""Folders whose tests are collected but skipped, with the reason."""

_QUERY_EVALUATION_TYPES = {MF.QueryEvaluationTest, MF.CSVResultFormatTest}
_SYNTAX_TYPES = {
    MF.PositiveSyntaxTest11: True,
    MF.NegativeSyntaxTest11: False,
    MF.PositiveUpdateSyntaxTest11: True,
    MF.NegativeUpdateSyntaxTest11: False,
}
_UPDATE_SYNTAX_TYPES = {MF.PositiveUpdateSyntaxTest11, MF.NegativeUpdateSyntaxTest11}


@dataclass(frozen=True)
class W3CTest:
    """One manifest entry.  File references are IRIs; :func:`iri_to_path` finds the file."""

    iri: str
    suite: str
    """One of :data:`SUITES`."""
    type: str
    """The ``mf:`` test type, e.g. ``QueryEvaluationTest``."""
    folder: str
    name: str
    query: str | None = None
    """The query (query tests), update (update evaluation tests) or action (syntax tests) file."""
    data: tuple[str, ...] = ()
    """Files loaded into the default graph."""
    graph_data: tuple[tuple[str, str], ...] = ()
    """``(graph name, file)`` pairs loaded into named graphs."""
    result: str | None = None
    """Expected result file (query evaluation tests)."""
    result_data: tuple[str, ...] = ()
    """Expected default graph files (update evaluation tests)."""
    result_graph_data: tuple[tuple[str, str], ...] = ()
    """Expected named graphs (update evaluation tests)."""
    positive: bool = True
    """For syntax tests: whether the text must be accepted."""
    skip_reason: str | None = None


def iri_to_path(iri: str, root: Path = SUITE_ROOT) -> Path:
    """The local file of a suite file IRI."""
    if not iri.startswith(BASE_IRI):
        raise ValueError(f"not a file of the suites: {iri}")
    return root / iri.removeprefix(BASE_IRI)


def _manifest_graph(path: Path, root: Path) -> tuple[rdflib.Graph, rdflib.URIRef]:
    iri = BASE_IRI + path.relative_to(root).as_posix()
    graph = rdflib.Graph()
    graph.parse(path, format="turtle", publicID=iri)
    return graph, rdflib.URIRef(iri)


def _list(graph: rdflib.Graph, head: rdflib.term.Node | None) -> list[rdflib.term.Node]:
    return [] if head is None else list(Collection(graph, head))


def _iris(graph: rdflib.Graph, subject: rdflib.term.Node | None, predicate: rdflib.URIRef) -> tuple[str, ...]:
    if subject is None:
        return ()
    return tuple(sorted(str(o) for o in graph.objects(subject, predicate)))


def _update_graphs(graph: rdflib.Graph, node: rdflib.term.Node | None) -> tuple[tuple[str, str], ...]:
    if node is None:
        return ()
    pairs = []
    for entry in graph.objects(node, UT.graphData):
        file = graph.value(entry, UT.graph)
        label = graph.value(entry, RDFS.label)
        if file is None:  # a bare file reference: the graph is named after the file
            pairs.append((str(entry), str(entry)))
        else:
            pairs.append((str(label if label is not None else file), str(file)))
    return tuple(sorted(pairs))


def _entry(graph: rdflib.Graph, test: rdflib.term.Node, folder: str) -> W3CTest | None:
    test_type = graph.value(test, RDF.type)
    name = str(graph.value(test, MF.name) or test)
    action = graph.value(test, MF.action)
    result = graph.value(test, MF.result)
    if test_type not in _QUERY_EVALUATION_TYPES | _SYNTAX_TYPES.keys() | {MF.UpdateEvaluationTest}:
        return None  # protocol, graph store and service description tests: not run by this harness
    if action is None:
        raise ValueError(f"{test} has no mf:action")
    new = functools.partial(
        W3CTest,
        iri=str(test),
        type=str(test_type).rsplit("#", 1)[-1],
        folder=folder,
        name=name,
        skip_reason=SKIPPED_FOLDERS.get(folder),
    )
    if test_type in _QUERY_EVALUATION_TYPES:
        return new(
            suite=QUERY_EVALUATION,
            query=str(graph.value(action, QT.query)),
            data=_iris(graph, action, QT.data),
            graph_data=tuple((iri, iri) for iri in _iris(graph, action, QT.graphData)),
            result=None if result is None else str(result),
        )
    if test_type in _SYNTAX_TYPES:
        is_update = test_type in _UPDATE_SYNTAX_TYPES or str(action).endswith(".ru")
        return new(
            suite=UPDATE_SYNTAX if is_update else QUERY_SYNTAX,
            query=str(action),
            positive=_SYNTAX_TYPES[rdflib.URIRef(str(test_type))],
        )
    return new(
        suite=UPDATE_EVALUATION,
        query=str(graph.value(action, UT.request)),
        data=_iris(graph, action, UT.data),
        graph_data=_update_graphs(graph, action),
        result_data=_iris(graph, result, UT.data),
        result_graph_data=_update_graphs(graph, result),
    )


@functools.cache
def load_tests(root: Path = SUITE_ROOT) -> tuple[W3CTest, ...]:
    """Every test of ``manifest-all.ttl`` this harness runs, in manifest order."""
    top, top_iri = _manifest_graph(root / "manifest-all.ttl", root)
    tests: list[W3CTest] = []
    for include in _list(top, top.value(top_iri, MF.include)):
        path = iri_to_path(str(include), root)
        graph, manifest = _manifest_graph(path, root)
        folder = path.parent.name
        for test in _list(graph, graph.value(manifest, MF.entries)):
            entry = _entry(graph, test, folder)
            if entry is not None:
                tests.append(entry)
    iris = [t.iri for t in tests]
    duplicates = {iri for iri in iris if iris.count(iri) > 1}
    if duplicates:
        raise ValueError(f"duplicate test IRIs: {sorted(duplicates)}")
    return tuple(tests)


def tests_of(suite: str, root: Path = SUITE_ROOT) -> list[W3CTest]:
    """The tests of one suite."""
    return [t for t in load_tests(root) if t.suite == suite]
