"""OWL 2 RL reasoning: the rule engine gives owlrl's closure, incrementally, with the entailments we need."""

from __future__ import annotations

import pytest
from rdflib import OWL, RDF, RDFS, Graph, Literal, Namespace, URIRef

from kg.checks.reasoning import RuleReasoner, asserted_triples, materialize, owlrl_closure
from kg.errors import UnsupportedAxiom
from kg.rdf.names import Names
from kg.rdf.terms import triples_to_graph

EX = Namespace("http://example.org/")
NAMES = Names()
AK = NAMES.ak
ID = Namespace("https://w3id.org/alatau-kg/id/")


def _tiny() -> Graph:
    g = Graph()
    g.add((EX.School, RDFS.subClassOf, EX.Facility))
    g.add((EX.Facility, RDFS.subClassOf, EX.Place))
    g.add((EX.locatedIn, RDF.type, OWL.TransitiveProperty))
    g.add((EX.locatedIn, RDFS.subPropertyOf, EX.containedIn))
    g.add((EX.locatedIn, RDFS.range, EX.Place))
    g.add((EX.hasRecord, OWL.inverseOf, EX.recordOf))
    g.add((EX.near, RDF.type, OWL.SymmetricProperty))
    g.add((EX.seats, RDFS.domain, EX.Facility))
    g.add((EX.s1, RDF.type, EX.School))
    g.add((EX.s1, EX.locatedIn, EX.m1))
    g.add((EX.m1, EX.locatedIn, EX.city))
    g.add((EX.s1, EX.hasRecord, EX.r1))
    g.add((EX.s1, EX.near, EX.river))
    g.add((EX.s1, EX.seats, Literal(600)))
    return g


def test_rules_derive_the_rl_entailments():
    g = _tiny()
    inferred = RuleReasoner(g).closure(g)
    assert (EX.s1, RDF.type, EX.Place) in inferred  # cax-sco, twice
    assert (EX.s1, EX.locatedIn, EX.city) in inferred  # prp-trp
    assert (EX.s1, EX.containedIn, EX.city) in inferred  # prp-spo1 after prp-trp
    assert (EX.city, RDF.type, EX.Place) in inferred  # prp-rng
    assert (EX.r1, EX.recordOf, EX.s1) in inferred  # prp-inv
    assert (EX.river, EX.near, EX.s1) in inferred  # prp-symp
    assert (EX.School, RDFS.subClassOf, EX.Place) in inferred  # scm-sco
    assert not any(isinstance(s, Literal) for s, _, _ in inferred)


def test_rules_equal_owlrl_on_a_tiny_graph():
    g = _tiny()
    assert RuleReasoner(g).closure(g) == set(owlrl_closure(g))


def test_rules_equal_owlrl_on_the_city_graph(real_assembled):
    assembled = real_assembled
    ontology = triples_to_graph(assembled.store.quads(NAMES.ontology_graph))
    rules = RuleReasoner(ontology).closure(assembled.asserted)
    assert len(rules) > 500
    assert rules == set(owlrl_closure(assembled.asserted))


def test_the_built_inferred_graph_is_owlrls_closure(real_assembled):
    """The build reasons on interned term tuples read from the store (no rdflib graph): same closure."""
    asserted = real_assembled.asserted
    assert set(real_assembled.inferred) == set(owlrl_closure(asserted))


def test_consuming_closure_equals_the_copying_one(real_assembled):
    ontology = triples_to_graph(real_assembled.store.quads(NAMES.ontology_graph))
    reasoner = RuleReasoner(ontology)
    quads = [
        q
        for g in [NAMES.ontology_graph, *real_assembled.store.source_graphs()]
        for q in real_assembled.store.quads(g)
    ]
    asserted = asserted_triples(quads)
    before = set(asserted)
    copied = reasoner.closure(asserted)
    assert asserted == before  # not consumed: left as it was
    consumed = reasoner.closure(asserted, consume=True)
    assert consumed == copied
    assert asserted > before  # the set itself was the working set and grew (noise and all)
    assert before == set(real_assembled.asserted)  # interning changes no term


def test_incremental_extension_equals_a_full_recomputation():
    g = _tiny()
    reasoner = RuleReasoner(g)
    known = set(g) | reasoner.closure(g)
    new = [(EX.s2, RDF.type, EX.School), (EX.s2, EX.locatedIn, EX.s1)]
    derived = reasoner.extend(known, new)
    full = reasoner.closure(set(g) | set(new))
    assert derived | (known - set(g) - set(new)) >= full - set(new)
    assert (EX.s2, EX.locatedIn, EX.city) in derived
    assert (EX.s2, RDF.type, EX.Place) in derived


@pytest.mark.parametrize(
    "axiom",
    [
        (EX.p, RDF.type, OWL.FunctionalProperty),
        (EX.C, OWL.unionOf, EX.list),
        (EX.a, OWL.sameAs, EX.b),
        (EX.p, OWL.propertyChainAxiom, EX.list),
    ],
)
def test_constructs_outside_the_rules_fall_back_to_owlrl(axiom):
    g = _tiny()
    g.add(axiom)
    with pytest.raises(UnsupportedAxiom):
        RuleReasoner(g)
    assert len(materialize(g, ontology=g)) == len(owlrl_closure(g))


def test_a_school_is_a_facility_and_what_lies_in_a_microdistrict_lies_in_the_city(real_assembled):
    assembled = real_assembled
    inferred = assembled.inferred
    school = ID["facility/keleshek-school-enbek"]
    assert (school, RDF.type, AK.School) in assembled.asserted
    assert (school, RDF.type, AK.Facility) in inferred
    assert (ID["place/enbek"], RDF.type, AK.Microdistrict) in assembled.asserted
    assert (school, AK.locatedIn, ID["place/enbek"]) in assembled.asserted
    assert (school, AK.locatedIn, ID["place/alatau"]) in inferred
    assert (school, URIRef("http://schema.org/containedInPlace"), ID["place/alatau"]) in inferred
    # a person is never made a place
    for person in assembled.asserted.subjects(RDF.type, URIRef("http://xmlns.com/foaf/0.1/Person")):
        assert (person, RDF.type, URIRef("http://schema.org/Place")) not in inferred
