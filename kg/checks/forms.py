"""Forms from the shapes: for each class the SHACL shapes constrain, the fields a data steward fills in
to create or edit one of its entities (as TopBraid EDG generates its forms from the shapes).

A class gets the property shapes of every node shape that targets it or one of its superclasses
(``sh:targetClass``, through ``rdfs:subClassOf`` in the ontology). Each property becomes a
:class:`Field`, its constraints merged across shapes (SHACL Core §4):

    sh:minCount / sh:maxCount           how many values (a Warning-level minCount: recommended)
    sh:datatype, sh:or of datatypes     the kind of input: text, integer, number, date, period, …
    sh:languageIn, sh:uniqueLang,       language-tagged text; the languages required (qualified
    sh:qualifiedValueShape […languageIn] shapes with sh:qualifiedMinCount), one value per language
    sh:in, sh:hasValue                  a choice among the listed values; a value the shape requires
    sh:class, sh:node (its sh:or)       an entity picker restricted to those classes
    sh:property [sh:path skos:inScheme  a choice among the concepts of that scheme
                 ; sh:hasValue S]
    sh:minExclusive … sh:maxInclusive,  bounds and lengths of the input
    sh:minLength, sh:maxLength
    dash:editor dash:DetailsEditor      a node of its own the entity owns (a capacity, a status
                                        record): a nested form for its class, reached through the
                                        property, with the constraints the parent's shapes put on it
                                        (sequence paths ``( ak:capacity qudt:unit )``, nested
                                        ``sh:property``, ``sh:targetObjectsOf`` the property)

Where the shapes say nothing of a property's values, the ontology's ``rdfs:range`` (and
``qb:codeList``) decides, then the values the data holds (:class:`Hints`), then plain text.

Every form also has the labels (kk/ru/en) and, optional, alternative labels and a description. A
class whose shapes require ``prov:wasDerivedFrom`` (the n-ary facts: quantities, status records,
observations…) names the edit's source there itself; the link back to a details node's parent
(``owl:inverseOf`` the property) is filled in the same way. Neither is a field the steward sees.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.rdf.iris import curie
from kg.rdf.names import DCTERMS, OWL, PROV, QB, SH, SKOS, XSD

DASH = "http://datashapes.org/dash#"
LANGS = ("kk", "ru", "en")  # the languages a steward writes text in

# the kinds of field, and what each holds
KINDS = {
    "text": "language-tagged text (rdf:langString)",
    "string": "a plain string (xsd:string)",
    "integer": "a whole number (xsd:integer)",
    "number": "a decimal number (xsd:decimal, or xsd:integer when whole)",
    "date": "a calendar date (xsd:date)",
    "period": "a date as precise as the source: xsd:date, xsd:gYearMonth or xsd:gYear",
    "boolean": "true or false (xsd:boolean)",
    "uri": "a web address (xsd:anyURI)",
    "choice": "one of listed values (sh:in, or the concepts of a scheme)",
    "entity": "an entity of the graph, picked by its label",
    "details": "a node of its own, filled in a nested form",
}
PERIOD = (f"{XSD}date", f"{XSD}gYearMonth", f"{XSD}gYear")
NUMBERS = (f"{XSD}integer", f"{XSD}decimal")
KIND_OF_DATATYPE = {
    f"{XSD}string": "string",
    f"{XSD}integer": "integer",
    f"{XSD}nonNegativeInteger": "integer",
    f"{XSD}positiveInteger": "integer",
    f"{XSD}int": "integer",
    f"{XSD}decimal": "number",
    f"{XSD}double": "number",
    f"{XSD}date": "date",
    f"{XSD}gYearMonth": "period",
    f"{XSD}gYear": "period",
    f"{XSD}boolean": "boolean",
    f"{XSD}anyURI": "uri",
    f"{RDF}langString": "text",
}
LABEL = str(RDFS.label)
ALT_LABEL = f"{SKOS}altLabel"
DESCRIPTION = f"{DCTERMS}description"
DERIVED_FROM = f"{PROV}wasDerivedFrom"
ATTRIBUTED_TO = f"{PROV}wasAttributedTo"
IN_SCHEME = f"{SKOS}inScheme"
CONCEPT = f"{SKOS}Concept"


@dataclass
class Field:
    """One property of a form, with what the shapes (then the ontology, then the data) say of it."""

    path: str
    key: str  # the field's name in a form: the property's compact IRI (``ak:capacity``)
    kind: str = "string"
    min_count: int = 0
    max_count: int | None = None
    recommended: bool = False  # a minCount of severity sh:Warning (or sh:Info)
    languages: tuple[str, ...] = ()  # text: the languages offered
    required_languages: tuple[str, ...] = ()
    unique_lang: bool = False
    datatypes: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()  # entity: acceptable classes (any of them); details: the node's class
    schemes: tuple[str, ...] = ()  # choice: the concept schemes the values come from
    choices: tuple[str, ...] = ()  # choice: the values listed (sh:in), in order
    fixed: tuple[str, ...] = ()  # values the shapes require (sh:hasValue): preset, not to be removed
    min_exclusive: Decimal | None = None
    min_inclusive: Decimal | None = None
    max_exclusive: Decimal | None = None
    max_inclusive: Decimal | None = None
    min_length: int | None = None
    max_length: int | None = None
    messages: dict[str, str] = field(default_factory=dict)  # the shapes' sh:message, by language
    order: float | None = None
    extra: bool = False  # not in the shapes: a common annotation every entity may carry
    details: Form | None = field(default=None, repr=False)

    @property
    def required(self) -> bool:
        return self.min_count > 0

    @property
    def multiple(self) -> bool:
        return self.max_count is None or self.max_count > 1

    @property
    def per_language(self) -> bool:
        """Text written at most once per language (a label): one input per language."""
        return self.kind == "text" and (self.unique_lang or self.max_count == 1)


@dataclass
class Form:
    """The fields of one class (or of a details node reached through ``via``)."""

    cls: str
    fields: list[Field]
    sourced: bool = False  # nodes of this class name the edit's source (prov:wasDerivedFrom)
    via: str | None = None  # the property of the parent a details form is reached through
    inverse: str | None = None  # the property from the node back to its parent (owl:inverseOf via)

    def field(self, path_or_key: str) -> Field | None:
        return next((f for f in self.fields if path_or_key in (f.path, f.key)), None)

    def walk(self) -> Iterator[tuple[tuple[str, ...], Field]]:
        """Every field, nested ones too, with the properties leading to it."""
        for f in self.fields:
            yield (f.path,), f
            if f.details is not None:
                for path, inner in f.details.walk():
                    yield (f.path, *path), inner


@dataclass
class Hints:
    """What the data says where the shapes and the ontology are silent: the kind of value each
    property holds (``"text"``, ``"iri"`` or a datatype IRI), as most of its values are; known in
    ``observed``, or asked of ``observe`` when a form needs it."""

    observed: dict[str, str | None] = field(default_factory=dict)
    observe: Callable[[str], str | None] | None = None

    def kind_of(self, path: str) -> str | None:
        if path not in self.observed and self.observe is not None:
            self.observed[path] = self.observe(path)
        return self.observed.get(path)


class _Constraints:
    """The constraints on one path, gathered from every shape that states some (then merged)."""

    def __init__(self, path: str):
        self.path = path
        self.min_count = 0
        self.recommended = False
        self.max_count: int | None = None
        self.datatypes: list[str] = []
        self.datatypes_stated = False  # some shape states datatypes (then each shape narrows them)
        self.classes: list[str] = []
        self.schemes: list[str] = []
        self.choices: list[str] = []
        self.fixed: list[str] = []
        self.languages: list[str] = []
        self.required_languages: list[str] = []
        self.unique_lang = False
        self.iri_only = False
        self.details = False
        self.bounds: dict[str, Decimal] = {}
        self.lengths: dict[str, int] = {}
        self.messages: dict[str, str] = {}
        self.order: float | None = None
        self.nested: dict[str, _Constraints] = {}  # constraints on the values' own properties


class FormCatalog:
    """Forms for the classes the shapes constrain, built from the shapes and the ontology graphs."""

    def __init__(
        self,
        shapes: Graph,
        ontology: Graph,
        hints: Hints | None = None,
        prefixes: dict[str, str] | None = None,
    ):
        self.shapes = shapes
        self.ontology = ontology
        self.hints = hints or Hints()
        self.prefixes = prefixes or {}
        self._forms: dict[tuple[str, str | None], Form] = {}
        self._targets: dict[str, list[Node]] = {}
        for shape, cls in shapes.subject_objects(SH.targetClass):
            if isinstance(cls, URIRef):
                self._targets.setdefault(str(cls), []).append(shape)
        self._object_targets: dict[str, list[Node]] = {}
        for shape, prop in shapes.subject_objects(SH.targetObjectsOf):
            if isinstance(prop, URIRef):
                self._object_targets.setdefault(str(prop), []).append(shape)
        sourced = [s for s in self._node_shapes() if self._requires(s, DERIVED_FROM)]
        self._sourced_classes = {str(c) for s in sourced for c in shapes.objects(s, SH.targetClass)}

    # --- classes -----------------------------------------------------------------------------------

    def superclasses(self, cls: str) -> list[str]:
        """``cls`` and its superclasses (rdfs:subClassOf*, as the ontology states it)."""
        seen = [cls]
        for c in seen:
            for parent in self.ontology.objects(URIRef(c), RDFS.subClassOf):
                if isinstance(parent, URIRef) and str(parent) not in seen:
                    seen.append(str(parent))
        return seen

    def subclasses(self, cls: str) -> list[str]:
        seen = [cls]
        for c in seen:
            for child in self.ontology.subjects(RDFS.subClassOf, URIRef(c)):
                if isinstance(child, URIRef) and str(child) not in seen:
                    seen.append(str(child))
        return seen

    def shaped_classes(self) -> list[str]:
        """Every class a shape targets, directly or through a superclass (concepts aside: the
        vocabulary lives in the ontology, which writes never change)."""
        found: set[str] = set()
        for cls in self._targets:
            found.update(self.subclasses(cls))
        found.discard(CONCEPT)
        return sorted(found)

    def is_shaped(self, cls: str) -> bool:
        return cls != CONCEPT and any(c in self._targets for c in self.superclasses(cls))

    # --- forms -------------------------------------------------------------------------------------

    def form(self, cls: str, via: str | None = None) -> Form:
        """The form of ``cls``; with ``via``, the details form of a node reached through that property
        (from a parent of any class: the parent's own constraints are added by :meth:`_details`)."""
        key = (cls, via)
        if key not in self._forms:
            self._forms[key] = self._build(cls, via, {})
        return self._forms[key]

    def _build(self, cls: str, via: str | None, outer: dict[str, _Constraints], depth: int = 0) -> Form:
        shapes = [s for c in self.superclasses(cls) for s in self._targets.get(c, [])]
        if via is not None:
            shapes += self._object_targets.get(via, [])
        by_path: dict[str, _Constraints] = {}
        for shape in shapes:
            self._absorb_node_shape(shape, by_path)
        for path, extra in outer.items():  # what the parent's shapes say of this node's properties
            self._merge(by_path.setdefault(path, _Constraints(path)), extra)
        inverse = self._inverse(via) if via else None
        sourced = any(c in self._sourced_classes for c in self.superclasses(cls))
        fields: list[Field] = []
        label = by_path.pop(LABEL, _Constraints(LABEL))
        fields.append(self._label_field(label))
        for path, constraints in by_path.items():
            if path in (DERIVED_FROM, inverse) or path == str(RDF.type):
                continue  # filled by the service: the edit's source, the link back to the parent
            made = self._field(constraints)
            if made.kind == "details" and made.classes and depth < 2:
                made.details = self._build(made.classes[0], path, constraints.nested, depth + 1)
            elif made.kind == "details":
                made.kind = "entity"
            fields.append(made)
        fields[1:] = sorted(fields[1:], key=_field_order)
        present = {f.path for f in fields}
        for common in self._extras(sourced):
            if common.path not in present and common.path != inverse:
                fields.append(common)
        return Form(cls, fields, sourced=sourced, via=via, inverse=inverse)

    def _extras(self, sourced: bool) -> list[Field]:
        extras = [
            Field(ALT_LABEL, self._key(ALT_LABEL), kind="text", languages=LANGS, extra=True),
            Field(
                DESCRIPTION,
                self._key(DESCRIPTION),
                kind="text",
                languages=LANGS,
                unique_lang=True,
                extra=True,
            ),
        ]
        if sourced:  # who the source says reported the fact (PROV-O), as the data records it
            extras.append(Field(ATTRIBUTED_TO, self._key(ATTRIBUTED_TO), kind="entity", extra=True))
        return extras

    def _label_field(self, c: _Constraints) -> Field:
        made = self._field(c)
        made.kind = "text"
        made.languages = LANGS
        made.unique_lang = True  # one label per language; other names are skos:altLabel
        made.max_count = None
        return made

    def _inverse(self, prop: str) -> str | None:
        p = URIRef(prop)
        for o in self.ontology.objects(p, OWL.inverseOf):
            return str(o)
        for s in self.ontology.subjects(OWL.inverseOf, p):
            return str(s)
        return None

    # --- reading the shapes ------------------------------------------------------------------------

    def _node_shapes(self) -> list[Node]:
        return list(
            {s for s in self.shapes.subjects(SH.property, None)} | set(self.shapes.subjects(SH.targetClass))
        )

    def _requires(self, shape: Node, path: str) -> bool:
        for ps in self.shapes.objects(shape, SH.property):
            if self.shapes.value(ps, SH.path) == URIRef(path) and self._int(ps, SH.minCount):
                return True
        return False

    def _absorb_node_shape(self, shape: Node, by_path: dict[str, _Constraints]) -> None:
        for ps in self.shapes.objects(shape, SH.property):
            path = self.shapes.value(ps, SH.path)
            if isinstance(path, URIRef):
                self._absorb(ps, by_path.setdefault(str(path), _Constraints(str(path))))
            elif isinstance(path, BNode) and self.shapes.value(path, RDF.first) is not None:
                steps = list(Collection(self.shapes, path))
                if len(steps) == 2 and all(isinstance(s, URIRef) for s in steps):
                    head = by_path.setdefault(str(steps[0]), _Constraints(str(steps[0])))
                    inner = head.nested.setdefault(str(steps[1]), _Constraints(str(steps[1])))
                    self._absorb(ps, inner)
                    if inner.min_count:  # a value required at the end of the path needs the first step
                        head.min_count = max(head.min_count, 1)
            # other paths (inverse, alternative, longer sequences) constrain nothing a form fills in

    def _absorb(self, ps: Node, c: _Constraints) -> None:
        g = self.shapes
        severity = g.value(ps, SH.severity)
        strict = severity is None or severity == SH.Violation
        min_count = self._int(ps, SH.minCount)
        if min_count:
            if strict:
                c.min_count = max(c.min_count, min_count)
            else:
                c.recommended = True
        max_count = self._int(ps, SH.maxCount)
        if max_count is not None:
            c.max_count = max_count if c.max_count is None else min(c.max_count, max_count)
        if g.value(ps, SH.uniqueLang) == Literal(True):
            c.unique_lang = True
        if g.value(ps, SH.nodeKind) == SH.IRI:
            c.iri_only = True
        if g.value(ps, URIRef(DASH + "editor")) == URIRef(DASH + "DetailsEditor"):
            c.details = True
        for term, name in (
            (SH.minExclusive, "min_exclusive"),
            (SH.minInclusive, "min_inclusive"),
            (SH.maxExclusive, "max_exclusive"),
            (SH.maxInclusive, "max_inclusive"),
        ):
            value = g.value(ps, term)
            if isinstance(value, Literal):
                with contextlib.suppress(InvalidOperation):
                    c.bounds[name] = Decimal(str(value))
        for term, name in ((SH.minLength, "min_length"), (SH.maxLength, "max_length")):
            n = self._int(ps, term)
            if n is not None:
                c.lengths[name] = n
        order = g.value(ps, SH.order)
        if isinstance(order, Literal):
            with contextlib.suppress(ValueError):
                c.order = float(order)
        for message in g.objects(ps, SH.message):
            if isinstance(message, Literal):
                c.messages.setdefault(message.language or "", str(message))
        for value in g.objects(ps, SH.hasValue):
            _add(c.fixed, str(value))
            if strict:  # sh:hasValue is met only by a value that is there
                c.min_count = max(c.min_count, 1)
        in_list = g.value(ps, SH["in"])
        if in_list is not None:
            for member in Collection(g, in_list):
                _add(c.choices, str(member))
        languages = g.value(ps, SH.languageIn)
        if languages is not None:
            for lang in Collection(g, languages):
                _add(c.languages, str(lang))
        qualified = g.value(ps, SH.qualifiedValueShape)
        if qualified is not None and self._int(ps, SH.qualifiedMinCount):
            langs = g.value(qualified, SH.languageIn)
            if langs is not None:
                for lang in Collection(g, langs):  # required, not the only ones allowed
                    if strict:
                        _add(c.required_languages, str(lang))
        self._value_constraints(ps, c, depth=0)

    def _value_constraints(self, shape: Node, c: _Constraints, depth: int) -> None:
        """What a shape says the values are: datatypes, classes, concept schemes (recursively through
        sh:node and sh:or), and what it says of the values' own properties (sh:property)."""
        if depth == 0:
            # Datatypes from different shapes must all hold (a capacity is an integer, though a
            # quantity may be a decimal): each shape's own alternatives narrow what is known.
            own = _Constraints(c.path)
            self._value_constraints_of(shape, own, 0)
            if own.datatypes:
                if c.datatypes_stated:
                    c.datatypes[:] = [d for d in c.datatypes if d in own.datatypes]
                else:
                    c.datatypes[:] = own.datatypes
                    c.datatypes_stated = True
            for name in ("classes", "schemes"):
                for value in getattr(own, name):
                    _add(getattr(c, name), value)
            for path, nested in own.nested.items():
                self._merge(c.nested.setdefault(path, _Constraints(path)), nested)
            return
        self._value_constraints_of(shape, c, depth)

    def _value_constraints_of(self, shape: Node, c: _Constraints, depth: int) -> None:
        g = self.shapes
        if depth > 4:
            return
        for dt in g.objects(shape, SH.datatype):
            _add(c.datatypes, str(dt))
        for cls in g.objects(shape, SH["class"]):
            _add(c.classes, str(cls))
        for alternatives in g.objects(shape, SH["or"]):
            for member in Collection(g, alternatives):
                self._value_constraints_of(member, c, depth + 1)
        for node in g.objects(shape, SH.node):
            self._value_constraints_of(node, c, depth + 1)
        for ps in g.objects(shape, SH.property):  # constraints on each value's own properties
            self._nested_property(ps, c)

    def _nested_property(self, ps: Node, c: _Constraints) -> None:
        path = self.shapes.value(ps, SH.path)
        if not isinstance(path, URIRef):
            return
        if str(path) == IN_SCHEME:
            for scheme in self.shapes.objects(ps, SH.hasValue):
                _add(c.schemes, str(scheme))
            return
        self._absorb(ps, c.nested.setdefault(str(path), _Constraints(str(path))))

    def _int(self, node: Node, term: URIRef) -> int | None:
        value = self.shapes.value(node, term)
        if isinstance(value, Literal):
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
        return None

    def _merge(self, into: _Constraints, extra: _Constraints) -> None:
        into.min_count = max(into.min_count, extra.min_count)
        into.recommended = into.recommended or extra.recommended
        if extra.max_count is not None:
            into.max_count = (
                extra.max_count if into.max_count is None else min(into.max_count, extra.max_count)
            )
        if extra.datatypes_stated and into.datatypes_stated:
            into.datatypes[:] = [d for d in into.datatypes if d in extra.datatypes]
        elif extra.datatypes_stated:
            into.datatypes[:] = extra.datatypes
            into.datatypes_stated = True
        for name in ("classes", "schemes", "choices", "fixed", "languages", "required_languages"):
            for value in getattr(extra, name):
                _add(getattr(into, name), value)
        for path, nested in extra.nested.items():
            self._merge(into.nested.setdefault(path, _Constraints(path)), nested)
        into.unique_lang = into.unique_lang or extra.unique_lang
        into.iri_only = into.iri_only or extra.iri_only
        into.bounds.update(extra.bounds)
        into.lengths.update(extra.lengths)
        for lang, text in extra.messages.items():
            into.messages.setdefault(lang, text)

    # --- deciding the field ------------------------------------------------------------------------

    def _key(self, path: str) -> str:
        short = curie(path, self.prefixes)
        return short if short != path else "p:" + path

    def _field(self, c: _Constraints) -> Field:
        made = Field(
            c.path,
            self._key(c.path),
            min_count=c.min_count,
            max_count=c.max_count,
            recommended=c.recommended and not c.min_count,
            languages=tuple(c.languages),
            required_languages=tuple(c.required_languages),
            unique_lang=c.unique_lang,
            datatypes=tuple(c.datatypes),
            classes=tuple(c.classes),
            schemes=tuple(c.schemes),
            choices=tuple(c.choices),
            fixed=tuple(c.fixed),
            min_exclusive=c.bounds.get("min_exclusive"),
            min_inclusive=c.bounds.get("min_inclusive"),
            max_exclusive=c.bounds.get("max_exclusive"),
            max_inclusive=c.bounds.get("max_inclusive"),
            min_length=c.lengths.get("min_length"),
            max_length=c.lengths.get("max_length"),
            messages=dict(c.messages),
            order=c.order,
        )
        made.kind = self._kind(c, made)
        if made.kind == "text" and not made.languages:
            made.languages = LANGS
        elif made.kind == "text":
            made.languages = tuple(lang for lang in LANGS if lang in made.languages) + tuple(
                lang for lang in made.languages if lang not in LANGS
            )
        return made

    def _kind(self, c: _Constraints, made: Field) -> str:
        range_ = [str(r) for r in self.ontology.objects(URIRef(c.path), RDFS.range)]
        if c.details:
            if not made.classes:
                made.classes = tuple(r for r in range_ if not r.startswith(str(XSD)))
            return "details"
        if c.choices:
            return "choice"
        if c.schemes:
            return "choice"
        if c.languages or c.required_languages or c.unique_lang:
            return "text"
        kind = _kind_of_datatypes(c.datatypes)
        if kind:
            return kind
        if c.classes:
            return "entity"
        for r in range_:  # the ontology's range
            if r in KIND_OF_DATATYPE:
                made.datatypes = (r,)
                return KIND_OF_DATATYPE[r]
            if r == CONCEPT:
                schemes = [str(s) for s in self.ontology.objects(URIRef(c.path), QB.codeList)]
                if schemes:
                    made.schemes = tuple(schemes)
                    return "choice"
            made.classes = (r,)
            return "entity"
        if c.fixed and all(f.startswith(("http://", "https://")) for f in c.fixed):
            made.choices = tuple(c.fixed)
            return "choice"
        if c.iri_only:
            return "entity"
        observed = self.hints.kind_of(c.path)
        if observed == "text":
            return "text"
        if observed == "iri":
            return "entity"
        if observed in KIND_OF_DATATYPE:
            made.datatypes = (observed,)
            return KIND_OF_DATATYPE[observed]
        types = set(self.ontology.objects(URIRef(c.path), RDF.type))
        if OWL.ObjectProperty in types:
            return "entity"
        if OWL.DatatypeProperty in types:
            return "text"
        return "string"


def _kind_of_datatypes(datatypes: Iterable[str]) -> str | None:
    found = set(datatypes)
    if not found:
        return None
    if found <= set(PERIOD):
        return "date" if found == {f"{XSD}date"} else "period"
    if found <= set(NUMBERS):
        return "integer" if found == {f"{XSD}integer"} else "number"
    if len(found) == 1:
        return KIND_OF_DATATYPE.get(found.pop(), "string")
    return "string"


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


def _field_order(f: Field) -> tuple:
    tier = 0 if f.required else 1 if f.recommended else 2
    return (f.order if f.order is not None else 1e9, tier, f.key.split(":")[-1].casefold())
