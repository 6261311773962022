"""A steward's edit of one entity: from what its form holds to a patch of triples, sourced.

The form (:mod:`kg.checks.forms`) gives the fields; the steward's entries (:class:`Entered`, strings
as typed) are read into RDF terms (:func:`read`), every value that cannot be read becoming a
:class:`Problem` (the shapes are for what can be read). The entity, its details nodes (a capacity, a
status record) and their links form a tree of :class:`Node` s; the triples of the tree as it was
when the form was opened (:func:`current`) and as it is now give the patch (:func:`plan`):

* triples the steward added go into the graph of the edit's **source** (every fact is sourced by the
  named graph of the article that states it, ``graph/source/…``); a new source gets a graph of its
  own, with the article (``schema:NewsArticle``: URL, title, publisher, date) and the graph's own
  provenance, modelled as ``data/*.trig`` model them;
* triples the steward removed are removed from every source graph that states them;
* triples the form does not show are never touched; a patch made against the graph as it was when
  the form was opened changes only what the steward changed, whatever others changed since.

A new node gets an IRI ``<base>id/{type}/{slug}`` (the ``{type}`` of its class's instances, the slug
from its English label or, transliterated, its Russian or Kazakh one). A details node the steward
left unlabelled is labelled after its parent (``School No. 3: capacity``); a node of a sourced class
names the edit's source (``prov:wasDerivedFrom``), and one reached through a property with an
``owl:inverseOf`` points back at its parent.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import pyoxigraph as ox

from kg.checks.forms import DERIVED_FROM, LABEL, LANGS, Field, Form
from kg.rdf.iris import local_name, slug
from kg.rdf.names import DCTERMS, PROV, RDF, RDFS, SCHEMA, XSD, Names

Term = ox.NamedNode | ox.Literal
Triple = tuple[ox.NamedNode, ox.NamedNode, Term]
RDF_TYPE = ox.NamedNode(f"{RDF}type")

# Problem codes: a value that cannot be read as its field's kind (the web layer words them)
PROBLEMS = (
    "not_integer",
    "not_number",
    "not_date",
    "not_period",
    "not_boolean",
    "not_url",
    "unknown_language",
    "unknown_choice",
    "no_match",
    "ambiguous",
    "not_iri",
)


@dataclass
class Entry:
    """One value as the steward typed it: the text, its language, the IRI an entity picker chose."""

    text: str = ""
    lang: str = ""
    iri: str = ""

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.iri.strip()


@dataclass
class Entered:
    """What a form holds for one node: its IRI (empty for a new one), its values and details nodes,
    by field key."""

    iri: str = ""
    values: dict[str, list[Entry]] = field(default_factory=dict)
    details: dict[str, list[Entered]] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A value that cannot be read: where (field keys and positions from the top), what, and for an
    entity picker the candidates that matched."""

    where: tuple[str | int, ...]
    code: str
    value: str
    candidates: tuple[str, ...] = ()


@dataclass
class Node:
    """One node of the tree an edit changes: its values by property, its details nodes."""

    iri: str
    form: Form
    values: dict[str, list[Term]] = field(default_factory=dict)
    details: dict[str, list[Node]] = field(default_factory=dict)
    new: bool = False
    # every asserted triple of an existing details node (removed with it when the steward drops it)
    everything: set[Triple] = field(default_factory=set)
    before: Node | None = field(default=None, repr=False)  # the node as it was, for an existing one

    def walk(self) -> Iterable[Node]:
        yield self
        for nodes in self.details.values():
            for node in nodes:
                yield from node.walk()


@dataclass(frozen=True)
class NewSource:
    """A source not yet in the graph: a news article."""

    url: str
    title: str
    language: str
    published: str  # an xsd:date
    publisher: str = ""  # the IRI of an organisation of the graph


@dataclass(frozen=True)
class Source:
    """The source of an edit: an article (or other document) and the named graph of its facts."""

    iri: str
    graph: str
    quads: frozenset[ox.Quad] = frozenset()  # a new source's own description, in its graph


@dataclass
class Patch:
    """An edit as a change: quads to add (in the source's graph), triples to remove (from every
    source graph stating them), the nodes it names by their place in the form, the IRIs it mints."""

    subject: str
    source: Source
    added: set[ox.Quad] = field(default_factory=set)
    removed: set[Triple] = field(default_factory=set)
    nodes: dict[tuple[str | int, ...], str] = field(default_factory=dict)
    minted: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.added and not self.removed


Labels = Callable[[str], dict[str, str]]  # the labels of an IRI, by language
Resolve = Callable[[str, tuple[str, ...]], list[str]]  # entities whose label matches, of those classes


# --- reading entries --------------------------------------------------------------------------------

_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_YEAR = re.compile(r"^\d{4}$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")


def read(
    form: Form,
    entered: Entered,
    *,
    resolve: Resolve,
    choices: Callable[[Field], Iterable[str]],
    where: tuple[str | int, ...] = (),
) -> tuple[dict[str, list[Term]], dict[str, list[tuple[Entered, dict]]], list[Problem]]:
    """The values of one node as terms (by property), its details entries with their values, and
    the problems of what could not be read."""
    values: dict[str, list[Term]] = {}
    details: dict[str, list[tuple[Entered, dict]]] = {}
    problems: list[Problem] = []
    for f in form.fields:
        if f.kind == "details":
            assert f.details is not None
            for i, inner in enumerate(entered.details.get(f.key, [])):
                inner_values, inner_details, inner_problems = read(
                    f.details, inner, resolve=resolve, choices=choices, where=(*where, f.key, i)
                )
                problems += inner_problems
                if _meaningful(f.details, inner_values, inner_details):  # an emptied one is dropped
                    details.setdefault(f.path, []).append(
                        (inner, {"values": inner_values, "details": inner_details})
                    )
            continue
        for i, entry in enumerate(entered.values.get(f.key, [])):
            if entry.empty:
                continue
            try:
                term = read_value(f, entry, resolve=resolve, choices=choices)
            except _Unreadable as exc:
                problems.append(
                    Problem((*where, f.key, i), exc.code, entry.text or entry.iri, exc.candidates)
                )
                continue
            bucket = values.setdefault(f.path, [])
            if term not in bucket:
                bucket.append(term)
    return values, details, problems


def _meaningful(form: Form, values: dict[str, list[Term]], details: dict[str, list]) -> bool:
    """Whether a details node holds anything but the values its shapes require (which a form shows
    preset): a node left otherwise empty is no node."""
    for path, terms in values.items():
        f = form.field(path)
        fixed = set(f.fixed) if f is not None else set()
        if any(not (isinstance(t, ox.NamedNode) and t.value in fixed) for t in terms):
            return True
    return any(details.values())


class _Unreadable(Exception):
    def __init__(self, code: str, candidates: tuple[str, ...] = ()):
        super().__init__(code)
        self.code = code
        self.candidates = candidates


def read_value(
    f: Field,
    entry: Entry,
    *,
    resolve: Resolve | None = None,
    choices: Callable[[Field], Iterable[str]] | None = None,
) -> Term:
    """One entry read as the field's kind; raises a problem code when it cannot be."""
    text = entry.text.strip()
    kind = f.kind
    if kind == "text":
        lang = (entry.lang or "").strip().lower()
        allowed = f.languages or LANGS
        if lang not in allowed:
            raise _Unreadable("unknown_language")
        return ox.Literal(text, language=lang)
    if kind == "string":
        return ox.Literal(text)
    if kind in ("integer", "number"):
        number = _SPACES.sub("", text).replace(",", ".")
        if _INTEGER.match(number):
            return ox.Literal(str(int(number)), datatype=ox.NamedNode(f"{XSD}integer"))
        if kind == "integer":
            raise _Unreadable("not_integer")
        if not _DECIMAL.match(number):
            raise _Unreadable("not_number")
        try:
            value = Decimal(number)
        except InvalidOperation as exc:
            raise _Unreadable("not_number") from exc
        return ox.Literal(_canonical_decimal(value), datatype=ox.NamedNode(f"{XSD}decimal"))
    if kind in ("date", "period"):
        return _date(text, period=kind == "period")
    if kind == "boolean":
        if text.lower() in ("true", "1", "yes", "on"):
            return ox.Literal("true", datatype=ox.NamedNode(f"{XSD}boolean"))
        if text.lower() in ("false", "0", "no", "off"):
            return ox.Literal("false", datatype=ox.NamedNode(f"{XSD}boolean"))
        raise _Unreadable("not_boolean")
    if kind == "uri":
        if not is_web_url(text):
            raise _Unreadable("not_url")
        return ox.Literal(text, datatype=ox.NamedNode(f"{XSD}anyURI"))
    if kind == "choice":
        picked = (entry.iri or text).strip()
        listed = set(choices(f)) if choices is not None else set()
        if picked not in listed:
            raise _Unreadable("unknown_choice")
        return ox.NamedNode(picked)
    # an entity: the IRI the picker chose, an IRI typed in, or a label that names exactly one
    chosen = entry.iri.strip()
    if chosen:
        if not _is_iri(chosen):
            raise _Unreadable("not_iri")
        return ox.NamedNode(chosen)
    if _is_iri(text) and text.startswith(("http://", "https://")):
        return ox.NamedNode(text)
    found = resolve(text, f.classes) if resolve is not None else []
    if len(found) == 1:
        return ox.NamedNode(found[0])
    if not found:
        raise _Unreadable("no_match")
    raise _Unreadable("ambiguous", tuple(found[:8]))


def _canonical_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def _date(text: str, *, period: bool) -> ox.Literal:
    problem = "not_period" if period else "not_date"
    try:
        if period and _YEAR.match(text):
            return ox.Literal(text, datatype=ox.NamedNode(f"{XSD}gYear"))
        if period and (m := _YEAR_MONTH.match(text)):
            if not 1 <= int(m.group(2)) <= 12:
                raise _Unreadable(problem)
            return ox.Literal(text, datatype=ox.NamedNode(f"{XSD}gYearMonth"))
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise _Unreadable(problem) from exc
    if len(text) != 10:
        raise _Unreadable(problem)
    return ox.Literal(day.isoformat(), datatype=ox.NamedNode(f"{XSD}date"))


def is_web_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and _is_iri(text)


def _is_iri(text: str) -> bool:
    return bool(text) and ":" in text and not any(c in text for c in '<>"{}|^`\\ \n\r\t')


# --- the tree as it is ------------------------------------------------------------------------------


def current(form: Form, iri: str, triples: Iterable[Triple]) -> Node:
    """The node ``iri`` and its details nodes as the asserted ``triples`` describe them (the values
    of the form's fields only; a details node keeps all its triples in ``everything``)."""
    by_subject: dict[str, list[Triple]] = {}
    for t in triples:
        by_subject.setdefault(t[0].value, []).append(t)
    return _current(form, iri, by_subject, depth=0)


def _current(form: Form, iri: str, by_subject: dict[str, list[Triple]], depth: int) -> Node:
    node = Node(iri, form)
    own = by_subject.get(iri, [])
    if form.via is not None:
        node.everything = set(own)
    for f in form.fields:
        objects = [o for _, p, o in own if p.value == f.path]
        if f.kind == "details" and f.details is not None and depth < 3:
            node.details[f.path] = [
                _current(f.details, o.value, by_subject, depth + 1)
                for o in objects
                if isinstance(o, ox.NamedNode)
            ]
        elif objects:
            node.values[f.path] = objects
    for extra in (DERIVED_FROM, form.inverse):
        if extra:
            objects = [o for _, p, o in own if p.value == extra]
            if objects:
                node.values[extra] = objects
    return node


def managed_triples(node: Node, *, with_types: bool = False) -> set[Triple]:
    """The triples of the tree the form manages: each node's field values, the links to its details
    nodes, their provenance and links back, and the types of new nodes (or of all, ``with_types``)."""
    found: set[Triple] = set()
    subject = ox.NamedNode(node.iri)
    if node.new or with_types:
        found.add((subject, RDF_TYPE, ox.NamedNode(node.form.cls)))
    for path, terms in node.values.items():
        for term in terms:
            found.add((subject, ox.NamedNode(path), term))
    for path, children in node.details.items():
        for child in children:
            found.add((subject, ox.NamedNode(path), ox.NamedNode(child.iri)))
            found |= managed_triples(child, with_types=with_types)
    return found


# --- planning -----------------------------------------------------------------------------------------


class Minter:
    """New IRIs ``<base>id/{type}/{slug}``: the type from the class (the segment its instances, or
    those of its nearest superclass, already use), the slug from a label, made unique."""

    def __init__(
        self,
        names: Names,
        segments: dict[str, str],
        superclasses: Callable[[str], list[str]],
        taken: Callable[[str], bool],
    ):
        self.names = names
        self.segments = segments
        self.superclasses = superclasses
        self.taken = taken
        self.minted: list[str] = []

    def segment(self, cls: str) -> str:
        for c in self.superclasses(cls):
            if c in self.segments:
                return self.segments[c]
        return slug(local_name(cls)) or "entity"

    def mint(self, cls: str, name: str) -> str:
        stem = f"{self.names.base}id/{self.segment(cls)}/{slug(name) or uuid.uuid4().hex[:8]}"
        iri, n = stem, 1
        while iri in self.minted or self.taken(iri):
            n += 1
            iri = f"{stem}-{n}"
        self.minted.append(iri)
        return iri


def plan(
    form: Form,
    entered: Entered,
    original: Node | None,
    source: Source,
    *,
    minter: Minter,
    labels: Labels,
    resolve: Resolve,
    choices: Callable[[Field], Iterable[str]],
) -> tuple[Patch, list[Problem]]:
    """The patch that makes the entity (``original``, or a new one) what the form holds, with the
    problems of what could not be read (their values are left out of the patch)."""
    values, details, problems = read(form, entered, resolve=resolve, choices=choices)
    patch = Patch(subject="", source=source)
    if original is not None:
        iri, new = original.iri, False
    else:
        iri, new = minter.mint(form.cls, _name_for_slug(values.get(LABEL, []))), True
    tree = _tree(form, iri, new, values, details, original, minter, patch, ())
    _complete(tree, source, labels, parent=None)
    patch.subject = iri
    patch.minted = list(minter.minted)
    before = managed_triples(original) if original is not None else set()
    after = managed_triples(tree)
    graph = ox.NamedNode(source.graph)
    patch.added = {ox.Quad(s, p, o, graph) for s, p, o in after - before} | set(source.quads)
    patch.removed = before - after
    for dropped in _dropped(original, tree):
        patch.removed |= dropped.everything - after
    return patch, problems


def _tree(
    form: Form,
    iri: str,
    new: bool,
    values: dict[str, list[Term]],
    details: dict[str, list[tuple[Entered, dict]]],
    original: Node | None,
    minter: Minter,
    patch: Patch,
    where: tuple[str | int, ...],
) -> Node:
    node = Node(iri, form, values=dict(values), new=new, before=original)
    patch.nodes[where] = iri
    if original is not None:  # the service's own values (provenance, link back) are kept as they were
        for extra in (DERIVED_FROM, form.inverse):
            if extra and extra in original.values:
                node.values[extra] = list(original.values[extra])
    known = {
        child.iri: child for children in (original.details if original else {}).values() for child in children
    }
    for f in form.fields:
        if f.kind != "details" or f.details is None:
            continue
        for i, (inner, parsed) in enumerate(details.get(f.path, [])):
            before = known.get(inner.iri) if inner.iri else None
            if before is not None and before.form.via == f.path:
                child_iri, child_new = before.iri, False
            else:
                parent_name = _name_for_slug(values.get(LABEL, [])) or local_name(iri)
                child_iri = minter.mint(f.details.cls, f"{parent_name} {_link_name(f, form)}")
                child_new = True
            child = _tree(
                f.details,
                child_iri,
                child_new,
                parsed["values"],
                parsed["details"],
                before,
                minter,
                patch,
                (*where, f.key, i),
            )
            node.details.setdefault(f.path, []).append(child)
    return node


def _complete(node: Node, source: Source, labels: Labels, parent: Node | None) -> None:
    """What the service fills in: labels of unlabelled details nodes, their source, the link back."""
    form = node.form
    if parent is not None and form.via is not None:
        if not node.values.get(LABEL):
            node.values[LABEL] = _details_labels(parent, form, labels)
        if form.inverse:
            link = ox.NamedNode(parent.iri)
            if link not in node.values.get(form.inverse, []):
                node.values.setdefault(form.inverse, []).append(link)
    for children in node.details.values():
        for child in children:
            _complete(child, source, labels, node)
    if form.sourced:
        cited = ox.NamedNode(source.iri)
        if cited not in node.values.get(DERIVED_FROM, []) and (node.new or _changed(node)):
            node.values.setdefault(DERIVED_FROM, []).append(cited)


def _changed(node: Node) -> bool:
    """Whether the steward changed a node's own values or details (its source is then the edit's too)."""
    if node.before is None:
        return True

    def own(n: Node) -> set[tuple[str, object]]:
        found: set[tuple[str, object]] = {
            (p, t) for p, terms in n.values.items() if p != DERIVED_FROM for t in terms
        }
        return found | {(p, c.iri) for p, children in n.details.items() for c in children}

    return own(node) != own(node.before)


def _dropped(original: Node | None, tree: Node) -> list[Node]:
    """The details nodes of ``original`` no longer in ``tree``."""
    if original is None:
        return []
    kept = {n.iri for n in tree.walk()}
    return [n for n in original.walk() if n.iri not in kept and n.form.via is not None]


def _details_labels(parent: Node, form: Form, labels: Labels) -> list[Term]:
    """``School No. 3: capacity``, in each language the parent has a label in."""
    assert form.via is not None
    named = labels(form.cls if form.inverse else form.via)
    found: list[Term] = []
    for term in parent.values.get(LABEL, []):
        if isinstance(term, ox.Literal) and term.language:
            what = named.get(term.language) or named.get("en") or local_name(form.via)
            found.append(ox.Literal(f"{term.value}: {what}", language=term.language))
    return found


def _link_name(f: Field, form: Form) -> str:
    assert f.details is not None
    return local_name(f.details.cls if f.details.inverse else f.path)


def _name_for_slug(label_terms: list[Term]) -> str:
    by_lang = {t.language: t.value for t in label_terms if isinstance(t, ox.Literal) and t.language}
    for lang in ("en", "ru", "kk"):
        if by_lang.get(lang):
            return by_lang[lang]
    return next(iter(by_lang.values()), "")


# --- sources -----------------------------------------------------------------------------------------


def new_source(names: Names, entered: NewSource, publisher_labels: dict[str, str]) -> Source:
    """A new source, modelled as the articles of ``data/*.trig`` are: the article
    (``schema:NewsArticle``, ``prov:Entity``; labels in kk/ru/en, ``schema:headline``, ``schema:url``,
    ``schema:datePublished`` and ``dcterms:issued``, ``dcterms:language`` and ``schema:inLanguage``,
    ``schema:publisher``) in a graph of its own, ``graph/source/article-{date}-{n}``, which is a
    ``prov:Entity`` derived from it."""
    key = f"article-{entered.published}-{uuid.uuid4().hex[:6]}"
    article = ox.NamedNode(f"{names.base}id/source/{key}")
    graph = ox.NamedNode(names.source_graph_base + key)
    date = ox.Literal(entered.published, datatype=ox.NamedNode(f"{XSD}date"))
    title = entered.title.strip()
    day = dt.date.fromisoformat(entered.published)
    quads: list[tuple[ox.NamedNode, ox.NamedNode, Term]] = [
        (article, RDF_TYPE, ox.NamedNode(f"{SCHEMA}NewsArticle")),
        (article, RDF_TYPE, ox.NamedNode(f"{PROV}Entity")),
        (article, ox.NamedNode(f"{SCHEMA}headline"), ox.Literal(title, language=entered.language)),
        (article, ox.NamedNode(f"{SCHEMA}url"), ox.NamedNode(entered.url.strip())),
        (article, ox.NamedNode(f"{SCHEMA}datePublished"), date),
        (article, ox.NamedNode(f"{DCTERMS}issued"), date),
        (article, ox.NamedNode(f"{DCTERMS}language"), ox.Literal(entered.language)),
        (article, ox.NamedNode(f"{SCHEMA}inLanguage"), ox.Literal(entered.language)),
        (graph, RDF_TYPE, ox.NamedNode(f"{PROV}Entity")),
        (graph, ox.NamedNode(f"{PROV}wasDerivedFrom"), article),
    ]
    if entered.publisher:
        quads.append((article, ox.NamedNode(f"{SCHEMA}publisher"), ox.NamedNode(entered.publisher)))
    for lang in LANGS:
        by = publisher_labels.get(lang) or publisher_labels.get("en") or ""
        when = day.strftime("%d.%m.%Y") if lang != "en" else day.isoformat()
        quote = f"«{title}»" if lang != "en" else f"“{title}”"
        label = f"{quote} ({by}, {when})" if by else f"{quote} ({when})"
        facts = {"kk": f"{label} дереккөзінің деректері", "ru": f"Факты из источника {label}"}
        quads.append((article, ox.NamedNode(f"{RDFS}label"), ox.Literal(label, language=lang)))
        facts_label = ox.Literal(facts.get(lang, f"Facts from {label}"), language=lang)
        quads.append((graph, ox.NamedNode(f"{RDFS}label"), facts_label))
    return Source(article.value, graph.value, frozenset(ox.Quad(s, p, o, graph) for s, p, o in quads))
