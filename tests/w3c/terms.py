"""The small RDF term model the harness compares results with.

Engines hand results back as bytes in a standard format; the harness parses them into these immutable,
hashable terms so that comparison does not depend on any engine's (or rdflib's) literal normalisation.

Comparison follows the W3C SPARQL 1.1 test-suite rules
(https://w3c.github.io/rdf-tests/sparql/sparql11/#query-evaluation-tests): IRIs must be identical, blank
nodes match up to a consistent renaming, and literals are compared *by value*: "test runners may convert
lexical form to canonical form to compare character by character".  :func:`canonical` is that conversion
for the XSD datatypes the suites use (the integer family, decimal, float, double, boolean; for
dateTime/date/time only trailing fractional zeros and ``+00:00`` vs ``Z``); any other literal, and any
literal whose lexical form is not valid for its datatype, is compared exactly.
The datatype itself always has to match: ``1`` and ``1.0`` are different terms.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from decimal import Decimal

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


@dataclass(frozen=True, slots=True)
class IRI:
    """An IRI (absolute, as resolved by whoever parsed it)."""

    value: str

    def __str__(self) -> str:
        return f"<{self.value}>"


@dataclass(frozen=True, slots=True)
class BNode:
    """A blank node; its label only matters within one result set, graph or dataset."""

    id: str

    def __str__(self) -> str:
        return f"_:{self.id}"


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal with its lexical form as written; ``language`` set implies ``rdf:langString``."""

    lexical: str
    datatype: str = XSD_STRING
    language: str | None = None

    @classmethod
    def lang(cls, lexical: str, language: str) -> Literal:
        """A language-tagged string."""
        return cls(lexical, RDF_LANG_STRING, language)

    def __str__(self) -> str:
        quoted = '"' + escape_string(self.lexical) + '"'
        if self.language is not None:
            return f"{quoted}@{self.language}"
        if self.datatype == XSD_STRING:
            return quoted
        return f"{quoted}^^<{self.datatype}>"


Term = IRI | BNode | Literal
GraphName = IRI | BNode | None
"""``None`` is the default graph."""
Triple = tuple[Term, Term, Term]
Quad = tuple[Term, Term, Term, GraphName]


def escape_string(value: str) -> str:
    """Escape a string for the inside of an N-Triples/Turtle ``"..."`` literal."""
    return (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )


def nquad(quad: Quad) -> str:
    """One N-Quads line (with the trailing newline)."""
    s, p, o, g = quad
    graph = "" if g is None else f" {g}"
    return f"{s} {p} {o}{graph} .\n"


# ---------------------------------------------------------------------------------------------------------
# Value-based canonical forms (W3C: "literal nodes compared by value").

_INTEGER_TYPES = frozenset(
    XSD + name
    for name in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "positiveInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
)
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DOUBLE_RE = re.compile(r"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)|[+-]?INF|NaN")
_DATETIME_RE = re.compile(
    r"(?P<main>-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}|[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?P<frac>\.[0-9]+)?(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})?"
)
_DATE_RE = re.compile(r"(?P<main>-?[0-9]{4,}-[0-9]{2}-[0-9]{2})(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})?")


def _canonical_decimal(lexical: str) -> str:
    value = Decimal(lexical)
    if value.is_zero():
        return "0.0"
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def _canonical_double(lexical: str, single_precision: bool) -> str:
    if lexical.lstrip("+") == "INF":
        return "INF"
    if lexical in ("-INF", "NaN"):
        return lexical
    value = float(lexical)
    if single_precision:
        value = struct.unpack("<f", struct.pack("<f", value))[0]
    return repr(value)


def _canonical_timezone(tz: str | None) -> str:
    if tz in ("+00:00", "-00:00"):
        return "Z"
    return tz or ""


def _canonical_lexical(lexical: str, datatype: str) -> str | None:
    """The canonical lexical form, or ``None`` when the datatype is not handled or the value is invalid."""
    if datatype in _INTEGER_TYPES:
        return str(int(lexical)) if _INTEGER_RE.fullmatch(lexical) else None
    if datatype == XSD + "decimal":
        return _canonical_decimal(lexical) if _DECIMAL_RE.fullmatch(lexical) else None
    if datatype in (XSD + "double", XSD + "float"):
        if not _DOUBLE_RE.fullmatch(lexical):
            return None
        return _canonical_double(lexical, single_precision=datatype == XSD + "float")
    if datatype == XSD + "boolean":
        return {"true": "true", "1": "true", "false": "false", "0": "false"}.get(lexical)
    if datatype in (XSD + "dateTime", XSD + "time", XSD + "dateTimeStamp"):
        match = _DATETIME_RE.fullmatch(lexical)
        if match is None:
            return None
        fraction = (match["frac"] or "").rstrip("0").rstrip(".")
        return match["main"] + fraction + _canonical_timezone(match["tz"])
    if datatype == XSD + "date":
        match = _DATE_RE.fullmatch(lexical)
        return None if match is None else match["main"] + _canonical_timezone(match["tz"])
    return None


def canonical(term: Term) -> Term:
    """The term the harness compares: same IRI/blank node, literal in canonical form.

    Language tags are compared case-insensitively (RDF 1.1), literals of the XSD numeric, boolean and
    date/time datatypes by value (see the module docstring); everything else is returned unchanged.
    """
    if not isinstance(term, Literal):
        return term
    if term.language is not None:
        lowered = term.language.lower()
        return term if lowered == term.language else Literal.lang(term.lexical, lowered)
    lexical = _canonical_lexical(term.lexical, term.datatype)
    if lexical is None or lexical == term.lexical:
        return term
    return Literal(lexical, term.datatype)
