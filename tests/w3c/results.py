"""Query results: parsing every format the suites use, and comparing them the W3C way.

Formats: SPARQL Results XML (``.srx``), JSON (``.srj``), TSV and CSV, RDF graphs (CONSTRUCT results) and
result sets written in the RDF result-set vocabulary (``rs:ResultSet`` in ``.ttl``/``.rdf``).

Comparison (W3C "SPARQL 1.1 test suite", query evaluation tests): solutions are compared as multisets,
blank nodes up to one consistent renaming over the whole result, literals by value (:func:`terms.canonical`);
order only matters when the expected result says so (``rs:index`` in an RDF result set).  Graphs are
compared with :func:`rdflib.compare.isomorphic`.  CSV loses term kinds, so CSV tables are compared cell by
cell as strings, with ``_:`` cells as blank nodes and numbers by numeric value.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import rdflib
import rdflib.compare

from .rdfio import parse_rdf, rdf_format_for
from .terms import IRI, XSD, BNode, Literal, Quad, Term, Triple, canonical

SPARQL_RESULTS_JSON = "application/sparql-results+json"
SPARQL_RESULTS_XML = "application/sparql-results+xml"
SPARQL_RESULTS_TSV = "text/tab-separated-values"
SPARQL_RESULTS_CSV = "text/csv"
RESULTS_MEDIA_TYPES = (SPARQL_RESULTS_JSON, SPARQL_RESULTS_XML, SPARQL_RESULTS_TSV, SPARQL_RESULTS_CSV)

_RS = "http://www.w3.org/2001/sw/DataAccess/tests/result-set#"
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_SRX = "{http://www.w3.org/2005/sparql-results#}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class ResultsFormatError(ValueError):
    """A results document could not be parsed."""


@dataclass
class Solutions:
    """A SELECT result: variable names and rows (unbound variables are absent from a row)."""

    variables: tuple[str, ...]
    rows: list[dict[str, Term]]
    ordered: bool = False
    """True when the order of ``rows`` is significant (only for expected results with ``rs:index``)."""


@dataclass
class Boolean:
    """An ASK result."""

    value: bool


@dataclass
class Graph:
    """A CONSTRUCT/DESCRIBE result."""

    triples: list[Triple]


@dataclass
class CsvTable:
    """SPARQL results in CSV: header and cells as text (CSV does not say what kind of term a cell is)."""

    header: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)


QueryResult = Solutions | Boolean | Graph | CsvTable


def media_type_of(content_type: str) -> str:
    """``text/turtle; charset=utf-8`` -> ``text/turtle``."""
    return content_type.split(";", 1)[0].strip().lower()


# ---------------------------------------------------------------------------------------------------------
# Parsers


def parse_srj(data: bytes) -> Solutions | Boolean:
    """SPARQL 1.1 Query Results JSON."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsFormatError(f"invalid SPARQL results JSON: {error}") from error
    if "boolean" in document:
        return Boolean(bool(document["boolean"]))
    variables = tuple(document.get("head", {}).get("vars", ()))
    rows = []
    for binding in document["results"]["bindings"]:
        rows.append({name: _json_term(value) for name, value in binding.items()})
    return Solutions(variables, rows)


def _json_term(value: dict[str, str]) -> Term:
    kind = value["type"]
    if kind == "uri":
        return IRI(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    if kind in ("literal", "typed-literal"):
        if "xml:lang" in value:
            return Literal.lang(value["value"], value["xml:lang"])
        if "datatype" in value:
            return Literal(value["value"], value["datatype"])
        return Literal(value["value"])
    raise ResultsFormatError(f"unsupported JSON term: {value}")


def parse_srx(data: bytes) -> Solutions | Boolean:
    """SPARQL Query Results XML."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise ResultsFormatError(f"invalid SPARQL results XML: {error}") from error
    boolean = root.find(f"{_SRX}boolean")
    if boolean is not None:
        return Boolean((boolean.text or "").strip() == "true")
    variables = tuple(v.attrib["name"] for v in root.iterfind(f"{_SRX}head/{_SRX}variable"))
    rows = []
    for result in root.iterfind(f"{_SRX}results/{_SRX}result"):
        row = {}
        for binding in result.iterfind(f"{_SRX}binding"):
            (node,) = list(binding)
            row[binding.attrib["name"]] = _xml_term(node)
        rows.append(row)
    return Solutions(variables, rows)


def _xml_term(node: ET.Element) -> Term:
    text = node.text or ""
    if node.tag == f"{_SRX}uri":
        return IRI(text)
    if node.tag == f"{_SRX}bnode":
        return BNode(text)
    if node.tag == f"{_SRX}literal":
        if _XML_LANG in node.attrib:
            return Literal.lang(text, node.attrib[_XML_LANG])
        return Literal(text, node.attrib.get("datatype", XSD + "string"))
    raise ResultsFormatError(f"unsupported XML term: {node.tag}")


_TSV_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_TSV_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"(.*)', re.DOTALL)
_NUMBER_TYPES = (
    (re.compile(r"[+-]?[0-9]+"), XSD + "integer"),
    (re.compile(r"[+-]?[0-9]*\.[0-9]+"), XSD + "decimal"),
    (re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+"), XSD + "double"),
)


def _unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "uU":
            return chr(int(code[1:], 16))
        return _TSV_ESCAPES[code]

    return re.sub(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", replace, text)


def _tsv_term(cell: str) -> Term:
    if cell.startswith("<") and cell.endswith(">"):
        return IRI(_unescape(cell[1:-1]))
    if cell.startswith("_:"):
        return BNode(cell[2:])
    match = _TSV_STRING.fullmatch(cell)
    if match:
        lexical, suffix = _unescape(match.group(1)), match.group(2)
        if not suffix:
            return Literal(lexical)
        if suffix.startswith("@"):
            return Literal.lang(lexical, suffix[1:])
        if suffix.startswith("^^<") and suffix.endswith(">"):
            return Literal(lexical, suffix[3:-1])
    if cell in ("true", "false"):
        return Literal(cell, XSD + "boolean")
    for pattern, datatype in _NUMBER_TYPES:
        if pattern.fullmatch(cell):
            return Literal(cell, datatype)
    raise ResultsFormatError(f"unsupported TSV term: {cell!r}")


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def parse_tsv(data: bytes) -> Solutions | Boolean:
    """SPARQL 1.1 Query Results TSV."""
    lines = _lines(data.decode("utf-8"))
    if not lines:
        raise ResultsFormatError("empty TSV document")
    if len(lines) == 1 and lines[0] in ("true", "false"):
        return Boolean(lines[0] == "true")
    variables = tuple(name[1:] for name in lines[0].split("\t") if name)
    rows = []
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) != len(variables):
            raise ResultsFormatError(f"TSV row with {len(cells)} cells for {len(variables)} variables")
        rows.append({name: _tsv_term(cell) for name, cell in zip(variables, cells, strict=True) if cell})
    return Solutions(variables, rows)


def parse_csv(data: bytes) -> CsvTable:
    """SPARQL 1.1 Query Results CSV, kept as text."""
    records = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    if not records:
        raise ResultsFormatError("empty CSV document")
    header = tuple(records[0])
    for record in records[1:]:
        if len(record) != len(header):
            raise ResultsFormatError(f"CSV row with {len(record)} cells for {len(header)} columns")
    return CsvTable(header, [tuple(record) for record in records[1:]])


def parse_rdf_results(data: bytes, fmt: ox.RdfFormat, base_iri: str | None) -> Graph | Solutions | Boolean:
    """An RDF document: a result set if it has an ``rs:ResultSet``, otherwise a graph result."""
    quads = parse_rdf(data, fmt, base_iri)
    triples = [(s, p, o) for s, p, o, _ in quads]
    result_sets = [s for s, p, o in triples if p == IRI(_RDF_TYPE) and o == IRI(_RS + "ResultSet")]
    if not result_sets:
        return Graph(triples)
    return _result_set(triples, result_sets[0])


def _result_set(triples: list[Triple], result_set: Term) -> Solutions | Boolean:
    def objects(subject: Term, predicate: str) -> list[Term]:
        return [o for s, p, o in triples if s == subject and p == IRI(_RS + predicate)]

    booleans = objects(result_set, "boolean")
    if booleans:
        (value,) = booleans
        return Boolean(canonical(value) == Literal("true", XSD + "boolean"))
    variables = tuple(
        sorted(v.lexical for v in objects(result_set, "resultVariable") if isinstance(v, Literal))
    )
    indexed: list[tuple[int | None, dict[str, Term]]] = []
    for solution in objects(result_set, "solution"):
        row = {}
        for binding in objects(solution, "binding"):
            (variable,) = objects(binding, "variable")
            (value,) = objects(binding, "value")
            assert isinstance(variable, Literal)
            row[variable.lexical] = value
        index = [int(i.lexical) for i in objects(solution, "index") if isinstance(i, Literal)]
        indexed.append((index[0] if index else None, row))
    ordered = bool(indexed) and all(index is not None for index, _ in indexed)
    if ordered:
        indexed.sort(key=lambda pair: pair[0] or 0)
    return Solutions(variables, [row for _, row in indexed], ordered=ordered)


def parse_results(data: bytes, media_type: str, base_iri: str | None = None) -> QueryResult:
    """Parse a query response body by its media type (results formats or any RDF syntax)."""
    media_type = media_type_of(media_type)
    if media_type in (SPARQL_RESULTS_JSON, "application/json"):
        return parse_srj(data)
    if media_type in (SPARQL_RESULTS_XML, "application/xml", "text/xml"):
        return parse_srx(data)
    if media_type == SPARQL_RESULTS_TSV:
        return parse_tsv(data)
    if media_type == SPARQL_RESULTS_CSV:
        return parse_csv(data)
    fmt = ox.RdfFormat.from_media_type(media_type)
    if fmt is None:
        raise ResultsFormatError(f"unsupported results media type: {media_type!r}")
    result = parse_rdf_results(data, fmt, base_iri)
    if not isinstance(result, Graph):
        raise ResultsFormatError("an engine answered with an rs:ResultSet graph instead of results")
    return result


def load_expected(path: Path, iri: str) -> QueryResult:
    """Read an expected-result file of the suites (format from the extension, ``iri`` as base)."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".srj":
        return parse_srj(data)
    if suffix == ".srx":
        return parse_srx(data)
    if suffix == ".tsv":
        return parse_tsv(data)
    if suffix == ".csv":
        return parse_csv(data)
    return parse_rdf_results(data, rdf_format_for(path), iri)


# ---------------------------------------------------------------------------------------------------------
# Comparison

Row = tuple[Term | None, ...]


def _has_bnode(row: Row) -> bool:
    return any(isinstance(cell, BNode) for cell in row)


def _bind(
    expected: Row, actual: Row, forward: dict[BNode, BNode], backward: dict[BNode, BNode]
) -> list[BNode]:
    """Extend the blank-node bijection so that ``expected`` maps onto ``actual``.

    Returns the newly mapped expected blank nodes, or raises ``LookupError`` (the maps are then restored).
    """
    added: list[BNode] = []
    for e, a in zip(expected, actual, strict=True):
        if isinstance(e, BNode) and isinstance(a, BNode):
            if e in forward or a in backward:
                if forward.get(e) != a or backward.get(a) != e:
                    _unbind(added, forward, backward)
                    raise LookupError
            else:
                forward[e], backward[a] = a, e
                added.append(e)
        elif e != a:
            _unbind(added, forward, backward)
            raise LookupError
    return added


def _unbind(added: Iterable[BNode], forward: dict[BNode, BNode], backward: dict[BNode, BNode]) -> None:
    for e in added:
        del backward[forward.pop(e)]


def rows_isomorphic(expected: Sequence[Row], actual: Sequence[Row], ordered: bool = False) -> bool:
    """Multiset (or sequence) equality of rows up to one consistent renaming of blank nodes.

    Rows must already hold canonical terms.  Ground rows are compared as multisets; rows with blank nodes
    are matched by backtracking over rows of the same shape.
    """
    if len(expected) != len(actual):
        return False
    forward: dict[BNode, BNode] = {}
    backward: dict[BNode, BNode] = {}
    if ordered:
        try:
            for e, a in zip(expected, actual, strict=True):
                _bind(e, a, forward, backward)
        except LookupError:
            return False
        return True

    if Counter(r for r in expected if not _has_bnode(r)) != Counter(r for r in actual if not _has_bnode(r)):
        return False
    expected_b = [r for r in expected if _has_bnode(r)]
    actual_b = [r for r in actual if _has_bnode(r)]

    def shape(row: Row) -> Row:
        return tuple(BNode("") if isinstance(cell, BNode) else cell for cell in row)

    if Counter(map(shape, expected_b)) != Counter(map(shape, actual_b)):
        return False
    candidates = [[j for j, a in enumerate(actual_b) if shape(a) == shape(e)] for e in expected_b]
    order = sorted(range(len(expected_b)), key=lambda i: len(candidates[i]))
    used = [False] * len(actual_b)

    def search(k: int) -> bool:
        if k == len(order):
            return True
        i = order[k]
        for j in candidates[i]:
            if used[j]:
                continue
            try:
                added = _bind(expected_b[i], actual_b[j], forward, backward)
            except LookupError:
                continue
            used[j] = True
            if search(k + 1):
                return True
            used[j] = False
            _unbind(added, forward, backward)
        return False

    return search(0)


def _solution_rows(solutions: Solutions, variables: Sequence[str]) -> list[Row]:
    return [tuple(canonical(row[v]) if v in row else None for v in variables) for row in solutions.rows]


_CSV_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _csv_cell(cell: str) -> Term | None:
    if cell == "":
        return None
    if cell.startswith("_:"):
        return BNode(cell[2:])
    if _CSV_NUMBER.fullmatch(cell):
        with contextlib.suppress(InvalidOperation):
            return Literal(format(Decimal(cell).normalize(), "f"), "urn:x-csv:number")
    return Literal(cell)


def _csv_rows(table: CsvTable, columns: Sequence[str]) -> list[Row]:
    positions = [table.header.index(c) for c in columns]
    return [tuple(_csv_cell(row[p]) for p in positions) for row in table.rows]


def _rdflib_term(term: Term) -> rdflib.term.Node:
    if isinstance(term, IRI):
        return rdflib.URIRef(term.value)
    if isinstance(term, BNode):
        return rdflib.BNode(term.id)
    if term.language is not None:
        return rdflib.Literal(term.lexical, lang=term.language)
    return rdflib.Literal(term.lexical, datatype=rdflib.URIRef(term.datatype), normalize=False)


@contextlib.contextmanager
def _quiet_rdflib_literals() -> Iterator[None]:
    """rdflib logs a traceback for every ill-typed literal it is given (the suites use a few on purpose)."""
    logger = logging.getLogger("rdflib.term")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _graph_key(graph: IRI | BNode | None) -> str:
    return "" if graph is None else quote(str(graph), safe="")


def to_rdflib_graph(quads: Iterable[Quad]) -> rdflib.Graph:
    """One rdflib graph for a dataset, terms canonicalised.

    Quads of a named graph get their predicate tagged with the graph name so that a single isomorphism
    check covers the whole dataset (blank nodes may be shared between graphs).
    """
    graph = rdflib.Graph()
    with _quiet_rdflib_literals():
        for s, p, o, g in quads:
            predicate = _rdflib_term(p)
            if g is not None:
                predicate = rdflib.URIRef(f"urn:x-w3c-harness:graph:{_graph_key(g)}:{quote(str(p), safe='')}")
            graph.add((_rdflib_term(canonical(s)), predicate, _rdflib_term(canonical(o))))
    return graph


def graphs_isomorphic(expected: Iterable[Quad], actual: Iterable[Quad]) -> bool:
    """Dataset isomorphism (:func:`rdflib.compare.isomorphic`) after literal canonicalisation."""
    return rdflib.compare.isomorphic(to_rdflib_graph(expected), to_rdflib_graph(actual))


def _describe_rows(variables: Sequence[str], rows: Sequence[Row], limit: int = 40) -> str:
    lines = [
        " ".join(f"?{v}={cell}" for v, cell in zip(variables, row, strict=True) if cell is not None)
        for row in rows
    ]
    lines = sorted(lines)
    extra = f"\n    ... {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(f"    {{ {line} }}" for line in lines[:limit]) + extra


def _describe_quads(quads: Sequence[Quad], limit: int = 40) -> str:
    lines = sorted(f"    {s} {p} {o}{'' if g is None else f' {g}'}" for s, p, o, g in quads)
    extra = f"\n    ... {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + extra


def compare_results(expected: QueryResult, actual: QueryResult) -> str | None:
    """``None`` if ``actual`` matches ``expected``, else a human-readable explanation."""
    if isinstance(expected, Boolean) and isinstance(actual, Boolean):
        return None if expected.value == actual.value else f"expected {expected.value}, got {actual.value}"
    if isinstance(expected, Solutions) and isinstance(actual, Solutions):
        if set(expected.variables) != set(actual.variables):
            return f"variables differ: expected {sorted(expected.variables)}, got {sorted(actual.variables)}"
        variables = sorted(expected.variables)
        e_rows, a_rows = _solution_rows(expected, variables), _solution_rows(actual, variables)
        if rows_isomorphic(e_rows, a_rows, ordered=expected.ordered):
            return None
        order = " (in this order)" if expected.ordered else ""
        return (
            f"solutions differ{order}\n  expected ({len(e_rows)}):\n{_describe_rows(variables, e_rows)}"
            f"\n  actual ({len(a_rows)}):\n{_describe_rows(variables, a_rows)}"
        )
    if isinstance(expected, CsvTable) and isinstance(actual, CsvTable):
        if sorted(expected.header) != sorted(actual.header):
            return f"CSV header differs: expected {expected.header}, got {actual.header}"
        columns = list(expected.header)
        e_rows, a_rows = _csv_rows(expected, columns), _csv_rows(actual, columns)
        if rows_isomorphic(e_rows, a_rows):
            return None
        return (
            f"CSV rows differ\n  expected:\n{_describe_rows(columns, e_rows)}"
            f"\n  actual:\n{_describe_rows(columns, a_rows)}"
        )
    if isinstance(expected, Graph) and isinstance(actual, Graph):
        e_quads = [(s, p, o, None) for s, p, o in expected.triples]
        a_quads = [(s, p, o, None) for s, p, o in actual.triples]
        if graphs_isomorphic(e_quads, a_quads):
            return None
        return (
            f"graphs are not isomorphic\n  expected ({len(set(e_quads))} triples):\n"
            f"{_describe_quads(e_quads)}\n  actual ({len(set(a_quads))} triples):\n{_describe_quads(a_quads)}"
        )
    return f"expected a {type(expected).__name__} result, got a {type(actual).__name__}"


def compare_datasets(expected: Sequence[Quad], actual: Sequence[Quad]) -> str | None:
    """``None`` if the datasets are isomorphic, else both listed (empty graphs do not count)."""
    if graphs_isomorphic(expected, actual):
        return None
    return (
        f"datasets are not isomorphic\n  expected ({len(set(expected))} quads):\n{_describe_quads(expected)}"
        f"\n  actual ({len(set(actual))} quads):\n{_describe_quads(actual)}"
    )
