"""The shapes: a valid/invalid pair for each kind of constraint, checked in the context of the real graph.

Each invalid case asserts the focus node, the result path and the constraint component of the
structured report, never the message text. The valid baseline must raise no result at all.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef

from kg.checks.guard import Guard
from kg.engine.local import OxigraphStore
from kg.rdf.names import Names
from kg.rdf.terms import triples_to_graph

PREFIXES = """
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix qudt: <http://qudt.org/schema/qudt/> .
@prefix unit: <http://qudt.org/vocab/unit/> .
@prefix qb: <http://purl.org/linked-data/cube#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix sdmx-dimension: <http://purl.org/linked-data/sdmx/2009/dimension#> .
@prefix sdmx-measure: <http://purl.org/linked-data/sdmx/2009/measure#> .
@prefix sdmx-attribute: <http://purl.org/linked-data/sdmx/2009/attribute#> .
@prefix ak: <https://w3id.org/alatau-kg/def/ontology#> .
@prefix fs: <https://w3id.org/alatau-kg/def/facility-status/> .
@prefix vq: <https://w3id.org/alatau-kg/def/value-qualifier/> .
@prefix ind: <https://w3id.org/alatau-kg/def/indicator/> .
@prefix age: <https://w3id.org/alatau-kg/def/age-group/> .
@prefix id: <https://w3id.org/alatau-kg/id/> .
@prefix src: <https://w3id.org/alatau-kg/id/source/> .
"""

ID = "https://w3id.org/alatau-kg/id/"
AK = "https://w3id.org/alatau-kg/def/ontology#"
SH = "http://www.w3.org/ns/shacl#"
QUDT = "http://qudt.org/schema/qudt/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SCHOOL = f"{ID}facility/test-school"
CAPACITY = f"{ID}quantity/test-school-capacity"
RECORD = f"{ID}status-record/test-school-planned"
OBS = f"{ID}observation/test-observation"

# A new school in an existing microdistrict, with its capacity and a dated status: valid as it is.
SCHOOL_TTL = """
<https://w3id.org/alatau-kg/id/facility/test-school> a ak:School ;
    rdfs:label "Test school"@en , "Тестовая школа"@ru ;
    ak:locatedIn <https://w3id.org/alatau-kg/id/place/daulet> ;
    ak:capacity <https://w3id.org/alatau-kg/id/quantity/test-school-capacity> ;
    ak:currentStatus fs:planned ;
    ak:hasStatusRecord <https://w3id.org/alatau-kg/id/status-record/test-school-planned> .
<https://w3id.org/alatau-kg/id/quantity/test-school-capacity> a ak:QuantityValue ;
    rdfs:label "Capacity of the test school"@en , "Мощность тестовой школы"@ru ;
    qudt:numericValue 300 ; qudt:unit ak:Seat ; ak:statedValue "на 300 мест"@ru ;
    prov:wasDerivedFrom src:article-2026-01-17 .
<https://w3id.org/alatau-kg/id/status-record/test-school-planned> a ak:StatusRecord ;
    rdfs:label "Test school: planned"@en , "Тестовая школа: запланирована"@ru ;
    ak:statusOf <https://w3id.org/alatau-kg/id/facility/test-school> ;
    ak:status fs:planned ; ak:statusDate "2026-01-17"^^xsd:date ;
    prov:wasDerivedFrom src:article-2026-01-17 .
"""

# A new population figure for a new date, attributed: valid as it is.
OBS_TTL = """
<https://w3id.org/alatau-kg/id/observation/test-observation> a qb:Observation ;
    rdfs:label "Population of Alatau on 2026-06-01"@en , "Население Алатау на 01.06.2026"@ru ;
    qb:dataSet <https://w3id.org/alatau-kg/id/dataset/population> ;
    ak:indicator ind:population ;
    sdmx-dimension:refArea <https://w3id.org/alatau-kg/id/place/alatau> ;
    sdmx-dimension:refPeriod "2026-06-01"^^xsd:date ;
    sdmx-measure:obsValue 56000 ;
    sdmx-attribute:unitMeasure unit:NUM ;
    ak:statedValue "56 000 человек"@ru ;
    prov:wasDerivedFrom src:article-2026-01-17 ;
    prov:wasAttributedTo <https://w3id.org/alatau-kg/id/org/akimat-alatau> .
"""


@pytest.fixture(scope="module")
def guard(real_settings) -> Guard:
    return Guard.from_store(
        OxigraphStore(Names(real_settings.base_iri), real_settings.store_path, read_only=True)
    )


def _graph(ttl: str) -> Graph:
    return Graph().parse(data=PREFIXES + ttl, format="turtle")


def check(guard: Guard, add: str = "", remove: str = ""):
    return guard.check(additions=_graph(add), removals=_graph(remove)).report


def violations(report) -> set[tuple[str, str | None, str]]:
    return {
        (r.focusNode, r.resultPath, r.sourceConstraintComponent.removeprefix(SH))
        for r in report.results
        if r.resultSeverity == "Violation"
    }


def test_the_valid_baselines_raise_nothing(guard):
    for ttl in (SCHOOL_TTL, OBS_TTL):
        report = check(guard, ttl)
        assert report.conforms and report.results == [], report.to_text()


CASES = [
    # (id, turtle, expected (focus, path, component))
    (
        "qualifiedMinCount: Russian label required",
        SCHOOL_TTL.replace(', "Тестовая школа"@ru', ""),
        (SCHOOL, f"{RDFS}label", "QualifiedMinCountConstraintComponent"),
    ),
    (
        "uniqueLang: one label per language",
        SCHOOL_TTL.replace('"Test school"@en ,', '"Test school"@en , "Another name"@en ,'),
        (SCHOOL, f"{RDFS}label", "UniqueLangConstraintComponent"),
    ),
    (
        "minLength: no empty label",
        SCHOOL_TTL.replace('"Test school"@en', '""@en'),
        (SCHOOL, f"{RDFS}label", "MinLengthConstraintComponent"),
    ),
    (
        "minCount: a facility lies somewhere",
        SCHOOL_TTL.replace("ak:locatedIn <https://w3id.org/alatau-kg/id/place/daulet> ;", ""),
        (SCHOOL, f"{AK}locatedIn", "MinCountConstraintComponent"),
    ),
    (
        "not: located in a person makes the person a place",
        SCHOOL_TTL.replace("id/place/daulet", "id/person/kanat-bozumbayev"),
        (f"{ID}person/kanat-bozumbayev", None, "NotConstraintComponent"),
    ),
    (
        "node: located in a place, not a literal",
        SCHOOL_TTL.replace("<https://w3id.org/alatau-kg/id/place/daulet>", '"Daulet"'),
        (SCHOOL, f"{AK}locatedIn", "NodeConstraintComponent"),
    ),
    (
        "maxCount: one current status",
        SCHOOL_TTL.replace("ak:currentStatus fs:planned ;", "ak:currentStatus fs:planned , fs:operating ;"),
        (SCHOOL, f"{AK}currentStatus", "MaxCountConstraintComponent"),
    ),
    (
        "node: status from the facility-status scheme",
        SCHOOL_TTL.replace("ak:currentStatus fs:planned ;", "ak:currentStatus vq:approximately ;"),
        (SCHOOL, f"{AK}currentStatus", "NodeConstraintComponent"),
    ),
    (
        "class: capacity is a quantity value, not a literal",
        SCHOOL_TTL.replace(
            "ak:capacity <https://w3id.org/alatau-kg/id/quantity/test-school-capacity>", 'ak:capacity "300"'
        ),
        (SCHOOL, f"{AK}capacity", "ClassConstraintComponent"),
    ),
    (
        "not: a capacity pointing at an article makes it a quantity",
        SCHOOL_TTL.replace(
            "ak:capacity <https://w3id.org/alatau-kg/id/quantity/test-school-capacity>",
            "ak:capacity src:article-2026-01-17",
        ),
        (f"{ID}source/article-2026-01-17", None, "NotConstraintComponent"),
    ),
    (
        "hasValue: a school counts seats",
        SCHOOL_TTL.replace("qudt:unit ak:Seat", "qudt:unit ak:VisitPerShift"),
        (SCHOOL, f"{AK}capacity/{QUDT}unit", "HasValueConstraintComponent"),
    ),
    (
        "in: a known unit",
        SCHOOL_TTL.replace("qudt:unit ak:Seat", "qudt:unit unit:FT"),
        (CAPACITY, f"{QUDT}unit", "InConstraintComponent"),
    ),
    (
        "minExclusive: capacities are positive",
        SCHOOL_TTL.replace("qudt:numericValue 300", "qudt:numericValue -300"),
        (CAPACITY, f"{QUDT}numericValue", "MinExclusiveConstraintComponent"),
    ),
    (
        "or: a number, not a string",
        SCHOOL_TTL.replace("qudt:numericValue 300", 'qudt:numericValue "300"'),
        (CAPACITY, f"{QUDT}numericValue", "OrConstraintComponent"),
    ),
    (
        "datatype: a capacity is whole",
        SCHOOL_TTL.replace("qudt:numericValue 300", "qudt:numericValue 300.5"),
        (CAPACITY, f"{QUDT}numericValue", "DatatypeConstraintComponent"),
    ),
    (
        "minCount: a quantity keeps its wording",
        SCHOOL_TTL.replace('ak:statedValue "на 300 мест"@ru ;', ""),
        (CAPACITY, f"{AK}statedValue", "MinCountConstraintComponent"),
    ),
    (
        "minCount: every fact is sourced",
        SCHOOL_TTL.replace(
            'ak:statusDate "2026-01-17"^^xsd:date ;\n    prov:wasDerivedFrom src:article-2026-01-17 .',
            'ak:statusDate "2026-01-17"^^xsd:date .',
        ),
        (RECORD, "http://www.w3.org/ns/prov#wasDerivedFrom", "MinCountConstraintComponent"),
    ),
    (
        "node: a date is xsd:date, gYearMonth or gYear",
        SCHOOL_TTL.replace('"2026-01-17"^^xsd:date', '"next spring"'),
        (RECORD, f"{AK}statusDate", "NodeConstraintComponent"),
    ),
    (
        "SPARQL: a reached status is not dated after its source",
        SCHOOL_TTL.replace("ak:status fs:planned ;", "ak:status fs:operating ;").replace(
            '"2026-01-17"^^xsd:date', '"2027"^^xsd:gYear'
        ),
        (RECORD, None, "SPARQLConstraintComponent"),
    ),
    (
        "minInclusive: an observation is not negative",
        OBS_TTL.replace("sdmx-measure:obsValue 56000", "sdmx-measure:obsValue -1"),
        (OBS, "http://purl.org/linked-data/sdmx/2009/measure#obsValue", "MinInclusiveConstraintComponent"),
    ),
    (
        "maxCount: one reference period",
        OBS_TTL.replace('"2026-06-01"^^xsd:date ;', '"2026-06-01"^^xsd:date , "2026"^^xsd:gYear ;'),
        (OBS, "http://purl.org/linked-data/sdmx/2009/dimension#refPeriod", "MaxCountConstraintComponent"),
    ),
    (
        "SPARQL: a statistic names who reported it",
        OBS_TTL.replace(
            "prov:wasAttributedTo <https://w3id.org/alatau-kg/id/org/akimat-alatau> .", "."
        ).replace(
            "prov:wasDerivedFrom src:article-2026-01-17 ;", "prov:wasDerivedFrom src:article-2026-01-17"
        ),
        (OBS, None, "SPARQLConstraintComponent"),
    ),
    (
        "SPARQL: the population is never below an age group",
        OBS_TTL.replace("sdmx-measure:obsValue 56000", "sdmx-measure:obsValue 1000"),
        (OBS, None, "SPARQLConstraintComponent"),
    ),
    (
        "SPARQL: an age group never exceeds the population",
        OBS_TTL.replace(
            "ak:indicator ind:population ;",
            "ak:indicator ind:population-by-age-group ; ak:ageGroup age:age-36-60 ;",
        ).replace("id/dataset/population", "id/dataset/age-structure"),
        (OBS, None, "SPARQLConstraintComponent"),
    ),
    (
        "SPARQL (Data Cube IC-12): no duplicate observation",
        OBS_TTL.replace('"2026-06-01"^^xsd:date', '"2025-12-01"^^xsd:date'),
        (OBS, None, "SPARQLConstraintComponent"),
    ),
]


@pytest.mark.parametrize(("ttl", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_case_is_reported_precisely(guard, ttl, expected):
    report = check(guard, ttl)
    assert not report.conforms
    assert expected in violations(report), report.to_text()


def test_the_age_group_case_really_exceeds_the_population(guard):
    # the age-group case above is invalid only because 56,000 exceeds every population figure
    ttl = dict((c[0], c[1]) for c in CASES)["SPARQL: an age group never exceeds the population"]
    report = check(guard, ttl.replace("sdmx-measure:obsValue 56000", "sdmx-measure:obsValue 5000"))
    assert report.conforms, report.to_text()


def test_a_warning_is_reported_but_conforms(guard):
    no_status = SCHOOL_TTL.replace(
        "ak:hasStatusRecord <https://w3id.org/alatau-kg/id/status-record/test-school-planned> .", "."
    ).replace("ak:currentStatus fs:planned ;", "ak:currentStatus fs:planned")
    no_status = no_status.split("<https://w3id.org/alatau-kg/id/status-record/test-school-planned> a")[0]
    report = check(guard, no_status)
    assert report.conforms
    (warning,) = [r for r in report.results if r.resultSeverity == "Warning"]
    assert (warning.focusNode, warning.resultPath) == (SCHOOL, f"{AK}hasStatusRecord")
    assert warning.sourceConstraintComponent == f"{SH}MinCountConstraintComponent"


def test_removing_a_fact_checks_the_nodes_that_depend_on_it(guard):
    # The Enbek school's capacity loses its unit: the school itself (which points at it) breaks too.
    capacity = f"{ID}quantity/keleshek-school-enbek-capacity"
    report = check(guard, remove=f"<{capacity}> qudt:unit ak:Seat .")
    found = violations(report)
    assert (capacity, f"{QUDT}unit", "MinCountConstraintComponent") in found
    assert (
        f"{ID}facility/keleshek-school-enbek",
        f"{AK}capacity/{QUDT}unit",
        "HasValueConstraintComponent",
    ) in found


def test_checking_leaves_the_guard_unchanged(guard):
    before = set(guard.mirror)
    check(guard, SCHOOL_TTL.replace("qudt:numericValue 300", "qudt:numericValue -300"))
    check(
        guard,
        remove="<https://w3id.org/alatau-kg/id/quantity/keleshek-school-enbek-capacity> qudt:unit ak:Seat .",
    )
    assert set(guard.mirror) == before
    assert not list(guard.mirror.quads_for_pattern(ox.NamedNode(SCHOOL), None, None, None))


def test_reports_speak_english_and_russian(guard):
    report = check(guard, SCHOOL_TTL.replace("qudt:numericValue 300", "qudt:numericValue -300"))
    (result,) = [r for r in report.results if r.focusNode == CAPACITY]
    assert "Capacity of the test school" in result.sentence("en")
    assert "Мощность тестовой школы" in result.sentence("ru") and "положительны" in result.sentence("ru")
    assert '"-300"' in result.sentence("en")


def _guard_data(guard, extra) -> Graph:
    """The guard's data graph (its Oxigraph mirror) as rdflib, with ``extra`` triples."""
    data = triples_to_graph(iter(guard.mirror))
    for t in extra:
        data.add(t)
    return data


def test_the_guard_reports_what_pyshacl_reports_for_the_nodes_a_change_touches(guard):
    """The guard validates the touched nodes by compiled SPARQL on its mirror; pySHACL on the same
    focus nodes (over an rdflib copy) must find the same results, for every invalid case."""
    from kg.checks.validation import validate

    key = lambda r: (r.focusNode, r.resultPath or "", r.sourceConstraintComponent, r.resultSeverity)  # noqa: E731
    for _, ttl, expected in CASES:
        checked = guard.check(additions=_graph(ttl))
        data = _guard_data(guard, checked.additions | checked.inferred_added)
        slow = validate(data, guard.shapes, focus_nodes=checked.focus)
        assert sorted(map(key, checked.report.results)) == sorted(map(key, slow.results)), expected


def test_sparql_constraints_give_the_same_results_in_oxigraph_and_pyshacl(guard):
    """The SHACL-SPARQL rules run on Oxigraph (fast); pySHACL's own evaluation must agree."""
    from kg.checks.validation import validate

    sparql_cases = [c for c in CASES if c[2][2] == "SPARQLConstraintComponent"]
    assert len(sparql_cases) >= 4
    for _, ttl, expected in sparql_cases:
        checked = guard.check(additions=_graph(ttl))
        focus = checked.focus
        data = _guard_data(guard, checked.additions | checked.inferred_added)
        slow = validate(data, guard.shapes, focus_nodes=focus)  # rdflib's SPARQL engine
        fast = checked.report
        key = lambda r: (r.focusNode, r.sourceConstraintComponent, r.resultSeverity, r.value)  # noqa: E731
        assert sorted(map(key, fast.results)) == sorted(map(key, slow.results)), expected
        # pySHACL keeps one sh:message language for a SPARQL result; ours keeps both (en and ru)
        texts = lambda rs: {t for r in rs for t in r.resultMessage.values()}  # noqa: E731
        assert texts(slow.results) <= texts(fast.results)
        assert {"en", "ru"} <= {lang for r in fast.results for lang in r.resultMessage}


def test_incremental_inferences_equal_the_full_closure_for_a_chain_added_at_once(guard):
    """Two new places, one inside the other, the outer one inside an existing microdistrict: the
    transitive closure must run through both new links (the guard keeps its transitive index
    across writes and reads it without copying the graph)."""
    ttl = """
    @prefix place: <https://w3id.org/alatau-kg/id/place/> .
    place:test-block ak:locatedIn place:test-quarter .
    place:test-quarter ak:locatedIn place:daulet .
    """
    additions = set(_graph(ttl))
    checked = guard.check(additions=additions)
    assert guard.reasoner is not None
    after = guard.asserted | additions
    expected = guard.reasoner.closure(after) - after - guard.inferred
    assert checked.inferred_added == expected
    block = URIRef("https://w3id.org/alatau-kg/id/place/test-block")
    located_in = URIRef(AK + "locatedIn")
    assert (block, located_in, URIRef("https://w3id.org/alatau-kg/id/place/daulet")) in expected
