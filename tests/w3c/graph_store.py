"""The SPARQL 1.1 Graph Store HTTP Protocol tests as data, and a runner for any Graph Store.

Two manifests describe the tests as HTTP exchanges:

* ``graph-store-protocol/manifest.ttl`` (includes ``manifest-direct.ttl`` and ``manifest-indirect.ttl``):
  14 tests in the ``ht:`` vocabulary, each a sequence of requests (method, path under ``/gsp``, headers,
  body) with the response expected: statuses (``mf:expectedStatus``, any of those listed), a
  ``Location`` to remember as a template variable (``mf:expectedLocation``), headers and a body, which
  must be isomorphic to the graph served. Every test starts from an empty Graph Store.
* ``http-rdf-update/manifest.ttl``: 18 deprecated tests ("deprecated in favor of the tests in
  ../graph-store-protocol"), written in prose (``#### Request`` / ``#### Response`` blocks with
  ``$HOST$``, ``$GRAPHSTORE$`` and ``$NEWPATH$`` templates). They are one scenario: each entry is a step
  and the steps run in order on one Graph Store. Taken as written, the prose contradicts itself and the
  Recommendation in places; :data:`ERRATA` lists each correction applied, with its reason.

How paths and IRIs map onto a server (:class:`GspTarget`): ``/gsp`` and ``/gsp?…`` go to its Graph
Store (``store_url``); ``/gsp/<path>`` to its direct identification (``direct_url`` + ``/<path>``, the
graph being that URL). The current manifests' graph IRIs (``http://www.example/gsp/person/1.ttl`` in
``?graph=``) and data are sent as written. In the deprecated prose, ``http://$HOST$/$GRAPHSTORE$/`` is the
direct URL prefix (its tests name one graph both ways: ``PUT $GRAPHSTORE$/person/1.ttl`` then ``GET
$GRAPHSTORE$?graph=http://$HOST$/$GRAPHSTORE$/person/1.ttl``). URLs are sent exactly as the manifest
spells them (``%31`` stays ``%31``: one test checks that the server decodes the query only once).

Checks: the status is one of those expected; a ``Location`` is there when one is expected; a
``content-type`` header expected has the same media type, and the same ``charset`` when the response
gives one (Turtle is UTF-8 by definition, the text/turtle registration of RDF 1.1 Turtle: an absent
charset is fine); the prose's ``Content-Length: ...`` is not checked (a chunked response has none, as
HTTP/1.1 allows; the current manifest no longer lists it); a body is compared as RDF
(``rdflib.compare.isomorphic``, parsed by the response's media type).
"""

from __future__ import annotations

import contextlib
import functools
import re
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import rdflib
import requests
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, RDFS

from .manifest import BASE_IRI, MF, SUITE_ROOT
from .results import media_type_of
from .runner import W3CTestFailure

HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
HTS = rdflib.Namespace("http://www.w3.org/2011/http-statusCodes#")
CURRENT = "graph-store-protocol"
DEPRECATED = "http-rdf-update"
STATUS_CODES = {"OK": 200, "Created": 201, "NoContent": 204, "NotFound": 404}
DIRECT_IRI = "$GSP_DIRECT$"
"""The deprecated prose's ``http://$HOST$/$GRAPHSTORE$``: the direct identification URL prefix."""
RDF_MEDIA_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}


@dataclass(frozen=True)
class GspRequest:
    """One request with the response it must get."""

    method: str
    path: str
    """``/gsp`` followed by a path or a query, or a template variable (a remembered ``Location``)."""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    statuses: frozenset[int] = frozenset()
    location_variable: str | None = None
    """Remember the response's ``Location`` under this name (``$LOCATION$``, ``$NEWPATH$``)."""
    response_headers: tuple[tuple[str, str], ...] = ()
    response_body: str | None = None
    """The graph expected, as Turtle."""
    setup: bool = False
    """An erratum's precondition, not a step of the test itself (its status is still checked)."""


@dataclass(frozen=True)
class GspTest:
    iri: str
    name: str
    """The test's local name (``put_get_repeat_direct``, ``put__initial_state``): its pytest id."""
    title: str
    manifest: str
    """:data:`CURRENT` or :data:`DEPRECATED`."""
    requests: tuple[GspRequest, ...]
    requires: frozenset[str] = frozenset()
    erratum: str | None = None


# ------------------------------------------------------------------------------------------------
# The current manifests (ht: vocabulary)


def _headers(graph: rdflib.Graph, node: rdflib.term.Node | None) -> tuple[tuple[str, str], ...]:
    items = graph.value(node, HT.headers) if node is not None else None
    if items is None:
        return ()
    return tuple(
        (str(graph.value(h, HT.fieldName)), str(graph.value(h, HT.fieldValue)))
        for h in Collection(graph, items)
    )


def _chars(graph: rdflib.Graph, node: rdflib.term.Node | None) -> str | None:
    body = graph.value(node, HT.body) if node is not None else None
    return None if body is None else str(graph.value(body, CNT.chars))


def _ht_request(graph: rdflib.Graph, node: rdflib.term.Node) -> GspRequest:
    response = graph.value(node, HT.resp)
    statuses = set()
    for status in graph.objects(response, MF.expectedStatus):
        local = str(status).removeprefix(str(HTS))
        if local not in STATUS_CODES:
            raise ValueError(f"unknown expected status {status}")
        statuses.add(STATUS_CODES[local])
    location = graph.value(response, MF.expectedLocation)
    body = _chars(graph, node)
    return GspRequest(
        method=str(graph.value(node, HT.methodName)),
        path=str(graph.value(node, HT.absolutePath)),
        headers=_headers(graph, node),
        body=None if body is None else body.encode("utf-8"),
        statuses=frozenset(statuses),
        location_variable=None if location is None else str(location),
        response_headers=_headers(graph, response),
        response_body=_chars(graph, response),
    )


@functools.cache
def load_current(root: Path = SUITE_ROOT) -> tuple[GspTest, ...]:
    """``graph-store-protocol/manifest.ttl``'s tests: the included manifests' entries, in order."""
    folder = root / CURRENT
    top = rdflib.Graph().parse(
        folder / "manifest.ttl", format="turtle", publicID=f"{BASE_IRI}{CURRENT}/manifest.ttl"
    )
    top_iri = rdflib.URIRef(f"{BASE_IRI}{CURRENT}/manifest.ttl")
    tests = []
    for included in Collection(top, top.value(top_iri, MF.include)):
        name = str(included).rsplit("/", 1)[-1]
        graph = rdflib.Graph().parse(folder / name, format="turtle", publicID=str(included))
        for test in Collection(graph, graph.value(included, MF.entries)):
            if graph.value(test, RDF.type) != MF.GraphStoreProtocolTest:
                raise ValueError(f"not a Graph Store Protocol test: {test}")
            action = graph.value(test, MF.action)
            tests.append(
                GspTest(
                    iri=str(test),
                    name=str(test).rsplit("#", 1)[-1],
                    title=str(graph.value(test, MF.name)),
                    manifest=CURRENT,
                    requests=tuple(
                        _ht_request(graph, r) for r in Collection(graph, graph.value(action, HT.requests))
                    ),
                    requires=frozenset(str(r).rsplit("#", 1)[-1] for r in graph.objects(test, MF.requires)),
                )
            )
    return tuple(tests)


# ------------------------------------------------------------------------------------------------
# The deprecated manifest (prose)

_STATUS_LINE = re.compile(r"^(\d{3})\b")
_REQUEST_LINE = re.compile(r"^(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP/1\.1$")


def _message(block: str) -> tuple[str, list[tuple[str, str]], str]:
    """(first line, headers, body) of an HTTP message written as an indented block."""
    lines = textwrap.dedent(block.strip("\n")).strip("\n").split("\n")
    first, rest = lines[0].strip(), lines[1:]
    headers = []
    while rest and rest[0].strip():
        name, value = rest.pop(0).split(":", 1)
        headers.append((name.strip(), value.strip()))
    return first, headers, "\n".join(rest).strip()


def _templated(text: str) -> str:
    """The prose's templates in this module's terms: the direct URL prefix, and ``/gsp`` paths."""
    text = text.replace("http://$HOST$/$GRAPHSTORE$", DIRECT_IRI)
    return re.sub(r"(?m)^([ \t]*)(GET|HEAD|PUT|POST|DELETE) \$GRAPHSTORE\$", r"\1\2 /gsp", text)


def _prose_test(graph: rdflib.Graph, test: rdflib.term.Node) -> GspTest:
    prose = next(str(c) for c in graph.objects(test, RDFS.comment) if "#### Request" in str(c))
    request_part, response_part = _templated(prose).split("#### Response")
    first, headers, body = _message(request_part.split("#### Request", 1)[1])
    match = _REQUEST_LINE.match(first)
    if match is None:
        raise ValueError(f"{test}: not a request line: {first!r}")
    status_line, response_headers, response_body = _message(response_part)
    status = _STATUS_LINE.match(status_line)
    if status is None:
        raise ValueError(f"{test}: not a status line: {status_line!r}")
    location = next((v for k, v in response_headers if k.lower() == "location"), None)
    return GspTest(
        iri=str(test),
        name=str(test).rsplit("#", 1)[-1],
        title=str(graph.value(test, MF.name)),
        manifest=DEPRECATED,
        requests=(
            GspRequest(
                method=match.group(1),
                path=match.group(2),
                headers=tuple((k, v) for k, v in headers if k.lower() != "host"),
                body=body.encode("utf-8") if body else None,
                statuses=frozenset({int(status.group(1))}),
                location_variable=location,
                response_headers=tuple((k, v) for k, v in response_headers if k.lower() != "location"),
                response_body=response_body or None,
            ),
        ),
    )


_PERSON_2_SETUP = GspRequest(
    "PUT",
    "/gsp/person/2.ttl",
    headers=(("Content-Type", "text/turtle; charset=utf-8"),),
    body=b"""@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix v: <http://www.w3.org/2006/vcard/ns#> .
[] a foaf:Person; foaf:businessCard [ a v:VCard; v:given-name "Alice" ] .
""",
    statuses=frozenset({201}),
    setup=True,
)

_JANE_WITH_NAME = f"""@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix v: <http://www.w3.org/2006/vcard/ns#> .
<{DIRECT_IRI}/person/1> a foaf:Person;
    foaf:name "Jane Doe";
    foaf:businessCard [ a v:VCard; v:fn "Jane Doe" ] .
"""


def _statuses(*codes: int) -> Callable[[GspRequest], GspRequest]:
    return lambda r: replace(r, statuses=frozenset(codes))


def _end_triples(r: GspRequest) -> GspRequest:
    """Ends each triple left without its final ``.`` (and, in a multipart body, each line with CRLF)."""
    assert r.body is not None
    text = re.sub(r'(?m)^(<\S+> foaf:\w+ "[^"]*")[ \t]*$', r"\1 .", r.body.decode("utf-8"))
    if text.startswith("--"):
        text = text.replace("\n", "\r\n") + "\r\n"
    return replace(r, body=text.encode("utf-8"))


def _expect(turtle: str) -> Callable[[GspRequest], GspRequest]:
    return lambda r: replace(r, response_body=turtle)


# Each erratum: why, and what changes. The Recommendation's statuses: PUT §5.3 ("201 Created" for a
# new graph; for an existing one "either the 200 OK or 204 No Content response codes MUST be sent"),
# DELETE §5.4 and POST §5.5 likewise 200 or 204 on success; the current manifest accepts exactly these.
ERRATA: dict[str, tuple[str, Sequence[Callable[[GspRequest], GspRequest]]]] = {
    "put__graph_already_in_store": (
        "204 only in the prose; §5.3 requires 200 or 204 for a replaced graph (as the current manifest)",
        [_statuses(200, 204)],
    ),
    "put__default_graph": (
        "201 only in the prose; the default graph always exists, so §5.3's 200/204 apply too "
        "(the current manifest accepts 200, 201 and 204)",
        [_statuses(200, 201, 204)],
    ),
    "delete__existing_graph": (
        "person/2.ttl is never created in this manifest: the harness PUTs it first (as the current "
        "manifest's put_delete_get_delete does); 200 only in the prose, §5.4 allows 200 or 204",
        [_statuses(200, 204)],
    ),
    "post__existing_graph": (
        'the body\'s triple has no final "." (not Turtle; the current manifest adds it); 200 only in the '
        "prose, §5.5 allows 200 or 204",
        [_end_triples, _statuses(200, 204)],
    ),
    "get_of_post__existing_graph": (
        "the prose expects John Doe's card without foaf:name, but the graph was last PUT as Jane Doe's and "
        'the POST before added foaf:name "Jane Doe": that graph is expected',
        [_expect(_JANE_WITH_NAME)],
    ),
    "post__multipart_formdata": (
        'the parts\' triples have no final "." and the body has LF line ends (multipart needs CRLF); both '
        "as the current manifest fixes them; 200 only in the prose, §5.5 allows 200 or 204",
        [_end_triples, _statuses(200, 204)],
    ),
}


@functools.cache
def load_deprecated(root: Path = SUITE_ROOT) -> tuple[GspTest, ...]:
    """``http-rdf-update/manifest.ttl``'s steps, in order, with :data:`ERRATA` applied."""
    iri = f"{BASE_IRI}{DEPRECATED}/manifest.ttl"
    graph = rdflib.Graph().parse(root / DEPRECATED / "manifest.ttl", format="turtle", publicID=iri)
    tests = []
    for test in Collection(graph, graph.value(rdflib.URIRef(iri), MF.entries)):
        parsed = _prose_test(graph, test)
        if parsed.name in ERRATA:
            reason, fixes = ERRATA[parsed.name]
            (step,) = parsed.requests
            for fix in fixes:
                step = fix(step)
            steps = (_PERSON_2_SETUP, step) if parsed.name == "delete__existing_graph" else (step,)
            parsed = replace(parsed, requests=steps, erratum=reason)
        tests.append(parsed)
    return tuple(tests)


def load_gsp_tests(root: Path = SUITE_ROOT) -> tuple[GspTest, ...]:
    return load_current(root) + load_deprecated(root)


# ------------------------------------------------------------------------------------------------
# Running


@dataclass
class GspTarget:
    """A Graph Store under test: where its store and direct URLs are, how to write, how to empty it."""

    store_url: str
    """The Graph Store itself (``/gsp``)."""
    direct_url: str
    """Direct identification: ``direct_url + "/person/1.ttl"`` is the graph of that IRI."""
    reset: Callable[[], None]
    write_headers: dict[str, str] = field(default_factory=dict)
    """Sent with PUT, POST and DELETE (a bearer token)."""
    session: requests.Session = field(default_factory=requests.Session)

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path  # a remembered Location
        if path == "/gsp" or path.startswith("/gsp?"):
            return self.store_url + path.removeprefix("/gsp")
        if path.startswith("/gsp/"):
            return self.direct_url + path.removeprefix("/gsp")
        raise ValueError(f"not under /gsp: {path}")


def _expand(text: str, variables: dict[str, str]) -> str:
    for name, value in variables.items():
        text = text.replace(name, value)
    return text


def _check(request: GspRequest, response: requests.Response, variables: dict[str, str]) -> str | None:
    """What is wrong with ``response``, or ``None``; remembers an expected ``Location``."""
    if response.status_code not in request.statuses:
        wanted = " or ".join(str(s) for s in sorted(request.statuses))
        return f"status {response.status_code}, expected {wanted}: {response.text[:300]}"
    if request.location_variable is not None:
        location = response.headers.get("Location")
        if not location:
            return "no Location header"
        variables[request.location_variable] = urljoin(response.url, location)
    for name, value in request.response_headers:
        if value == "...":
            continue  # the prose's "Content-Length: ..." (a chunked response has none; HTTP/1.1 allows both)
        actual = response.headers.get(name)
        if actual is None:
            return f"no {name} header"
        if name.lower() == "content-type":
            if media_type_of(actual) != media_type_of(value):
                return f"Content-Type {actual!r}, expected {value!r}"
            want = re.search(r"charset=([\w-]+)", value, re.I)
            got = re.search(r"charset=([\w-]+)", actual, re.I)
            if want and got and want.group(1).lower() != got.group(1).lower():
                return f"Content-Type {actual!r}, expected {value!r}"
    if request.response_body is not None:
        media_type = media_type_of(response.headers.get("Content-Type", ""))
        if media_type not in RDF_MEDIA_TYPES:
            return f"the graph came as {media_type or 'no Content-Type'}"
        try:
            actual_graph = rdflib.Graph().parse(
                data=response.content, format=RDF_MEDIA_TYPES[media_type], publicID=response.url
            )
        except Exception as error:  # rdflib raises many kinds
            return f"the {media_type} body does not parse: {error}"
        expected = rdflib.Graph().parse(data=_expand(request.response_body, variables), format="turtle")
        if not isomorphic(actual_graph, expected):
            return (
                "the graph served is not the one expected:\n"
                + actual_graph.serialize(format="nt")
                + "expected:\n"
                + expected.serialize(format="nt")
            )
    return None


def _send(
    request: GspRequest, target: GspTarget, variables: dict[str, str], timeout: float
) -> requests.Response:
    url = target.url(_expand(request.path, variables))
    headers = dict(request.headers)
    if request.method in ("PUT", "POST", "DELETE"):
        headers.update(target.write_headers)
    body = None if request.body is None else _expand(request.body.decode("utf-8"), variables).encode("utf-8")
    prepared = requests.Request(request.method, url, headers=headers, data=body).prepare()
    prepared.url = url  # as spelled: requests would turn %31 into 1
    return target.session.send(prepared, timeout=timeout, allow_redirects=False)


def run_steps(test: GspTest, target: GspTarget, variables: dict[str, str], timeout: float = 30.0) -> None:
    """Send the test's requests in order; raise :class:`W3CTestFailure` at the first wrong answer."""
    for number, request in enumerate(test.requests, 1):
        try:
            response = _send(request, target, variables, timeout)
        except requests.RequestException as error:
            raise W3CTestFailure(f"{test.name}: request {number} failed: {error}") from error
        problem = _check(request, response, variables)
        if problem is not None:
            role = "setup request" if request.setup else "request"
            raise W3CTestFailure(
                f"{test.name} ({test.title}): {role} {number} ({request.method} {request.path}): {problem}"
            )


def run_gsp_test(test: GspTest, target: GspTarget) -> None:
    """A test of the current manifest, on an emptied Graph Store."""
    target.reset()
    run_steps(test, target, {DIRECT_IRI: target.direct_url})


def run_deprecated(target: GspTarget, tests: Sequence[GspTest] | None = None) -> dict[str, str | None]:
    """The deprecated manifest's steps in order on one emptied Graph Store: per step, ``None`` (passed)
    or what went wrong."""
    target.reset()
    variables = {DIRECT_IRI: target.direct_url}
    outcomes: dict[str, str | None] = {}
    for test in load_deprecated() if tests is None else tests:
        try:
            run_steps(test, target, variables)
        except W3CTestFailure as failure:
            outcomes[test.name] = str(failure)
        else:
            outcomes[test.name] = None
    return outcomes


def gsp_outcomes(target: GspTarget) -> dict[str, str | None]:
    """Every test (current manifest, then the deprecated one): ``None`` or the failure."""
    outcomes: dict[str, str | None] = {}
    for test in load_current():
        try:
            run_gsp_test(test, target)
        except W3CTestFailure as failure:
            outcomes[test.name] = str(failure)
        else:
            outcomes[test.name] = None
    outcomes.update(run_deprecated(target))
    return outcomes


# ------------------------------------------------------------------------------------------------
# The servers

TOKEN = "w3c-graph-store-token"
W3C_GRAPHS = "http://www.example/gsp/"
"""The graph IRIs of the current manifest's indirect tests."""


class _LateApp:
    """A WSGI app set once the server's URL is known (the app's base IRI is that URL)."""

    app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


@contextlib.contextmanager
def alatau_graph_store(directory: Path | None = None) -> Iterator[GspTarget]:
    """Our app, writable, on a free loopback port over a scratch store: no shapes guard, base IRI its
    own URL (so ``<url>/graph/person/1.ttl`` is both the URL and the IRI of a graph), writable graphs
    ``http://www.example/gsp/…`` and ``<url>/graph/…``, blank nodes skolemized, one writer token."""
    from kg.changes.tokens import digest
    from kg.config import Settings
    from server.deploy import standalone_app
    from tests.server_support import serving

    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gsp-")))
        late = _LateApp()
        live = stack.enter_context(serving(late, None))  # type: ignore[arg-type]
        base = live.url + "/"
        settings = Settings(
            base_iri=base,
            store_path=directory / "store",
            tokens=f"w3c:writer:{digest(TOKEN)}",
            tokens_file=directory / "no-tokens.json",
            queries_dir=directory / "no-queries",
            guard_writes=False,
            write_graphs=f"{W3C_GRAPHS} {base}graph/",
            skolemize_blank_nodes=True,
        )
        late.app = standalone_app(settings)
        context = late.app.extensions["alatau_kg"]
        stack.callback(context.engine.stop)
        session = requests.Session()
        stack.callback(session.close)
        names = context.writer.names
        protected = " ".join(
            f"<{g}>"
            for g in (names.changes_graph, names.ontology_graph, names.shapes_graph, names.inferred_graph)
        )
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def reset() -> None:
            update = (
                f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
                f"FILTER(?g NOT IN ({', '.join(protected.split())})) }} ;\n"
                "DELETE WHERE { ?s ?p ?o }"
            )
            response = session.post(
                live.url + "/update",
                data=update.encode("utf-8"),
                headers={**auth, "Content-Type": "application/sparql-update"},
                timeout=30,
            )
            if response.status_code != 200:
                raise RuntimeError(f"could not empty the Graph Store: {response.status_code} {response.text}")

        yield GspTarget(live.url + "/store", live.url + "/graph", reset, auth, session)


@contextlib.contextmanager
def oxigraph_graph_store() -> Iterator[GspTarget]:
    """A throw-away ``oxigraph serve``: its Graph Store at ``/store``, direct identification under
    ``/store/``; emptied with ``DROP ALL``."""
    from .server import oxigraph_server

    with oxigraph_server() as url, requests.Session() as session:

        def reset() -> None:
            session.post(
                url + "/update",
                data=b"DROP ALL",
                headers={"Content-Type": "application/sparql-update"},
                timeout=30,
            ).raise_for_status()

        yield GspTarget(url + "/store", url + "/store", reset, {}, session)


def counts(outcomes: dict[str, str | None], manifest: str) -> str:
    names = {t.name for t in load_gsp_tests() if t.manifest == manifest}
    passed = sum(1 for name, problem in outcomes.items() if name in names and problem is None)
    return f"{passed}/{len(names)} passed"


def main() -> None:
    """Print the conformance page's rows: our Graph Store beside ``oxigraph serve``, measured now."""
    with alatau_graph_store() as target:
        ours = gsp_outcomes(target)
    with oxigraph_graph_store() as target:
        theirs = gsp_outcomes(target)
    for manifest, label in (
        (CURRENT, f"graph store protocol (`{CURRENT}/manifest.ttl`: {len(load_current())} tests)"),
        (
            DEPRECATED,
            f"… deprecated (`{DEPRECATED}/manifest.ttl`: {len(load_deprecated())} steps, "
            f"{len(ERRATA)} with errata)",
        ),
    ):
        print(f"| {label} | {counts(ours, manifest)} | {counts(theirs, manifest)} |")
    for who, outcomes in (("ours", ours), ("oxigraph", theirs)):
        for name, problem in outcomes.items():
            if problem is not None:
                print(f"{who} {name}: {problem.splitlines()[0]}")


if __name__ == "__main__":
    main()
