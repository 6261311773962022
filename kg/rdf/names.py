"""IRIs the code refers to: namespaces and the named graphs' roles, under a configurable base.

The files in ``ontology/`` and ``data/`` are written with the canonical base
(``https://w3id.org/alatau-kg/``); loading rewrites it when the service is deployed under another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import Namespace

from kg.errors import UsageError

CANONICAL_BASE = "https://w3id.org/alatau-kg/"  # the base ontology/ and data/ are written with

# The one table of namespaces the code names (the data's own prefixes come with Names.prefixes()).
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
SCHEMA = Namespace("http://schema.org/")
ORG = Namespace("http://www.w3.org/ns/org#")
PROV = Namespace("http://www.w3.org/ns/prov#")
QB = Namespace("http://purl.org/linked-data/cube#")
SDMX_DIMENSION = Namespace("http://purl.org/linked-data/sdmx/2009/dimension#")
SDMX_MEASURE = Namespace("http://purl.org/linked-data/sdmx/2009/measure#")
SDMX_ATTRIBUTE = Namespace("http://purl.org/linked-data/sdmx/2009/attribute#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
SH = Namespace("http://www.w3.org/ns/shacl#")
GEO = Namespace("http://www.opengis.net/ont/geosparql#")
TIME = Namespace("http://www.w3.org/2006/time#")
QUDT = Namespace("http://qudt.org/schema/qudt/")
UNIT = Namespace("http://qudt.org/vocab/unit/")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
VOID = Namespace("http://rdfs.org/ns/void#")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
VANN = Namespace("http://purl.org/vocab/vann/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")

# Terms the code names often, as plain strings (what pyoxigraph terms compare with)
RDF_TYPE = f"{RDF}type"
RDF_LANG_STRING = f"{RDF}langString"
RDFS_LABEL = f"{RDFS}label"
SKOS_PREF = f"{SKOS}prefLabel"
SKOS_ALT = f"{SKOS}altLabel"
XSD_STRING = f"{XSD}string"
LABEL_PREDICATES = (RDFS_LABEL, SKOS_PREF)

STANDARD_PREFIXES: dict[str, str] = {
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "schema": str(SCHEMA),
    "org": str(ORG),
    "prov": str(PROV),
    "qb": str(QB),
    "sdmx-dimension": str(SDMX_DIMENSION),
    "sdmx-measure": str(SDMX_MEASURE),
    "sdmx-attribute": str(SDMX_ATTRIBUTE),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "sh": str(SH),
    "geo": str(GEO),
    "time": str(TIME),
    "qudt": str(QUDT),
    "unit": str(UNIT),
    "dcat": str(DCAT),
    "void": str(VOID),
    "foaf": str(FOAF),
}


# Graph views: the default graph of a query made of all graphs, of the asserted ones (the ontology and
# the sources), or of the inferences alone.
VIEWS: tuple[str, ...] = ("all", "asserted", "inferred")


@dataclass(frozen=True)
class Names:
    """The project's own IRIs under one base."""

    base: str = CANONICAL_BASE

    @property
    def ontology(self) -> str:
        return self.base + "def/ontology"

    @property
    def ak(self) -> Namespace:
        return Namespace(self.base + "def/ontology#")

    @property
    def graph_base(self) -> str:
        return self.base + "graph/"

    @property
    def source_graph_base(self) -> str:
        return self.base + "graph/source/"

    @property
    def ontology_graph(self) -> str:
        return self.base + "graph/ontology"

    @property
    def shapes_graph(self) -> str:
        return self.base + "graph/shapes"

    @property
    def inferred_graph(self) -> str:
        return self.base + "graph/inferred"

    @property
    def changes_graph(self) -> str:
        return self.base + "graph/changes"

    def is_source_graph(self, iri: str) -> bool:
        return iri.startswith(self.source_graph_base)

    def view_graphs(self, view: str, graphs: Iterable[str]) -> list[str] | None:
        """The graphs a view's default graph is made of, out of ``graphs`` (None: the union of all)."""
        if view == "all":
            return None
        if view == "asserted":
            return [self.ontology_graph, *sorted(g for g in graphs if self.is_source_graph(g))]
        if view == "inferred":
            return [self.inferred_graph]
        raise UsageError(f"unknown view {view!r} (known: {', '.join(VIEWS)})")

    def prefixes(self) -> dict[str, str]:
        mine = {
            "ak": str(self.ak),
            "id": self.base + "id/",
            "graph": self.graph_base,
            "src": self.base + "id/source/",
        }
        return {**STANDARD_PREFIXES, **mine}

    def rebase(self, iri: str) -> str:
        """Map an IRI written with the canonical base onto this deployment's base."""
        if self.base != CANONICAL_BASE and iri.startswith(CANONICAL_BASE):
            return self.base + iri[len(CANONICAL_BASE) :]
        return iri
