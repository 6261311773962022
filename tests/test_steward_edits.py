"""A steward's edit as a sourced patch (kg/changes/edits.py): values read by kind, with a problem for
what cannot be read; new entities and their details nodes minted, labelled, sourced and linked back;
an edit changes only what the steward changed; a new source is modelled as data/*.trig model one and
passes the shapes; a patch planned again by the writer keeps what others changed meanwhile."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Graph

from kg.changes import edits
from kg.changes.durable import LocalDurable
from kg.changes.edits import Entered, Entry, Minter, NewSource, Source
from kg.changes.writer import Writer
from kg.checks.forms import FormCatalog
from kg.engine.local import OxigraphStore
from kg.rdf.names import Names
from tests.test_steward_forms import EX, ONTOLOGY, SHAPES, XSD

BASE = "https://w3id.org/alatau-kg/"
AK = BASE + "def/ontology#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
NAMES = Names()
SOURCE = Source(BASE + "id/source/article-x", BASE + "graph/source/article-x")


@pytest.fixture(scope="module")
def catalog() -> FormCatalog:
    shapes, ontology = Graph(), Graph()
    shapes.parse(data=SHAPES, format="turtle")
    ontology.parse(data=ONTOLOGY, format="turtle")
    return FormCatalog(shapes, ontology, prefixes={"ex": EX, "rdfs": "http://www.w3.org/2000/01/rdf-schema#"})


def minter(catalog: FormCatalog, taken: set[str] | None = None) -> Minter:
    segments = {EX + "Building": "facility", EX + "Amount": "quantity"}
    return Minter(NAMES, segments, catalog.superclasses, lambda iri: iri in (taken or set()))


def labels(iri: str) -> dict[str, str]:
    return {"en": iri.rsplit("/", 1)[-1], "ru": "размер", "kk": "өлшемі"}


def resolve(text: str, classes: tuple[str, ...]) -> list[str]:
    places = {"enbek": [EX + "enbek"], "koyankus": [EX + "koyankus-1", EX + "koyankus-2"]}
    return places.get(text.lower(), [])


def choices(f) -> list[str]:
    return [*f.choices, *(s + "/open" for s in f.schemes)]


def plan(catalog, entered, original=None, taken=None):
    return edits.plan(
        catalog.form(EX + "School"),
        entered,
        original,
        SOURCE,
        minter=minter(catalog, taken),
        labels=labels,
        resolve=resolve,
        choices=choices,
    )


# --- reading values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("ex:storeys", "1 200", ox.Literal("1200", datatype=ox.NamedNode(XSD + "integer"))),
        ("ex:storeys", " 12 ", ox.Literal("12", datatype=ox.NamedNode(XSD + "integer"))),
        ("ex:built", "2026", ox.Literal("2026", datatype=ox.NamedNode(XSD + "gYear"))),
        ("ex:built", "2026-02", ox.Literal("2026-02", datatype=ox.NamedNode(XSD + "gYearMonth"))),
        ("ex:built", "2026-02-15", ox.Literal("2026-02-15", datatype=ox.NamedNode(XSD + "date"))),
        ("ex:opened", "2024-09-01", ox.Literal("2024-09-01", datatype=ox.NamedNode(XSD + "date"))),
    ],
)
def test_values_are_read_by_their_kind(catalog, key, text, expected):
    f = catalog.form(EX + "School").field(key)
    assert edits.read_value(f, Entry(text)) == expected


def test_a_number_reads_a_comma_as_the_decimal_point(catalog):
    value = catalog.form(EX + "Amount").field("ex:value")
    assert value.kind == "number"
    assert edits.read_value(value, Entry("15,5")) == ox.Literal(
        "15.5", datatype=ox.NamedNode(XSD + "decimal")
    )
    assert edits.read_value(value, Entry("31 000")) == ox.Literal(
        "31000", datatype=ox.NamedNode(XSD + "integer")
    )


@pytest.mark.parametrize(
    ("key", "entry", "code"),
    [
        ("ex:storeys", Entry("twelve"), "not_integer"),
        ("ex:storeys", Entry("1.5"), "not_integer"),
        ("ex:built", Entry("2026-13"), "not_period"),
        ("ex:built", Entry("2026-02-30"), "not_period"),
        ("ex:opened", Entry("2026"), "not_date"),
        ("ex:colour", Entry(iri=EX + "blue"), "unknown_choice"),
        ("ex:motto", Entry("Білім", "en"), "unknown_language"),
        ("ex:locatedIn", Entry("Atlantis"), "no_match"),
        ("ex:locatedIn", Entry("Koyankus"), "ambiguous"),
        ("ex:locatedIn", Entry(iri="not an iri"), "not_iri"),
    ],
)
def test_what_cannot_be_read_is_a_problem_with_a_code(catalog, key, entry, code):
    f = catalog.form(EX + "School").field(key)
    with pytest.raises(edits._Unreadable) as caught:
        edits.read_value(f, entry, resolve=resolve, choices=choices)
    assert caught.value.code == code


def test_an_entity_is_the_picked_iri_or_the_one_a_label_names(catalog):
    f = catalog.form(EX + "School").field("ex:locatedIn")
    assert edits.read_value(f, Entry("Enbek"), resolve=resolve) == ox.NamedNode(EX + "enbek")
    assert edits.read_value(f, Entry("whatever", iri=EX + "x"), resolve=resolve) == ox.NamedNode(EX + "x")


# --- new entities ---------------------------------------------------------------------------------


def new_school(storeys: str = "3") -> Entered:
    return Entered(
        values={
            "rdfs:label": [Entry("Школа № 3", "ru"), Entry("School No. 3", "en"), Entry("", "kk")],
            "ex:locatedIn": [Entry("Enbek")],
            "ex:storeys": [Entry(storeys)],
            "ex:colour": [Entry(iri=EX + "red")],
        },
        details={
            "ex:size": [Entered(values={"ex:value": [Entry("600")], "ex:unit": [Entry(iri=EX + "seat")]})],
            "ex:hasRecord": [Entered(values={"ex:when": [Entry("2026-01-17")]})],
        },
    )


def triples_of(quads) -> set[tuple[str, str, str]]:
    return {(q.subject.value, q.predicate.value, getattr(q.object, "value", str(q.object))) for q in quads}


def test_a_new_entity_is_minted_typed_sourced_and_its_details_labelled_and_linked(catalog):
    patch, problems = plan(catalog, new_school(), taken={BASE + "id/facility/school-no-3"})
    assert problems == []
    school = BASE + "id/facility/school-no-3-2"  # the slug of its English label, made unique
    size = BASE + "id/quantity/school-no-3-size"
    assert patch.subject == school and patch.minted[0] == school
    assert {q.graph_name.value for q in patch.added} == {SOURCE.graph}  # all in the source's graph
    found = triples_of(patch.added)
    assert (school, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", EX + "School") in found
    assert (school, EX + "locatedIn", EX + "enbek") in found
    assert (school, EX + "size", size) in found
    # a details node: typed, labelled after its parent, sourced (its class requires it)
    assert (size, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", EX + "Amount") in found
    assert (size, RDFS_LABEL, "School No. 3: size") in found and (
        size,
        RDFS_LABEL,
        "Школа № 3: размер",
    ) in found
    assert (size, "http://www.w3.org/ns/prov#wasDerivedFrom", SOURCE.iri) in found
    # a record reached through ex:hasRecord points back at the school (owl:inverseOf)
    record = next(o for s, p, o in found if s == school and p == EX + "hasRecord")
    assert (record, EX + "recordOf", school) in found
    assert patch.nodes[()] == school and patch.nodes[("ex:size", 0)] == size
    assert patch.removed == set()


def test_values_that_cannot_be_read_are_left_out_and_reported_where_they_are(catalog):
    entered = new_school(storeys="three")
    entered.details["ex:size"][0].values["ex:value"] = [Entry("six hundred")]
    patch, problems = plan(catalog, entered)
    assert {(p.where, p.code) for p in problems} == {
        (("ex:storeys", 0), "not_integer"),
        (("ex:size", 0, "ex:value", 0), "not_integer"),  # a size is whole (sh:targetObjectsOf)
    }
    assert not any(q.predicate.value == EX + "storeys" for q in patch.added)


def test_a_details_node_holding_only_the_value_its_shape_requires_is_no_node(catalog):
    entered = new_school()
    entered.details["ex:size"] = [Entered(values={"ex:unit": [Entry(iri=EX + "seat")]})]
    entered.details["ex:hasRecord"] = [Entered()]
    patch, _ = plan(catalog, entered)
    assert not any(q.predicate.value in (EX + "size", EX + "hasRecord") for q in patch.added)


# --- edits of existing entities --------------------------------------------------------------------


def existing(catalog) -> edits.Node:
    school, size = ox.NamedNode(EX + "s1"), ox.NamedNode(EX + "s1-size")
    label, typ = ox.NamedNode(RDFS_LABEL), ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    integer = ox.NamedNode(XSD + "integer")
    triples = [
        (school, typ, ox.NamedNode(EX + "School")),
        (school, label, ox.Literal("School 1", language="en")),
        (school, label, ox.Literal("Школа 1", language="ru")),
        (school, ox.NamedNode(EX + "locatedIn"), ox.NamedNode(EX + "enbek")),
        (school, ox.NamedNode(EX + "storeys"), ox.Literal("2", datatype=integer)),
        (school, ox.NamedNode(EX + "size"), size),
        (school, ox.NamedNode(EX + "unshown"), ox.Literal("kept")),
        (size, typ, ox.NamedNode(EX + "Amount")),
        (size, label, ox.Literal("size", language="en")),
        (size, ox.NamedNode(EX + "value"), ox.Literal("600", datatype=integer)),
        (size, ox.NamedNode(EX + "unit"), ox.NamedNode(EX + "seat")),
        (
            size,
            ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom"),
            ox.NamedNode(BASE + "id/source/old"),
        ),
        (size, ox.NamedNode(EX + "unshownToo"), ox.Literal("x")),
    ]
    return edits.current(catalog.form(EX + "School"), EX + "s1", triples)


def entered_from(node: edits.Node) -> Entered:
    """The form as it opens on ``node`` (what the web layer's editing.entered_of does)."""
    entered = Entered(iri=node.iri)
    for f in node.form.fields:
        if f.kind == "details":
            entered.details[f.key] = [entered_from(c) for c in node.details.get(f.path, [])]
        else:
            entered.values[f.key] = [
                Entry(
                    getattr(t, "value", ""),
                    getattr(t, "language", None) or "",
                    t.value if isinstance(t, ox.NamedNode) else "",
                )
                for t in node.values.get(f.path, [])
            ]
    return entered


def test_an_unchanged_form_changes_nothing(catalog):
    node = existing(catalog)
    patch, problems = plan(catalog, entered_from(node), node)
    assert problems == [] and patch.empty


def test_an_edit_adds_and_removes_only_what_the_steward_changed(catalog):
    node = existing(catalog)
    entered = entered_from(node)
    entered.values["ex:storeys"] = [Entry("3")]
    entered.details["ex:size"][0].values["ex:value"] = [Entry("650")]
    patch, _ = plan(catalog, entered, node)
    removed = {(s.value, p.value, o.value) for s, p, o in patch.removed}
    assert removed == {(EX + "s1", EX + "storeys", "2"), (EX + "s1-size", EX + "value", "600")}
    added = triples_of(patch.added)
    assert (EX + "s1", EX + "storeys", "3") in added and (EX + "s1-size", EX + "value", "650") in added
    # the changed size now also names the edit's source; the old one stays
    assert (EX + "s1-size", "http://www.w3.org/ns/prov#wasDerivedFrom", SOURCE.iri) in added
    assert not any(p.value == "http://www.w3.org/ns/prov#wasDerivedFrom" for _, p, _ in patch.removed)
    # nothing the form does not show is touched, and nothing unchanged is restated
    assert not any(EX + "unshown" in (p, o) for _, p, o in added | removed)
    assert (EX + "s1", RDFS_LABEL, "School 1") not in added


def test_dropping_a_details_node_removes_all_of_it(catalog):
    node = existing(catalog)
    entered = entered_from(node)
    entered.details["ex:size"] = []
    patch, _ = plan(catalog, entered, node)
    removed = {(s.value, p.value) for s, p, _ in patch.removed}
    assert (EX + "s1", EX + "size") in removed
    assert {p for s, p in removed if s == EX + "s1-size"} >= {EX + "value", EX + "unit", EX + "unshownToo"}


# --- with the real graph: sources, and the writer ----------------------------------------------------


@pytest.fixture(scope="module")
def writer(real_settings) -> Writer:
    store = ox.Store()
    store.bulk_extend(OxigraphStore(real_settings.names, real_settings.store_path, read_only=True).raw)
    return Writer(LocalDurable(store), real_settings.names)


def test_a_new_source_is_modelled_as_the_articles_are_and_passes_the_shapes(writer):
    source = edits.new_source(
        NAMES,
        NewSource(
            "https://example.kz/news/1", "Новая школа", "ru", "2026-03-01", BASE + "id/org/akimat-alatau"
        ),
        {"en": "Akimat of Alatau", "ru": "акимат Алатау", "kk": "Алатау әкімдігі"},
    )
    assert source.graph.startswith(BASE + "graph/source/article-2026-03-01-")
    assert {q.graph_name.value for q in source.quads} == {source.graph}
    found = triples_of(source.quads)
    schema = "http://schema.org/"
    for p, o in [
        ("http://www.w3.org/1999/02/22-rdf-syntax-ns#type", schema + "NewsArticle"),
        (schema + "datePublished", "2026-03-01"),
        ("http://purl.org/dc/terms/language", "ru"),
        (schema + "url", "https://example.kz/news/1"),
        (schema + "headline", "Новая школа"),
        (schema + "publisher", BASE + "id/org/akimat-alatau"),
    ]:
        assert (source.iri, p, o) in found, p
    assert (source.graph, "http://www.w3.org/ns/prov#wasDerivedFrom", source.iri) in found
    assert {o for s, p, o in found if s == source.iri and p == RDFS_LABEL} == {
        "«Новая школа» (Алатау әкімдігі, 01.03.2026)",
        "«Новая школа» (акимат Алатау, 01.03.2026)",
        "“Новая школа” (Akimat of Alatau, 2026-03-01)",
    }
    checked = writer.check(writer.plan_patch(source.quads, []))
    assert checked is not None and checked.report.conforms, checked.report.to_text()


def test_a_patch_planned_again_keeps_what_others_changed_meanwhile(writer):
    keleshek = ox.NamedNode(BASE + "id/facility/keleshek-school-enbek")
    label = ox.NamedNode(RDFS_LABEL)
    graph = ox.NamedNode(BASE + "graph/source/article-2026-01-17")
    old_en = ox.Literal("Keleshek School (Enbek, 600 seats)", language="en")
    new_en = ox.Literal("Keleshek School No. 1 (Enbek)", language="en")
    alt = ox.Quad(
        keleshek,
        ox.NamedNode("http://www.w3.org/2004/02/skos/core#altLabel"),
        ox.Literal("Келешек-1", language="ru"),
        graph,
    )
    # the steward's patch: the English label replaced
    change = writer.plan_patch([ox.Quad(keleshek, label, new_en, graph)], [(keleshek, label, old_en)])
    assert {q.object for q in change.removed} == {old_en}
    # meanwhile another writer adds an alternative label
    writer.submit(writer.plan_quads([alt]), agent="other")
    outcome = writer.submit(change, agent="steward")  # planned again at the new version
    assert outcome.change_iri is not None
    assert ox.Quad(keleshek, label, new_en, graph) in writer.working
    assert ox.Quad(keleshek, label, old_en, graph) not in writer.working
    assert alt in writer.working  # the other change is kept
