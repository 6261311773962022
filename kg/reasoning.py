"""OWL 2 RL reasoning with owlrl. The closure's new triples go to their own graph, never mixed in.

owlrl materialises the full OWL 2 RL closure, which includes axiomatic triples about the RDF, RDFS,
OWL and XSD vocabularies themselves and trivialities every individual gets (``owl:sameAs`` itself,
``rdf:type owl:Thing``). Those say nothing about the city and would swamp the inferred graph, so
:func:`materialize` keeps only inferred triples whose subject is an IRI outside those vocabularies
and drops the trivial ones (see ``_is_noise``). Everything else the rules derive is kept.
"""

from __future__ import annotations

import owlrl
from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

_BUILTIN_PREFIXES = (str(RDF), str(RDFS), str(OWL), str(XSD), "http://www.w3.org/ns/shacl#")
_TRIVIAL_TYPES = {OWL.Thing, RDFS.Resource, OWL.NamedIndividual}
_REFLEXIVE = {
    OWL.sameAs,
    OWL.equivalentClass,
    OWL.equivalentProperty,
    RDFS.subClassOf,
    RDFS.subPropertyOf,
}


def _is_noise(s: Node, p: Node, o: Node) -> bool:
    if not isinstance(s, URIRef) or str(s).startswith(_BUILTIN_PREFIXES):
        return True
    if isinstance(o, BNode):
        return True
    if p in _REFLEXIVE and s == o:
        return True
    if p == RDF.type and (o in _TRIVIAL_TYPES or isinstance(o, Literal)):
        return True
    if p == RDF.type and isinstance(o, URIRef) and str(o).startswith(str(XSD)):
        return True
    # owlrl types every datatype-valued property as a DatatypeProperty etc.: keep the ontology's own.
    return p == RDFS.subClassOf and o in (OWL.Thing, RDFS.Resource)


def materialize(asserted: Graph) -> Graph:
    """Return the triples OWL 2 RL adds to ``asserted`` (ontology + data), minus vocabulary noise."""
    closure = Graph()
    for triple in asserted:
        closure.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, rdfs_closure=False, axiomatic_triples=False).expand(closure)
    inferred = Graph()
    for s, p, o in closure:
        if (s, p, o) in asserted or _is_noise(s, p, o):
            continue
        inferred.add((s, p, o))
    return inferred
