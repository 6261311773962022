"""Linked data: every IRI under the base dereferences (https://www.w3.org/TR/cooluris/#r303gendocument).

The pattern is 303 See Other: a request for ``/id/…`` or ``/def/…`` (the IRI ``<base>id/…``, …)
is answered ``303`` to ``/page/…`` (HTML, for people: :mod:`server.pages.resource`) or ``/data/…``
(RDF, for machines), chosen by ``Accept`` (``Vary: Accept``), by an extension
(``/id/place/alatau.ttl``) or by ``?format=``. ``/data/…`` negotiates the same way and answers the
description itself; its ``Link`` header names every alternate. Unknown IRIs: 404
(:class:`server.core.errors.ResourceNotFound`: a page for browsers, the JSON error shape otherwise).
The ontology ``<base>def/ontology`` (hash terms ``#School``) and the shapes ``<base>def/shapes`` are
documents: their ``/data/…`` is their whole graph. Also here: ``/context.jsonld``.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, url_for

from kg.publish import describe, documents
from server.core.errors import ResourceNotFound
from server.linked.state import (
    DocumentOptions,
    alternates_header,
    choose,
    linked,
    option_query,
    split_extension,
)

bp = Blueprint("linked", __name__)


@bp.get("/id/<path:rest>", defaults={"root": "id"})
@bp.get("/def/<path:rest>", defaults={"root": "def"})
def dereference(root: str, rest: str) -> Response:
    """303 See Other to the page or the data of the IRI ``<base>{root}/{rest}``.

    ``/graph/…`` is not here: a named graph's IRI is the Graph Store Protocol's direct
    identification (:mod:`server.writes.routes`), whose GET answers the graph's content; its description
    is at ``/page/graph/…`` and ``/data/graph/…``."""
    state = linked()
    path, by_extension = split_extension(f"{root}/{rest}")
    fmt = by_extension or choose(with_html=True)
    iri = state.iri_of(path)
    if not state.exists(iri):
        raise ResourceNotFound(iri)
    if fmt is None:
        target = url_for("page.page_or_docs", path=path)
        lang = request.args.get("lang")
        if lang:
            target += f"?lang={lang}"
    else:
        target = url_for("linked.data", path=f"{path}.{fmt.extension}") + option_query()
    response = current_app.response_class(status=303, headers={"Location": target})
    response.vary.add("Accept")
    response.headers["Link"] = alternates_header(path)
    return response


@bp.get("/data/<path:path>")
def data(path: str) -> Response:
    """The RDF description of ``<base>{path}`` (the graph itself for the ontology and the shapes): the
    union of its graphs, or its named graphs (TriG, N-Quads, and JSON-LD with ``?graphs=named``)."""
    state = linked()
    path, by_extension = split_extension(path)
    fmt = by_extension or choose(with_html=False)
    assert fmt is not None
    options = DocumentOptions.of_request(fmt)  # before the description's queries
    iri = state.iri_of(path)
    document_graph = state.document_graphs.get(iri)
    if document_graph is not None:
        quads = describe.graph_quads(state.engine, document_graph)
    else:
        quads = state.description(iri).quads
        if not describe.Description(iri, quads):
            raise ResourceNotFound(iri)
    if not quads:
        raise ResourceNotFound(iri)
    trig = url_for("linked.data", path=f"{path}.trig")
    header = (
        ""
        if options.keeps_graphs(fmt)
        else f"The description of <{iri}>: the union of its named graphs.\n"
        f"Which graph (source article, inferences) holds each statement: {trig}"
    )
    body = options.serialize(quads, fmt, header=header)
    response = Response(body, content_type=f"{fmt.media_type}; charset=utf-8")
    response.headers["Link"] = alternates_header(path)
    if by_extension is None:
        response.vary.add("Accept")
        response.headers["Content-Location"] = url_for(
            "linked.data", path=f"{path}.{fmt.extension}"
        ) + option_query(fmt)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/context.jsonld")
def jsonld_context() -> Response:
    """The JSON-LD ``@context`` every JSON-LD document of this server refers to (the one it embeds
    with ``?context=inline``): the prefixes, nothing from another host."""
    body = documents.jsonld_context(linked().prefixes())
    response = current_app.response_class(
        current_app.json.dumps(body, indent=1) + "\n", content_type="application/ld+json; charset=utf-8"
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
