"""The page of one resource (``/page/…``): its labels in the reader's language, its types, every
property with the ontology's label, values as links, incoming links, the source article and date of
every statement, inferred statements marked, and charts of its statistics.

One description query, at most two chart queries, and the cached label and graph indexes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Blueprint, Response, url_for
from flask_babel import gettext

from kg.publish.describe import Description
from kg.publish.languages import lang_of, language_order, pick
from kg.rdf import formats
from kg.rdf.iris import curie
from kg.rdf.names import LABEL_PREDICATES, QB, RDF_TYPE, SDMX_DIMENSION, XSD
from server.core.i18n import current_language, format_date, format_number, render_page
from server.linked.state import Linked, alternates_header, linked
from server.pages import history as pages_history
from server.pages import ontology as pages_ontology
from server.pages import stats as pages_stats

bp = Blueprint("page", __name__)

DESCRIPTIONS = (
    "http://www.w3.org/2000/01/rdf-schema#comment",
    "http://purl.org/dc/terms/description",
    "http://www.w3.org/2004/02/skos/core#definition",
)
NUMERIC = {"integer", "decimal", "double", "float", "int", "long", "nonNegativeInteger", "positiveInteger"}


@dataclass(frozen=True)
class SourceView:
    kind: str  # source, inferred, ontology, shapes, changes, other
    text: str
    href: str | None
    title: str


@dataclass
class ValueView:
    text: str
    href: str | None = None
    lang: str | None = None
    note: str = ""  # datatype or language shown beside the value
    external: bool = False
    sources: list[SourceView] = field(default_factory=list)

    @property
    def inferred(self) -> bool:
        return bool(self.sources) and all(s.kind == "inferred" for s in self.sources)


@dataclass
class PropertyView:
    iri: str
    label: str
    href: str
    curie: str
    values: list[ValueView]

    @property
    def inferred(self) -> bool:
        return all(v.inferred for v in self.values)


class Labeller:
    """Labels of IRIs in the reader's language: the description's own, then the cached index."""

    def __init__(self, state: Linked, description: Description | None, lang: str):
        self.state = state
        self.lang = lang
        self.own = description.labels() if description else {}
        self.index = state.labels()
        self.prefixes = state.names.prefixes()

    def literal(self, iri: str) -> ox.Literal | None:
        return pick(self.own.get(iri) or self.index.get(iri, []), self.lang)

    def text(self, iri: str) -> str:
        found = self.literal(iri)
        return found.value if found else curie(iri, self.prefixes)


def source_views(state: Linked, graphs: list[str], lang: str) -> list[SourceView]:
    infos = state.graphs()
    views = []
    for graph in sorted(set(graphs)):
        info = infos.get(graph)
        role = info.role if info else "other"
        if not graph:
            views.append(SourceView("other", "VoID", url_for("dataset.dataset"), "dataset statistics"))
        elif info and role == "source" and info.article:
            label = pick(info.labels, lang)
            date = (
                format_date(info.date, XSD + "date", lang) if info.date else info.article.rsplit("/", 1)[-1]
            )
            views.append(
                SourceView("source", date, state.page_href(info.article), label.value if label else date)
            )
        elif role == "inferred":
            views.append(SourceView("inferred", gettext("inferred"), state.page_href(graph), "OWL 2 RL"))
        elif role in ("ontology", "shapes", "changes"):
            text = {
                "ontology": gettext("ontology"),
                "shapes": gettext("SHACL shapes"),
                "changes": gettext("change log"),
            }[role]
            href = state.page_href(state.names.ontology) if role != "changes" else url_for_changes()
            views.append(SourceView(role, text, href, graph))
        else:
            views.append(SourceView("other", graph.rsplit("/", 1)[-1], state.page_href(graph), graph))
    return views


def url_for_changes() -> str:
    return "/changes"


def value_view(term: ox.NamedNode | ox.BlankNode | ox.Literal, labeller: Labeller) -> ValueView:
    state, lang = labeller.state, labeller.lang
    if isinstance(term, ox.NamedNode):
        href = state.page_href(term.value)
        external = state.local_path(term.value) is None
        return ValueView(labeller.text(term.value), href, external=external)
    if isinstance(term, ox.BlankNode):
        return ValueView("[…]", note="blank node")
    if term.language:
        return ValueView(term.value, lang=term.language, note=term.language)
    datatype = term.datatype.value
    kind = datatype[len(XSD) :] if datatype.startswith(XSD) else ""
    if kind in NUMERIC:
        return ValueView(format_number(term.value, lang), note=kind)
    if kind in ("date", "gYearMonth"):
        return ValueView(format_date(term.value, datatype, lang), note=kind)
    if kind == "anyURI":
        return ValueView(term.value, term.value, external=True)
    if kind == "string":
        return ValueView(term.value)
    return ValueView(term.value, note=curie(datatype, labeller.prefixes))


def _value_order(view: ValueView, lang: str) -> tuple:
    order = language_order(lang)
    rank = (
        order.index(view.lang.split("-")[0]) if view.lang and view.lang.split("-")[0] in order else len(order)
    )
    return (rank, view.inferred, view.text.casefold())


def property_views(
    state: Linked, quads: list[ox.Quad], labeller: Labeller, *, incoming: bool, skip: tuple[str, ...] = ()
) -> list[PropertyView]:
    """Statements grouped by property, then by value (the subject for incoming links), each value
    with the graphs that state it."""
    graphs: dict[tuple[str, object], list[str]] = defaultdict(list)
    terms: dict[tuple[str, object], ox.NamedNode | ox.BlankNode | ox.Literal] = {}
    for q in quads:
        if q.predicate.value in skip:
            continue
        term = q.subject if incoming else q.object
        key = (q.predicate.value, term)
        terms[key] = term  # type: ignore[assignment]
        graphs[key].append("" if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name.value)
    by_property: dict[str, list[ValueView]] = defaultdict(list)
    for (predicate, _), term in terms.items():
        view = value_view(term, labeller)
        view.sources = source_views(state, graphs[(predicate, term)], labeller.lang)
        by_property[predicate].append(view)
    views = []
    for predicate, values in by_property.items():
        values.sort(key=lambda v: _value_order(v, labeller.lang))
        views.append(
            PropertyView(
                predicate,
                labeller.text(predicate),
                state.page_href(predicate),
                curie(predicate, labeller.prefixes),
                values,
            )
        )
    views.sort(key=lambda p: (p.inferred, p.label.casefold()))
    return views


def render(iri: str, path: str) -> Response:
    state = linked()
    lang = current_language()
    description = state.description(iri)
    if not description:
        return render_not_found(iri)
    labeller = Labeller(state, description, lang)
    own = description.outgoing()
    # every label, in the reader's language order
    labels = sorted(
        {q.object for q in own if q.predicate.value in LABEL_PREDICATES and isinstance(q.object, ox.Literal)},
        key=lambda lit: (
            language_order(lang).index(lang_of(lit)) if lang_of(lit) in language_order(lang) else 9
        ),
    )
    title = labeller.text(iri)
    title_literal = labeller.literal(iri)
    type_quads = [q for q in own if q.predicate.value == RDF_TYPE and isinstance(q.object, ox.NamedNode)]
    types = property_views(state, type_quads, labeller, incoming=False)
    lead = pick(
        [q.object for q in own if q.predicate.value in DESCRIPTIONS and isinstance(q.object, ox.Literal)],
        lang,
    )
    properties = property_views(state, own, labeller, incoming=False, skip=(RDF_TYPE, *LABEL_PREDICATES))
    incoming = property_views(state, description.incoming(), labeller, incoming=True)
    charts = stats_for(state, description, lang)
    links = [(f, url_for("linked.data", path=f"{path}.{f.extension}")) for f in formats.RDF_FORMATS]
    response = render_page(
        "resource.html",
        iri=iri,
        title=title,
        title_lang=title_literal.language if title_literal else None,
        labels=labels,
        types=types[0].values if types else [],
        lead=lead,
        properties=properties,
        incoming=incoming,
        charts=charts,
        formats=links,
        changes=pages_history.entity_history(state, iri, lang),
        editable=path.startswith("id/"),
        any_inferred=any(v.inferred for p in (*properties, *incoming, *types) for v in p.values),
    )
    response.headers["Link"] = alternates_header(path, with_page=False)
    return response


def stats_for(state: Linked, description: Description, lang: str) -> list[pages_stats.Chart]:
    """Charts of the observations about this place or data set, and of its facilities by status."""
    ak = state.names.base + pages_stats.AK
    incoming = {q.predicate.value for q in description.incoming()}
    types = set(description.types())
    found: list[pages_stats.Chart] = []
    if incoming & {SDMX_DIMENSION + "refArea", QB + "dataSet"}:
        found += pages_stats.observation_charts(state, description.iri, lang)
    if ak + "FunctionalDistrict" in types or ak + "City" in types:
        districts = pages_stats.facilities_by_status(state)
        chosen = [districts[description.iri]] if description.iri in districts else list(districts.values())
        chart = pages_stats.status_chart(state, chosen, lang)
        if chart is not None:
            found.append(chart)
    return found


def render_not_found(iri: str) -> Response:
    return render_page("not_found.html", status=404, iri=iri, title=gettext("Not found"))


@bp.get("/page/<path:path>")
def page_or_docs(path: str) -> Response:
    """The page of ``<base>{path}``: the ontology documentation for the ontology, else the resource."""
    state = linked()
    iri = state.iri_of(path)
    if iri == state.names.ontology:
        return pages_ontology.render()
    return render(iri, path)
