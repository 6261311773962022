"""Linked data: every IRI under the base dereferences (https://www.w3.org/TR/cooluris/#r303gendocument).

The pattern is 303 See Other: a request for ``/id/…`` or ``/def/…`` (the IRI ``<base>id/…``, …)
is answered ``303`` to ``/page/…`` (HTML, for people) or ``/data/…`` (RDF, for
machines), chosen by ``Accept`` (``Vary: Accept``), by an extension (``/id/place/alatau.ttl``) or by
``?format=``. ``/data/…`` negotiates the same way and answers the description itself; its
``Link`` header names every alternate. Unknown IRIs: 404 (HTML for browsers, the JSON error shape
otherwise). The ontology ``<base>def/ontology`` (hash terms ``#School``) and the shapes
``<base>def/shapes`` are documents: their ``/data/…`` is their whole graph.

Also here: the shared state of these pages (caches keyed by the data version) and ``/context.jsonld``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, g, request, url_for

from kg import catalog, describe
from kg.catalog import DataVersion, VersionedCache
from kg.describe import RDF_FORMATS, RdfFormat
from kg.engine import Engine
from kg.names import Names
from server.context import context
from server.errors import HttpError, error_response
from server.negotiation import parse_accept, quality
from server.pages_labels import with_builtin

bp = Blueprint("linked", __name__)

EXTENSION_KEY = "alatau_kg_linked"
DEREFERENCED = ("id", "def", "graph")  # the first path segments of IRIs this server describes
HTML = "text/html"
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
ALSO: dict[str, tuple[str, ...]] = {
    "turtle": ("application/x-turtle",),
    "jsonld": ("application/json",),
    "rdfxml": ("application/xml", "text/xml"),
    HTML: ("application/xhtml+xml",),
}
BY_EXTENSION = {f.extension: f for f in RDF_FORMATS} | {"json": describe.JSONLD, "owl": describe.RDFXML}


def serialization_prefixes(names: Names) -> dict[str, str]:
    """Prefixes for documents: the vocabularies, not our own ``id:``/``graph:`` (whose local parts
    would need escaped slashes)."""
    return {p: ns for p, ns in names.prefixes().items() if p not in ("id", "graph", "src")}


@dataclass
class Linked:
    """What the linked-data pages keep between requests, rebuilt when the data version changes."""

    engine: Engine
    names: Names
    caches: dict[str, VersionedCache[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        e, n = self.engine, self.names
        self.caches = {
            "labels": VersionedCache(lambda: with_builtin(describe.vocabulary_labels(e))),
            "graphs": VersionedCache(lambda: describe.graph_infos(e, n)),
            "search": VersionedCache(lambda: describe.search_index(e, n)),
            "articles": VersionedCache(lambda: catalog.articles(e)),
            "vocabularies": VersionedCache(lambda: catalog.vocabularies(e, n)),
        }
        self.caches["dumps"] = VersionedCache(lambda: catalog.build_dumps(e, n, self.version()))
        self.document_graphs = {n.ontology: n.ontology_graph, n.base + "def/shapes": n.shapes_graph}

    def description(self, iri: str) -> describe.Description:
        """The description of ``iri``; a named graph also gets its size (``void:triples``), so that
        every graph name dereferences, described or not (that statement is in the default graph)."""
        found = describe.describe(self.engine, iri)
        count = self.version().counts.get(iri)
        if count is not None:
            node, graph = ox.NamedNode(iri), ox.DefaultGraph()  # from the dataset's statistics
            void = "http://rdfs.org/ns/void#"
            found.quads += [
                ox.Quad(node, ox.NamedNode(describe.RDF_TYPE), ox.NamedNode(void + "Dataset"), graph),
                ox.Quad(
                    node, ox.NamedNode(void + "triples"), ox.Literal(str(count), datatype=XSD_INTEGER), graph
                ),
            ]
        return found

    def exists(self, iri: str) -> bool:
        return iri in self.version().counts or describe.exists(self.engine, iri)

    def version(self) -> DataVersion:
        """The data version, computed once per request."""
        if "data_version" not in g:
            g.data_version = catalog.data_version(self.engine, self.names)
        return g.data_version  # type: ignore[no-any-return]

    def cached(self, name: str) -> Any:
        return self.caches[name].get(self.version())

    def labels(self) -> dict[str, list[ox.Literal]]:
        return self.cached("labels")  # type: ignore[no-any-return]

    def graphs(self) -> dict[str, describe.GraphInfo]:
        return self.cached("graphs")  # type: ignore[no-any-return]

    def dumps(self) -> catalog.Dumps:
        return self.cached("dumps")  # type: ignore[no-any-return]

    # --- IRIs and where they are served -----------------------------------------------------------

    def iri_of(self, path: str) -> str:
        return self.names.base + path

    def local_path(self, iri: str) -> str | None:
        """``id/place/alatau`` for an IRI this server dereferences (fragment dropped), else None."""
        if not iri.startswith(self.names.base):
            return None
        path = iri[len(self.names.base) :].split("#", 1)[0]
        return path if path.split("/", 1)[0] in DEREFERENCED and path else None

    def page_href(self, iri: str, lang: str | None = None) -> str:
        """Where a person reads about ``iri``: its page (with the fragment), or the IRI itself."""
        path = self.local_path(iri)
        if path is None:
            return iri
        fragment = iri[len(self.names.base) + len(path) :]
        return url_for("linked.page_or_docs", path=path) + fragment

    def data_href(self, iri: str, fmt: RdfFormat) -> str | None:
        path = self.local_path(iri)
        return None if path is None else url_for("linked.data", path=f"{path}.{fmt.extension}")

    def prefixes(self) -> dict[str, str]:
        return serialization_prefixes(self.names)


_create_lock = threading.Lock()


def linked() -> Linked:
    """The linked-data state of the current app, created on first use."""
    state = current_app.extensions.get(EXTENSION_KEY)
    if state is None:
        with _create_lock:
            state = current_app.extensions.get(EXTENSION_KEY)
            if state is None:
                ctx = context()
                state = current_app.extensions[EXTENSION_KEY] = Linked(ctx.engine, ctx.names)
    return state  # type: ignore[no-any-return]


# --- negotiation ----------------------------------------------------------------------------------


def _media_types(name: str, media_type: str) -> tuple[str, ...]:
    return (media_type, *ALSO.get(name, ()))


def choose(with_html: bool) -> RdfFormat | None:
    """The format asked for: ``?format=`` (name, extension or media type) wins over ``Accept``;
    None means HTML. Browsers (and ``*/*``) get HTML where it is offered, else Turtle."""
    wanted = request.args.get("format", "").strip().lower()
    if wanted:
        if with_html and wanted in ("html", HTML):
            return None
        for f in RDF_FORMATS:
            if wanted in (f.name, f.extension, f.media_type):
                return f
        raise HttpError(400, "unknown_format", f"unknown format {wanted!r}")
    accept = request.headers.get("Accept", "")
    if not accept.strip():
        return None if with_html else describe.TURTLE
    ranges = parse_accept(accept)
    options: list[tuple[str, RdfFormat | None, str]] = [(HTML, None, HTML)] if with_html else []
    options += [(f.name, f, f.media_type) for f in RDF_FORMATS]
    best: RdfFormat | None = None
    best_q, found = 0.0, False
    for name, fmt, media_type in options:
        q = quality(ranges, _media_types(name, media_type))
        if q > best_q:
            best, best_q, found = fmt, q, True
    if not found:
        available = ([HTML] if with_html else []) + [f.media_type for f in RDF_FORMATS]
        raise HttpError(
            406,
            "not_acceptable",
            f"none of the accepted media types ({accept}) is offered",
            available=available,
        )
    return best


def split_extension(path: str) -> tuple[str, RdfFormat | None]:
    head, dot, ext = path.rpartition(".")
    if dot and "/" not in ext and ext.lower() in BY_EXTENSION:
        return head, BY_EXTENSION[ext.lower()]
    return path, None


def alternates_header(path: str, *, with_page: bool = True) -> str:
    links = [
        f'<{url_for("linked.data", path=f"{path}.{f.extension}")}>; rel="alternate"; type="{f.media_type}"'
        for f in RDF_FORMATS
    ]
    if with_page:
        links.append(f'<{url_for("linked.page_or_docs", path=path)}>; rel="alternate"; type="text/html"')
    return ", ".join(links)


def wants_html() -> bool:
    """Whether an error page should be HTML: only when the client names HTML and prefers it."""
    ranges = parse_accept(request.headers.get("Accept", "") or "*/*")
    named = any(r.type == "text" and r.subtype == "html" and r.q > 0 for r in ranges)
    return named and quality(ranges, (HTML,)) >= quality(ranges, ("application/json",))


def not_found(iri: str) -> Response:
    """404 for people (a page in their language) or for programs (the JSON error shape)."""
    if wants_html():
        from server.pages_resource import render_not_found

        return render_not_found(iri)
    return error_response(404, "not_found", f"the dataset knows nothing about {iri}", iri=iri)


# --- routes -----------------------------------------------------------------------------------------


@bp.get("/id/<path:rest>", defaults={"root": "id"})
@bp.get("/def/<path:rest>", defaults={"root": "def"})
def dereference(root: str, rest: str) -> Response:
    """303 See Other to the page or the data of the IRI ``<base>{root}/{rest}``.

    ``/graph/…`` is not here: a named graph's IRI is the Graph Store Protocol's direct
    identification (:mod:`server.writes`), whose GET answers the graph's content; its description
    is at ``/page/graph/…`` and ``/data/graph/…``."""
    state = linked()
    path, by_extension = split_extension(f"{root}/{rest}")
    fmt = by_extension or choose(with_html=True)
    iri = state.iri_of(path)
    if not state.exists(iri):
        return not_found(iri)
    if fmt is None:
        target = url_for("linked.page_or_docs", path=path)
        lang = request.args.get("lang")
        if lang:
            target += f"?lang={lang}"
    else:
        target = url_for("linked.data", path=f"{path}.{fmt.extension}")
    response = current_app.response_class(status=303, headers={"Location": target})
    response.vary.add("Accept")
    response.headers["Link"] = alternates_header(path)
    return response


@bp.get("/data/<path:path>")
def data(path: str) -> Response:
    """The RDF description of ``<base>{path}`` (the graph itself for the ontology and the shapes)."""
    state = linked()
    path, by_extension = split_extension(path)
    fmt = by_extension or choose(with_html=False)
    assert fmt is not None
    iri = state.iri_of(path)
    document_graph = state.document_graphs.get(iri)
    if document_graph is not None:
        quads = describe.graph_quads(state.engine, document_graph)
    else:
        quads = state.description(iri).quads
        if not describe.Description(iri, quads):
            return not_found(iri)
    if not quads:
        return not_found(iri)
    trig = url_for("linked.data", path=f"{path}.trig")
    header = (
        f"The description of <{iri}>: the union of its named graphs.\n"
        f"Which graph (source article, inferences) holds each statement: {trig}"
    )
    body = describe.serialize(
        quads,
        fmt,
        state.prefixes(),
        context_url=url_for("linked.jsonld_context", _external=True),
        header=header,
    )
    response = Response(body, content_type=f"{fmt.media_type}; charset=utf-8")
    response.headers["Link"] = alternates_header(path)
    if by_extension is None:
        response.vary.add("Accept")
        response.headers["Content-Location"] = url_for("linked.data", path=f"{path}.{fmt.extension}")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/context.jsonld")
def jsonld_context() -> Response:
    """The JSON-LD ``@context`` every JSON-LD document of this server refers to."""
    body = describe.jsonld_context(linked().prefixes())
    response = current_app.response_class(
        current_app.json.dumps(body, indent=1) + "\n", content_type="application/ld+json; charset=utf-8"
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/page/<path:path>")
def page_or_docs(path: str) -> Any:
    """The page of ``<base>{path}``: the ontology documentation for the ontology, else the resource."""
    from server import pages_ontology, pages_resource

    state = linked()
    iri = state.iri_of(path)
    if iri == state.names.ontology:
        return pages_ontology.render()
    return pages_resource.render(iri, path)
