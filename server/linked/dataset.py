"""The dataset as a product: its VoID + DCAT description (``/dataset``, ``/.well-known/void``,
https://www.w3.org/TR/void/#well-known) and its dumps (``/dumps/``) with SHA-256 checksums.

Dumps are made from the engine on first request after the data change (keyed by the data version,
:mod:`kg.publish.catalog`) and kept in memory: every later request is served from there, with an ``ETag``
and a ``Repr-Digest`` (RFC 9530) header.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, request, url_for

from kg.publish import catalog
from kg.rdf import formats
from server.core.errors import HttpError
from server.core.i18n import current_language, render_page
from server.linked.state import DocumentOptions, choose, linked, option_args

bp = Blueprint("dataset", __name__)


def _description() -> list[ox.Quad]:
    """The VoID + DCAT description of the dataset, its dumps and this service."""
    state = linked()
    return catalog.void_description(
        state.names,
        state.version(),
        state.dumps(),
        state.cached("articles"),
        state.cached("vocabularies"),
        service_root=request.url_root,
    )


def _rdf(fmt: formats.Format) -> Response:
    options = DocumentOptions.of_request(fmt)  # before the description's queries
    quads = _description()
    body = options.serialize(quads, fmt)
    response = Response(body, content_type=f"{fmt.media_type}; charset=utf-8")
    response.vary.add("Accept")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Link"] = ", ".join(
        f"<{url_for('dataset.well_known_void')}?{urlencode({'format': f.name, **option_args(f)})}>; "
        f'rel="alternate"; type="{f.media_type}"'
        for f in formats.RDF_FORMATS
    )
    return response


@bp.get("/dataset")
def dataset() -> Response:
    """HTML for browsers, else the VoID + DCAT description in the RDF format asked for."""
    fmt = choose(with_html=True)
    if fmt is not None:
        return _rdf(fmt)
    state = linked()
    dumps = state.dumps()
    lang = current_language()
    version = state.version()
    response = render_page(
        "dataset.html",
        title=catalog.TITLE[lang],
        description=catalog.DESCRIPTION,
        version=version,
        dumps=list(dumps.files.values()),
        articles=state.cached("articles"),
        vocabularies=state.cached("vocabularies"),
        dataset_iri=catalog.dataset_iri(state.names),
        licence=catalog.CC_BY,
        publisher=catalog.PUBLISHER_NAME,
        modified=version.last_change or max((a.date or "" for a in state.cached("articles")), default=""),
        endpoint=url_for("sparql.sparql", _external=True),
        formats=formats.RDF_FORMATS,
        page_href=state.page_href,
    )
    response.vary.add("Accept")
    return response


@bp.get("/.well-known/void")
def well_known_void() -> Response:
    """The VoID description; Turtle unless another RDF format is asked for (browsers get Turtle)."""
    try:
        fmt = choose(with_html=False) or formats.TURTLE
    except HttpError as exc:
        if exc.status != 406:
            raise
        fmt = formats.TURTLE
    return _rdf(fmt)


@bp.get("/dumps/")
def dumps_index() -> Response:
    state = linked()
    dumps = state.dumps()
    return render_page("dumps.html", title="Dumps", dumps=list(dumps.files.values()), version=state.version())


def _file_response(
    body: bytes, content_type: str, etag: str, filename: str, sha256: str | None = None
) -> Response:
    response = Response(body, content_type=content_type)
    response.set_etag(etag)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    if sha256 is not None:
        digest = base64.b64encode(bytes.fromhex(sha256)).decode()
        response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    return response.make_conditional(request)  # type: ignore[return-value]


@bp.get("/dumps/<name>")
def dump(name: str) -> Response:
    """A dump, its checksum (``<name>.sha256``) or all checksums (``SHA256SUMS``)."""
    dumps = linked().dumps()
    token = dumps.version.token
    if name == "SHA256SUMS":
        return _file_response(dumps.checksums().encode(), "text/plain; charset=utf-8", f"{token}-sums", name)
    if name.endswith(".sha256") and name[: -len(".sha256")] in dumps.files:
        d = dumps.files[name[: -len(".sha256")]]
        return _file_response(
            f"{d.sha256}  {d.filename}\n".encode(), "text/plain; charset=utf-8", f"{token}-{name}", name
        )
    found = dumps.files.get(name)
    if found is None:
        raise HttpError(404, "not_found", f"no dump named {name!r}", available=sorted(dumps.files))
    return _file_response(
        found.body,
        f"{found.fmt.media_type}; charset=utf-8",
        f"{token}-{found.sha256[:16]}",
        name,
        found.sha256,
    )
