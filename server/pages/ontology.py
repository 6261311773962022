"""The ontology's documentation, the page of ``<base>def/ontology`` (``/page/def/ontology``): every
class and property with its labels in kk/ru/en, definition, super- and sub-classes (or properties),
domain, range, characteristics, and the SHACL shapes (named graph ``<base>graph/shapes``) that
apply to it; then the SKOS concept schemes. Each term is a section whose id is its local name, so
the hash IRI ``…/def/ontology#School`` lands on it.

Shapes apply to a class when they target it or one of its superclasses (``sh:targetClass``), and to
a property when one of their property shapes has it as ``sh:path``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import Response
from flask_babel import gettext

from kg.publish.catalog import VersionedCache
from kg.publish.describe import graph_quads
from kg.publish.languages import lang_of, language_order, pick
from kg.rdf.formats import TURTLE
from kg.rdf.iris import curie
from kg.rdf.names import LABEL_PREDICATES, OWL, RDF, RDF_TYPE, RDFS, SH, SKOS
from server.core.i18n import current_language, render_page
from server.linked.state import Linked, linked

DEFINITIONS = (SKOS + "definition", RDFS + "comment")
KINDS = {
    OWL + "Class": "classes",
    OWL + "ObjectProperty": "object_properties",
    OWL + "DatatypeProperty": "datatype_properties",
}


def section_title(kind: str) -> str:
    return {
        "classes": gettext("Classes"),
        "object_properties": gettext("Object properties"),
        "datatype_properties": gettext("Datatype properties"),
    }[kind]


CHARACTERISTICS = (
    "TransitiveProperty",
    "SymmetricProperty",
    "FunctionalProperty",
    "InverseFunctionalProperty",
)
SHAPE_META = {
    SH + p for p in ("path", "message", "name", "description", "severity", "property", "targetClass")
}
Term = ox.NamedNode | ox.BlankNode | ox.Literal


class Index:
    """Subject → predicate → objects, for one graph."""

    def __init__(self, quads: list[ox.Quad]):
        self.out: dict[object, dict[str, list[Term]]] = defaultdict(lambda: defaultdict(list))
        self.inv: dict[object, dict[str, list[object]]] = defaultdict(lambda: defaultdict(list))
        for q in quads:
            self.out[q.subject][q.predicate.value].append(q.object)  # type: ignore[arg-type]
            self.inv[q.object][q.predicate.value].append(q.subject)

    def objects(self, s: object, p: str) -> list[Term]:
        return self.out.get(s, {}).get(p, [])

    def iris(self, s: object, p: str) -> list[str]:
        return sorted(o.value for o in self.objects(s, p) if isinstance(o, ox.NamedNode))

    def subjects(self, p: str, o: object) -> list[object]:
        return self.inv.get(o, {}).get(p, [])

    def items(self, head: Term) -> list[Term]:
        """The members of an RDF list."""
        found: list[Term] = []
        node: Term | None = head
        while isinstance(node, ox.BlankNode) and len(found) < 1000:
            found += self.objects(node, RDF + "first")
            rest = self.objects(node, RDF + "rest")
            node = rest[0] if rest else None
        return found


@dataclass
class Model:
    ontology: Index
    shapes: Index
    node_shapes: list[object]


def load(state: Linked) -> Model:
    ontology = Index(graph_quads(state.engine, state.names.ontology_graph))
    shapes = Index(graph_quads(state.engine, state.names.shapes_graph))
    node_shapes = [
        s for s, props in shapes.out.items() if SH + "targetClass" in props or SH + "property" in props
    ]
    return Model(ontology, shapes, node_shapes)


def model(state: Linked) -> Model:
    cache = state.caches.setdefault("ontology", VersionedCache(lambda: load(state)))
    return cache.get(state.version())  # type: ignore[no-any-return]


@dataclass
class Link:
    text: str
    href: str
    curie: str


@dataclass
class Constraint:
    path: Link | None
    facts: list[tuple[str, list[Link | str]]]
    message: ox.Literal | None


@dataclass
class ShapeView:
    name: str
    href: str
    comment: ox.Literal | None
    severity: str
    targets: list[Link]
    constraints: list[Constraint]
    via: Link | None = None  # the superclass or the property through which it applies


@dataclass
class TermView:
    iri: str
    anchor: str
    curie: str
    title: str
    title_lang: str | None
    labels: list[ox.Literal]
    definition: ox.Literal | None
    rows: list[tuple[str, list[Link]]] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)
    shapes: list[ShapeView] = field(default_factory=list)


class Renderer:
    def __init__(self, state: Linked, m: Model, lang: str):
        self.state, self.m, self.lang = state, m, lang
        self.prefixes = {**state.names.prefixes(), "shapes": state.names.base + "def/shapes#"}
        self.labels = state.labels()

    def link(self, term: Term) -> Link | str:
        if isinstance(term, ox.NamedNode):
            found = pick(self.labels.get(term.value, []), self.lang)
            short = curie(term.value, self.prefixes)
            return Link(found.value if found else short, self.state.page_href(term.value), short)
        if isinstance(term, ox.Literal):
            return term.value
        items = self.m.shapes.items(term)
        if items:
            return ", ".join(str(x.text if isinstance(x, Link) else x) for x in map(self.link, items))
        return "[…]"

    def iri_links(self, iris: list[str]) -> list[Link]:
        return [x for x in (self.link(ox.NamedNode(i)) for i in iris) if isinstance(x, Link)]

    def shape(self, node: object, via: Link | None = None, only_path: str | None = None) -> ShapeView:
        idx = self.m.shapes
        constraints = []
        for prop in idx.objects(node, SH + "property"):
            paths = idx.objects(prop, SH + "path")
            path = paths[0] if paths else None
            if only_path is not None and not (isinstance(path, ox.NamedNode) and path.value == only_path):
                continue
            constraints.append(self.constraint(prop, path))
        own = self.constraint(node, None)
        if own.facts:
            constraints.insert(0, own)
        severity = idx.iris(node, SH + "severity")
        name = curie(node.value, self.prefixes) if isinstance(node, ox.NamedNode) else "[…]"
        return ShapeView(
            name,
            self.state.page_href(node.value) if isinstance(node, ox.NamedNode) else "",
            self._pick(idx.objects(node, RDFS + "comment")),
            severity[0].rsplit("#", 1)[-1] if severity else "Violation",
            self.iri_links(idx.iris(node, SH + "targetClass")),
            constraints,
            via,
        )

    def constraint(self, node: object, path: Term | None) -> Constraint:
        idx = self.m.shapes
        facts: list[tuple[str, list[Link | str]]] = []
        for predicate, values in sorted(idx.out.get(node, {}).items()):
            if predicate in SHAPE_META or not predicate.startswith(SH):
                continue
            facts.append((curie(predicate, self.prefixes), [self.link(v) for v in values]))
        path_link = self.link(path) if path is not None else None
        return Constraint(
            path_link if isinstance(path_link, Link) else None,
            facts,
            self._pick(idx.objects(node, SH + "message")),
        )

    def _pick(self, terms: list[Term]) -> ox.Literal | None:
        return pick([t for t in terms if isinstance(t, ox.Literal)], self.lang)

    def ancestors(self, iri: str) -> list[str]:
        seen: list[str] = []
        todo = [iri]
        while todo:
            for parent in self.m.ontology.iris(ox.NamedNode(todo.pop()), RDFS + "subClassOf"):
                if parent not in seen and parent != iri:
                    seen.append(parent)
                    todo.append(parent)
        return seen

    def term(self, iri: str, kind: str) -> TermView:
        node = ox.NamedNode(iri)
        idx = self.m.ontology
        labels = [o for p in LABEL_PREDICATES for o in idx.objects(node, p) if isinstance(o, ox.Literal)]
        order = language_order(self.lang)
        labels.sort(key=lambda lit: order.index(lang_of(lit)) if lang_of(lit) in order else len(order))
        title = pick(labels, self.lang)
        view = TermView(
            iri,
            iri.rsplit("#", 1)[-1],
            curie(iri, self.prefixes),
            title.value if title else curie(iri, self.prefixes),
            title.language if title else None,
            labels,
            self._pick([o for p in DEFINITIONS for o in idx.objects(node, p)]),
        )
        if kind == "classes":
            subs = sorted(
                s.value for s in idx.subjects(RDFS + "subClassOf", node) if isinstance(s, ox.NamedNode)
            )
            view.rows = [
                (gettext("Superclasses"), self.iri_links(idx.iris(node, RDFS + "subClassOf"))),
                (gettext("Subclasses"), self.iri_links(subs)),
            ]
            targets = {iri: None, **{a: a for a in self.ancestors(iri)}}
            for shape in self.m.node_shapes:
                hits = [t for t in self.m.shapes.iris(shape, SH + "targetClass") if t in targets]
                if hits:
                    via = targets[hits[0]]
                    via_link = self.link(ox.NamedNode(via)) if via else None
                    view.shapes.append(self.shape(shape, via_link if isinstance(via_link, Link) else None))
        else:
            subs = sorted(
                s.value for s in idx.subjects(RDFS + "subPropertyOf", node) if isinstance(s, ox.NamedNode)
            )
            view.rows = [
                (gettext("Domain"), self.iri_links(idx.iris(node, RDFS + "domain"))),
                (gettext("Range"), self.iri_links(idx.iris(node, RDFS + "range"))),
                (gettext("Super-properties"), self.iri_links(idx.iris(node, RDFS + "subPropertyOf"))),
                (gettext("Sub-properties"), self.iri_links(subs)),
                (gettext("Inverse"), self.iri_links(idx.iris(node, OWL + "inverseOf"))),
            ]
            view.characteristics = [c for c in CHARACTERISTICS if OWL + c in idx.iris(node, RDF_TYPE)]
            for shape in self.m.node_shapes:
                for prop in self.m.shapes.objects(shape, SH + "property"):
                    if node in self.m.shapes.objects(prop, SH + "path"):
                        view.shapes.append(self.shape(shape, only_path=iri))
                        break
        view.rows = [(name, links) for name, links in view.rows if links]
        return view


def render() -> Response:
    state = linked()
    lang = current_language()
    m = model(state)
    r = Renderer(state, m, lang)
    ak = str(state.names.ak)
    sections: dict[str, list[TermView]] = {k: [] for k in KINDS.values()}
    for kind_iri, key in KINDS.items():
        for s in m.ontology.subjects(RDF_TYPE, ox.NamedNode(kind_iri)):
            if isinstance(s, ox.NamedNode) and s.value.startswith(ak):
                sections[key].append(r.term(s.value, key))
        sections[key].sort(key=lambda v: v.title.casefold())
    schemes = []
    for s in m.ontology.subjects(RDF_TYPE, ox.NamedNode(SKOS + "ConceptScheme")):
        if not isinstance(s, ox.NamedNode):
            continue
        concepts = [c for c in m.ontology.subjects(SKOS + "inScheme", s) if isinstance(c, ox.NamedNode)]
        links = [x for x in map(r.link, concepts) if isinstance(x, Link)]
        scheme_link = r.link(s)
        definition = r._pick(m.ontology.objects(s, SKOS + "definition"))
        schemes.append((scheme_link, definition, sorted(links, key=lambda x: x.text.casefold())))
    schemes.sort(key=lambda x: x[0].text.casefold() if isinstance(x[0], Link) else "")
    onto = ox.NamedNode(state.names.ontology)
    title = r._pick(m.ontology.objects(onto, "http://purl.org/dc/terms/title"))
    description = r._pick(m.ontology.objects(onto, "http://purl.org/dc/terms/description"))
    version = r._pick(m.ontology.objects(onto, OWL + "versionInfo"))
    return render_page(
        "ontology.html",
        title=title.value if title else gettext("Ontology"),
        title_lang=title.language if title else None,
        description=description,
        version_info=version.value if version else "",
        iri=state.names.ontology,
        sections=[(key, section_title(key), sections[key]) for key in KINDS.values()],
        schemes=schemes,
        data_href=state.data_href(state.names.ontology, TURTLE),
    )
