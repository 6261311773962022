"""The history of the data for people and feed readers, read from the public change log:

    GET /history            recent changes (Wikibase's Special:RecentChanges): who, when, which
                            source, why, how much; ``?agent=NAME`` for one steward's, ``?offset=``
    GET /history.atom       the same as an Atom feed (RFC 4287), the newest 50
    GET /history/<id>       one change: its statements added and removed (the diff, by label), the
                            inferences it added and withdrew, the comments of its proposal

and each entity's page shows its own changes (:func:`entity_history`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Blueprint, Response, request, url_for
from flask_babel import gettext

from kg.publish import history
from kg.publish.catalog import TITLE
from kg.publish.languages import pick
from kg.rdf.names import XSD
from server.core.errors import HttpError
from server.core.i18n import current_language, format_date, format_number, render_page
from server.linked.state import Linked, linked

bp = Blueprint("history", __name__)

PAGE = 50
ATOM = "http://www.w3.org/2005/Atom"


@dataclass
class DiffRow:
    kind: str  # added, removed, inferred, withdrawn
    subject: str
    subject_href: str
    property: str
    value: str
    value_href: str = ""


@dataclass
class ChangeRow:
    summary: history.ChangeSummary
    href: str
    when: str
    source: str = ""
    source_href: str = ""
    subject: str = ""
    subject_href: str = ""
    diff: list[DiffRow] = field(default_factory=list)
    comments: list[history.LoggedComment] = field(default_factory=list)


def action_word(action: str) -> str:
    """What a comment of a proposal was said with, in the reader's language."""
    return {
        "submit": gettext("proposed"),
        "comment": gettext("commented"),
        "approve": gettext("approved"),
        "reject": gettext("rejected"),
        "withdraw": gettext("withdrew"),
    }.get(action, action)


def _label(state: Linked, iri: str, lang: str, own: dict[str, str] | None = None) -> str:
    if own and iri in own:
        return own[iri]
    found = pick(state.labels().get(iri, []), lang)
    return found.value if found else iri.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def _when(stamp: str, lang: str) -> str:
    day = format_date(stamp[:10], XSD + "date", lang) if len(stamp) >= 10 else stamp
    return f"{day}, {stamp[11:16]} UTC" if len(stamp) >= 16 else day


def change_row(state: Linked, summary: history.ChangeSummary, lang: str) -> ChangeRow:
    row = ChangeRow(summary, url_for("history.change", change_id=summary.id), _when(summary.time, lang))
    if summary.source and summary.source.startswith(("http://", "https://")):
        row.source, row.source_href = _label(state, summary.source, lang), state.page_href(summary.source)
    elif summary.source:
        row.source = summary.source
    if summary.subject:
        row.subject, row.subject_href = _label(state, summary.subject, lang), state.page_href(summary.subject)
    return row


def diff_rows(state: Linked, statements: list[history.Statement], lang: str) -> list[DiffRow]:
    kinds = {
        "addition": "added",
        "removal": "removed",
        "inferredAddition": "inferred",
        "inferredRemoval": "withdrawn",
    }
    own: dict[str, str] = {}
    for s in statements:  # labels the change itself gives (of nodes it made or removed)
        node, o = s.quad.subject, s.quad.object
        if (
            s.quad.predicate.value.endswith("#label")
            and isinstance(o, ox.Literal)
            and isinstance(node, ox.NamedNode)
        ) and (node.value not in own or (o.language or "") == lang):
            own[node.value] = o.value
    rows = []
    for s in statements:
        subject = s.quad.subject.value if isinstance(s.quad.subject, ox.NamedNode) else str(s.quad.subject)
        o = s.quad.object
        if isinstance(o, ox.NamedNode):
            value, href = _label(state, o.value, lang, own), state.page_href(o.value)
        elif isinstance(o, ox.Literal):
            kind = o.datatype.value[len(XSD) :] if o.datatype.value.startswith(XSD) else ""
            if o.language:
                value = f"{o.value} @{o.language}"
            elif kind in ("integer", "decimal"):
                value = format_number(o.value, lang)
            elif kind in ("date", "gYearMonth"):
                value = format_date(o.value, o.datatype.value, lang)
            else:
                value = o.value
            href = ""
        else:
            value, href = str(o), ""
        property_label = _label(state, s.quad.predicate.value, lang)
        rows.append(
            DiffRow(
                kinds.get(s.kind, s.kind),
                _label(state, subject, lang, own),
                state.page_href(subject),
                property_label[:1].upper() + property_label[1:],
                value,
                href,
            )
        )
    order = {"added": 0, "removed": 1, "inferred": 2, "withdrawn": 3}
    rows.sort(key=lambda r: (order.get(r.kind, 9), r.subject, r.property, r.value))
    return rows


def entity_history(state: Linked, iri: str, lang: str, limit: int = 20) -> list[ChangeRow]:
    """The changes of one entity, newest first, each with its statements about the entity (and about
    the nodes the same change links it to: its capacity, its status record)."""
    summaries = history.of_entity(state.engine, state.names, iri, limit=limit)
    statements = history.statements(
        state.engine, state.names, [s.iri for s in summaries], about=iri, limit=2000
    )
    rows = []
    for summary in summaries:
        row = change_row(state, summary, lang)
        row.diff = diff_rows(state, [s for s in statements if s.change == summary.iri], lang)
        rows.append(row)
    return rows


@bp.get("/history")
def recent() -> Response:
    state, lang = linked(), current_language()
    try:
        offset = max(0, int(request.args.get("offset", "0") or 0))
    except ValueError as exc:
        raise HttpError(400, "bad_request", "offset is a number") from exc
    agent = request.args.get("agent", "").strip()
    if agent and not agent.replace("-", "").replace(".", "").replace("_", "").isalnum():
        raise HttpError(400, "bad_request", f"not a steward's name: {agent!r}")
    summaries = history.recent(state.engine, state.names, limit=PAGE + 1, offset=offset, agent=agent or None)
    rows = [change_row(state, s, lang) for s in summaries[:PAGE]]
    return render_page(
        "history.html",
        title=gettext("Recent changes"),
        rows=rows,
        agent=agent,
        offset=offset,
        newer=max(0, offset - PAGE) if offset else None,
        older=offset + PAGE if len(summaries) > PAGE else None,
    )


@bp.get("/history/<change_id>")
def change(change_id: str) -> Response:
    state, lang = linked(), current_language()
    if not change_id.replace("-", "").replace(".", "").replace("T", "").replace("Z", "").isalnum():
        raise HttpError(404, "not_found", f"no change {change_id}")
    iri = f"{state.names.base}id/change/{change_id}"
    detail = history.change(state.engine, state.names, iri)
    if detail is None:
        raise HttpError(404, "not_found", f"no change {change_id}")
    row = change_row(state, detail.summary, lang)
    row.diff = diff_rows(state, detail.statements, lang)
    row.comments = detail.comments
    return render_page(
        "history_change.html",
        title=gettext("Change %(number)s", number=detail.summary.sequence or change_id),
        row=row,
        action_word=action_word,
        truncated=detail.truncated,
        iri=iri,
    )


@bp.get("/history.atom")
def feed() -> Response:
    """The latest changes as an Atom feed (RFC 4287): one entry per change."""
    state, lang = linked(), current_language()
    summaries = history.recent(state.engine, state.names, limit=PAGE)
    root = ET.Element("feed", xmlns=ATOM)
    root.set("xml:lang", lang)
    ET.SubElement(root, "title").text = f"{TITLE[lang]} · {gettext('Recent changes')}"
    ET.SubElement(root, "id").text = state.names.base + "history"
    base = request.host_url.rstrip("/")
    ET.SubElement(root, "link", rel="self", href=base + url_for("history.feed"))
    ET.SubElement(root, "link", rel="alternate", type="text/html", href=base + url_for("history.recent"))
    newest = summaries[0].time if summaries else "2026-01-17T00:00:00Z"
    ET.SubElement(root, "updated").text = newest
    ET.SubElement(ET.SubElement(root, "author"), "name").text = "Alatau KG"
    for summary in summaries:
        row = change_row(state, summary, lang)
        entry = ET.SubElement(root, "entry")
        what = row.subject or summary.operation
        ET.SubElement(entry, "title").text = f"{what} — {summary.agent} (+{summary.added} −{summary.removed})"
        ET.SubElement(entry, "id").text = summary.iri
        ET.SubElement(entry, "updated").text = summary.time
        ET.SubElement(ET.SubElement(entry, "author"), "name").text = summary.agent
        ET.SubElement(entry, "link", rel="alternate", type="text/html", href=base + row.href)
        lines = [summary.comment or ""]
        if row.source:
            lines.append(f"{gettext('Source')}: {row.source}")
        if summary.approved_by:
            lines.append(f"{gettext('Approved by')}: {summary.approved_by}")
        ET.SubElement(entry, "summary").text = "\n".join(line for line in lines if line) or summary.operation
    body = ET.tostring(root, encoding="unicode", xml_declaration=False)
    response = Response('<?xml version="1.0" encoding="utf-8"?>\n' + body, mimetype="application/atom+xml")
    response.vary.add("Accept-Language")
    return response
