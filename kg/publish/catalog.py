"""The dataset as a product: its data version, its dumps (with SHA-256 checksums) and its VoID + DCAT
description, all read through the engine (no web framework).

The data version is a hash of the triple count of every graph plus the newest ``xsd:dateTime`` of
the change log graph (writes add entries there) plus, when the engine offers one, its own
modification counter (``engine.data_version``). One aggregate query computes it; everything derived
from the data (dumps, labels, the search index) is cached under it and rebuilt when it changes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pyoxigraph as ox

from kg.engine import Engine
from kg.publish.describe import graph_quads, select
from kg.publish.documents import serialize
from kg.rdf.formats import NQUADS, TRIG, TURTLE, Format
from kg.rdf.names import DCAT, DCTERMS, FOAF, PROV, SCHEMA, SD, VOID, XSD, Names

SPDX = "http://spdx.org/rdf/terms#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
LANGUAGE = "http://id.loc.gov/vocabulary/iso639-1/"
PUBLISHER_NAME = "Alatau KG project"

TITLE = {
    "kk": "Alatau KG — Алатау қаласының ашық білім графы",
    "ru": "Alatau KG — открытый граф знаний города Алатау",
    "en": "Alatau KG — the open knowledge graph of Alatau City",
}
DESCRIPTION = {
    "kk": "Алатау қаласы (Алматы облысы, Қазақстан) туралы екі жаңалық мақаласындағы әр дерек: "
    "типтелген, күні мен дереккөзі көрсетілген, OWL 2 онтологиясымен сипатталған, SHACL пішіндерімен "
    "тексерілген, OWL 2 RL бойынша тұжырымдалған және SPARQL 1.1 арқылы қолжетімді.",
    "ru": "Каждый факт двух новостных статей о городе Алатау (Алматинская область, Казахстан): "
    "типизированный, датированный и со ссылкой на источник, описанный онтологией OWL 2, проверенный "
    "формами SHACL, дополненный выводом OWL 2 RL и доступный через SPARQL 1.1.",
    "en": "Every fact of two news articles about Alatau City (Almaty Region, Kazakhstan): typed, dated "
    "and sourced, described by an OWL 2 ontology, checked by SHACL shapes, reasoned with OWL 2 RL and "
    "served over SPARQL 1.1.",
}

DUMP_NAME = "alatau-kg"
DUMP_FORMATS: tuple[Format, ...] = (TRIG, NQUADS, TURTLE)


@dataclass(frozen=True)
class DataVersion:
    token: str  # short hex: changes whenever any graph's size, the change log or the engine's counter does
    counts: dict[str, int]
    last_change: str | None  # the newest xsd:dateTime of the change log, if any

    @property
    def triples(self) -> int:
        return sum(self.counts.values())


def data_version(engine: Engine, names: Names) -> DataVersion:
    changes = f"<{names.changes_graph}>"
    rows = select(
        engine,
        f"""SELECT ?g (COUNT(*) AS ?n)
  (MAX(IF(?g = {changes} && isLiteral(?o) && DATATYPE(?o) = <{XSD}dateTime>, STR(?o), "")) AS ?m)
WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g""",
    )
    counts: dict[str, int] = {}
    last_change = ""
    for row in rows:
        g, n, m = row["g"], row["n"], row["m"]
        if isinstance(g, ox.NamedNode) and isinstance(n, ox.Literal):
            counts[g.value] = int(n.value)
            if isinstance(m, ox.Literal) and m.value > last_change:
                last_change = m.value
    counts = dict(sorted(counts.items()))
    counter = getattr(engine, "data_version", None)
    extra = counter() if callable(counter) else counter
    payload = json.dumps([counts, last_change, extra], sort_keys=True, default=str)
    return DataVersion(hashlib.sha256(payload.encode()).hexdigest()[:16], counts, last_change or None)


T = TypeVar("T")


class VersionedCache(Generic[T]):
    """One value per data version, built at most once at a time; the previous one is dropped."""

    def __init__(self, build: Callable[[], T]):
        self._build = build
        self._lock = threading.Lock()
        self._token: str | None = None
        self._value: T | None = None

    def get(self, version: DataVersion) -> T:
        with self._lock:
            if self._token != version.token or self._value is None:
                self._value = self._build()
                self._token = version.token
            return self._value


@dataclass(frozen=True)
class Dump:
    filename: str
    fmt: Format
    body: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.body)


@dataclass(frozen=True)
class Dumps:
    version: DataVersion
    files: dict[str, Dump]  # by file name

    def checksums(self) -> str:
        """``sha256sum`` format: check the files with ``sha256sum -c SHA256SUMS``."""
        return "".join(f"{d.sha256}  {d.filename}\n" for d in self.files.values())


def build_dumps(engine: Engine, names: Names, version: DataVersion) -> Dumps:
    """The whole dataset in TriG and N-Quads (named graphs kept) and Turtle (their union)."""
    quads = graph_quads(engine)
    prefixes = names.prefixes()
    files = {}
    for fmt in DUMP_FORMATS:
        header = (
            "Alatau KG: the union of all named graphs (the TriG and N-Quads dumps keep the graphs).\n"
            f"Data version {version.token}. Licence: CC BY 4.0 ({CC_BY})."
            if not fmt.datasets
            else ""
        )
        body = serialize(quads, fmt, prefixes, header=header)
        filename = f"{DUMP_NAME}.{fmt.extension}"
        files[filename] = Dump(filename, fmt, body, hashlib.sha256(body).hexdigest())
    return Dumps(version, files)


@dataclass(frozen=True)
class Article:
    iri: str
    date: str | None
    labels: tuple[ox.Literal, ...]


def articles(engine: Engine) -> list[Article]:
    rows = select(
        engine,
        f"""SELECT ?a ?date ?label WHERE {{
  ?a a <{SCHEMA["NewsArticle"]}> .
  OPTIONAL {{ ?a <{SCHEMA["datePublished"]}> ?date }}
  OPTIONAL {{ ?a <http://www.w3.org/2000/01/rdf-schema#label> ?label }}
}}""",
        union=True,
    )
    found: dict[str, dict] = {}
    for row in rows:
        a = row["a"]
        if not isinstance(a, ox.NamedNode):
            continue
        entry = found.setdefault(a.value, {"date": None, "labels": []})
        if isinstance(row["date"], ox.Literal):
            entry["date"] = row["date"].value
        if isinstance(row["label"], ox.Literal) and row["label"] not in entry["labels"]:
            entry["labels"].append(row["label"])
    return sorted(
        (Article(iri, e["date"], tuple(e["labels"])) for iri, e in found.items()),
        key=lambda a: (a.date or "", a.iri),
    )


def vocabularies(engine: Engine, names: Names) -> list[str]:
    """The namespaces (of :meth:`Names.prefixes`) of the properties and classes the data use."""
    rows = select(
        engine,
        "SELECT DISTINCT ?t WHERE { { ?s ?t ?o } UNION { ?s a ?t } FILTER(isIRI(?t)) }",
        union=True,
    )
    used = {str(row["t"].value) for row in rows if isinstance(row["t"], ox.NamedNode)}
    spaces = set()
    for ns in names.prefixes().values():
        if ns.startswith(names.base) and ns != str(names.ak):
            continue  # our own things and graphs are not a vocabulary
        if any(iri.startswith(ns) for iri in used):
            spaces.add(ns.rstrip("#/") if ns == str(names.ak) else ns)
    return sorted(spaces)


def dataset_iri(names: Names) -> str:
    return names.base + "dataset#it"


def void_description(
    names: Names,
    version: DataVersion,
    dumps: Dumps,
    sources: list[Article],
    vocabs: list[str],
    *,
    service_root: str,
) -> list[ox.Quad]:
    """VoID + DCAT: the dataset, its distributions (dumps with checksums), its SPARQL service.

    Things are named under the base; service URLs (endpoint, dumps, pages) under ``service_root``,
    where this server answers."""
    ds = ox.NamedNode(dataset_iri(names))
    publisher = ox.NamedNode(names.base + "dataset#publisher")
    service = ox.NamedNode(service_root + "sparql")
    triples: list[tuple[ox.NamedNode, str, ox.NamedNode | ox.Literal]] = []

    def add(s: ox.NamedNode, p: str, o: ox.NamedNode | ox.Literal) -> None:
        triples.append((s, p, o))

    def iri(value: str) -> ox.NamedNode:
        return ox.NamedNode(value)

    def typed(value: object, datatype: str) -> ox.Literal:
        return ox.Literal(str(value), datatype=iri(XSD + datatype))

    for t in (VOID.Dataset, DCAT.Dataset):
        add(ds, RDF_TYPE, iri(str(t)))
    for lang in ("kk", "ru", "en"):
        add(ds, DCTERMS["title"], ox.Literal(TITLE[lang], language=lang))
        add(ds, DCTERMS["description"], ox.Literal(DESCRIPTION[lang], language=lang))
        add(ds, DCTERMS["language"], iri(LANGUAGE + lang))
    add(ds, DCTERMS["license"], iri(CC_BY))
    add(ds, DCTERMS["publisher"], publisher)
    add(publisher, RDF_TYPE, iri(FOAF["Agent"]))
    add(publisher, FOAF["name"], ox.Literal(PUBLISHER_NAME))
    for article in sources:
        add(ds, DCTERMS["source"], iri(article.iri))
        add(ds, PROV["wasDerivedFrom"], iri(article.iri))
        add(iri(article.iri), RDF_TYPE, iri(SCHEMA["NewsArticle"]))
        if article.date:
            add(iri(article.iri), DCTERMS["issued"], typed(article.date, "date"))
        for label in article.labels:
            add(iri(article.iri), "http://www.w3.org/2000/01/rdf-schema#label", label)
    modified = version.last_change or max((a.date or "" for a in sources), default="")
    if modified:
        add(ds, DCTERMS["modified"], typed(modified, "dateTime" if "T" in modified else "date"))
    add(ds, DCTERMS["hasVersion"], ox.Literal(version.token))
    add(ds, VOID["sparqlEndpoint"], service)
    add(ds, VOID["uriSpace"], ox.Literal(names.base + "id/"))
    add(ds, VOID["exampleResource"], iri(names.base + "id/place/alatau"))
    add(ds, VOID["uriLookupEndpoint"], iri(service_root + "search?q="))
    add(ds, DCAT["landingPage"], iri(service_root + "home"))
    add(ds, VOID["triples"], typed(version.triples, "integer"))
    for vocab in vocabs:
        add(ds, VOID["vocabulary"], iri(vocab))
    for graph, count in version.counts.items():
        add(ds, VOID["subset"], iri(graph))
        add(iri(graph), RDF_TYPE, iri(VOID["Dataset"]))
        add(iri(graph), SD + "name", iri(graph))
        add(iri(graph), VOID["triples"], typed(count, "integer"))
    for dump in dumps.files.values():
        url = iri(service_root + "dumps/" + dump.filename)
        checksum = iri(service_root + "dumps/" + dump.filename + "#sha256")
        add(ds, VOID["dataDump"], url)
        add(ds, DCAT["distribution"], url)
        add(url, RDF_TYPE, iri(DCAT["Distribution"]))
        add(url, DCAT["downloadURL"], url)
        add(
            url, DCAT["mediaType"], iri("https://www.iana.org/assignments/media-types/" + dump.fmt.media_type)
        )
        add(url, DCTERMS["format"], ox.Literal(dump.fmt.media_type))
        add(url, DCAT["byteSize"], typed(dump.size, "nonNegativeInteger"))
        add(url, DCTERMS["license"], iri(CC_BY))
        add(url, SPDX + "checksum", checksum)
        add(checksum, RDF_TYPE, iri(SPDX + "Checksum"))
        add(checksum, SPDX + "algorithm", iri(SPDX + "checksumAlgorithm_sha256"))
        add(checksum, SPDX + "checksumValue", typed(dump.sha256, "hexBinary"))
    add(service, RDF_TYPE, iri(DCAT["DataService"]))
    add(service, RDF_TYPE, iri(SD + "Service"))
    add(service, DCAT["endpointURL"], service)
    add(service, SD + "endpoint", service)
    add(service, DCAT["servesDataset"], ds)
    return [ox.Quad(s, iri(p), o, ox.DefaultGraph()) for s, p, o in triples]


@dataclass(frozen=True)
class GraphInfo:
    """A named graph as a page shows it: its role and, for a source graph, the article."""

    iri: str
    role: str  # source, inferred, ontology, shapes, changes, other
    article: str | None = None
    date: str | None = None
    labels: tuple[ox.Literal, ...] = ()


def graph_infos(engine: Engine, names: Names) -> dict[str, GraphInfo]:
    rows = select(
        engine,
        """PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <http://schema.org/>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?g ?a ?date ?label WHERE {
  { SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } }
  OPTIONAL { ?g prov:wasDerivedFrom ?a .
             OPTIONAL { ?a schema:datePublished|dcterms:issued ?date }
             OPTIONAL { ?a <http://www.w3.org/2000/01/rdf-schema#label> ?label } }
}""",
        union=True,
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        g = row["g"]
        if not isinstance(g, ox.NamedNode):
            continue
        entry = found.setdefault(g.value, {"article": None, "date": None, "labels": []})
        if isinstance(row["a"], ox.NamedNode):
            entry["article"] = row["a"].value
        if isinstance(row["date"], ox.Literal):
            entry["date"] = row["date"].value
        if isinstance(row["label"], ox.Literal) and row["label"] not in entry["labels"]:
            entry["labels"].append(row["label"])
    roles = {
        names.inferred_graph: "inferred",
        names.ontology_graph: "ontology",
        names.shapes_graph: "shapes",
        names.changes_graph: "changes",
    }
    return {
        g: GraphInfo(
            g,
            roles.get(g, "source" if names.is_source_graph(g) else "other"),
            e["article"],
            e["date"],
            tuple(e["labels"]),
        )
        for g, e in found.items()
    }
