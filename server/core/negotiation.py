"""Content negotiation as data: which formats each kind of result can take, and how one is chosen.

A format is picked by the ``format`` parameter (a name or a media type) when given, else by the
``Accept`` header (RFC 9110 §12.5.1: q-values, ``q=0`` excludes, the most specific range that
matches a media type gives its q), else the first of the table. Ties go to the table's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kg.rdf.formats import CSV, JSON, JSONLD, NTRIPLES, RDFXML, TSV, TURTLE, XML, Format

# SELECT and ASK (https://www.w3.org/TR/sparql11-protocol/#query-success): JSON first, the default.
RESULTS: tuple[Format, ...] = (JSON, XML, CSV, TSV)
# CONSTRUCT and DESCRIBE: Turtle first, the default. A client that asks for SPARQL results of a
# CONSTRUCT (rdflib's SPARQLStore sends one Accept for every query form) gets the graph in the RDF
# format of the same family: JSON-LD or RDF/XML; ``text/plain`` is N-Triples' old media type.
GRAPH_NTRIPLES = NTRIPLES.accepting("text/plain")
GRAPH_JSONLD = JSONLD.accepting("application/sparql-results+json")
GRAPH_RDFXML = RDFXML.accepting("application/sparql-results+xml")
GRAPHS: tuple[Format, ...] = (TURTLE, GRAPH_NTRIPLES, GRAPH_JSONLD, GRAPH_RDFXML)
# The service description, written by rdflib.
DESCRIPTION: tuple[Format, ...] = (TURTLE, GRAPH_RDFXML, GRAPH_JSONLD, GRAPH_NTRIPLES)


class NotAcceptable(Exception):
    def __init__(self, message: str, available: Sequence[Format]):
        super().__init__(message)
        self.available = [f.media_type for f in available]


class UnknownFormat(Exception):
    pass


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    params: tuple[tuple[str, str], ...]
    q: float

    def matches(self, media_type: str) -> bool:
        type_, _, subtype = media_type.partition("/")
        return self.type in ("*", type_) and self.subtype in ("*", subtype)

    @property
    def specificity(self) -> int:
        return (self.type != "*") + (self.subtype != "*") + bool(self.params)


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an Accept header; malformed ones are ignored, as RFC 9110 allows."""
    ranges = []
    for item in header.split(","):
        parts = [p.strip() for p in item.split(";")]
        type_, slash, subtype = parts[0].lower().partition("/")
        if not slash or not type_ or not subtype or (type_ == "*" and subtype != "*"):
            continue
        q = 1.0
        params = []
        for param in parts[1:]:
            key, _, value = param.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = -1.0
                break  # parameters after q are accept-extensions, not media type parameters
            if key:
                params.append((key, value))
        if 0.0 <= q <= 1.0:
            ranges.append(MediaRange(type_, subtype, tuple(params), q))
    return ranges


def quality(ranges: Sequence[MediaRange], media_types: Sequence[str]) -> float:
    """The q of a format known by several media types: the most specific range that matches any of
    them decides, so ``application/sparql-results+json;q=0, */*`` excludes JSON results even though
    ``*/*`` also matches their alias ``application/json``."""
    matching = [r for r in ranges for m in media_types if r.matches(m)]
    if not matching:
        return 0.0
    best = max(r.specificity for r in matching)
    return min(r.q for r in matching if r.specificity == best)


def choose(formats: Sequence[Format], accept: str | None, format_values: Sequence[str] = ()) -> Format:
    """The format to answer in, or :class:`NotAcceptable` / :class:`UnknownFormat`.

    ``format`` may be repeated (SPARQLWrapper sends a name and a media type): the first value that
    names a format of ``formats`` wins.
    """
    wanted = [v.strip().lower() for v in format_values if v.strip()]
    if wanted:
        for value in wanted:
            for f in formats:
                if f.answers_to(value):
                    return f
        if any(f.answers_to(v) for v in wanted for f in (*RESULTS, *GRAPHS)):
            raise NotAcceptable(f"format {', '.join(wanted)} cannot hold this kind of result", formats)
        raise UnknownFormat(f"unknown format {', '.join(wanted)}")
    if not accept or not accept.strip():
        return formats[0]
    ranges = parse_accept(accept)
    best: Format | None = None
    best_q = 0.0
    for f in formats:
        q = quality(ranges, f.media_types)
        if q > best_q:
            best, best_q = f, q
    if best is None:
        raise NotAcceptable(f"none of the accepted media types ({accept}) can hold this result", formats)
    return best


def prefers_html(accept: str) -> bool:
    """Whether an error should be a page: only when the client names HTML and prefers it to JSON."""
    ranges = parse_accept(accept or "*/*")
    named = any(r.type == "text" and r.subtype == "html" and r.q > 0 for r in ranges)
    return named and quality(ranges, ("text/html",)) >= quality(ranges, ("application/json",))


def best_language(header: str | None, offered: Sequence[str]) -> str | None:
    """The best of ``offered`` in an Accept-Language header (RFC 9110 §12.5.4; ``kk-KZ`` counts as
    ``kk``; ties go to the header's order), or None."""
    best: tuple[float, int, str] | None = None
    for position, item in enumerate((header or "").split(",")):
        parts = [p.strip() for p in item.split(";")]
        tag = parts[0].lower().split("-")[0]
        q = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag in offered and q > 0 and (best is None or (q, -position) > (best[0], best[1])):
            best = (q, -position, tag)
    return best[2] if best else None
