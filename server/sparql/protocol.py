"""The SPARQL 1.1 Protocol query operation at ``/sparql`` (https://www.w3.org/TR/sparql11-protocol/).

- ``GET /sparql?query=…``, ``POST`` form-encoded, ``POST application/sparql-query`` (§2.1.1–2.1.3),
  with repeatable ``default-graph-uri`` and ``named-graph-uri`` (§2.1.4);
- ``GET /sparql`` without a query: the service description (SPARQL 1.1 Service Description §2);
- read-only: an update sent here is a 400, there is no update operation.

Extensions: ``format`` (a format name or media type, instead of Accept) and ``view`` (``all``,
``asserted``, ``inferred``: the default graph, and the named graphs, of that view).

The dataset: without ``default-graph-uri``/``named-graph-uri`` (or ``view``), the default graph is
the union of all named graphs and every named graph is available to ``GRAPH``. With them, the
dataset is exactly what they name (§2.1.4), as with ``FROM``/``FROM NAMED``, which they override.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from kg.engine import EngineResponse
from kg.errors import QuerySyntaxError
from kg.rdf.complexity import measure_tokens
from kg.rdf.names import VIEWS
from kg.rdf.sparql import shape
from server.core import negotiation
from server.core.context import context
from server.core.errors import HttpError
from server.sparql import description

bp = Blueprint("sparql", __name__)

QUERY_MEDIA_TYPE = "application/sparql-query"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
UPDATE_MEDIA_TYPE = "application/sparql-update"
METHODS = ["GET", "POST"]


@dataclass
class QueryRequest:
    """The query operation's parameters, whichever way they came."""

    query: str | None
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    view: str | None = None


def _update_refused() -> HttpError:
    return HttpError(
        400,
        "update_not_supported",
        "this endpoint is read-only: SPARQL Update is not accepted at /sparql (send queries with "
        "the `query` parameter; an update belongs to an update operation, which this service does "
        "not offer)",
    )


def _single(values: list[str], name: str) -> str | None:
    if len(values) > 1:
        raise HttpError(
            400, "multiple_parameters", f"give one `{name}` parameter, not {len(values)}", parameter=name
        )
    return values[0] if values else None


def _from_params(params: MultiDict[str, str], query_values: list[str]) -> QueryRequest:
    if "update" in params:
        raise _update_refused()
    return QueryRequest(
        query=_single(query_values, "query"),
        default_graphs=params.getlist("default-graph-uri"),
        named_graphs=params.getlist("named-graph-uri"),
        formats=params.getlist("format"),
        view=_single(params.getlist("view"), "view"),
    )


def read_request() -> QueryRequest:
    """Read the operation from the request, refusing what §2.1 does not allow."""
    max_bytes = context().settings.max_body_bytes
    if len(request.query_string) > max_bytes:
        raise HttpError(413, "request_too_large", f"the request is larger than {max_bytes} bytes")
    if request.method in ("GET", "HEAD"):
        return _from_params(request.args, request.args.getlist("query"))
    media_type = request.mimetype
    if media_type == FORM_MEDIA_TYPE:
        params = MultiDict([*request.args.items(multi=True), *request.form.items(multi=True)])
        return _from_params(params, params.getlist("query"))
    if media_type == QUERY_MEDIA_TYPE:
        if "query" in request.args:
            raise HttpError(
                400,
                "multiple_parameters",
                "the query is in the body: no `query` parameter too",
                parameter="query",
            )
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise HttpError(415, "unsupported_media_type", "a query body must be UTF-8")
        body = request.get_data(cache=False)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HttpError(400, "bad_request", f"the query is not UTF-8 (byte {exc.start})") from exc
        return _from_params(request.args, [text])
    if media_type == UPDATE_MEDIA_TYPE:
        raise _update_refused()
    raise HttpError(
        415,
        "unsupported_media_type",
        f"a query is POSTed as {FORM_MEDIA_TYPE} or {QUERY_MEDIA_TYPE}, not {media_type or 'no media type'}",
        accepted=[FORM_MEDIA_TYPE, QUERY_MEDIA_TYPE],
    )


def _dataset(op: QueryRequest) -> tuple[list[str], list[str]]:
    """The default and named graphs to ask the engine for (empty: the union, all named graphs)."""
    if op.view is None or op.view == "all":
        if op.view == "all" and (op.default_graphs or op.named_graphs):
            raise HttpError(400, "bad_request", "give either `view` or graph URIs, not both")
        return op.default_graphs, op.named_graphs
    if op.view not in VIEWS:
        raise HttpError(400, "unknown_view", f"unknown view {op.view!r} (known: {', '.join(VIEWS)})")
    if op.default_graphs or op.named_graphs:
        raise HttpError(400, "bad_request", "give either `view` or graph URIs, not both")
    ctx = context()
    graphs = ctx.names.view_graphs(op.view, ctx.engine.graph_counts()) or []
    return graphs, graphs


@bp.route("/sparql", methods=METHODS)
def sparql() -> Response:
    op = read_request()
    if op.query is None:
        if request.method == "POST":
            raise HttpError(400, "missing_query", "no `query` parameter and no query in the body")
        return description.respond()
    if not op.query.strip():
        raise HttpError(400, "missing_query", "the query is empty")
    ctx = context()
    ctx.rate_limiter.take(request.remote_addr or "unknown")
    default_graphs, named_graphs = _dataset(op)
    # before any engine sees it: nested or joined enough, a query crashes or stalls the engine
    limits = ctx.settings.query_limits
    limits.check_length(len(op.query))
    query_shape = shape(op.query, base=request.base_url)
    if query_shape.form == "UPDATE":
        raise _update_refused()
    limits.check(measure_tokens(query_shape.tokens, len(op.query)))
    ctx.services.check(query_shape, [*default_graphs, *named_graphs])
    table = negotiation.GRAPHS if query_shape.form in ("CONSTRUCT", "DESCRIBE") else negotiation.RESULTS
    chosen = negotiation.choose(table, request.headers.get("Accept"), op.formats)
    names_graphs = bool(default_graphs or named_graphs or query_shape.dataset_iris)
    answer = _query_with_base(
        op.query,
        request.base_url,
        accept=chosen.media_type,
        default_graphs=default_graphs,
        named_graphs=named_graphs,
        # Our default dataset is the union (unless configured otherwise), but FROM/FROM NAMED in the
        # query, like the protocol's graph URIs, define the dataset themselves (SPARQL 1.1 Query §13.2).
        union_default_graph=ctx.settings.union_default_graph and not names_graphs,
    )
    response = Response(answer.body, status=answer.status, content_type=answer.content_type)
    response.vary.add("Accept")
    return response


_ERROR_AT = re.compile(r"error at (\d+):(\d+)")
_IRIREF = re.compile(r'[^<>"{}|^`\\\x00-\x20]*')  # https://www.w3.org/TR/sparql11-query/#rIRIREF


def _query_with_base(query: str, base: str, **kwargs: Any) -> EngineResponse:
    """Run ``query`` with the endpoint's URL as its base IRI (SPARQL 1.1 Query §4.1.1.1: the service
    defines it; the Protocol allows the endpoint's). The engine would otherwise resolve relative IRIs
    against its own internal URL. The declaration takes a line of its own, taken out of error positions.
    """
    if not _IRIREF.fullmatch(base) or not urlsplit(base).netloc:  # the Host header is the client's
        raise HttpError(400, "bad_request", "the request's Host header does not make a valid IRI")
    try:
        return context().engine.query(f"BASE <{base}>\n{query}", **kwargs)
    except QuerySyntaxError as exc:
        position = exc.position
        if not position or position.get("line", 0) < 2:
            raise
        line = position["line"] - 1
        message = _ERROR_AT.sub(lambda m: f"error at {int(m.group(1)) - 1}:{m.group(2)}", str(exc), count=1)
        raise QuerySyntaxError(message, position={**position, "line": line}) from exc
