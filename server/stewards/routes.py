"""The stewards' pages (``/steward/…``): sign in with a token; create an entity of any shaped class
or edit one with a form generated from the shapes, validated while the steward types (the guard's
dry run, as ``/validate``) with a preview of the change; a writer's edit becomes a proposal an admin
approves (checked again against the graph as it is then) or rejects with a comment; admins' edits
are published at once.

    GET        /steward/                         the steward's desk: what to create, proposals
    GET, POST  /steward/sign-in                  the token, once; a session cookie
    POST       /steward/sign-out
    GET, POST  /steward/new?class=IRI            the form of a new entity (no class: the classes)
    GET, POST  /steward/edit?iri=IRI             the form of an existing entity
    POST       /steward/check                    the live check (JSON): messages by input, preview
    GET        /steward/lookup?q=…&class=IRI     entities by label, for the entity pickers (JSON)
    GET        /steward/proposals                the review queue (admins), one's own (writers)
    GET        /steward/proposals/<id>           a proposal: its change as it would be now, its report
    POST       /steward/proposals/<id>/approve   (admin) /reject (admin, with a comment)
    POST       /steward/proposals/<id>/withdraw  (its author) /comment

Every POST carries the session's CSRF token (:mod:`server.stewards.sessions`). A form whose values
cannot be read, or whose change the shapes refuse, comes back with the messages next to the fields
(422) and nothing is stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import pyoxigraph as ox
from flask import Blueprint, Response, jsonify, redirect, request
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeSerializer

from kg.changes import edits, proposals
from kg.changes.edits import Node, Patch, Problem, Source
from kg.changes.model import Change
from kg.changes.proposals import Proposal, Proposals
from kg.changes.writer import Writer
from kg.checks.forms import LABEL, Form
from kg.checks.guard import Checked
from kg.checks.report import Report
from kg.errors import ChangeRejected, Forbidden, KGError, NotFound, ProposalClosed, Unauthorized
from kg.publish import history
from kg.rdf.iris import is_iri
from kg.rdf.names import RDF_TYPE
from server.core.context import context
from server.core.errors import HttpError, error_response, status_of
from server.core.i18n import current_language, render_page
from server.core.negotiation import prefers_html
from server.linked.state import Linked, linked
from server.pages.history import action_word
from server.stewards import catalog, editing, sessions

bp = Blueprint("stewards", __name__, url_prefix="/steward")

# Where a form's facts would go while the steward has not named their source yet (checked, never stored)
UNNAMED_SOURCE = "id/source/unnamed"


def status_word(status: str) -> str:
    return {
        "pending": gettext("pending review"),
        "approved": gettext("approved"),
        "rejected": gettext("rejected"),
        "withdrawn": gettext("withdrawn"),
    }.get(status, status)


# --- around every request -----------------------------------------------------------------------------


@bp.before_request
def _guard() -> None:
    if request.method == "POST":
        sessions.check_csrf()


@bp.after_request
def _after(response: Response) -> Response:
    response = sessions.save(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.app_context_processor
def _steward_in_templates() -> dict[str, Any]:
    """Every page knows whether a steward is signed in (for the header's links and "Edit")."""
    try:
        ctx = context()
    except (KeyError, RuntimeError):
        return {}
    if ctx.writer is None or not request.cookies.get(sessions.COOKIE):
        return {"steward": None, "stewards_enabled": ctx.writer is not None}
    return {"steward": sessions.current(), "stewards_enabled": True, "csrf_token": sessions.csrf_token()}


@bp.context_processor
def _csrf_in_templates() -> dict[str, Any]:
    return {"csrf_token": sessions.csrf_token()}


def _error_page(exc: Exception) -> Response:
    if isinstance(exc, HttpError):
        status, code, message = exc.status, exc.code, exc.message
    elif isinstance(exc, KGError):
        status, code, message = status_of(exc), exc.code, str(exc)
    else:
        raise exc
    if (
        isinstance(exc, Unauthorized)
        and request.method == "GET"
        and prefers_html(request.headers.get("Accept", ""))
    ):
        return redirect(_sign_in_url(), code=303)  # type: ignore[return-value]
    if not prefers_html(request.headers.get("Accept", "")):
        if isinstance(exc, HttpError):
            return error_response(status, code, message, exc.headers, **exc.details)
        details = exc.to_dict() if isinstance(exc, KGError) else {}
        details.pop("error", None)
        details.pop("message", None)
        return error_response(status, code, message, **details)
    return render_page(
        "stewards/error.html", status=status, title=gettext("Not done"), code=code, message=message
    )


for _kind in (HttpError, KGError):
    bp.register_error_handler(_kind, _error_page)


def _sign_in_url() -> str:
    target = request.full_path if request.method == "GET" else "/steward/"
    return "/steward/sign-in?" + urlencode({"next": target.rstrip("?")})


def _writer() -> Writer:
    writer = context().writer
    if writer is None:
        raise HttpError(403, "read_only", "this service is read-only: no write tokens are configured")
    return writer


def _proposals() -> Proposals:
    found = context().proposals
    if found is None:
        raise HttpError(403, "read_only", "this service is read-only: no write tokens are configured")
    return found


def _steward(role: str = "writer") -> sessions.Steward:
    _writer()
    return sessions.require(role)


# --- signing in and out -------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path of this site (an open redirect would hand the session's user to another host)."""
    if not target:
        return "/steward/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/steward/"
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Response:
    _writer()
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if sessions.current() is not None:
            return redirect(target, code=303)  # type: ignore[return-value]
        return render_page("stewards/sign_in.html", title=gettext("Sign in"), next=target, problem="")
    token = request.form.get("token", "")
    try:
        sessions.sign_in(token)
    except (Unauthorized, Forbidden):
        # The token is not echoed back: the field comes back empty.
        return render_page(
            "stewards/sign_in.html",
            status=401,
            title=gettext("Sign in"),
            next=target,
            problem=gettext("This token is not valid here. Check it and try again."),
        )
    return redirect(target, code=303)  # type: ignore[return-value]


@bp.post("/sign-out")
def sign_out() -> Response:
    sessions.sign_out()
    return redirect("/home", code=303)  # type: ignore[return-value]


# --- the desk -----------------------------------------------------------------------------------------


@dataclass
class ProposalRow:
    proposal: Proposal
    href: str
    subject: str
    subject_href: str
    status: str


def _subject_label(state: Linked, p: Proposal, lang: str) -> str:
    """The proposal's entity by label: the graph's, or the one proposed for a new entity."""
    if not p.subject:
        return ""
    if state.labels().get(p.subject):
        return catalog.label(state, p.subject, lang)
    for candidate in (lang, "en", "ru", "kk"):
        if p.labels.get(candidate):
            return p.labels[candidate]
    return catalog.label(state, p.subject, lang)


def _proposal_rows(state: Linked, found: list[Proposal], lang: str) -> list[ProposalRow]:
    return [
        ProposalRow(
            p,
            f"/steward/proposals/{p.id}",
            _subject_label(state, p, lang),
            state.page_href(p.subject) if p.subject else "",
            status_word(p.status),
        )
        for p in found
    ]


@bp.get("/")
def desk() -> Response:
    steward = _steward()
    state, lang = linked(), current_language()
    store = _proposals()
    mine = _proposal_rows(state, store.list(author=steward.name, limit=20), lang)
    queue = _proposal_rows(state, store.list(status="pending", limit=50), lang) if steward.admin else []
    return render_page(
        "stewards/desk.html",
        title=gettext("Steward's desk"),
        classes=_class_choices(state, lang),
        mine=mine,
        queue=queue,
        counts=store.counts(),
    )


def _class_choices(state: Linked, lang: str) -> list[tuple[str, str]]:
    m = catalog.model(state)
    found = [(c, catalog.label(state, c, lang)) for c in m.classes]
    return sorted(found, key=lambda item: item[1].casefold())


# --- forms --------------------------------------------------------------------------------------------


@dataclass
class Planned:
    """A form's values planned as a change, and what the checks said of it."""

    form: Form
    original: Node | None
    patch: Patch | None
    problems: list[Problem] = field(default_factory=list)
    source_problems: dict[str, str] = field(default_factory=dict)
    source: Source | None = None
    change: Change | None = None
    checked: Checked | None = None

    @property
    def report(self) -> Report | None:
        return self.checked.report if self.checked is not None else None

    @property
    def acceptable(self) -> bool:
        report = self.report
        return (
            not self.problems
            and not self.source_problems
            and self.source is not None
            and (report is None or report.conforms)
            and self.change is not None
            and not self.change.empty
        )


def _original_serializer() -> URLSafeSerializer:
    secret = context().settings.session_secret or sessions.PROCESS_SECRET
    return URLSafeSerializer(secret, salt="alatau-kg steward form")


def _signed_original(cls: str, node: Node | None) -> str:
    triples = edits.managed_triples(node, with_types=True) if node is not None else set()
    data = {
        "class": cls,
        "iri": node.iri if node is not None else "",
        "triples": proposals.nquads(ox.Quad(s, p, o) for s, p, o in triples),
        "everything": {
            n.iri: proposals.nquads(ox.Quad(s, p, o) for s, p, o in n.everything)
            for n in (node.walk() if node is not None else [])
            if n.everything
        },
    }
    return _original_serializer().dumps(data)


def _read_original(form: Form, signed: str) -> tuple[str, Node | None]:
    """The entity as the form showed it when it was opened (signed by this service)."""
    try:
        data = _original_serializer().loads(signed)
    except BadSignature as exc:
        raise HttpError(400, "bad_request", "the form is damaged (its original values do not check)") from exc
    if not data.get("iri"):
        return data.get("class", ""), None
    triples = [(q.subject, q.predicate, q.object) for q in proposals.parse_nquads(data["triples"])]
    node = edits.current(form, data["iri"], triples)  # type: ignore[arg-type]
    for n in node.walk():
        if n.iri in data.get("everything", {}):
            quads = proposals.parse_nquads(data["everything"][n.iri])
            n.everything = {(q.subject, q.predicate, q.object) for q in quads}  # type: ignore[misc]
    return data.get("class", ""), node


def _current(state: Linked, form: Form, iri: str) -> Node:
    """The entity as the graph asserts it now, with its details nodes."""
    triples = catalog.asserted(state, [iri])
    details = {f.path for f in form.fields if f.kind == "details"}
    children = [o.value for _, p, o in triples if p.value in details and isinstance(o, ox.NamedNode)]
    for _ in range(2):
        if not children:
            break
        found = catalog.asserted(state, children)
        triples += found
        nested = {path for f in form.fields if f.details for path in (g.path for g in f.details.fields)}
        children = [o.value for _, p, o in found if p.value in nested and isinstance(o, ox.NamedNode)]
        children = [c for c in children if c not in {t[0].value for t in triples}]
    return edits.current(form, iri, triples)


def _form_of(state: Linked, cls: str) -> Form:
    m = catalog.model(state)
    if cls not in m.classes:
        raise HttpError(404, "not_found", f"no shape describes the class {cls}: there is no form for it")
    return m.forms.form(cls)


def _class_of(state: Linked, iri: str) -> str:
    """The most specific shaped class an entity is stated to be of."""
    m = catalog.model(state)
    stated = [
        o.value
        for _, p, o in catalog.asserted(state, [iri])
        if p.value == RDF_TYPE and isinstance(o, ox.NamedNode)
    ]
    shaped = [c for c in stated if c in m.classes]
    if not shaped:
        if not stated:
            raise NotFound(f"the graph states nothing about {iri}")
        raise HttpError(404, "not_found", f"no shape describes the classes of {iri}: there is no form for it")
    specific = [c for c in shaped if not any(o != c and c in m.forms.superclasses(o) for o in shaped)]
    return sorted(specific or shaped)[0]


def _plan(state: Linked, form: Form, original: Node | None, lang: str) -> Planned:
    writer = _writer()
    store = _proposals()
    m = catalog.model(state)
    data = request.form
    entered = editing.entered_from(form, data)
    source, source_problems = editing.source_of(state, editing.source_from(data), lang)
    names = state.names
    checking = source or Source(names.base + UNNAMED_SOURCE, names.source_graph_base + "unnamed")
    minter = edits.Minter(
        names, m.segments, m.forms.superclasses, lambda iri: state.exists(iri) or store.taken(iri)
    )
    patch, problems = edits.plan(
        form,
        entered,
        original,
        checking,
        minter=minter,
        labels=lambda iri: catalog.labels_by_language(state, iri),
        resolve=lambda text, classes: catalog.resolve(state, text, classes, lang),
        choices=lambda f: catalog.choices(state, f),
    )
    planned = Planned(form, original, patch, problems, source_problems, source)
    planned.change = writer.plan_patch(
        patch.added, patch.removed, operation="create" if original is None else "edit"
    )
    planned.checked = writer.check(planned.change)
    return planned


def _render_form(
    state: Linked,
    form: Form,
    original: Node | None,
    lang: str,
    *,
    planned: Planned | None = None,
    status: int = 200,
    notice: str = "",
) -> Response:
    if planned is not None:
        entered = editing.entered_from(form, request.form)
        source = editing.source_from(request.form)
        summary = request.form.get("summary", "")
    else:
        entered = editing.entered_of(original, state, lang) if original is not None else edits.Entered()
        source = editing.SourceEntered()
        summary = ""
    fv = editing.view(state, form, entered, lang, new=original is None)
    preview_rows: list[editing.PreviewRow] = []
    if planned is not None and planned.patch is not None:
        editing.attach(
            state,
            fv,
            report=planned.report,
            problems=planned.problems,
            nodes=planned.patch.nodes,
            source=planned.source.iri if planned.source is not None else None,
            lang=lang,
        )
        if planned.change is not None:
            preview_rows = _preview(state, planned, lang)
    m = catalog.model(state)
    steward = sessions.current()
    return render_page(
        "stewards/form.html",
        status=status,
        title=(
            gettext("Edit: %(name)s", name=catalog.label(state, original.iri, lang))
            if original
            else gettext("New: %(name)s", name=catalog.label(state, form.cls, lang))
        ),
        fv=fv,
        cls=form.cls,
        cls_label=catalog.label(state, form.cls, lang),
        entity=original.iri if original is not None else "",
        entity_href=state.page_href(original.iri) if original is not None else "",
        original=_signed_original(form.cls, original),
        sources=[(s.iri, catalog.label(state, s.iri, lang), s.date) for s in m.sources],
        source=source,
        source_problems=planned.source_problems if planned is not None else {},
        summary=summary,
        planned=planned,
        preview=preview_rows,
        notice=notice,
        admin=steward is not None and steward.admin,
        languages_offered=[("kk", "қазақша"), ("ru", "русский"), ("en", "English")],
        action=request.path,
    )


def _preview(state: Linked, planned: Planned, lang: str) -> list[editing.PreviewRow]:
    assert planned.change is not None
    checked = planned.checked
    own = editing.new_labels(planned.change.added, lang)
    own.setdefault(state.names.base + UNNAMED_SOURCE, gettext("(the source you will name)"))
    return editing.preview(
        state,
        planned.change.added,
        planned.change.removed,
        checked.inferred_added if checked is not None else (),  # type: ignore[arg-type]
        checked.inferred_removed if checked is not None else (),  # type: ignore[arg-type]
        lang,
        labels=own,
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response:
    _steward()
    state, lang = linked(), current_language()
    cls = request.values.get("class", "").strip()
    if not cls:
        return render_page(
            "stewards/classes.html", title=gettext("Create an entity"), classes=_class_choices(state, lang)
        )
    form = _form_of(state, cls)
    if request.method == "GET":
        return _render_form(state, form, None, lang)
    return _submit(state, form, None, lang)


@bp.route("/edit", methods=["GET", "POST"])
def edit() -> Response:
    _steward()
    state, lang = linked(), current_language()
    iri = request.values.get("iri", "").strip()
    if not iri or not is_iri(iri):
        raise HttpError(400, "bad_request", "name the entity to edit: /steward/edit?iri=IRI")
    if request.method == "GET":
        form = _form_of(state, _class_of(state, iri))
        return _render_form(state, form, _current(state, form, iri), lang)
    cls = request.form.get("class", "")
    form = _form_of(state, cls)
    _, original = _read_original(form, request.form.get("original", ""))
    if original is None or original.iri != iri:
        raise HttpError(400, "bad_request", "the form does not belong to this entity")
    return _submit(state, form, original, lang)


def _submit(state: Linked, form: Form, original: Node | None, lang: str) -> Response:
    steward = _steward()
    if original is None:
        signed_class, _ = _read_original(form, request.form.get("original", ""))
        if signed_class and signed_class != form.cls:
            raise HttpError(400, "bad_request", "the form does not belong to this class")
    planned = _plan(state, form, original, lang)
    if request.form.get("action") != "submit":  # the check without scripts: the form again, with the messages
        return _render_form(state, form, original, lang, planned=planned)
    if not planned.acceptable:
        notice = ""
        if planned.change is not None and planned.change.empty and not planned.problems:
            notice = gettext("Nothing to save: the form holds what the graph holds.")
        return _render_form(state, form, original, lang, planned=planned, status=422, notice=notice)
    assert planned.patch is not None and planned.change is not None and planned.source is not None
    summary = request.form.get("summary", "").strip()[:2000]
    patch = planned.patch
    if steward.admin and request.form.get("review") != "yes":
        try:
            _writer().submit(
                planned.change,
                agent=steward.name,
                source=planned.source.iri,
                comment=summary,
                annotate=proposals.subject_record(state.names, patch.subject),
            )
        except ChangeRejected as exc:  # the graph changed meanwhile: the form again, with the report
            planned.checked = Checked(set(), set(), set(), set(), exc.report, [])
            return _render_form(state, form, original, lang, planned=planned, status=422)
        return redirect(state.page_href(patch.subject), code=303)  # type: ignore[return-value]
    proposal = _proposals().create(
        author=steward.name,
        kind="patch",
        operation=planned.change.operation,
        payload=proposals.patch_payload(patch.added, patch.removed),
        summary=summary,
        source=planned.source.iri,
        subject=patch.subject,
        labels={
            q.object.language or "": q.object.value
            for q in patch.added
            if q.subject == ox.NamedNode(patch.subject)
            and q.predicate.value == LABEL
            and isinstance(q.object, ox.Literal)
        },
        entities=[patch.subject, *patch.nodes.values()],
        minted=patch.minted,
        counts=(len(planned.change.added), len(planned.change.removed)),
    )
    return redirect(f"/steward/proposals/{proposal.id}?submitted=1", code=303)  # type: ignore[return-value]


@bp.post("/check")
def check() -> Response:
    """The live check: the form's values planned and checked as a submission would be, nothing stored."""
    _steward()
    state, lang = linked(), current_language()
    form = _form_of(state, request.form.get("class", ""))
    original: Node | None = None
    if request.form.get("iri"):
        _, original = _read_original(form, request.form.get("original", ""))
    planned = _plan(state, form, original, lang)
    fv = editing.view(state, form, editing.entered_from(form, request.form), lang, new=original is None)
    assert planned.patch is not None
    placed = editing.attach(
        state,
        fv,
        report=planned.report,
        problems=planned.problems,
        nodes=planned.patch.nodes,
        source=planned.source.iri if planned.source is not None else None,
        lang=lang,
    )
    report = planned.report
    body = {
        "conforms": bool(report is None or report.conforms),
        "acceptable": planned.acceptable,
        "empty": bool(planned.change is None or planned.change.empty),
        "counts": {s: report.count(s) for s in ("Violation", "Warning", "Info")} if report else {},
        "messages": [{"name": name, "severity": m.severity, "text": m.text} for name, m in placed],
        "source": planned.source_problems,
        "preview": [row.__dict__ for row in _preview(state, planned, lang)],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


@bp.get("/lookup")
def lookup() -> Response:
    """Entities by label for the pickers: ``q`` (Kazakh letters folded), ``class`` (any of them)."""
    _steward()
    state, lang = linked(), current_language()
    classes = tuple(c for c in request.args.getlist("class") if is_iri(c))[:20]
    found = catalog.lookup(state, request.args.get("q", ""), classes, lang)
    return jsonify({"results": [c.__dict__ for c in found]})


# --- proposals ----------------------------------------------------------------------------------------


@bp.get("/proposals")
def proposal_list() -> Response:
    steward = _steward()
    state, lang = linked(), current_language()
    store = _proposals()
    status = request.args.get("status", "pending" if steward.admin else "")
    if status not in ("", *proposals.STATUSES):
        raise HttpError(400, "bad_request", f"unknown status {status!r}")
    author = None if steward.admin else steward.name
    found = store.list(author=author, status=status or None, limit=200)
    return render_page(
        "stewards/proposals.html",
        title=gettext("Review queue") if steward.admin else gettext("My proposals"),
        rows=_proposal_rows(state, found, lang),
        filter_status=status,
        statuses=[(s, status_word(s)) for s in proposals.STATUSES],
        counts=store.counts(),
    )


def _visible(pid: str) -> tuple[sessions.Steward, Proposal]:
    steward = _steward()
    proposal = _proposals().get(pid)
    if not steward.admin and proposal.author != steward.name:
        raise NotFound(f"no proposal {pid}")  # others' proposals are not shown to writers
    return steward, proposal


@bp.get("/proposals/<pid>")
def proposal_page(pid: str, *, status: int = 200, notice: str = "", report: Report | None = None) -> Response:
    steward, proposal = _visible(pid)
    state, lang = linked(), current_language()
    rows: list[editing.PreviewRow] = []
    problem = ""
    if proposal.pending:
        try:
            change = proposals.replan(_writer(), proposal)
            checked = _writer().check(change)
            if report is None and checked is not None:
                report = checked.report
            own = editing.new_labels(change.added, lang)
            rows = editing.preview(
                state,
                change.added,
                change.removed,
                checked.inferred_added if checked else (),  # type: ignore[arg-type]
                checked.inferred_removed if checked else (),  # type: ignore[arg-type]
                lang,
                labels=own,
            )
        except KGError as exc:
            problem = str(exc)
    elif proposal.status == "approved" and proposal.change:
        detail = history.change(state.engine, state.names, proposal.change)
        if detail is not None:
            rows = _statement_rows(state, detail.statements, lang)
    else:
        added = proposals.parse_nquads(proposal.payload.get("added", "")) if proposal.kind == "patch" else []
        removed = (
            proposals.parse_nquads(proposal.payload.get("removed", "")) if proposal.kind == "patch" else []
        )
        rows = editing.preview(state, added, removed, (), (), lang, labels=editing.new_labels(added, lang))
    messages = [(r.resultSeverity, _result_text(state, r, lang)) for r in report.results] if report else []
    return render_page(
        "stewards/proposal.html",
        status=status,
        title=gettext("Proposal %(id)s", id=proposal.id),
        p=proposal,
        status_word=status_word(proposal.status),
        subject=_subject_label(state, proposal, lang),
        subject_href=state.page_href(proposal.subject) if proposal.subject else "",
        source=catalog.label(state, proposal.source, lang) if proposal.source else "",
        source_href=state.page_href(proposal.source) if proposal.source else "",
        rows=rows,
        report=report,
        messages=messages,
        problem=problem,
        notice=notice
        or (gettext("Your proposal was sent for review.") if request.args.get("submitted") else ""),
        comments=[(c, action_word(c.action)) for c in proposal.comments],
        may_decide=steward.admin and proposal.pending,
        may_withdraw=proposal.author == steward.name and proposal.pending,
        change_href=f"/history/{proposal.change.rsplit('/', 1)[-1]}" if proposal.change else "",
        update_text=proposal.payload.get("update", "") if proposal.kind == "update" else "",
    )


def _result_text(state: Linked, result: Any, lang: str) -> str:
    focus = catalog.label(state, result.focusNode, lang)
    where = (
        f" — {editing.field_label(state, result.resultPath.split('/')[0], lang)}" if result.resultPath else ""
    )
    return f"{focus}{where}: {editing.result_message(result, lang)}"


def _statement_rows(
    state: Linked, statements: list[history.Statement], lang: str
) -> list[editing.PreviewRow]:
    kinds = {
        "addition": "added",
        "removal": "removed",
        "inferredAddition": "inferred",
        "inferredRemoval": "withdrawn",
    }
    added = [s.quad for s in statements if s.kind == "addition"]
    own = editing.new_labels(added, lang)
    rows = []
    for s in statements:
        subject = s.quad.subject.value if isinstance(s.quad.subject, ox.NamedNode) else str(s.quad.subject)
        rows.append(
            editing.PreviewRow(
                kinds[s.kind],
                own.get(subject) or catalog.label(state, subject, lang),
                state.page_href(subject),
                editing.field_label(state, s.quad.predicate.value, lang),
                editing.value_text(state, s.quad.object, lang, own),
            )
        )
    order = {"added": 0, "removed": 1, "inferred": 2, "withdrawn": 3}
    rows.sort(key=lambda r: (order[r.kind], r.subject, r.property, r.value))
    return rows


@bp.post("/proposals/<pid>/approve")
def approve(pid: str) -> Response:
    steward = _steward("admin")
    comment = request.form.get("comment", "").strip()[:4000]
    try:
        proposals.approve(_proposals(), _writer(), pid, steward.name, comment)
    except ChangeRejected as exc:
        notice = gettext("The shapes refuse this change as the graph is now: it was not published.")
        return proposal_page(pid, status=422, notice=notice, report=exc.report)
    except ProposalClosed as exc:
        return proposal_page(pid, status=409, notice=str(exc))
    return redirect(f"/steward/proposals/{pid}", code=303)  # type: ignore[return-value]


@bp.post("/proposals/<pid>/reject")
def reject(pid: str) -> Response:
    steward = _steward("admin")
    comment = request.form.get("comment", "").strip()[:4000]
    if not comment:
        return proposal_page(pid, status=422, notice=gettext("Say why the proposal is rejected."))
    try:
        proposals.reject(_proposals(), pid, steward.name, comment)
    except ProposalClosed as exc:
        return proposal_page(pid, status=409, notice=str(exc))
    return redirect(f"/steward/proposals/{pid}", code=303)  # type: ignore[return-value]


@bp.post("/proposals/<pid>/withdraw")
def withdraw(pid: str) -> Response:
    steward, proposal = _visible(pid)
    if proposal.author != steward.name:
        raise Forbidden("only its author withdraws a proposal")
    try:
        proposals.withdraw(_proposals(), pid, steward.name, request.form.get("comment", "").strip()[:4000])
    except ProposalClosed as exc:
        return proposal_page(pid, status=409, notice=str(exc))
    return redirect(f"/steward/proposals/{pid}", code=303)  # type: ignore[return-value]


@bp.post("/proposals/<pid>/comment")
def comment(pid: str) -> Response:
    steward, _ = _visible(pid)
    text = request.form.get("comment", "").strip()[:4000]
    if not text:
        return proposal_page(pid, status=422, notice=gettext("The comment is empty."))
    _proposals().comment(pid, steward.name, text)
    return redirect(f"/steward/proposals/{pid}#comments", code=303)  # type: ignore[return-value]
