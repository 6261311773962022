"""Forms from the shapes (kg/checks/forms.py): each SHACL construct gives the field it should, on a
tiny hand-written ontology and shapes graph; then the real shapes give the forms stewards use."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rdflib import Graph

from kg.build import load_graph_file, load_shapes, ontology_files
from kg.checks.forms import FormCatalog, Hints
from kg.config import PROJECT_ROOT, Settings
from kg.rdf.names import Names
from kg.rdf.terms import triples_to_graph

EX = "http://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"

PREFIXES = """
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix qb: <http://purl.org/linked-data/cube#> .
@prefix dash: <http://datashapes.org/dash#> .
@prefix ex: <http://example.org/> .
"""

ONTOLOGY = (
    PREFIXES
    + """
ex:Thing a owl:Class .
ex:Building a owl:Class ; rdfs:subClassOf ex:Thing .
ex:School a owl:Class ; rdfs:subClassOf ex:Building .
ex:Amount a owl:Class .
ex:Record a owl:Class .
ex:Place a owl:Class .
ex:hasRecord a owl:ObjectProperty ; owl:inverseOf ex:recordOf ; rdfs:range ex:Record .
ex:recordOf a owl:ObjectProperty .
ex:opened a owl:DatatypeProperty ; rdfs:range xsd:date .
ex:kind a owl:ObjectProperty ; rdfs:range skos:Concept ; qb:codeList ex:kinds .
ex:owner a owl:ObjectProperty ; rdfs:range ex:Place .
ex:note a owl:DatatypeProperty .
ex:wording a owl:DatatypeProperty .
"""
)

SHAPES = (
    PREFIXES
    + """
ex:Labelled a sh:NodeShape ; sh:targetClass ex:Thing , ex:Amount ;
    sh:property [ sh:path rdfs:label ; sh:qualifiedValueShape [ sh:languageIn ( "ru" ) ] ;
                  sh:qualifiedMinCount 1 ] ,
                [ sh:path rdfs:label ; sh:qualifiedValueShape [ sh:languageIn ( "en" ) ] ;
                  sh:qualifiedMinCount 1 ] ,
                [ sh:path rdfs:label ; sh:uniqueLang true ] .
ex:Sourced a sh:NodeShape ; sh:targetClass ex:Amount , ex:Record ;
    sh:property [ sh:path prov:wasDerivedFrom ; sh:minCount 1 ; sh:nodeKind sh:IRI ] .
ex:APlace a sh:NodeShape ; sh:or ( [ sh:class ex:Place ] [ sh:class ex:Building ] ) .
ex:Period a sh:NodeShape ;
    sh:or ( [ sh:datatype xsd:date ] [ sh:datatype xsd:gYearMonth ] [ sh:datatype xsd:gYear ] ) .
ex:BuildingShape a sh:NodeShape ; sh:targetClass ex:Building ;
    sh:property [ sh:path ex:locatedIn ; sh:minCount 1 ; sh:node ex:APlace ;
                  sh:message "A building lies in a place."@en , "Здание находится в месте."@ru ] ,
                [ sh:path ex:status ; sh:maxCount 1 ;
                  sh:property [ sh:path skos:inScheme ; sh:hasValue ex:statuses ] ] ,
                [ sh:path ex:size ; sh:maxCount 1 ; dash:editor dash:DetailsEditor ; sh:class ex:Amount ] ,
                [ sh:path ex:hasRecord ; dash:editor dash:DetailsEditor ] ,
                [ sh:path ex:built ; sh:node ex:Period ; sh:maxCount 1 ] ,
                [ sh:path ex:storeys ; sh:datatype xsd:integer ; sh:minInclusive 1 ; sh:maxInclusive 200 ] ,
                [ sh:path ex:motto ; sh:languageIn ( "kk" "ru" ) ] ,
                [ sh:path ex:colour ; sh:in ( ex:red ex:green ) ] ,
                [ sh:path ex:photo ; sh:severity sh:Warning ; sh:minCount 1 ; sh:nodeKind sh:IRI ] .
ex:SchoolSize a sh:NodeShape ; sh:targetClass ex:School ;
    sh:property [ sh:path ( ex:size ex:unit ) ; sh:hasValue ex:seat ] .
ex:AmountShape a sh:NodeShape ; sh:targetClass ex:Amount ;
    sh:property [ sh:path ex:value ; sh:minCount 1 ; sh:maxCount 1 ;
                  sh:or ( [ sh:datatype xsd:integer ] [ sh:datatype xsd:decimal ] ) ; sh:minExclusive 0 ] ,
                [ sh:path ex:unit ; sh:minCount 1 ; sh:in ( ex:seat ex:metre ex:hectare ) ] .
ex:SizeIsWhole a sh:NodeShape ; sh:targetObjectsOf ex:size ;
    sh:property [ sh:path ex:value ; sh:datatype xsd:integer ] .
ex:RecordShape a sh:NodeShape ; sh:targetClass ex:Record ;
    sh:property [ sh:path ex:recordOf ; sh:minCount 1 ; sh:maxCount 1 ] ,
                [ sh:path ex:when ; sh:datatype xsd:date ; sh:minCount 1 ] .
ex:ConceptShape a sh:NodeShape ; sh:targetClass skos:Concept ;
    sh:property [ sh:path skos:inScheme ; sh:minCount 1 ] .
ex:Other a sh:NodeShape ; sh:targetClass ex:Thing ;
    sh:property [ sh:path ex:opened ] , [ sh:path ex:kind ] , [ sh:path ex:owner ] ,
                [ sh:path ex:note ] , [ sh:path ex:wording ] .
"""
)


@pytest.fixture(scope="module")
def catalog() -> FormCatalog:
    shapes, ontology = Graph(), Graph()
    shapes.parse(data=SHAPES, format="turtle")
    ontology.parse(data=ONTOLOGY, format="turtle")
    hints = Hints(observe=lambda path: "text" if path == EX + "wording" else None)
    return FormCatalog(
        shapes, ontology, hints, prefixes={"ex": EX, "rdfs": "http://www.w3.org/2000/01/rdf-schema#"}
    )


def school(catalog: FormCatalog):
    return catalog.form(EX + "School")


def test_a_class_gets_the_shapes_of_its_superclasses(catalog):
    form = school(catalog)
    paths = [f.path for f in form.fields]
    assert EX + "locatedIn" in paths  # from ex:Building's shape
    assert EX + "opened" in paths  # from ex:Thing's
    assert paths[0] == "http://www.w3.org/2000/01/rdf-schema#label"  # the labels come first


def test_shaped_classes_are_the_targets_and_their_subclasses_not_concepts(catalog):
    classes = catalog.shaped_classes()
    assert {EX + "Thing", EX + "Building", EX + "School", EX + "Amount", EX + "Record"} <= set(classes)
    assert "http://www.w3.org/2004/02/skos/core#Concept" not in classes
    assert EX + "Place" not in classes


def test_labels_are_text_one_per_language_with_the_qualified_languages_required(catalog):
    label = school(catalog).field("rdfs:label")
    assert label.kind == "text" and label.per_language
    assert label.languages == ("kk", "ru", "en")
    assert set(label.required_languages) == {"ru", "en"}


def test_min_count_makes_a_field_required_and_a_warning_recommended(catalog):
    form = school(catalog)
    assert form.field("ex:locatedIn").required
    photo = form.field("ex:photo")
    assert not photo.required and photo.recommended


def test_sh_node_with_sh_or_of_classes_is_an_entity_picker(catalog):
    located = school(catalog).field("ex:locatedIn")
    assert located.kind == "entity"
    assert set(located.classes) == {EX + "Place", EX + "Building"}
    assert located.messages["en"] == "A building lies in a place."


def test_a_scheme_named_by_a_nested_in_scheme_is_a_choice(catalog):
    status = school(catalog).field("ex:status")
    assert status.kind == "choice" and status.schemes == (EX + "statuses",) and status.max_count == 1


def test_sh_in_is_a_choice_in_order(catalog):
    colour = school(catalog).field("ex:colour")
    assert colour.kind == "choice" and colour.choices == (EX + "red", EX + "green")


def test_datatypes_give_inputs_and_bounds(catalog):
    form = school(catalog)
    storeys = form.field("ex:storeys")
    assert storeys.kind == "integer"
    assert storeys.min_inclusive == Decimal(1) and storeys.max_inclusive == Decimal(200)
    built = form.field("ex:built")
    assert built.kind == "period" and set(built.datatypes) == {
        XSD + "date",
        XSD + "gYearMonth",
        XSD + "gYear",
    }


def test_language_in_restricts_the_languages(catalog):
    motto = school(catalog).field("ex:motto")
    assert motto.kind == "text" and motto.languages == ("kk", "ru") and not motto.per_language


def test_details_editor_gives_a_nested_form_with_the_parents_constraints(catalog):
    size = school(catalog).field("ex:size")
    assert size.kind == "details" and size.max_count == 1
    assert size.required  # ( ex:size ex:unit ) sh:hasValue ex:seat: a school without a size violates it
    inner = size.details
    assert inner is not None and inner.cls == EX + "Amount" and inner.via == EX + "size"
    value = inner.field("ex:value")
    # integer or decimal for any amount, but sh:targetObjectsOf ex:size narrows it to integer
    assert value.kind == "integer" and value.required and value.min_exclusive == Decimal(0)
    unit = inner.field("ex:unit")
    # the sequence path ( ex:size ex:unit ) of the school's shape requires seats
    assert unit.kind == "choice" and unit.fixed == (EX + "seat",) and EX + "metre" in unit.choices
    assert inner.sourced  # the amount's shapes require prov:wasDerivedFrom: the edit's source fills it
    assert inner.field("http://www.w3.org/ns/prov#wasDerivedFrom") is None


def test_a_building_that_is_not_a_school_has_no_required_unit(catalog):
    size = catalog.form(EX + "Building").field("ex:size")
    assert not size.required and size.details.field("ex:unit").fixed == ()


def test_a_details_node_reached_through_a_property_with_an_inverse_links_back(catalog):
    record = school(catalog).field("ex:hasRecord")
    assert record.kind == "details" and record.classes == (EX + "Record",)  # from the ontology's range
    inner = record.details
    assert inner.inverse == EX + "recordOf"
    assert inner.field("ex:recordOf") is None  # filled by the service, not shown
    assert inner.field("ex:when").kind == "date"


def test_where_the_shapes_are_silent_the_ontology_then_the_data_decide(catalog):
    form = school(catalog)
    assert form.field("ex:opened").kind == "date"  # rdfs:range xsd:date
    kind = form.field("ex:kind")
    assert kind.kind == "choice" and kind.schemes == (EX + "kinds",)  # range skos:Concept + qb:codeList
    owner = form.field("ex:owner")
    assert owner.kind == "entity" and owner.classes == (EX + "Place",)  # range a class
    assert form.field("ex:wording").kind == "text"  # the data holds language-tagged text
    assert form.field("ex:note").kind == "text"  # a datatype property, nothing known: text


def test_every_form_offers_other_names_and_a_description(catalog):
    form = school(catalog)
    extras = [f.key for f in form.fields if f.extra]
    assert extras[:2] == [
        "p:http://www.w3.org/2004/02/skos/core#altLabel",
        "p:http://purl.org/dc/terms/description",
    ]
    sourced_extras = [f.path for f in catalog.form(EX + "Amount").fields if f.extra]
    assert "http://www.w3.org/ns/prov#wasAttributedTo" in sourced_extras


# --- the real shapes --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> FormCatalog:
    settings = Settings(ontology_dir=PROJECT_ROOT / "ontology", data_dir=PROJECT_ROOT / "data")
    names = Names()
    ontology = Graph()
    for path in ontology_files(settings):
        triples_to_graph(load_graph_file(path, names.ontology_graph, names), ontology)
    return FormCatalog(load_shapes(settings), ontology, prefixes=names.prefixes())


AK = "https://w3id.org/alatau-kg/def/ontology#"


def test_the_school_form_from_the_real_shapes(real):
    form = real.form(AK + "School")
    located = form.field("ak:locatedIn")
    assert located.required and located.kind == "entity"
    assert set(located.classes) == {"http://www.opengis.net/ont/geosparql#Feature", "http://schema.org/Place"}
    assert form.field("ak:hasStatusRecord").recommended  # a Warning: a social facility should be dated
    capacity = form.field("ak:capacity")
    assert capacity.kind == "details" and capacity.max_count == 1 and capacity.required
    inner = capacity.details
    assert inner.field("qudt:numericValue").kind == "integer"  # shapes:CapacityIsWhole
    assert inner.field("qudt:unit").fixed == (AK + "Seat",)  # shapes:SchoolCapacity
    assert inner.field("ak:statedValue").required and inner.field("ak:statedValue").kind == "text"
    status = form.field("ak:currentStatus")
    assert status.kind == "choice" and status.schemes == ("https://w3id.org/alatau-kg/def/facility-status",)


def test_every_shaped_class_of_the_real_shapes_has_a_form(real):
    classes = real.shaped_classes()
    assert len(classes) > 50 and AK + "School" in classes and "http://schema.org/NewsArticle" in classes
    for cls in classes:
        form = real.form(cls)
        assert form.fields[0].path == "http://www.w3.org/2000/01/rdf-schema#label", cls
        for _, f in form.walk():
            assert f.kind in (
                "text",
                "string",
                "integer",
                "number",
                "date",
                "period",
                "boolean",
                "uri",
                "choice",
                "entity",
                "details",
            ), (cls, f.path)
