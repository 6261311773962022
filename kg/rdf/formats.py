"""The one table of formats this service reads and writes: RDF documents and SPARQL results.

Each :class:`Format` says how it is named (``format=`` values, CLI options), its media type and the
other media types that mean it, its file extensions, its IRI in the W3C's format registry
(https://www.w3.org/ns/formats/, for the service description), whether it holds named graphs, and
the names Oxigraph and rdflib give it. Content negotiation (``server/core/negotiation.py``) chooses
among these; parsing (:mod:`kg.rdf.parsing`), the store's dumps and the descriptions write them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.errors import LoadError, UsageError
from kg.rdf.names import FORMATS as W3C


@dataclass(frozen=True)
class Format:
    name: str  # the canonical ``format`` value
    media_type: str  # what we answer with (and ask an engine for)
    also: tuple[str, ...]  # other media types that mean this format (Accept, Content-Type)
    extension: str  # the extension of the files we write
    w3c: str  # the format's IRI in https://www.w3.org/ns/formats/
    ox: ox.RdfFormat | None = None  # Oxigraph's RDF format (None: a SPARQL results format)
    datasets: bool = False  # holds named graphs
    rdflib: str = ""  # rdflib's serializer name, for documents written with rdflib
    aliases: tuple[str, ...] = ()  # other ``format`` values clients send (SPARQLWrapper: xml, rdf+xml)
    extensions: tuple[str, ...] = ()  # other extensions read as this format

    @property
    def media_types(self) -> tuple[str, ...]:
        return (self.media_type, *self.also)

    def answers_to(self, value: str) -> bool:
        return value in (self.name, *self.aliases, *self.media_types)

    def accepting(self, *media_types: str) -> Format:
        """This format, also chosen for ``media_types`` (a negotiation policy of one context)."""
        return dataclasses.replace(self, also=(*self.also, *media_types))


# RDF documents
TURTLE = Format(
    "turtle",
    "text/turtle",
    ("application/x-turtle",),
    "ttl",
    W3C + "Turtle",
    ox.RdfFormat.TURTLE,
    rdflib="turtle",
    aliases=("ttl",),
)
NTRIPLES = Format(
    "ntriples",
    "application/n-triples",
    (),
    "nt",
    W3C + "N-Triples",
    ox.RdfFormat.N_TRIPLES,
    rdflib="nt",
    aliases=("nt", "n-triples"),
)
JSONLD = Format(
    "jsonld",
    "application/ld+json",
    ("application/json",),
    "jsonld",
    W3C + "JSON-LD",
    ox.RdfFormat.JSON_LD,
    datasets=True,
    rdflib="json-ld",
    aliases=("json-ld",),
    extensions=("json",),
)
RDFXML = Format(
    "rdfxml",
    "application/rdf+xml",
    ("application/xml", "text/xml"),
    "rdf",
    W3C + "RDF_XML",
    ox.RdfFormat.RDF_XML,
    rdflib="xml",
    aliases=("rdf+xml", "xml", "rdf"),
    extensions=("owl", "xml"),
)
TRIG = Format(
    "trig", "application/trig", (), "trig", W3C + "TriG", ox.RdfFormat.TRIG, datasets=True, rdflib="trig"
)
NQUADS = Format(
    "nquads",
    "application/n-quads",
    (),
    "nq",
    W3C + "N-Quads",
    ox.RdfFormat.N_QUADS,
    datasets=True,
    rdflib="nquads",
    aliases=("nq",),
)
RDF_FORMATS: tuple[Format, ...] = (TURTLE, NTRIPLES, JSONLD, RDFXML, TRIG, NQUADS)

# SPARQL results (https://www.w3.org/TR/sparql11-protocol/#query-success)
JSON = Format(
    "json", "application/sparql-results+json", ("application/json",), "srj", W3C + "SPARQL_Results_JSON"
)
XML = Format(
    "xml",
    "application/sparql-results+xml",
    ("application/xml", "text/xml"),
    "srx",
    W3C + "SPARQL_Results_XML",
)
CSV = Format("csv", "text/csv", (), "csv", W3C + "SPARQL_Results_CSV")
TSV = Format("tsv", "text/tab-separated-values", (), "tsv", W3C + "SPARQL_Results_TSV")
RESULT_FORMATS: tuple[Format, ...] = (JSON, XML, CSV, TSV)


def rdf_format(name: str) -> Format:
    """An RDF format by its name, an alias or its extension (``ttl``, ``json-ld``, ``nq``)."""
    key = name.lower()
    found = next((f for f in RDF_FORMATS if key in (f.name, f.extension, *f.aliases)), None)
    if found is None:
        known = ", ".join(f.name for f in RDF_FORMATS)
        raise UsageError(f"unknown RDF format {name!r} (known: {known})")
    return found


def rdf_format_of_media_type(media_type: str) -> Format | None:
    media_type = media_type.split(";")[0].strip().lower()
    return next((f for f in RDF_FORMATS if media_type in f.media_types), None)


def rdf_format_of_extension(extension: str) -> Format | None:
    ext = extension.lstrip(".").lower()
    return next((f for f in RDF_FORMATS if ext == f.extension or ext in f.extensions), None)


def rdf_format_of_path(path: Path) -> Format:
    found = rdf_format_of_extension(path.suffix)
    if found is None:
        raise LoadError(f"cannot tell the RDF format of {path.name!r} from its extension", source=str(path))
    return found
