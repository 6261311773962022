"""A form of the stewards' pages between HTML and the library: the posted fields read into entries
(:class:`kg.changes.edits.Entered`), the views the templates render (a :class:`FieldView` per
field, a :class:`NodeView` per node), the validation report and the problems put next to the fields
they concern, and the preview of a change (triples added and removed, and what reasoning adds).

Inputs are named after where they are, with ``|`` (never in an IRI) between the steps:
``f|rdfs:label|1|v`` is the text of the second label, ``f|ak:capacity|0|qudt:numericValue|0|v`` the
number of the first capacity; ``…|l`` a language, ``…|i`` the IRI an entity picker chose, and
``f|ak:capacity|0|@iri`` the IRI of an existing details node.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask_babel import gettext
from rdflib import RDFS, URIRef
from werkzeug.datastructures import MultiDict

from kg.changes.edits import (
    Entered,
    Entry,
    NewSource,
    Node,
    Problem,
    Source,
    Triple,
    is_web_url,
    new_source,
)
from kg.checks.forms import LABEL, LANGS, Field, Form
from kg.checks.report import Report, ValidationResult
from kg.publish.languages import language_order, pick
from kg.rdf.iris import curie
from kg.rdf.names import XSD
from server.core.i18n import format_date, format_number
from server.linked.state import Linked
from server.stewards import catalog

MAX_VALUES = 100  # values of one field a form may post
ROOT = "f"


# --- reading a posted form ----------------------------------------------------------------------------


def entered_from(form: Form, data: MultiDict[str, str], prefix: str = ROOT) -> Entered:
    """What the posted ``data`` holds for the node whose inputs start with ``prefix``."""
    entered = Entered(iri=data.get(f"{prefix}|@iri", "").strip())
    for f in form.fields:
        base = f"{prefix}|{f.key}|"
        indices = sorted(
            {
                int(head)
                for name in data
                if name.startswith(base) and (head := name[len(base) :].split("|", 1)[0]).isdigit()
            }
        )[:MAX_VALUES]
        if f.kind == "details" and f.details is not None:
            entered.details[f.key] = [entered_from(f.details, data, f"{base}{i}") for i in indices]
        else:
            entered.values[f.key] = [
                Entry(
                    data.get(f"{base}{i}|v", "")[:10_000],
                    data.get(f"{base}{i}|l", ""),
                    data.get(f"{base}{i}|i", ""),
                )
                for i in indices
            ]
    return entered


def entered_of(node: Node, state: Linked, lang: str) -> Entered:
    """A node as a form shows it (the edit form of an existing entity)."""
    entered = Entered(iri=node.iri)
    for f in node.form.fields:
        if f.kind == "details":
            entered.details[f.key] = [
                entered_of(child, state, lang) for child in node.details.get(f.path, [])
            ]
            continue
        entries = []
        for term in node.values.get(f.path, []):
            if isinstance(term, ox.NamedNode):
                entries.append(Entry(catalog.label(state, term.value, lang), iri=term.value))
            else:
                entries.append(Entry(term.value, term.language or ""))
        entered.values[f.key] = entries
    return entered


@dataclass
class SourceEntered:
    mode: str = "existing"  # existing or new
    iri: str = ""
    url: str = ""
    title: str = ""
    language: str = "ru"
    published: str = ""
    publisher: str = ""  # as typed
    publisher_iri: str = ""


def source_from(data: MultiDict[str, str]) -> SourceEntered:
    return SourceEntered(
        mode="new" if data.get("source") == "new" else "existing",
        iri=data.get("source_iri", "").strip(),
        url=data.get("src_url", "").strip()[:2000],
        title=data.get("src_title", "").strip()[:1000],
        language=data.get("src_lang", "ru").strip(),
        published=data.get("src_date", "").strip(),
        publisher=data.get("src_publisher", "").strip()[:500],
        publisher_iri=data.get("src_publisher_iri", "").strip(),
    )


def source_of(state: Linked, entered: SourceEntered, lang: str) -> tuple[Source | None, dict[str, str]]:
    """The edit's source, or what is wrong with what the steward gave for it (by input name)."""
    m = catalog.model(state)
    problems: dict[str, str] = {}
    if entered.mode == "existing":
        found = next((s for s in m.sources if s.iri == entered.iri), None)
        if found is None:
            problems["source_iri"] = gettext("Choose the source of this edit, or describe a new one.")
            return None, problems
        return Source(found.iri, found.graph), problems
    if not is_web_url(entered.url):
        problems["src_url"] = gettext("Give the web address of the source (http:// or https://).")
    elif entered.url in m.urls:
        problems["src_url"] = gettext("This source is in the graph already: choose it from the list.")
    if not entered.title:
        problems["src_title"] = gettext("Give the title of the source.")
    if entered.language not in LANGS:
        problems["src_lang"] = gettext("Choose the language of the source.")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", entered.published):
        problems["src_date"] = gettext("Give the date the source was published (YYYY-MM-DD).")
    else:
        try:
            dt.date.fromisoformat(entered.published)
        except ValueError:
            problems["src_date"] = gettext("Give the date the source was published (YYYY-MM-DD).")
    publisher = entered.publisher_iri
    if not publisher and entered.publisher:
        found_iris = catalog.resolve(state, entered.publisher, (), lang)
        if len(found_iris) == 1:
            publisher = found_iris[0]
        else:
            problems["src_publisher"] = (
                gettext("Nothing in the graph has this name.")
                if not found_iris
                else gettext("Several entities have this name: choose one from the list.")
            )
    if not publisher and "src_publisher" not in problems:
        problems["src_publisher"] = gettext(
            "Give the publisher of the source (an organisation of the graph)."
        )
    if problems:
        return None, problems
    made = NewSource(entered.url, entered.title, entered.language, entered.published, publisher)
    return new_source(state.names, made, catalog.labels_by_language(state, publisher)), problems


# --- views --------------------------------------------------------------------------------------------


@dataclass
class Message:
    severity: str  # Violation, Warning, Info, Problem (a value that could not be read)
    text: str


@dataclass
class Row:
    name: str
    text: str = ""
    lang: str = ""
    iri: str = ""
    problem: str = ""


@dataclass
class NodeView:
    name: str
    iri: str
    fields: list[FieldView]
    new: bool = True
    messages: list[Message] = field(default_factory=list)


@dataclass
class FieldView:
    spec: Field
    name: str
    label: str
    help: str
    rows: list[Row] = field(default_factory=list)
    nodes: list[NodeView] = field(default_factory=list)
    choices: list[tuple[str, str]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    template: Row | NodeView | None = None  # an empty value (or node) for "add another", index "§"

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def input_type(self) -> str:
        return {"date": "date", "uri": "url", "entity": "search"}.get(self.kind, "text")

    @property
    def inputmode(self) -> str:
        return {"integer": "numeric", "number": "decimal"}.get(self.kind, "")

    @property
    def can_add(self) -> bool:
        f = self.spec
        if f.per_language:
            return False
        count = len(self.nodes) if f.kind == "details" else len(self.rows)
        return f.max_count is None or count < f.max_count

    @property
    def placeholder(self) -> str:
        if self.kind == "period":
            return gettext("2026, 2026-02 or 2026-02-15")
        if self.kind == "entity":
            return gettext("Type a name…")
        return ""


@dataclass
class FormView:
    form: Form
    node: NodeView
    general: list[Message] = field(default_factory=list)

    def index(self) -> tuple[dict[str, NodeView], dict[str, FieldView], dict[str, Row]]:
        nodes: dict[str, NodeView] = {}
        fields: dict[str, FieldView] = {}
        rows: dict[str, Row] = {}

        def walk(node: NodeView) -> None:
            nodes[node.name] = node
            for fv in node.fields:
                fields[fv.name] = fv
                for row in fv.rows:
                    rows[row.name] = row
                for child in fv.nodes:
                    walk(child)

        walk(self.node)
        return nodes, fields, rows


def view(state: Linked, form: Form, entered: Entered, lang: str, *, new: bool) -> FormView:
    return FormView(form, _node_view(state, form, entered, ROOT, lang, new=new, depth=0))


def _node_view(
    state: Linked, form: Form, entered: Entered, name: str, lang: str, *, new: bool, depth: int
) -> NodeView:
    node = NodeView(name, entered.iri, [], new=new)
    for f in form.fields:
        fv = FieldView(f, f"{name}|{f.key}", field_label(state, f.path, lang), field_help(state, f, lang))
        if depth and f.path == LABEL:  # a details node's labels are made from its parent's when left empty
            fv.help = gettext("Left empty, the labels are made from the entity's own.")
        if f.kind == "details" and f.details is not None:
            entries = entered.details.get(f.key, [])
            for i, inner in enumerate(entries):
                fv.nodes.append(
                    _node_view(
                        state, f.details, inner, f"{fv.name}|{i}", lang, new=not inner.iri, depth=depth + 1
                    )
                )
            if not fv.nodes:  # one empty node to fill in (ignored while it holds nothing)
                fv.nodes.append(
                    _node_view(state, f.details, Entered(), f"{fv.name}|0", lang, new=True, depth=depth + 1)
                )
            fv.template = _node_view(
                state, f.details, Entered(), f"{fv.name}|§", lang, new=True, depth=depth + 1
            )
        else:
            fv.rows = _rows(f, fv.name, entered.values.get(f.key, []))
            fv.template = Row(f"{fv.name}|§", lang=_default_lang(f, lang))
            if f.kind == "choice":
                fv.choices = [(iri, catalog.label(state, iri, lang)) for iri in catalog.choices(state, f)]
        node.fields.append(fv)
    return node


def _default_lang(f: Field, lang: str) -> str:
    if f.kind != "text":
        return ""
    if f.required_languages:
        return f.required_languages[0]
    return lang if lang in (f.languages or LANGS) else (f.languages or LANGS)[0]


def _rows(f: Field, name: str, entries: list[Entry]) -> list[Row]:
    if f.per_language:  # one input per language, in the order kk, ru, en
        by_lang = {e.lang: e for e in entries}
        return [
            Row(f"{name}|{i}", by_lang[lang].text if lang in by_lang else "", lang)
            for i, lang in enumerate(f.languages or LANGS)
        ]
    rows = [
        Row(f"{name}|{i}", e.text, e.lang or _default_lang(f, "ru"), e.iri) for i, e in enumerate(entries)
    ]
    fixed = [v for v in f.fixed if f.kind == "choice"]
    if not rows and fixed:
        rows = [Row(f"{name}|{i}", iri=v) for i, v in enumerate(fixed)]
    if not rows or (f.multiple and len(rows) < (f.max_count or MAX_VALUES) and rows[-1].text + rows[-1].iri):
        rows.append(Row(f"{name}|{len(rows)}", lang=_default_lang(f, "ru")))
    return rows


def field_label(state: Linked, path: str, lang: str) -> str:
    found = pick(state.labels().get(path, []), lang)
    text = found.value if found else curie(path, state.names.prefixes())
    return text[:1].upper() + text[1:]


def field_help(state: Linked, f: Field, lang: str) -> str:
    comments: dict[str, str] = {}
    for comment in catalog.ontology_graph(state).objects(URIRef(f.path), RDFS.comment):
        comments.setdefault(getattr(comment, "language", None) or "", str(comment))
    return _in_order(comments, lang)


def _in_order(texts: dict[str, str], lang: str) -> str:
    """The text in the reader's language, else in the site's order (kk → ru → en), else any."""
    for candidate in (*language_order(lang), ""):
        if candidate in texts:
            return texts[candidate]
    return next(iter(texts.values()), "")


def result_message(result: ValidationResult, lang: str) -> str:
    """A result's sh:message in the reader's language, by the site's language order."""
    return _in_order(result.resultMessage, lang) or result.message(lang)


# --- the report and the problems next to their fields -------------------------------------------------


PROBLEM_TEXTS = {
    "not_integer": lambda: gettext("Write a whole number (digits only)."),
    "not_number": lambda: gettext("Write a number (digits, with a point or comma for decimals)."),
    "not_date": lambda: gettext("Write a date as YYYY-MM-DD."),
    "not_period": lambda: gettext("Write a year (2026), a month (2026-02) or a date (2026-02-15)."),
    "not_boolean": lambda: gettext("Choose yes or no."),
    "not_url": lambda: gettext("Write a web address (http:// or https://)."),
    "unknown_language": lambda: gettext("Choose the language of the text."),
    "unknown_choice": lambda: gettext("Choose one of the listed values."),
    "no_match": lambda: gettext("Nothing in the graph has this name."),
    "ambiguous": lambda: gettext("Several entities have this name: choose one from the list."),
    "not_iri": lambda: gettext("Not an IRI."),
}


def problem_text(problem: Problem) -> str:
    return PROBLEM_TEXTS.get(problem.code, lambda: problem.code)()


def attach(
    state: Linked,
    fv: FormView,
    *,
    report: Report | None,
    problems: Iterable[Problem],
    nodes: dict[tuple[str | int, ...], str],
    source: str | None,
    lang: str,
) -> list[tuple[str, Message]]:
    """Put each result and problem next to the field it concerns (the rest in ``fv.general``); the
    messages by input name (what the page's script places)."""
    by_node, by_field, by_row = fv.index()
    placed: list[tuple[str, Message]] = []
    names_of = {iri: ROOT + "".join(f"|{step}" for step in where) for where, iri in nodes.items()}
    for problem in problems:
        name = ROOT + "".join(f"|{step}" for step in problem.where)
        message = Message("Problem", problem_text(problem))
        if name in by_row:
            by_row[name].problem = message.text
        placed.append((name, message))
    for result in report.results if report is not None else []:
        message = Message(result.resultSeverity, result_message(result, lang))
        targets = _targets(result, names_of, by_node, source)
        if not targets:
            focus = catalog.label(state, result.focusNode, lang)
            text = f"{focus}: {message.text}"
            if result.resultPath:
                text = (
                    f"{focus} — {field_label(state, result.resultPath.split('/')[0], lang)}: {message.text}"
                )
            fv.general.append(Message(result.resultSeverity, text))
            placed.append(("", Message(result.resultSeverity, text)))
            continue
        for name in targets:
            if name in by_field:
                by_field[name].messages.append(message)
            elif name in by_node:
                by_node[name].messages.append(message)
            placed.append((name, message))
    return placed


_SEQUENCE_STEP = re.compile(r"/(?=https?://)")


def _targets(
    result: ValidationResult, names_of: dict[str, str], by_node: dict[str, NodeView], source: str | None
) -> list[str]:
    if source is not None and result.focusNode == source:
        return [SOURCE_FIELDS.get(result.resultPath or "", "source")]
    node_name = names_of.get(result.focusNode)
    if node_name is None or node_name not in by_node:
        return []
    node = by_node[node_name]
    if not result.resultPath:
        return [node_name]
    steps = _SEQUENCE_STEP.split(result.resultPath)
    first = next((f for f in node.fields if f.spec.path == steps[0]), None)
    if first is None:
        return [node_name]
    if len(steps) == 1:
        return [first.name]
    found = []
    for child in first.nodes:
        inner = next((f for f in child.fields if f.spec.path == steps[1]), None)
        found.append(inner.name if inner is not None else child.name)
    return found or [first.name]


SOURCE_FIELDS = {
    "http://schema.org/datePublished": "src_date",
    "http://purl.org/dc/terms/language": "src_lang",
    LABEL: "src_title",
}


# --- the preview --------------------------------------------------------------------------------------


@dataclass
class PreviewRow:
    kind: str  # added, removed, inferred, withdrawn (an inference the change takes away)
    subject: str
    subject_href: str
    property: str
    value: str
    graph: str = ""


def preview(
    state: Linked,
    added: Iterable[ox.Quad],
    removed: Iterable[ox.Quad],
    inferred_added: Iterable[Triple],
    inferred_removed: Iterable[Triple],
    lang: str,
    *,
    labels: dict[str, str] | None = None,
) -> list[PreviewRow]:
    """The triples a change adds and removes, and those reasoning adds and withdraws, for people:
    subjects and properties by label, values as the pages show them. ``labels``: the labels of new
    nodes (not in the graph yet)."""
    own = labels or {}

    def name(iri: str) -> str:
        return own.get(iri) or catalog.label(state, iri, lang)

    rows = []
    groups: list[tuple[str, Iterable[tuple[object, object, object, object]]]] = [
        ("added", ((q.subject, q.predicate, q.object, q.graph_name) for q in added)),
        ("removed", ((q.subject, q.predicate, q.object, q.graph_name) for q in removed)),
        ("inferred", ((s, p, o, None) for s, p, o in inferred_added)),
        ("withdrawn", ((s, p, o, None) for s, p, o in inferred_removed)),
    ]
    for kind, items in groups:
        for s, p, o, g in items:
            subject = getattr(s, "value", str(s))
            rows.append(
                PreviewRow(
                    kind,
                    name(subject),
                    state.page_href(subject),
                    field_label(state, getattr(p, "value", str(p)), lang),
                    value_text(state, o, lang, own),
                    getattr(g, "value", "") if g is not None else "",
                )
            )
    order = {"added": 0, "removed": 1, "inferred": 2, "withdrawn": 3}
    rows.sort(key=lambda r: (order[r.kind], r.subject, r.property, r.value))
    return rows


def value_text(state: Linked, term: object, lang: str, own: dict[str, str] | None = None) -> str:
    if isinstance(term, ox.NamedNode):
        return (own or {}).get(term.value) or catalog.label(state, term.value, lang)
    if isinstance(term, ox.Literal):
        if term.language:
            return f"{term.value} @{term.language}"
        datatype = term.datatype.value
        kind = datatype[len(XSD) :] if datatype.startswith(XSD) else ""
        if kind in ("integer", "decimal"):
            return format_number(term.value, lang)
        if kind in ("date", "gYearMonth"):
            return format_date(term.value, datatype, lang)
        return term.value
    value = getattr(term, "value", None)  # rdflib terms (inferences)
    if value is not None and hasattr(term, "language"):
        lang_tag = getattr(term, "language", None)
        return f"{term} @{lang_tag}" if lang_tag else str(term)
    return catalog.label(state, str(term), lang) if str(term).startswith("http") else str(term)


def new_labels(added: Iterable[ox.Quad], lang: str) -> dict[str, str]:
    """The labels of nodes a change creates, in the reader's language where it has one."""
    found: dict[str, list[ox.Literal]] = {}
    for q in added:
        if (
            q.predicate.value == LABEL
            and isinstance(q.object, ox.Literal)
            and isinstance(q.subject, ox.NamedNode)
        ):
            found.setdefault(q.subject.value, []).append(q.object)
    return {iri: best.value for iri, literals in found.items() if (best := pick(literals, lang)) is not None}
