"""The real ontology, shapes and data: they parse, the shapes are valid SHACL, the data conforms,
every term and entity is labelled and sourced, and the competency questions get the articles' answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef

from kg.build import data_files
from kg.checks.validation import validate_shapes
from kg.config import PROJECT_ROOT, Settings
from kg.engine.local import OxigraphStore
from kg.rdf.names import PROV, QB, SKOS, Names
from kg.rdf.parsing import parse_file
from kg.rdf.terms import triples_to_graph

QUERIES = sorted((PROJECT_ROOT / "queries").glob("*.rq"))
NAMES = Names()
AK = str(NAMES.ak)


@pytest.fixture(scope="session")
def assembled(real_assembled):
    return real_assembled


@pytest.fixture(scope="session")
def store(real_settings: Settings) -> OxigraphStore:
    return OxigraphStore(NAMES, real_settings.store_path, read_only=True)


@pytest.fixture(scope="session")
def ontology() -> Graph:
    return Graph().parse(PROJECT_ROOT / "ontology" / "ontology.ttl")


def test_the_data_conforms_with_its_inferences(assembled):
    assert assembled.report.conforms, assembled.report.to_text()


def test_the_shapes_pass_meta_shacl(assembled):
    report = validate_shapes(assembled.shapes)
    assert report.conforms, report.to_text()


def test_each_data_file_is_one_source_graph():
    files = data_files(Settings())
    assert len(files) >= 2
    for path in files:
        graphs = {q.graph_name.value for q in parse_file(path)}
        assert len(graphs) == 1, (path, graphs)
        assert NAMES.is_source_graph(graphs.pop())


def test_no_blank_nodes_in_the_data():
    for path in data_files(Settings()):
        for q in parse_file(path):
            assert not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode), q


def test_ontology_has_a_version_iri(ontology):
    onto = URIRef(NAMES.ontology)
    assert (onto, RDF.type, OWL.Ontology) in ontology
    assert ontology.value(onto, OWL.versionIRI) is not None


def _langs(graph: Graph, node, prop) -> set[str]:
    return {o.language for o in graph.objects(node, prop) if isinstance(o, Literal) and o.language}


def test_every_class_and_property_is_labelled_and_defined_in_en_and_ru(ontology):
    terms = set()
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty):
        terms |= {t for t in ontology.subjects(RDF.type, kind) if str(t).startswith(AK)}
    assert len(terms) > 20
    for term in terms:
        assert {"en", "ru"} <= _langs(ontology, term, RDFS.label), term
        defined = _langs(ontology, term, RDFS.comment) | _langs(ontology, term, SKOS.definition)
        assert {"en", "ru"} <= defined, term


def test_every_concept_has_trilingual_labels(ontology):
    for concept in ontology.subjects(RDF.type, SKOS.Concept):
        labels = _langs(ontology, concept, SKOS.prefLabel) | _langs(ontology, concept, RDFS.label)
        assert {"en", "ru"} <= labels, concept


def test_every_entity_has_ru_and_en_labels(assembled):
    data = Graph()
    for graph in assembled.store.source_graphs():
        triples_to_graph(assembled.store.quads(graph), data)
    subjects = {s for s in data.subjects(RDF.type) if isinstance(s, URIRef)}
    assert len(subjects) > 50
    missing = [
        s
        for s in subjects
        if not {"en", "ru"} <= _langs(data, s, RDFS.label) | _langs(data, s, SKOS.prefLabel)
    ]
    assert not missing, missing[:10]


def test_every_observation_is_sourced_and_attributed(assembled):
    data = assembled.asserted
    observations = set(data.subjects(RDF.type, QB.Observation))
    assert len(observations) >= 15
    for obs in observations:
        assert data.value(obs, PROV.wasDerivedFrom) is not None, obs
        assert data.value(obs, QB.dataSet) is not None, obs


def test_each_source_graph_describes_its_article(store):
    for graph in store.source_graphs():
        ask = f"""PREFIX prov: <{PROV}> ASK {{ GRAPH <{graph}> {{
            <{graph}> prov:wasDerivedFrom ?article .
            ?article <http://schema.org/datePublished> ?date . }} }}"""
        assert store.query(ask).boolean, graph


def test_inferred_triples_are_kept_apart(store):
    inferred = {(q.subject, q.predicate, q.object) for q in store.quads(NAMES.inferred_graph)}
    assert inferred
    for graph in store.source_graphs():
        overlap = inferred & {(q.subject, q.predicate, q.object) for q in store.quads(graph)}
        assert not overlap, list(overlap)[:3]


def test_inferences_contain_no_vocabulary_noise(store):
    noise = store.query(
        f"""ASK {{ GRAPH <{NAMES.inferred_graph}> {{
            {{ ?s <{OWL.sameAs}> ?s }} UNION {{ ?s a <{OWL.Thing}> }} UNION {{ ?s ?p ?o FILTER(isBLANK(?o)) }}
        }} }}"""
    )
    assert not noise.boolean


def _value(term) -> str:
    return term.value if term is not None else ""


@pytest.mark.parametrize("path", QUERIES, ids=[p.stem for p in QUERIES])
def test_competency_question(store, path: Path):
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert path.read_text(encoding="utf-8").startswith("# Q:"), "first line states the question"
    result = store.query(path.read_text(encoding="utf-8"))
    if result.kind == "ask":
        assert result.boolean == expected["boolean"]
        return
    variables = result.variables
    rows = [
        {v: _value(t) for v, t in zip(variables, row, strict=True) if t is not None} for row in result.rows()
    ]
    want = expected["rows"]
    keys = sorted({k for r in want for k in r})
    got = [{k: r.get(k, "") for k in keys} for r in rows]
    want = [{k: r.get(k, "") for k in keys} for r in want]
    if expected.get("ordered"):
        assert got == want
    else:
        canon = lambda rs: sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in rs)  # noqa: E731
        assert canon(got) == canon(want)


def test_there_are_enough_competency_questions():
    assert len(QUERIES) >= 25
    for path in QUERIES:
        assert path.with_suffix(".expected.json").exists(), path
