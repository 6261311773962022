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
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from flask import Blueprint, Response, g, request
from werkzeug.datastructures import MultiDict
from werkzeug.wsgi import get_current_url

from kg.engine import EngineResponse, events
from kg.engine.cache import Key
from kg.errors import KGError, QueryQuarantined, QuerySyntaxError, QueryTimeout, QueryTooComplex
from kg.rdf.complexity import Complexity
from kg.rdf.formats import Format
from kg.rdf.names import VIEWS
from kg.rdf.reading import read_query
from kg.rdf.sparql import Normal, Shape
from server.core import negotiation
from server.core.clients import Client
from server.core.context import Context, context
from server.core.errors import HttpError
from server.core.forms import parse_form
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
        # the form, read as werkzeug's form parser reads it, without its machinery (one per request)
        body = request.get_data(cache=False)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HttpError(400, "bad_request", f"the form is not UTF-8 (byte {exc.start})") from exc
        form = parse_form(text)
        params = MultiDict([*request.args.items(multi=True), *form])
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


def _dataset(ctx: Context, op: QueryRequest) -> tuple[list[str], list[str]]:
    """The default and named graphs to ask the engine for (empty: the union, all named graphs)."""
    if op.view is None or op.view == "all":
        if op.view == "all" and (op.default_graphs or op.named_graphs):
            raise HttpError(400, "bad_request", "give either `view` or graph URIs, not both")
        return op.default_graphs, op.named_graphs
    if op.view not in VIEWS:
        raise HttpError(400, "unknown_view", f"unknown view {op.view!r} (known: {', '.join(VIEWS)})")
    if op.default_graphs or op.named_graphs:
        raise HttpError(400, "bad_request", "give either `view` or graph URIs, not both")
    graphs = ctx.names.view_graphs(op.view, ctx.engine.graph_counts()) or []
    return graphs, graphs


class Exchange:
    """What a query's handling learns that the request's observation needs (:mod:`server.app`):
    who asked, the query's form, whether its engine time was charged."""

    __slots__ = ("charged", "client", "form")

    def __init__(self) -> None:
        self.client: Client | None = None
        self.form = ""
        self.charged = False


class Outcome(NamedTuple):
    answer: EngineResponse
    etag: str | None
    cached: str  # hit, miss


# The environ key under which the fast path (server.sparql.fast) hands a request it met an error in
# over to the Flask route, which raises it: Flask's error handlers and hooks answer it as any other.
HANDED_OVER = "alatau_kg.sparql.handed_over"


class HandedOver(NamedTuple):
    error: BaseException
    exchange: Exchange


@bp.route("/sparql", methods=METHODS)
def sparql() -> Response:
    handed: HandedOver | None = request.environ.pop(HANDED_OVER, None)
    exchange = handed.exchange if handed is not None else Exchange()
    try:
        if handed is not None:
            raise handed.error
        op = read_request()
        if op.query is None:
            if request.method == "POST":
                raise HttpError(400, "missing_query", "no `query` parameter and no query in the body")
            return description.respond()
        ctx = context()
        outcome = answer(ctx, op, request.method, request.headers.get("Accept"), request.environ, exchange)
    finally:
        g.client, g.query_form, g.charged = exchange.client, exchange.form, exchange.charged
    headers = reply_headers(ctx, request.method, outcome)
    if outcome.etag is not None and _matches(request.headers.get("If-None-Match"), outcome.etag):
        return Response(status=304, headers=headers)
    result = outcome.answer
    return Response(result.body, status=result.status, content_type=result.content_type, headers=headers)


def answer(
    ctx: Context,
    op: QueryRequest,
    method: str,
    accept: str | None,
    environ: dict[str, Any],
    exchange: Exchange,
) -> Outcome:
    """The query operation on ``op`` (a query given), from the result cache or the engine; what the
    request's observation needs goes into ``exchange``. Refusals and failures raise."""
    if op.query is None or not op.query.strip():
        raise HttpError(400, "missing_query", "the query is empty")
    client = exchange.client = ctx.identifier.identify(environ)
    default_graphs, named_graphs = _dataset(ctx, op)
    base = _base_iri(environ)
    # before any engine sees it: nested or joined enough, a query crashes or stalls the engine
    limits = ctx.settings.query_limits
    try:
        limits.check_length(len(op.query))
        query_shape, normal, complexity = _read_query(op.query, base)
        if query_shape.form == "UPDATE":
            raise _update_refused()
        limits.check(complexity)
    except QueryTooComplex as exc:
        events.record(events.QUERY_REFUSED, limit=exc.limit)
        raise
    ctx.services.check(query_shape, [*default_graphs, *named_graphs])
    exchange.form = query_shape.form or ""
    chosen = _choose(query_shape.form in ("CONSTRUCT", "DESCRIBE"), accept, op.formats)
    names_graphs = bool(default_graphs or named_graphs or query_shape.dataset_iris)
    # Our default dataset is the union (unless configured otherwise), but FROM/FROM NAMED in the
    # query, like the protocol's graph URIs, define the dataset themselves (SPARQL 1.1 Query §13.2).
    union = ctx.settings.union_default_graph and not names_graphs
    text = f"BASE <{base}>\n{op.query}"
    cache = ctx.cache
    key: Key | None = None
    version = ""
    if cache.enabled and not query_shape.services and not query_shape.volatile:
        version = ctx.version.token()
        key = (base, normal, chosen.media_type, (*default_graphs,), (*named_graphs,), union)
        entry = cache.get(key, version)
        ctx.metrics.cache_lookup("sparql", entry is not None)
        if entry is not None:
            ctx.budgets.admit(client, cached=True)
            return Outcome(entry.response, entry.etag, "hit")
    ctx.budgets.admit(client)
    exchange.charged = True
    result = _run(
        ctx, client, text, query_shape.form or "", chosen.media_type, default_graphs, named_graphs, union
    )
    if key is None:
        return Outcome(result, None, "miss")
    return Outcome(result, cache.put(key, version, result).etag, "miss")


def _run(
    ctx: Context,
    client: Client,
    text: str,
    form: str,
    accept: str,
    default_graphs: list[str],
    named_graphs: list[str],
    union: bool,
) -> EngineResponse:
    """The engine's answer; the client is charged its engine time, and more if it timed out."""
    started = time.perf_counter()
    try:
        result = _query_with_base(
            ctx,
            text,
            accept=accept,
            default_graphs=default_graphs,
            named_graphs=named_graphs,
            union_default_graph=union,
        )
    except QueryQuarantined:
        ctx.budgets.charge(client, time.perf_counter() - started, failed=True)
        events.record(events.QUERY_REFUSED, limit="query_quarantined")
        raise
    except QueryTimeout as exc:
        elapsed = time.perf_counter() - started
        ctx.budgets.charge(client, elapsed, failed=True, timed_out=True, killed=exc.stuck)
        ctx.metrics.timeouts.inc()
        if exc.stuck:  # the engine is killed to stop it (kg.engine.process)
            events.record(events.ENGINE_KILLED, reason="stuck")
        raise
    except KGError:
        ctx.budgets.charge(client, time.perf_counter() - started, failed=True)
        raise
    elapsed = time.perf_counter() - started
    ctx.budgets.charge(client, elapsed, failed=False)
    ctx.metrics.engine_seconds.labels(form).observe(elapsed)
    return result


def reply_headers(ctx: Context, method: str, outcome: Outcome) -> dict[str, str]:
    """The result's headers besides its type and length: ``Vary``, ``X-Cache``, for GET
    ``Cache-Control``, and the ETag (weak: same query, same data version) of a cacheable result.
    A client's ``If-None-Match`` naming it is answered ``304 Not Modified``."""
    headers = {"Vary": "Accept", "X-Cache": outcome.cached}
    if method in ("GET", "HEAD"):
        max_age = ctx.settings.cache_max_age_s
        headers["Cache-Control"] = f"public, max-age={max_age}" if max_age > 0 else "public, no-cache"
    if outcome.etag is not None:
        headers["ETag"] = outcome.etag
    return headers


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison, ``*`` matches any current representation."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


# (base, query) -> its shape, normal form and complexity
_READ: dict[tuple[str, str], tuple[Shape, Normal, Complexity]] = {}


def _read_query(query: str, base: str) -> tuple[Shape, Normal, Complexity]:
    """The query's shape, normal form and complexity (:func:`kg.rdf.reading.read_query`, which
    remembers what a template's texts share), remembered per text for a while: a client that repeats
    a query sends the same text."""
    found = _READ.get((base, query))
    if found is None:
        found = read_query(query, base)
        if len(_READ) >= 4096:
            _READ.clear()
        _READ[(base, query)] = found
    return found


_CHOICES: dict[tuple[bool, str | None, tuple[str, ...]], Format] = {}  # a few distinct Accept headers


def _choose(graph: bool, accept: str | None, formats: list[str]) -> Format:
    """:func:`negotiation.choose`, remembered per Accept header (clients send the same one each time)."""
    key = (graph, accept, tuple(formats))
    chosen = _CHOICES.get(key)
    if chosen is None:
        chosen = negotiation.choose(negotiation.GRAPHS if graph else negotiation.RESULTS, accept, formats)
        if len(_CHOICES) > 256:
            _CHOICES.clear()
        _CHOICES[key] = chosen
    return chosen


_BASES: dict[tuple[str, ...], str] = {}  # the endpoint's URL per scheme, Host and path, checked once


def _base_iri(environ: dict[str, Any]) -> str:
    """The endpoint's URL, the base IRI of its queries (SPARQL 1.1 Query §4.1.1.1: the service defines
    it; the Protocol allows the endpoint's). Its Host part is the client's: checked to make an IRI."""
    key = (
        environ.get("wsgi.url_scheme", ""),
        environ.get("HTTP_HOST", ""),
        environ.get("SERVER_NAME", ""),
        str(environ.get("SERVER_PORT", "")),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
    )
    base = _BASES.get(key)
    if base is None:
        base = get_current_url(environ, strip_querystring=True)
        if not _IRIREF.fullmatch(base) or not urlsplit(base).netloc:
            raise HttpError(400, "bad_request", "the request's Host header does not make a valid IRI")
        if len(_BASES) > 256:
            _BASES.clear()
        _BASES[key] = base
    return base


_ERROR_AT = re.compile(r"error at (\d+):(\d+)")
_IRIREF = re.compile(r'[^<>"{}|^`\\\x00-\x20]*')  # https://www.w3.org/TR/sparql11-query/#rIRIREF


def _query_with_base(ctx: Context, text: str, **kwargs: Any) -> EngineResponse:
    """Run ``text``, a query behind its ``BASE`` line (the engine would otherwise resolve relative
    IRIs against its own internal URL); that line is taken out of error positions."""
    try:
        return ctx.engine.query(text, **kwargs)
    except QuerySyntaxError as exc:
        position = exc.position
        if not position or position.get("line", 0) < 2:
            raise
        line = position["line"] - 1
        message = _ERROR_AT.sub(lambda m: f"error at {int(m.group(1)) - 1}:{m.group(2)}", str(exc), count=1)
        raise QuerySyntaxError(message, position={**position, "line": line}) from exc
