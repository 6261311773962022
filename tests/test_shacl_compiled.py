"""Set-at-a-time SHACL (kg.checks.compiled on Oxigraph) against pySHACL, the reference.

Every comparison validates the *whole* data graph both ways: pySHACL's own ``focus_nodes`` option is
not used, because it also filters the value nodes of nested shapes (``sh:node``, ``sh:or``,
``sh:class``, qualified value shapes) so that those constraints silently pass (pySHACL 0.40.1, see
``kg.validation.restrict_targets``). Both validators see the same triples: the rdflib graph pySHACL
gets is read back from the Oxigraph store, as the build always did (Oxigraph keeps numbers by value,
so ``"01"^^xsd:integer`` is ``"1"`` for both). Results are the report's ``sh:result`` values: pySHACL
also types the nested results of a failed ``sh:node`` (under ``sh:detail``) as ``sh:ValidationResult``,
and those are not results of the report (``kg.validation.report_from_graph`` reads them so).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from rdflib import RDF, XSD, Graph, Literal, URIRef

from bench.synthetic import generate
from kg.build import assemble
from kg.checks.compiled import Compiler, StoreData, batched_select, validate_compiled
from kg.checks.guard import Guard, mirror_of
from kg.checks.report import Report, _path_text
from kg.checks.validation import split_sparql, validate, validate_store
from kg.config import Settings
from kg.engine.local import OxigraphStore
from kg.errors import UnsupportedConstraint
from kg.rdf.formats import rdf_format
from kg.rdf.names import SH, Names
from kg.rdf.parsing import parse_bytes
from kg.rdf.terms import to_quads, triples_to_graph
from tests.test_kg_cli import GOOD_SCHOOL
from tests.test_kg_shapes import CASES, OBS_TTL, SCHOOL_TTL, _graph

RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
Key = tuple[str, str | None, str, str | None, str, str]


def keys(report: Report) -> set[Key]:
    """(focus, path, component, value, severity, source shape) of every result, from the RDF report.

    Blank-node source shapes and paths keep their ids from the shapes graph in both reports. A simple
    literal and an ``xsd:string`` one are the same RDF term (RDF 1.1) but not the same rdflib term: the
    store gives the latter, a graph parsed by rdflib the former.
    """
    g = report.graph
    out = set()
    for r in g.objects(None, SH.result):
        value = g.value(r, SH.value)
        if isinstance(value, Literal) and value.datatype == XSD.string:
            value = Literal(str(value))
        out.add(
            (
                str(g.value(r, SH.focusNode)),
                _path_text(g, g.value(r, SH.resultPath)),
                str(g.value(r, SH.sourceConstraintComponent)).removeprefix(str(SH)),
                value.n3() if value is not None else None,
                str(g.value(r, SH.resultSeverity)).removeprefix(str(SH)),
                str(g.value(r, SH.sourceShape)),
            )
        )
    return out


def both(data: Graph, shapes: Graph, store: ox.Store) -> tuple[set[Key], set[Key], Report]:
    reference = validate(data, shapes, sparql_store=store)
    compiled = validate_store(store, shapes, label_graph=data)
    assert compiled.conforms == reference.conforms
    assert len(compiled.results) == len(reference.results)
    return keys(compiled), keys(reference), compiled


# --- the real city ------------------------------------------------------------------------------------


def test_the_city_graph_gives_the_same_report(real_assembled):
    data = real_assembled.asserted + real_assembled.inferred
    fast, slow, report = both(data, real_assembled.shapes, mirror_of(data))
    assert fast == slow
    assert report.conforms and report.count("Warning") > 0  # the undated figures: not vacuous


def test_every_shape_of_the_city_compiles(real_assembled):
    core, sparql = split_sparql(real_assembled.shapes)
    data = real_assembled.asserted + real_assembled.inferred
    result = validate_compiled(StoreData(mirror_of(data)), core, sparql_constraints=sparql)
    assert result.fallback == {}
    assert all(batched_select(c.body) is not None for c in sparql)  # all four run set-at-a-time


# --- every fixture of tests/test_kg_shapes.py -----------------------------------------------------------


@pytest.fixture(scope="module")
def guard(real_settings) -> Guard:
    return Guard.from_store(
        OxigraphStore(Names(real_settings.base_iri), real_settings.store_path, read_only=True)
    )


FIXTURES = [(c[0], c[1], "", c[2]) for c in CASES] + [
    ("valid school", SCHOOL_TTL, "", None),
    ("valid observation", OBS_TTL, "", None),
    (
        "removal: a capacity loses its unit",
        "",
        "<https://w3id.org/alatau-kg/id/quantity/keleshek-school-enbek-capacity> qudt:unit ak:Seat .",
        (
            "https://w3id.org/alatau-kg/id/quantity/keleshek-school-enbek-capacity",
            "http://qudt.org/schema/qudt/unit",
            "MinCountConstraintComponent",
        ),
    ),
]


@contextlib.contextmanager
def fixture_applied(guard: Guard, add: str, remove: str) -> Iterator[Graph]:
    """The guard's data graph with a fixture's change (and what it infers) in it, as rdflib for pySHACL;
    the guard's Oxigraph mirror holds the same triples meanwhile, and is restored after.
    (``bench/shacl_engines.py`` runs the other SHACL engines over the same fixtures with it.)"""
    checked = guard.check(additions=_graph(add), removals=_graph(remove))
    plus = [q for q in to_quads(checked.additions | checked.inferred_added) if q not in guard.mirror]
    minus = [
        q
        for q in to_quads(
            (checked.removals | checked.inferred_removed) - (checked.additions | checked.inferred_added)
        )
        if q in guard.mirror
    ]
    guard.mirror.extend(plus)
    for q in minus:
        guard.mirror.remove(q)
    try:
        yield triples_to_graph(iter(guard.mirror))
    finally:
        guard.mirror.extend(minus)
        for q in plus:
            guard.mirror.remove(q)


@pytest.mark.parametrize(
    ("add", "remove", "expected"), [f[1:] for f in FIXTURES], ids=[f[0] for f in FIXTURES]
)
def test_each_fixture_gives_the_same_report(guard, add, remove, expected):
    with fixture_applied(guard, add, remove) as data:
        fast, slow, report = both(data, guard.shapes, guard.mirror)
    assert fast == slow
    found = {(f, p, c) for f, p, c, _, s, _ in fast if s == "Violation"}
    if expected is None:
        assert not found
    else:
        assert expected in found, report.to_text()


# --- the mini fixture project and the invalid files of tests/test_kg_cli.py ---------------------------

MINI_CASES = {
    "good school": (GOOD_SCHOOL, set()),
    "seatCount 0 in nowhere": (
        GOOD_SCHOOL.replace("ak:seatCount 900", "ak:seatCount 0").replace(
            "<https://w3id.org/alatau-kg/id/place/enbek>", "<https://w3id.org/alatau-kg/id/place/nowhere>"
        ),
        {"ClassConstraintComponent", "MinExclusiveConstraintComponent"},
    ),
    "seatCount 0": (
        GOOD_SCHOOL.replace("ak:seatCount 900", "ak:seatCount 0"),
        {"MinExclusiveConstraintComponent"},
    ),
    "no comment (a warning)": (GOOD_SCHOOL.replace('rdfs:comment "x"@en ;', ""), set()),
}


@pytest.mark.parametrize("case", MINI_CASES, ids=list(MINI_CASES))
def test_the_mini_project_and_its_cli_fixtures_give_the_same_report(mini_settings, case):
    ttl, expected = MINI_CASES[case]
    graph = ox.NamedNode("https://w3id.org/alatau-kg/graph/source/cli-fixture")
    extra = parse_bytes(ttl.encode(), rdf_format("turtle"), to_graph=graph)
    assembled = assemble(mini_settings, extra=extra)
    data = assembled.asserted + assembled.inferred
    fast, slow, report = both(data, assembled.shapes, mirror_of(data))
    assert fast == slow
    components = {k[2] for k in fast if k[4] == "Violation"}
    assert components == expected, report.to_text()
    assert report.count("Warning") == (1 if "warning" in case else 0)


# --- a small synthetic city -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("synthetic")
    city = generate(out / "city", 4_000, seed=5)
    return assemble(Settings.from_env(data_dir=city.out / "data", store_path=out / "store"))


def test_a_synthetic_city_gives_the_same_report(synthetic):
    data = synthetic.asserted + synthetic.inferred
    fast, slow, report = both(data, synthetic.shapes, mirror_of(data))
    assert fast == slow and report.conforms


def test_a_broken_synthetic_city_gives_the_same_report(synthetic):
    """The same city with many faults of many kinds at once (no re-reasoning: both see the same triples)."""
    data, store = broken(synthetic.asserted + synthetic.inferred)
    fast, slow, report = both(data, synthetic.shapes, store)
    assert fast == slow
    assert not report.conforms
    assert len({k[2] for k in fast}) >= 8 and len(fast) >= 25


def broken(data: Graph) -> tuple[Graph, ox.Store]:
    """``data`` (a city) broken in many ways at once, and an Oxigraph store of it: the graph is read back
    from the store, so both hold the same terms. (``bench/shacl_engines.py`` uses it too.)"""
    q = lambda p: URIRef(f"http://qudt.org/schema/qudt/{p}")  # noqa: E731
    ak = lambda p: URIRef(f"https://w3id.org/alatau-kg/def/ontology#{p}")  # noqa: E731
    quantities = sorted(set(data.subjects(q("unit"), None)))[:12]
    for node in quantities[:4]:
        data.remove((node, q("unit"), None))  # minCount; a school's capacity/unit hasValue
    for node in quantities[4:8]:
        data.set((node, q("numericValue"), Literal(-5)))  # minExclusive
    for node in quantities[8:12]:
        data.add((node, q("numericValue"), Literal("12", datatype=XSD.string)))  # maxCount, or, datatype
    records = sorted(set(data.subjects(ak("statusDate"), None)))[:6]
    for node in records[:3]:
        data.set((node, ak("statusDate"), Literal("soon")))  # node (DateValue)
    for node in records[3:6]:
        data.add((node, RDFS_LABEL, Literal("another name", lang="en")))  # uniqueLang
        russian = [label for label in data.objects(node, RDFS_LABEL) if label.language == "ru"]
        data.remove((node, RDFS_LABEL, russian[0]))  # qualifiedMinCount
    facilities = sorted(set(data.subjects(ak("locatedIn"), None)))[:3]
    for node in facilities:
        data.set((node, ak("locatedIn"), Literal("somewhere")))  # node (Place), class on literals
    store = mirror_of(data)
    return triples_to_graph(store.quads_for_pattern(None, None, None, None)), store  # the store's terms


# --- SHACL Core beyond what shapes.ttl uses ----------------------------------------------------------------

PREFIXES = """@prefix ex: <http://ex.org/> . @prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
"""
CONSTRUCTS = """
ex:A a sh:NodeShape ; sh:targetClass ex:Thing ;
  sh:property [ sh:path ex:name ; sh:minCount 2 ; sh:maxCount 2 ; sh:maxLength 5 ; sh:pattern "^[a-z]+$" ;
                sh:flags "i" ] ;
  sh:property [ sh:path ex:code ; sh:xone ( [ sh:datatype xsd:integer ] [ sh:datatype xsd:string ] ) ;
                sh:severity sh:Info ] ;
  sh:property [ sh:path ( ex:part ex:name ) ; sh:languageIn ( "en" "de" ) ] ;
  sh:property [ sh:path [ sh:inversePath ex:part ] ; sh:maxCount 1 ; sh:class ex:Thing ] ;
  sh:property [ sh:path [ sh:alternativePath ( ex:a ex:b ) ] ; sh:in ( 1 "x" ex:v ) ; sh:uniqueLang true ] ;
  sh:property [ sh:path ex:q ; sh:qualifiedValueShape [ sh:class ex:Good ] ; sh:qualifiedMaxCount 1 ;
                sh:qualifiedMinCount 1 ] ;
  sh:property [ sh:path ex:d ; sh:datatype xsd:date ; sh:maxInclusive "2020-01-01"^^xsd:date ;
                sh:message "bad date"@en , "плохая дата"@ru ] ;
  sh:property [ sh:path [ sh:oneOrMorePath ex:part ] ; sh:nodeKind sh:BlankNodeOrIRI ;
                sh:and ( [ sh:class ex:Thing ] [ sh:property [ sh:path ex:name ; sh:minCount 1 ] ] ) ] .
ex:B a sh:NodeShape ; sh:targetNode ex:t1 , ex:nowhere ; sh:hasValue ex:t1 ; sh:severity sh:Warning .
ex:C a sh:NodeShape ; sh:targetSubjectsOf ex:code ; sh:nodeKind sh:IRI ; sh:class ex:Thing .
ex:D a sh:NodeShape ; sh:targetObjectsOf ex:part ; sh:deactivated true ; sh:class ex:Nothing .
ex:E a sh:NodeShape , rdfs:Class ; sh:property [ sh:path ex:name ; sh:minCount 1 ] .
ex:F a sh:NodeShape ; sh:targetClass ex:Thing ;
  sh:property [ sh:path ex:name ; sh:deactivated true ; sh:minCount 9 ] ;
  sh:property [ sh:path ex:part ; sh:property [ sh:path ex:name ; sh:minLength 2 ; sh:maxExclusive "m" ] ] .
"""
DATA = """
ex:Sub rdfs:subClassOf ex:Thing . ex:Good2 rdfs:subClassOf ex:Good .
ex:t1 a ex:Thing ; ex:name "abc", "de1" ; ex:code 5 ; ex:part ex:t2 , _:b ; ex:a 1, "x"@en, "y"@en ;
  ex:q ex:g1, ex:g2 ; ex:d "2019-01-01"^^xsd:date .
ex:t2 a ex:Sub ; ex:name "abcdefg"@en, "x"@fr ; ex:code "5.5"^^xsd:decimal ; ex:b ex:v , ex:w ; ex:q ex:g1 ;
  ex:d "2021-01-01"^^xsd:date, "bad"^^xsd:date, "2020"^^xsd:gYear ; ex:part ex:t1 .
_:b ex:name "Q"@de .
ex:t3 a ex:E ; ex:code "abc"^^xsd:integer ; ex:part ex:t2 .
ex:g1 a ex:Good2 . ex:g2 a ex:Good .
ex:t4 a ex:E , ex:Thing ; ex:name "ok", "ko" ; ex:q ex:g3 .
"""


def _small(shapes_ttl: str) -> tuple[Graph, Graph, ox.Store]:
    shapes = Graph().parse(data=PREFIXES + shapes_ttl, format="turtle")
    store = ox.Store()
    store.extend(to_quads(Graph().parse(data=PREFIXES + DATA, format="turtle")))
    return triples_to_graph(store.quads_for_pattern(None, None, None, None)), shapes, store


def test_core_constructs_give_the_same_report(caplog):
    caplog.set_level(logging.CRITICAL, logger="rdflib")  # rdflib logs the ill-formed literals
    data, shapes, store = _small(CONSTRUCTS)
    assert validate_compiled(StoreData(store), shapes).fallback == {}
    fast, slow, report = both(data, shapes, store)
    assert fast == slow
    components = {k[2] for k in fast}
    assert len(fast) >= 25 and len(components) >= 15
    assert (
        "http://ex.org/t2",
        "http://ex.org/d",
        "DatatypeConstraintComponent",
        '"bad"^^<http://www.w3.org/2001/XMLSchema#date>',
        "Violation",
    ) in {k[:5] for k in fast}
    (dated,) = {r.resultMessage["ru"] for r in report.results if r.resultMessage.get("en") == "bad date"}
    assert dated == "плохая дата"


UNSUPPORTED = """
ex:A a sh:NodeShape ; sh:targetClass ex:Thing ; sh:closed true ; sh:ignoredProperties ( rdf:type ) ;
   sh:property [ sh:path ex:name ] .
ex:B a sh:NodeShape ; sh:targetClass ex:Thing ;
   sh:property [ sh:path [ sh:zeroOrMorePath ex:part ] ; sh:class ex:Thing ] .
ex:C a sh:NodeShape ; sh:targetClass ex:Thing ; sh:property [ sh:path ex:name ; sh:equals ex:code ] .
ex:D a sh:NodeShape ; sh:targetClass ex:Thing ; sh:property [ sh:path ex:name ; sh:minCount 1 ] .
"""


def test_what_does_not_compile_falls_back_to_pyshacl(caplog):
    caplog.set_level(logging.CRITICAL, logger="rdflib")
    caplog.set_level(logging.DEBUG, logger="alatau_kg.shacl_compiled")  # last: it sets the handler's level
    data, shapes, store = _small(UNSUPPORTED)
    fallback = validate_compiled(StoreData(store), shapes).fallback
    assert {str(s) for s in fallback} == {"http://ex.org/A", "http://ex.org/B", "http://ex.org/C"}
    assert "pySHACL validates it" in caplog.text
    fast, slow, _ = both(data, shapes, store)
    assert fast == slow
    assert {k[2] for k in fast} >= {
        "ClosedConstraintComponent",
        "ClassConstraintComponent",
        "EqualsConstraintComponent",
    }


def test_recursive_shapes_are_refused():
    shapes = Graph().parse(
        data=PREFIXES
        + "ex:R a sh:NodeShape ; sh:targetNode ex:t1 ; sh:property [ sh:path ex:part ; sh:node ex:R ] .",
        format="turtle",
    )
    store = ox.Store()
    with pytest.raises(UnsupportedConstraint):
        Compiler(shapes, StoreData(store).subclass_closure()).queries(
            next(iter(shapes.subjects(RDF.type, SH.NodeShape)))
        )


@pytest.mark.parametrize(
    ("select", "batchable"),
    [
        ("SELECT $this WHERE { $this <p> ?x . FILTER NOT EXISTS { $this <q> ?y } }", True),
        ("SELECT ?value WHERE { $this <p> ?value . OPTIONAL { $this <q> ?group } FILTER(?value > 1) }", True),
        ("SELECT $this WHERE { { $this <p> ?x } UNION { $this <q> ?x } }", False),
        ("SELECT $this WHERE { $this <p> ?x . { FILTER(?x = $this) } }", False),
        ("SELECT $this WHERE { { SELECT $this WHERE { $this <p> ?x } } }", False),
        ("SELECT $this WHERE { $this <p> ?x } LIMIT 1", False),
        ("SELECT $this (COUNT(?x) AS ?n) WHERE { $this <p> ?x }", False),
        ("SELECT $this WHERE { $this <p> $value }", False),
    ],
)
def test_which_sparql_constraints_run_set_at_a_time(select, batchable):
    assert (batched_select(select) is not None) == batchable


def test_sh_class_follows_subclass_of_in_the_data_graph():
    """SHACL instances: rdf:type then rdfs:subClassOf* in the data graph, with no inferred types."""
    shapes = Graph().parse(
        data=PREFIXES
        + "ex:S a sh:NodeShape ; sh:targetSubjectsOf ex:p ; "
        + "sh:property [ sh:path ex:p ; sh:class ex:Thing ] .",
        format="turtle",
    )
    chain = (
        "ex:y ex:p ex:x . ex:x a ex:Leaf . ex:Leaf rdfs:subClassOf ex:Mid . ex:Mid rdfs:subClassOf ex:Thing ."
    )
    for data_ttl, conforms in (
        (chain, True),
        (chain.replace("ex:Mid rdfs:subClassOf ex:Thing .", ""), False),
    ):
        store = ox.Store()
        store.extend(to_quads(Graph().parse(data=PREFIXES + data_ttl, format="turtle")))
        data = triples_to_graph(store.quads_for_pattern(None, None, None, None))
        fast, slow, report = both(data, shapes, store)
        assert fast == slow and report.conforms is conforms


SPARQL_SHAPES = """
ex:NoCode a sh:NodeShape ; sh:targetClass ex:Thing ;
  sh:sparql [ a sh:SPARQLConstraint ; sh:message "{$this} has no code and no alternative ({?value})"@en ;
    sh:select \"\"\"SELECT $this ?value WHERE {
        { $this <http://ex.org/name> ?value } UNION { $this <http://ex.org/a> ?value }
        FILTER NOT EXISTS { $this <http://ex.org/code> ?c }
    }\"\"\" ] .
ex:Short a sh:NodeShape ; sh:targetClass ex:Thing ;
  sh:sparql [ a sh:SPARQLConstraint ; sh:message "short name {?value}"@en ;
    sh:select "SELECT $this ?value WHERE { $this ex:name ?value FILTER(STRLEN(STR(?value)) < 3) }" ;
    sh:prefixes ex:prefixes ] .
ex:prefixes sh:declare [ sh:prefix "ex" ; sh:namespace "http://ex.org/"^^xsd:anyURI ] .
"""


def test_sparql_constraints_per_node_and_batched_agree_with_pyshacl(caplog):
    """The UNION query is not batchable (it runs once per focus node); the other one is."""
    caplog.set_level(logging.CRITICAL, logger="rdflib")
    caplog.set_level(logging.DEBUG, logger="alatau_kg.shacl_compiled")
    data, shapes, store = _small(SPARQL_SHAPES)
    fast, slow, report = both(data, shapes, store)
    assert fast == slow
    assert {k[0] for k in fast if "Short" not in k[5]} == {"http://ex.org/t4"}  # no code, two names
    assert {k[0] for k in fast if "Short" in k[5]} == {"http://ex.org/t2", "http://ex.org/t4"}
    assert "runs once per focus node" in caplog.text
    texts = {r.resultMessage["en"] for r in report.results}
    assert "short name x" in texts and "http://ex.org/t4 has no code and no alternative (ok)" in texts


def test_the_data_graph_can_be_named_graphs_of_the_store():
    _, shapes, store = _small(CONSTRUCTS)
    named = ox.Store()
    g = ox.NamedNode("http://ex.org/graph/data")
    named.extend(ox.Quad(q.subject, q.predicate, q.object, g) for q in store)
    by_default = validate_store(store, shapes)
    by_name = validate_store(named, shapes, graphs=[g.value])
    assert keys(by_name) == keys(by_default) and len(by_name.results) == len(by_default.results)
    labelled = {r.focusNode: r.focusLabel for r in by_name.results}
    assert not any(labelled.values())  # the small data has no labels; the reader found the graph itself


def test_sparql_in_a_nested_shape_falls_back_to_pyshacl():
    """sh:sparql runs for the focus nodes of a targeted node shape; inside sh:node it is not compiled."""
    nested = """
ex:Named a sh:NodeShape ;
  sh:sparql [ a sh:SPARQLConstraint ;
    sh:select "SELECT $this WHERE { FILTER NOT EXISTS { $this <http://ex.org/name> ?n } }" ] .
ex:Parts a sh:NodeShape ; sh:targetClass ex:Thing ; sh:property [ sh:path ex:q ; sh:node ex:Named ] .
"""
    data, shapes, store = _small(nested)
    core, sparql = split_sparql(shapes)
    assert set(validate_compiled(StoreData(store), core, sparql_constraints=sparql).fallback) == {
        URIRef("http://ex.org/Parts")
    }
    fast, slow, _ = both(data, shapes, store)
    assert fast == slow
    assert {(k[0], k[3]) for k in fast if k[2] == "NodeConstraintComponent"} == {
        ("http://ex.org/t1", "<http://ex.org/g1>"),
        ("http://ex.org/t1", "<http://ex.org/g2>"),
        ("http://ex.org/t2", "<http://ex.org/g1>"),
        ("http://ex.org/t4", "<http://ex.org/g3>"),
    }
