"""The SPARQL 1.1 Protocol tests (``protocol/manifest.ttl``) as data, and a runner for any endpoint.

The manifest describes each test as HTTP requests (``ht:`` vocabulary: method, path under ``/sparql/``,
headers, body) with the response expected: a status class (``mf:expectedStatus``), a result format
(``mf:expectedFormat``: ``boolean``, ``tabular`` or ``RDF``) and an ASK answer (``mf:expectedBoolean``).
Its ``ut:graphData`` name the graphs a test reads (``data1.nt`` … as ``http://kasei.us/…/data1.rdf``).

:data:`IMPLIED` adds 16 checks the manifest implies without stating them: its dataset tests only check
that the graphs named are there, not that the dataset is *exactly* those graphs (SPARQL 1.1 Protocol
§2.1.4, Query §13.2); its content-type tests accept any format of a family, not that a client asking for
one gets it (§2.1.6); ``update_base_uri`` has no query counterpart (Query §4.1.1.1). They run with the
same runner as the manifest's own tests, as ``implied#<name>``.

:func:`run_protocol_test` raises :class:`~.runner.W3CTestFailure` when the endpoint does not pass.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import rdflib
import requests
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS

from .manifest import BASE_IRI, MF, SUITE_ROOT, UT
from .results import Boolean, CsvTable, Graph, ResultsFormatError, Solutions, media_type_of, parse_results
from .runner import W3CTestFailure

HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
HTS = rdflib.Namespace("http://www.w3.org/2011/http-statusCodes#")
MANIFEST_IRI = BASE_IRI + "protocol/manifest.ttl"
IMPLIED_IRI = BASE_IRI + "protocol/implied#"
UPDATE_ELSEWHERE = "update operation served at /update (write issue)"
"""Why our read-only ``/sparql`` skips the tests whose updates must succeed."""
PATH_PREFIX = "/sparql/"
"""Every ``ht:absolutePath`` starts with it; the runner replaces it with the endpoint's path."""

FORMATS: dict[str, tuple[str, ...]] = {
    # "expect one of: XML, JSON" (query_content_type_ask)
    "boolean": ("application/sparql-results+xml", "application/sparql-results+json"),
    # "expect one of: XML, JSON, CSV, TSV" (query_content_type_select)
    "tabular": (
        "application/sparql-results+xml",
        "application/sparql-results+json",
        "text/csv",
        "text/tab-separated-values",
    ),
    # "expect one of: RDF/XML, Turtle, N-Triples, RDFa" (query_content_type_construct/describe)
    "RDF": ("application/rdf+xml", "text/turtle", "application/n-triples", "application/xhtml+xml"),
}


@dataclass(frozen=True)
class ProtocolRequest:
    """One ``ht:Request`` with the ``ht:Response`` it must get."""

    method: str
    path: str
    """``/sparql/`` followed by the query string, percent-encoded as the manifest writes it."""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    status_classes: frozenset[int] = frozenset({2, 3})
    """Acceptable ``status // 100``."""
    format: str | None = None
    """``boolean``, ``tabular``, ``RDF`` (a key of :data:`FORMATS`)."""
    boolean: bool | None = None
    media_type: str | None = None
    """Implied checks: the exact media type a client asked for."""
    solutions: int | None = None
    """Implied checks: how many solutions (or triples) the result has."""

    @property
    def content_type(self) -> str | None:
        return next((value for name, value in self.headers if name.lower() == "content-type"), None)

    @property
    def is_update(self) -> bool:
        """Whether this request is for the update operation (else the query operation)."""
        content_type = media_type_of(self.content_type or "")
        if content_type == "application/sparql-query":
            return False
        if content_type == "application/sparql-update":
            return True
        text = self.path + "&" + (self.body or b"").decode("utf-8", "replace")
        if "query=" in text:
            return False
        return "update=" in text or "using-graph-uri=" in text or "using-named-graph-uri=" in text


@dataclass(frozen=True)
class ProtocolTest:
    iri: str
    name: str
    """The test's local name, e.g. ``query_post_form`` or ``implied#dataset_default_excludes``."""
    title: str
    requests: tuple[ProtocolRequest, ...]
    graphs: tuple[tuple[str, Path], ...] = ()
    """``(graph name, file)``: the named graphs the test reads."""
    implied: bool = False

    @property
    def uses_update(self) -> bool:
        """Whether a request must succeed at the update operation (it then changes the dataset)."""
        return any(r.is_update and 2 in r.status_classes for r in self.requests)


# ------------------------------------------------------------------------------------------------
# The manifest


def _status_classes(graph: rdflib.Graph, response: rdflib.term.Node) -> frozenset[int]:
    classes = set()
    for status in graph.objects(response, MF.expectedStatus):
        local = str(status).removeprefix(str(HTS))
        if not (local.startswith("StatusCode") and local.endswith("xx")):
            raise ValueError(f"unknown expected status {status}")
        classes.add(int(local.removeprefix("StatusCode")[0]))
    return frozenset(classes)


def _request(graph: rdflib.Graph, node: rdflib.term.Node) -> ProtocolRequest:
    headers = []
    header_list = graph.value(node, HT.headers)
    for header in [] if header_list is None else Collection(graph, header_list):
        headers.append((str(graph.value(header, HT.fieldName)), str(graph.value(header, HT.fieldValue))))
    body = None
    body_node = graph.value(node, HT.body)
    if body_node is not None:
        encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(body_node, CNT.chars)).encode(encoding)
    response = graph.value(node, HT.resp)
    expected_boolean = graph.value(response, MF.expectedBoolean)
    expected_format = graph.value(response, MF.expectedFormat)
    return ProtocolRequest(
        method=str(graph.value(node, HT.methodName)),
        path=str(graph.value(node, HT.absolutePath)),
        headers=tuple(headers),
        body=body,
        status_classes=_status_classes(graph, response),
        format=None if expected_format is None else str(expected_format),
        boolean=None if expected_boolean is None else bool(expected_boolean.toPython()),
    )


@functools.cache
def load_manifest(root: Path = SUITE_ROOT) -> tuple[ProtocolTest, ...]:
    """The manifest's tests, in its order."""
    graph = rdflib.Graph()
    graph.parse(root / "protocol" / "manifest.ttl", format="turtle", publicID=MANIFEST_IRI)
    manifest = rdflib.URIRef(MANIFEST_IRI)
    tests = []
    for test in Collection(graph, graph.value(manifest, MF.entries)):
        if graph.value(test, RDF.type) != MF.ProtocolTest:
            raise ValueError(f"not a protocol test: {test}")
        action = graph.value(test, MF.action)
        graphs = []
        for data in graph.objects(test, UT.graphData):
            file = str(graph.value(data, UT.graph))
            graphs.append((str(graph.value(data, RDFS.label)), root / file.removeprefix(BASE_IRI)))
        tests.append(
            ProtocolTest(
                iri=str(test),
                name=str(test).rsplit("#", 1)[-1],
                title=str(graph.value(test, MF.name)),
                requests=tuple(
                    _request(graph, r) for r in Collection(graph, graph.value(action, HT.requests))
                ),
                graphs=tuple(sorted(graphs)),
            )
        )
    return tuple(tests)


def manifest_graphs(root: Path = SUITE_ROOT) -> dict[str, Path]:
    """Every graph any test reads, by name (the manifest names each file alike everywhere)."""
    graphs: dict[str, Path] = {}
    for test in load_manifest(root):
        for name, file in test.graphs:
            if graphs.setdefault(name, file) != file:
                raise ValueError(f"{name} names two files: {graphs[name]} and {file}")
    return graphs


def manifest_quads(root: Path = SUITE_ROOT) -> list[ox.Quad]:
    """Every graph of :func:`manifest_graphs`, as quads."""
    return [
        ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(name))
        for name, file in sorted(manifest_graphs(root).items())
        for t in ox.parse(path=str(file), format=ox.RdfFormat.N_TRIPLES)
    ]


# ------------------------------------------------------------------------------------------------
# The checks the manifest implies

_DATA = "http://kasei.us/2009/09/sparql/data/"
_SPARQL_QUERY = (("Content-Type", "application/sparql-query"),)


def _get(query: str, *, default: Sequence[str] = (), named: Sequence[str] = ()) -> str:
    params = [("query", query)]
    params += [("default-graph-uri", _DATA + g) for g in default]
    params += [("named-graph-uri", _DATA + g) for g in named]
    return PATH_PREFIX + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params)


def _ask(path: str, answer: bool) -> ProtocolRequest:
    return ProtocolRequest("GET", path, format="boolean", boolean=answer)


def _post(query: str, accept: str, fmt: str, *, solutions: int | None = None) -> ProtocolRequest:
    return ProtocolRequest(
        "POST",
        PATH_PREFIX,
        headers=(*_SPARQL_QUERY, ("Accept", accept)),
        body=query.encode("utf-8"),
        format=fmt,
        media_type=accept,
        solutions=solutions,
    )


def _doc(n: int) -> str:
    return f"<{_DATA}data{n}.rdf>"


_IMPLIED: tuple[tuple[str, str, ProtocolRequest, tuple[int, ...]], ...] = (
    # The dataset is exactly what the request names (Protocol §2.1.4, Query §13.2).
    (
        "dataset_default_graph_excludes_others",
        "default-graph-uri: the graphs not named are not in the default graph",
        _ask(_get(f"ASK {{ {_doc(2)} a ?type }}", default=["data1.rdf"]), False),
        (1, 2),
    ),
    (
        "dataset_named_graphs_exclude_others",
        "named-graph-uri: the graphs not named are not available to GRAPH",
        _ask(_get(f"ASK {{ GRAPH ?g {{ {_doc(3)} a ?type }} }}", named=["data1.rdf", "data2.rdf"]), False),
        (1, 2, 3),
    ),
    (
        "dataset_named_only_empty_default",
        "named-graph-uri alone: the default graph is empty",
        _ask(_get("ASK { ?s ?p ?o }", named=["data1.rdf"]), False),
        (1,),
    ),
    (
        "dataset_full_named_not_in_default",
        "both parameters: the named graphs are not merged into the default graph",
        _ask(
            _get(f"ASK {{ {_doc(1)} a ?type }}", default=["data3.rdf"], named=["data1.rdf", "data2.rdf"]),
            False,
        ),
        (1, 2, 3),
    ),
    (
        "dataset_protocol_overrides_from",
        "named-graph-uri overrides FROM: the FROM graph is not the default graph",
        _ask(_get(f"ASK FROM {_doc(3)} {{ {_doc(3)} a ?type }}", named=["data1.rdf"]), False),
        (1, 3),
    ),
    (
        "dataset_from_in_query",
        "without protocol parameters, FROM defines the default graph",
        _ask(_get(f"ASK FROM {_doc(1)} {{ {_doc(1)} a ?type }}"), True),
        (1, 2),
    ),
    (
        "dataset_from_excludes_others",
        "without protocol parameters, FROM excludes the graphs it does not name",
        _ask(_get(f"ASK FROM {_doc(1)} {{ {_doc(2)} a ?type }}"), False),
        (1, 2),
    ),
    (
        "dataset_from_named_in_query",
        "without protocol parameters, FROM NAMED defines the named graphs",
        _ask(_get(f"ASK FROM NAMED {_doc(1)} {{ GRAPH ?g {{ {_doc(2)} a ?type }} }}"), False),
        (1, 2),
    ),
    # A client asking for a format the endpoint lists gets it (Protocol §2.1.6 and the content-type tests).
    (
        "select_accept_xml",
        "SELECT, Accept: SPARQL results XML",
        _post("SELECT (1 AS ?value) {}", "application/sparql-results+xml", "tabular", solutions=1),
        (),
    ),
    (
        "select_accept_json",
        "SELECT, Accept: SPARQL results JSON",
        _post("SELECT (1 AS ?value) {}", "application/sparql-results+json", "tabular", solutions=1),
        (),
    ),
    (
        "select_accept_csv",
        "SELECT, Accept: CSV",
        _post("SELECT (1 AS ?value) {}", "text/csv", "tabular", solutions=1),
        (),
    ),
    (
        "select_accept_tsv",
        "SELECT, Accept: TSV",
        _post("SELECT (1 AS ?value) {}", "text/tab-separated-values", "tabular", solutions=1),
        (),
    ),
    (
        "ask_accept_xml",
        "ASK, Accept: SPARQL results XML",
        _post("ASK {}", "application/sparql-results+xml", "boolean"),
        (),
    ),
    (
        "construct_accept_rdfxml",
        "CONSTRUCT, Accept: RDF/XML",
        _post(
            "CONSTRUCT { <http://example.org/s> <http://example.org/p> 1 } WHERE {}",
            "application/rdf+xml",
            "RDF",
            solutions=1,
        ),
        (),
    ),
    (
        "construct_accept_ntriples",
        "CONSTRUCT, Accept: N-Triples",
        _post(
            "CONSTRUCT { <http://example.org/s> <http://example.org/p> 1 } WHERE {}",
            "application/n-triples",
            "RDF",
            solutions=1,
        ),
        (),
    ),
    # update_base_uri's query counterpart: the service defines a base IRI (Query §4.1.1.1).
    (
        "query_base_uri",
        "a relative IRI in a query resolves against a base IRI the service defines",
        ProtocolRequest(
            "POST",
            PATH_PREFIX,
            headers=_SPARQL_QUERY,
            body=b'ASK { FILTER (isIRI(<test>) && STR(<test>) != "test") }',
            format="boolean",
            boolean=True,
        ),
        (),
    ),
)


@functools.cache
def load_implied(root: Path = SUITE_ROOT) -> tuple[ProtocolTest, ...]:
    files = {int(name.removesuffix(".rdf")[-1]): (name, file) for name, file in manifest_graphs(root).items()}
    return tuple(
        ProtocolTest(
            iri=IMPLIED_IRI + name,
            name="implied#" + name,
            title=title,
            requests=(request,),
            graphs=tuple(files[n] for n in graphs),
            implied=True,
        )
        for name, title, request, graphs in _IMPLIED
    )


def load_protocol_tests(root: Path = SUITE_ROOT) -> tuple[ProtocolTest, ...]:
    """The manifest's tests, then the implied checks."""
    return load_manifest(root) + load_implied(root)


# ------------------------------------------------------------------------------------------------
# Running


@dataclass
class ProtocolTarget:
    """Where the requests go: the query and update URLs, and how a test's graphs get loaded."""

    query_url: str
    update_url: str
    prepare: Callable[[ProtocolTest], None] = lambda test: None
    """Called before each test (e.g. drop everything, load the test's graphs)."""
    session: requests.Session = field(default_factory=requests.Session)

    def url(self, request: ProtocolRequest) -> str:
        if not request.path.startswith(PATH_PREFIX):
            raise ValueError(f"not under {PATH_PREFIX}: {request.path}")
        base = self.update_url if request.is_update else self.query_url
        return base + request.path.removeprefix(PATH_PREFIX.rstrip("/")).removeprefix("/")


def _check_response(request: ProtocolRequest, response: requests.Response) -> str | None:
    """What is wrong with ``response``, or ``None``."""
    status_class = response.status_code // 100
    if status_class not in request.status_classes:
        wanted = ", ".join(f"{c}xx" for c in sorted(request.status_classes))
        return f"status {response.status_code}, expected {wanted}: {response.text[:300]}"
    if status_class != 2 or request.format is None:
        return None
    media_type = media_type_of(response.headers.get("Content-Type", ""))
    if request.media_type is not None and media_type != request.media_type:
        return f"asked for {request.media_type}, got {media_type or 'no Content-Type'}"
    if media_type not in FORMATS[request.format]:
        return (
            f"{media_type or 'no Content-Type'} is not a {request.format} format ({FORMATS[request.format]})"
        )
    try:
        result = parse_results(response.content, media_type, response.url)
    except (ResultsFormatError, ValueError, SyntaxError) as error:
        return f"the {media_type} body does not parse: {error}"
    kinds = {"boolean": (Boolean,), "tabular": (Solutions, CsvTable), "RDF": (Graph,)}[request.format]
    if not isinstance(result, kinds):
        return f"a {request.format} result was expected, got {type(result).__name__}"
    if request.boolean is not None and isinstance(result, Boolean) and result.value != request.boolean:
        return f"ASK answered {result.value}, expected {request.boolean}"
    if request.solutions is not None:
        size = len(result.triples) if isinstance(result, Graph) else len(result.rows)  # type: ignore[union-attr]
        if size != request.solutions:
            return f"{size} solutions or triples, expected {request.solutions}"
    return None


def run_protocol_test(test: ProtocolTest, target: ProtocolTarget, timeout: float = 30.0) -> None:
    """Send the test's requests in order; raise :class:`W3CTestFailure` at the first wrong answer."""
    target.prepare(test)
    for number, request in enumerate(test.requests, 1):
        try:
            response = target.session.request(
                request.method,
                target.url(request),
                headers=dict(request.headers),
                data=request.body,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            raise W3CTestFailure(f"{test.name}: request {number} failed: {error}") from error
        problem = _check_response(request, response)
        if problem is not None:
            raise W3CTestFailure(
                f"{test.name}: request {number} ({request.method} {request.path}): {problem}"
            )


def protocol_outcomes(
    tests: Sequence[ProtocolTest], target: ProtocolTarget, skip: Callable[[ProtocolTest], str | None]
) -> dict[str, str]:
    """``passed``, ``failed`` or ``skipped`` per test name."""
    outcomes = {}
    for test in tests:
        if skip(test):
            outcomes[test.name] = "skipped"
            continue
        try:
            run_protocol_test(test, target)
        except W3CTestFailure:
            outcomes[test.name] = "failed"
        else:
            outcomes[test.name] = "passed"
    return outcomes


def read_only_skip(test: ProtocolTest) -> str | None:
    """The skip reason of a test at a query-only endpoint (updates are answered elsewhere)."""
    return UPDATE_ELSEWHERE if test.uses_update else None


def oxigraph_target(base_url: str) -> ProtocolTarget:
    """``oxigraph serve`` at ``base_url`` (its ``/query`` and ``/update``): every test starts from an
    empty store holding only the test's graphs."""
    session = requests.Session()

    def prepare(test: ProtocolTest) -> None:
        session.post(
            base_url + "/update",
            data=b"DROP ALL",
            headers={"Content-Type": "application/sparql-update"},
            timeout=30,
        ).raise_for_status()
        for name, file in test.graphs:
            session.post(
                base_url + "/store",
                params={"graph": name},
                data=file.read_bytes(),
                headers={"Content-Type": "application/n-triples"},
                timeout=30,
            ).raise_for_status()

    return ProtocolTarget(base_url + "/query", base_url + "/update", prepare, session)
