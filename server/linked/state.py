"""The linked-data state shared by the routes and the pages: caches keyed by the data version, where
each IRI is served, and the format a request asks for.

Linked data: every IRI under the base dereferences (https://www.w3.org/TR/cooluris/#r303gendocument).

The pattern is 303 See Other: a request for ``/id/…`` or ``/def/…`` (the IRI ``<base>id/…``, …)
is answered ``303`` to ``/page/…`` (HTML, for people) or ``/data/…`` (RDF, for
machines), chosen by ``Accept`` (``Vary: Accept``), by an extension (``/id/place/alatau.ttl``) or by
``?format=``. ``/data/…`` negotiates the same way and answers the description itself; its
``Link`` header names every alternate. Unknown IRIs: 404 (HTML for browsers, the JSON error shape
otherwise). The ontology ``<base>def/ontology`` (hash terms ``#School``) and the shapes
``<base>def/shapes`` are documents: their ``/data/…`` is their whole graph.

Also here: the shared state of these pages (caches keyed by the data version), the format a request
asks for, and how its RDF document is written (:class:`DocumentOptions`: ``?graphs=``, ``?context=``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import current_app, g, request, url_for

from kg.engine import Engine
from kg.publish import catalog, describe, documents, labels, search
from kg.publish.catalog import DataVersion, VersionedCache
from kg.publish.labels import with_builtin
from kg.rdf import formats
from kg.rdf.formats import RDF_FORMATS, Format
from kg.rdf.names import RDF_TYPE, SD, XSD, Names
from server.core.context import context
from server.core.errors import HttpError
from server.core.negotiation import parse_accept, quality

EXTENSION_KEY = "alatau_kg_linked"
DEREFERENCED = ("id", "def", "graph")  # the first path segments of IRIs this server describes
HTML = "text/html"
XSD_INTEGER = ox.NamedNode(f"{XSD}integer")
HTML_TYPES = (HTML, "application/xhtml+xml")
BY_EXTENSION = {ext: f for f in RDF_FORMATS for ext in (f.extension, *f.extensions)}


def serialization_prefixes(names: Names) -> dict[str, str]:
    """Prefixes for documents, and the terms of the published JSON-LD ``@context``: the vocabularies
    (with those of the dataset's description), not our own ``id:``/``graph:`` (whose local parts
    would need escaped slashes)."""
    own = {p: ns for p, ns in names.prefixes().items() if p not in ("id", "graph", "src")}
    return own | {"spdx": catalog.SPDX, "sd": str(SD)}


@dataclass
class Linked:
    """What the linked-data pages keep between requests, rebuilt when the data version changes."""

    engine: Engine
    names: Names
    caches: dict[str, VersionedCache[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        e, n = self.engine, self.names
        self.caches = {
            "labels": VersionedCache(lambda: with_builtin(labels.vocabulary_labels(e))),
            "graphs": VersionedCache(lambda: catalog.graph_infos(e, n)),
            "search": VersionedCache(lambda: search.search_index(e, n)),
            "resources": VersionedCache(lambda: search.count_resources(e, n)),
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
                ox.Quad(node, ox.NamedNode(RDF_TYPE), ox.NamedNode(void + "Dataset"), graph),
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

    def graphs(self) -> dict[str, catalog.GraphInfo]:
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
        return url_for("page.page_or_docs", path=path) + fragment

    def data_href(self, iri: str, fmt: Format) -> str | None:
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
                state = current_app.extensions[EXTENSION_KEY] = Linked(ctx.pages_engine, ctx.names)
    return state  # type: ignore[no-any-return]


# --- negotiation ----------------------------------------------------------------------------------


def choose(with_html: bool) -> Format | None:
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
        return None if with_html else formats.TURTLE
    ranges = parse_accept(accept)
    options: list[tuple[Format | None, tuple[str, ...]]] = [(None, HTML_TYPES)] if with_html else []
    options += [(f, f.media_types) for f in RDF_FORMATS]
    best: Format | None = None
    best_q, found = 0.0, False
    for fmt, media_types in options:
        q = quality(ranges, media_types)
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


def split_extension(path: str) -> tuple[str, Format | None]:
    head, dot, ext = path.rpartition(".")
    if dot and "/" not in ext and ext.lower() in BY_EXTENSION:
        return head, BY_EXTENSION[ext.lower()]
    return path, None


# --- how a document is written -------------------------------------------------------------------

# ``?graphs=``: the union of the graphs (every statement once) or the named graphs (each statement in
# the graph that holds it); unset, the format's own way (TriG and N-Quads named, the others the union).
GRAPHS = {"union": False, "named": True}
# ``?context=``: JSON-LD's ``@context`` by URL (``/context.jsonld``, the default) or embedded, for
# tools that do not fetch remote contexts.
CONTEXTS = ("url", "inline")
OPTION_NAMES = ("graphs", "context")


@dataclass(frozen=True)
class DocumentOptions:
    """How the RDF document of a request is written: ``?graphs=union|named``, ``?context=url|inline``."""

    named_graphs: bool | None = None
    inline_context: bool = False

    @classmethod
    def of_request(cls, fmt: Format) -> DocumentOptions:
        """The options of the request for a document in ``fmt``; 400 for one it cannot take."""
        graphs = request.args.get("graphs", "").strip().lower()
        context_value = request.args.get("context", "").strip().lower()
        if graphs and graphs not in GRAPHS:
            raise HttpError(
                400,
                "bad_request",
                f"graphs={graphs!r}: give graphs=union or graphs=named",
                allowed=list(GRAPHS),
            )
        if context_value and context_value not in CONTEXTS:
            raise HttpError(
                400,
                "bad_request",
                f"context={context_value!r}: give context=url or context=inline",
                allowed=list(CONTEXTS),
            )
        if graphs == "named" and not fmt.datasets:
            holding = [f.media_type for f in RDF_FORMATS if f.datasets]
            raise HttpError(
                400,
                "bad_request",
                f"{fmt.media_type} holds no named graphs: ask for JSON-LD, TriG or N-Quads",
                available=holding,
            )
        return cls(GRAPHS[graphs] if graphs else None, context_value == "inline")

    def keeps_graphs(self, fmt: Format) -> bool:
        return fmt in documents.KEEPS_GRAPHS if self.named_graphs is None else self.named_graphs

    def serialize(self, quads: list[ox.Quad], fmt: Format, *, header: str = "") -> bytes:
        """``quads`` in ``fmt`` as asked (:func:`kg.publish.documents.serialize`)."""
        return documents.serialize(
            quads,
            fmt,
            linked().prefixes(),
            named_graphs=self.named_graphs,
            context_url="" if self.inline_context else url_for("linked.jsonld_context", _external=True),
            header=header,
        )


def option_args(fmt: Format | None = None) -> dict[str, str]:
    """The request's ``graphs``/``context`` parameters, for the URLs it leads to: all of them (the
    303's target checks them), or those that apply to ``fmt`` (the alternates of a document: a
    consumer that follows its JSON-LD alternate, as rdflib does, gets the variant it asked for)."""
    kept = {name: request.args[name] for name in OPTION_NAMES if request.args.get(name)}
    if fmt is not None:
        if fmt.name != formats.JSONLD.name:
            kept.pop("context", None)
        if not fmt.datasets and kept.get("graphs", "").strip().lower() != "union":
            kept.pop("graphs", None)
    return kept


def option_query(fmt: Format | None = None) -> str:
    kept = option_args(fmt)
    return "?" + urlencode(kept) if kept else ""


def alternates_header(path: str, *, with_page: bool = True) -> str:
    links = [
        f"<{url_for('linked.data', path=f'{path}.{f.extension}')}{option_query(f)}>; "
        f'rel="alternate"; type="{f.media_type}"'
        for f in RDF_FORMATS
    ]
    if with_page:
        links.append(f'<{url_for("page.page_or_docs", path=path)}>; rel="alternate"; type="text/html"')
    return ", ".join(links)
