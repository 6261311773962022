"""Guarded writes over HTTP: SPARQL 1.1 Update, the Graph Store Protocol, a dry-run validator, the change log.

Routes (every write needs ``Authorization: Bearer <token>``; see :mod:`kg.changes.tokens`):

* ``POST /update`` — SPARQL 1.1 Update (https://www.w3.org/TR/sparql11-protocol/#update-operation):
  ``application/sparql-update`` body or form ``update=``; ``using-graph-uri`` /
  ``using-named-graph-uri`` honoured.
* ``/store`` — the Graph Store HTTP Protocol (https://www.w3.org/TR/sparql11-http-rdf-update/),
  indirect identification (``?graph=IRI`` or ``?default``): GET, HEAD, PUT, POST, DELETE. A POST
  without either creates a new graph from a triples body (``201 Created``, its IRI in ``Location``,
  §5.5), or adds a TriG/N-Quads body's quads to their own graphs. A POST body may be
  ``multipart/form-data``: the RDF merge of its file parts (§5.5).
  ``/graph/<path>`` — direct identification: the graph ``<base>graph/<path>``.
* ``POST /validate`` — the dry run: RDF (any format, ``?graph=`` for triples) or a SPARQL Update;
  the report for current graph + change + inferences; nothing is stored. Always ``200`` when the
  check ran (the request succeeded), with ``conforms`` true or false — pySHACL's convention.
* ``GET /changes`` (JSON, newest first; a browser is sent to ``/history``), ``GET /changes/<id>``,
  ``POST /changes/<id>/revert`` (admin).
* ``GET /proposals``, ``GET /proposals/<id>``, ``POST /proposals/<id>/approve`` (admin),
  ``POST /proposals/<id>/reject`` (admin, with a reason): changes awaiting review. With
  ``review_writes``, the writes of a writer's token are stored as proposals (``202 Accepted``, the
  proposal's ``Location``) instead of being committed (:mod:`kg.changes.proposals`).

A change that violates a shape: ``422`` with the report (JSON with SHACL field names and a sentence
per result in English or Russian by ``Accept-Language``, or Turtle by ``Accept``); nothing changed.
Warnings come back with the ``2xx``. Headers ``X-Change-Source`` and ``X-Change-Comment`` are recorded.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pyoxigraph as ox
from flask import Blueprint, Response, json, redirect, request
from rdflib import Graph

from kg.changes import proposals
from kg.changes.proposals import Proposals
from kg.changes.tokens import Principal
from kg.changes.writer import Change, Outcome, Writer
from kg.checks.report import Report
from kg.errors import ChangeRejected, Forbidden, KGError, NotFound, UsageError
from kg.rdf.formats import RDF_FORMATS, Format, rdf_format, rdf_format_of_media_type
from kg.rdf.parsing import parse_bytes
from server.core.context import context
from server.core.errors import HttpError, report_language, report_response
from server.core.negotiation import parse_accept, quality

bp = Blueprint("writes", __name__)

UPDATE_TYPE = "application/sparql-update"
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"


# --- helpers ------------------------------------------------------------------------------------


def _writer() -> Writer:
    writer = context().writer
    if writer is None:
        raise HttpError(
            403,
            "read_only",
            "this service is read-only: no write tokens are configured (see `alatau-kg token add`)",
        )
    return writer


def _principal(role: str = "writer") -> Principal:
    _writer()  # a read-only service says so before asking for credentials
    tokens = context().tokens
    principal = tokens.authenticate(request.headers.get("Authorization"))
    if not principal.may(role):
        raise Forbidden(f"the token {principal.name!r} has the role {principal.role!r}; this needs {role!r}")
    return principal


def _media_type() -> str:
    return (request.mimetype or "").lower()


def _body_format() -> Format:
    media = _media_type()
    if not media:
        raise HttpError(415, "unsupported_media_type", "send the body's media type in Content-Type")
    fmt = rdf_format_of_media_type(media)
    if fmt is None:
        raise HttpError(
            415,
            "unsupported_media_type",
            f"{media} is not an RDF format this service reads "
            "(Turtle, TriG, N-Triples, N-Quads, JSON-LD, RDF/XML)",
        )
    return fmt


def _graph_param(direct_path: str | None = None) -> tuple[bool, str | None]:
    """(a graph was named, its IRI or None for the default graph)."""
    if direct_path is not None:
        return True, context().names.base + "graph/" + direct_path
    graphs = request.args.getlist("graph")
    default = "default" in request.args
    if len(graphs) > 1 or (graphs and default):
        raise HttpError(400, "bad_request", "name one graph: ?graph=IRI or ?default")
    if graphs:
        iri = graphs[0]
        if not iri or " " in iri or iri.startswith("file:"):
            raise HttpError(400, "bad_request", f"not a usable graph IRI: {iri!r}")
        return True, iri
    return default, None


def _outcome_response(outcome: Outcome, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(
        json.dumps(outcome.to_dict(report_language()), ensure_ascii=False) + "\n",
        status=status if outcome.change_iri else 200,
        mimetype="application/json",
    )
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def _submit(change: Change, principal: Principal) -> Outcome:
    writes = context().metrics.writes
    try:
        outcome = _writer().submit(
            change,
            agent=principal.name,
            source=request.headers.get("X-Change-Source", "")[:500],
            comment=request.headers.get("X-Change-Comment", "")[:2000],
        )
    except KGError:
        writes.labels("refused").inc()
        raise
    writes.labels("accepted").inc()
    return outcome


def _publish(
    change: Change,
    principal: Principal,
    intent: tuple[str, dict[str, Any]],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Commit the change, or, under the review rule (``review_writes``) and for a writer's token,
    store it as a proposal an admin approves: ``202 Accepted`` with the proposal's ``Location``.
    ``intent`` is what the proposal plans again at approval: (kind, payload)."""
    if not context().settings.review_writes or principal.may("admin"):
        return _outcome_response(_submit(change, principal), status=status, headers=headers)
    writer = _writer()
    checked = writer.check(change)
    report = checked.report if checked is not None else Report(True, [], Graph())
    if not report.conforms:
        raise ChangeRejected(report)
    if change.empty:
        return _outcome_response(Outcome(None, 0, 0, 0, 0, report))
    kind, payload = intent
    proposal = _proposals().create(
        author=principal.name,
        kind=kind,
        operation=change.operation,
        payload=payload,
        summary=request.headers.get("X-Change-Comment", "")[:2000],
        source=request.headers.get("X-Change-Source", "")[:500],
        entities=sorted(
            {q.subject.value for q in change.added | change.removed if isinstance(q.subject, ox.NamedNode)}
        )[:500],
        counts=(len(change.added), len(change.removed)),
    )
    body = {
        "proposal": proposal.id,
        "status": proposal.status,
        "location": f"/proposals/{proposal.id}",
        "added": len(change.added),
        "removed": len(change.removed),
        "report": report.to_dict(report_language()),
    }
    return Response(
        json.dumps(body, ensure_ascii=False) + "\n",
        status=202,
        mimetype="application/json",
        headers={"Location": f"/proposals/{proposal.id}"},
    )


def _proposals() -> Proposals:
    found = context().proposals
    if found is None:
        raise HttpError(
            403,
            "read_only",
            "this service is read-only: no write tokens are configured (see `alatau-kg token add`)",
        )
    return found


# --- SPARQL Update ------------------------------------------------------------------------------


def _update_request() -> tuple[str, list[str], list[str]]:
    media = _media_type()
    if media == UPDATE_TYPE:
        text = request.get_data(as_text=False)
        params = request.args
    elif media == FORM_TYPE:
        params = request.form
        values = params.getlist("update")
        if len(values) != 1:
            raise HttpError(400, "bad_request", "send exactly one update= parameter")
        text = values[0].encode("utf-8")
    else:
        raise HttpError(
            415, "unsupported_media_type", f"an update is sent as {UPDATE_TYPE} or {FORM_TYPE}, not {media!r}"
        )
    try:
        sparql = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HttpError(400, "bad_request", "the update is not UTF-8") from exc
    if not sparql.strip():
        raise HttpError(400, "missing_update", "the update is empty")
    using = params.getlist("using-graph-uri")
    using_named = params.getlist("using-named-graph-uri")
    return sparql, using, using_named


@bp.route("/update", methods=["POST"])
def update() -> Response:
    principal = _principal()
    sparql, using, using_named = _update_request()
    # relative IRIs resolve against the update endpoint's URL, as a query's against /sparql's
    change = _writer().plan_update(sparql, using=using, using_named=using_named, base=request.base_url)
    return _publish(change, principal, ("update", proposals.update_payload(sparql, using, using_named)))


# --- Graph Store Protocol -----------------------------------------------------------------------


def _graph_read(graph: str | None) -> Response:
    writer = _writer() if context().writer is not None else None
    names = context().names
    fmt_name = _choose_rdf()
    if writer is not None:
        if graph and not writer.graph_exists(graph):
            raise NotFound(f"no graph <{graph}>")
        quads = writer.graph_quads(graph)
    else:
        engine = context().engine
        if graph and graph not in engine.graph_counts():
            raise NotFound(f"no graph <{graph}>")
        where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
        body = engine.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {where} }}", accept="application/n-triples")
        quads = list(ox.parse(body.body, format=ox.RdfFormat.N_TRIPLES))
    skolem = writer.skolem_base if writer is not None else None
    if skolem:  # the Skolem IRIs minted for blank nodes are served as blank nodes again (RDF 1.1 §3.5)
        quads = [
            ox.Quad(_unskolem(q.subject, skolem), q.predicate, _unskolem(q.object, skolem)) for q in quads
        ]
    store = ox.Store()
    store.extend(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
    data = bytes(
        store.dump(format=fmt_name.ox, from_graph=ox.DefaultGraph(), prefixes=names.prefixes()) or b""
    )
    # HEAD too gets the body here: werkzeug leaves it out of a HEAD answer and keeps its Content-Length
    return Response(data, mimetype=fmt_name.media_types[0], headers={"Vary": "Accept"})


def _unskolem(term: Any, skolem_base: str) -> Any:
    if isinstance(term, ox.NamedNode) and term.value.startswith(skolem_base):
        label = term.value[len(skolem_base) :]
        if label.isalnum():
            return ox.BlankNode(label)
    return term


def _choose_rdf() -> Format:
    options = ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"]
    if request.args.get("format"):
        return rdf_format(request.args["format"])
    accept = request.headers.get("Accept", "")
    if not accept.strip():
        return rdf_format("turtle")
    # RFC 9110 §12.5.1, as for query results: "text/turtle; charset=utf-8" asks for Turtle (werkzeug's
    # best_match would want the parameter on the offer too, and answer 406)
    ranges = parse_accept(accept)
    best, best_q = None, 0.0
    for media_type in options:
        q = quality(ranges, [media_type])
        if q > best_q:
            best, best_q = media_type, q
    if best is None:
        raise HttpError(
            406, "not_acceptable", "a graph is served as " + ", ".join(options), available=options
        )
    fmt = rdf_format_of_media_type(best)
    assert fmt is not None
    return fmt


def _body_quads(graph: str | None, *, named: bool) -> list[ox.Quad]:
    if _media_type() == MULTIPART_TYPE and request.method == "POST":
        quads = _multipart_quads(graph)
    else:
        fmt = _body_format()
        data = request.get_data()
        quads = parse_bytes(
            data,
            fmt,
            source="request body",
            base_iri=graph or None,
            max_depth=context().settings.max_document_depth,
        )
    if named and any(not isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
        raise HttpError(
            400, "bad_request", "the body names graphs: send a TriG/N-Quads dataset to /store without ?graph"
        )
    return quads


def _multipart_quads(graph: str | None) -> list[ox.Quad]:
    """The RDF merge of a ``multipart/form-data`` body's file parts (Graph Store Protocol §5.5): each
    part parsed by its own Content-Type (or file extension), its blank nodes kept apart from the
    other parts'."""
    if request.form:
        raise HttpError(
            400, "bad_request", "send each RDF document as a file part (with a filename and a Content-Type)"
        )
    parts = list(request.files.values())
    if not parts:
        raise HttpError(400, "bad_request", "the multipart/form-data body has no file part")
    quads: list[ox.Quad] = []
    for number, part in enumerate(parts, 1):
        fmt = rdf_format_of_media_type(part.mimetype or "")
        if fmt is None:
            extension = (part.filename or "").rsplit(".", 1)[-1].lower()
            fmt = next((f for f in RDF_FORMATS if extension in f.extensions), None)
        if fmt is None:
            raise HttpError(
                415,
                "unsupported_media_type",
                f"part {number} ({part.filename!r}, {part.mimetype}) is not an RDF format this service reads",
            )
        parsed = parse_bytes(
            part.read(),
            fmt,
            source=f"part {number} of the request body",
            base_iri=graph,
            max_depth=context().settings.max_document_depth,
        )
        fresh: dict[ox.BlankNode, ox.BlankNode] = {}

        def apart(term: Any, fresh: dict[ox.BlankNode, ox.BlankNode] = fresh) -> Any:
            return fresh.setdefault(term, ox.BlankNode()) if isinstance(term, ox.BlankNode) else term

        quads += [ox.Quad(apart(q.subject), q.predicate, apart(q.object), q.graph_name) for q in parsed]
    return quads


def _graph_store(direct_path: str | None = None) -> Response:
    named, graph = _graph_param(direct_path)
    method = request.method
    if method in ("GET", "HEAD"):
        if not named:
            raise HttpError(400, "bad_request", "name the graph: ?graph=IRI or ?default")
        return _graph_read(graph)
    principal = _principal()
    writer = _writer()
    if method == "DELETE":
        if not named:
            raise HttpError(400, "bad_request", "name the graph to delete: ?graph=IRI or ?default")
        change = writer.plan_graph(graph, [], mode="delete")
        return _publish(change, principal, ("graph", proposals.graph_payload(graph, [], "delete")))
    if method == "PUT":
        if not named:
            raise HttpError(400, "bad_request", "name the graph to replace: ?graph=IRI or ?default")
        existed = writer.graph_exists(graph) and bool(graph)
        body = _body_quads(graph, named=True)
        change = writer.plan_graph(graph, body, mode="replace")
        intent = ("graph", proposals.graph_payload(graph, body, "replace"))
        return _publish(change, principal, intent, status=200 if existed or not graph else 201)
    if method == "POST":
        if named:
            existed = writer.graph_exists(graph) and bool(graph)
            body = _body_quads(graph, named=True)
            change = writer.plan_graph(graph, body, mode="add")
            intent = ("graph", proposals.graph_payload(graph, body, "add"))
            return _publish(change, principal, intent, status=200 if existed or not graph else 201)
        # POST to the Graph Store itself (§5.5): triples make a new graph, whose IRI the answer gives
        # (201 Created, Location); a dataset's quads go to their own graphs.
        new_graph = writer.new_graph_iri()
        quads = _body_quads(new_graph, named=False)
        if quads and all(isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
            change = writer.plan_graph(new_graph, quads, mode="add")
            intent = ("graph", proposals.graph_payload(new_graph, quads, "add"))
            return _publish(change, principal, intent, status=201, headers={"Location": new_graph})
        return _publish(writer.plan_quads(quads), principal, ("quads", proposals.quads_payload(quads)))
    raise HttpError(405, "method_not_allowed", f"{method} is not allowed here")


GSP_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]


@bp.route("/store", methods=GSP_METHODS)
def store_indirect() -> Response:
    return _graph_store()


@bp.route("/graph/<path:path>", methods=GSP_METHODS)
def store_direct(path: str) -> Response:
    return _graph_store(unquote(path))


# --- the dry run --------------------------------------------------------------------------------


@bp.route("/validate", methods=["POST"])
def validate() -> Response:
    writer = _writer()
    media = _media_type()
    if media in (UPDATE_TYPE, FORM_TYPE):
        sparql, using, using_named = _update_request()
        change = writer.plan_update(sparql, using=using, using_named=using_named, base=request.base_url)
    else:
        named, graph = _graph_param()
        if named:
            change = writer.plan_graph(graph, _body_quads(graph, named=True), mode="add")
        else:
            quads = _body_quads(None, named=False)
            pending = ox.NamedNode(context().names.source_graph_base + "pending")
            change = writer.plan_quads(
                ox.Quad(q.subject, q.predicate, q.object, pending)
                if isinstance(q.graph_name, ox.DefaultGraph)
                else q
                for q in quads
            )
    checked = writer.check(change)
    report = checked.report if checked is not None else Report(True, [], Graph())
    return report_response(report, 200)


# --- the change log -----------------------------------------------------------------------------


def _change_id(iri: str | None) -> str:
    return (iri or "").rsplit("/", 1)[-1]


@bp.route("/changes", methods=["GET"])
def changes() -> Response:
    writer = _writer() if context().writer is not None else None
    limit = min(int(request.args.get("limit", "100") or 100), 1000)
    rows: list[dict[str, Any]] = writer.changes(limit) if writer is not None else []
    for row in rows:
        row["id"] = _change_id(row["change"])
        row["path"] = f"/changes/{row['id']}"
        row["reverts_id"] = _change_id(row.get("reverts"))
        row["reverts_path"] = f"/changes/{row['reverts_id']}"
    ranges = parse_accept(request.headers.get("Accept", "") or "*/*")
    if quality(ranges, ("text/html",)) > quality(ranges, ("application/json",)):
        return redirect("/history", code=303)  # type: ignore[return-value]  # the page for people
    return Response(json.dumps({"changes": rows}, ensure_ascii=False) + "\n", mimetype="application/json")


@bp.route("/changes/<change_id>", methods=["GET"])
def change(change_id: str) -> Response:
    writer = _writer()
    iri = f"{context().names.base}id/change/{change_id}"
    quads = writer.change_quads(iri)
    body = {
        "change": iri,
        "added": sorted(str(q) for q in quads.added),
        "removed": sorted(str(q) for q in quads.removed),
    }
    return Response(json.dumps(body, ensure_ascii=False) + "\n", mimetype="application/json")


@bp.route("/changes/<change_id>/revert", methods=["POST"])
def revert(change_id: str) -> Response:
    principal = _principal("admin")
    writer = _writer()
    iri = f"{context().names.base}id/change/{change_id}"
    outcome = writer.revert(iri, agent=principal.name, comment=request.headers.get("X-Change-Comment", ""))
    return _outcome_response(outcome)


# --- proposals (the review rule) ----------------------------------------------------------------


@bp.route("/proposals", methods=["GET"])
def proposal_list() -> Response:
    """Proposals, newest first: all of them for an admin's token, one's own for a writer's."""
    principal = _principal()
    status = request.args.get("status") or None
    if status is not None and status not in proposals.STATUSES:
        raise HttpError(400, "bad_request", f"status is one of {', '.join(proposals.STATUSES)}")
    author = None if principal.may("admin") else principal.name
    found = _proposals().list(author=author, status=status, limit=1000)
    body = {"proposals": [p.to_dict() for p in found]}
    return Response(json.dumps(body, ensure_ascii=False) + "\n", mimetype="application/json")


def _visible_proposal(pid: str, principal: Principal) -> proposals.Proposal:
    found = _proposals().get(pid)
    if not principal.may("admin") and found.author != principal.name:
        raise NotFound(f"no proposal {pid}")
    return found


@bp.route("/proposals/<pid>", methods=["GET"])
def proposal(pid: str) -> Response:
    found = _visible_proposal(pid, _principal())
    body = {**found.to_dict(), "kind": found.kind, "payload": found.payload}
    return Response(json.dumps(body, ensure_ascii=False) + "\n", mimetype="application/json")


def _review_comment() -> str:
    text = request.headers.get("X-Change-Comment", "")
    if not text and _media_type() == FORM_TYPE:
        text = request.form.get("comment", "")
    return text.strip()[:4000]


@bp.route("/proposals/<pid>/approve", methods=["POST"])
def proposal_approve(pid: str) -> Response:
    """(admin) Plan the proposal again against the graph as it is, check it and commit it."""
    principal = _principal("admin")
    _, outcome = proposals.approve(_proposals(), _writer(), pid, principal.name, _review_comment())
    return _outcome_response(outcome)


@bp.route("/proposals/<pid>/reject", methods=["POST"])
def proposal_reject(pid: str) -> Response:
    """(admin) Reject a proposal, saying why (``X-Change-Comment`` or form ``comment``)."""
    principal = _principal("admin")
    comment = _review_comment()
    if not comment:
        raise UsageError("say why the proposal is rejected (X-Change-Comment, or a form field comment)")
    found = proposals.reject(_proposals(), pid, principal.name, comment)
    return Response(json.dumps(found.to_dict(), ensure_ascii=False) + "\n", mimetype="application/json")
