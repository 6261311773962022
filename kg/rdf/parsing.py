"""Reading and writing RDF: the formats we speak, parsing with line numbers, term conversion.

Parsing goes through Oxigraph's parsers (fast, strict, line/column in errors, no network: a remote
JSON-LD ``@context`` is never fetched). rdflib terms are produced where reasoning or validation need
them.

Documents come from outside (request bodies), and two of Oxigraph's parsers pay dearly for nesting:
its JSON-LD parser recurses (a 10,000-deep document overflows an 8 MiB stack and ends the process)
and its memory grows with the square of the depth (2,000 levels, 12 kB of JSON: 0.8 GB); its RDF/XML
parser's time grows with the square of the depth (50,000 levels: 40 s). So a JSON-LD or RDF/XML
document nested deeper than ``max_depth`` is refused before parsing (:class:`DocumentTooDeep`), and
every document is parsed on a deep stack (:mod:`kg.rdf.stacks`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import accumulate
from pathlib import Path

import pyoxigraph as ox

from kg.errors import DocumentTooDeep, LoadError
from kg.rdf.formats import Format, rdf_format_of_path
from kg.rdf.names import CANONICAL_BASE, Names
from kg.rdf.stacks import on_deep_stack

_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_POSITION = re.compile(r"line (\d+) column (\d+)")
MAX_DEPTH = 100  # Settings.max_document_depth's default

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_JSON_OTHER = bytes(c for c in range(256) if c not in b"{}[]")
_XML_SKIPPED = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)
_XML_TAG = re.compile(rb"<(/?)[^<>]*?(/?)>")


def document_depth(data: bytes, fmt: Format) -> int:
    """How deep a JSON-LD (objects and arrays) or RDF/XML (elements) document is nested; 0 for the
    other formats, whose parsers do not recurse. A linear scan, no parser."""
    if fmt.name == "jsonld":
        brackets = _JSON_STRING.sub(b"", data).translate(None, _JSON_OTHER)
        steps = (1 if c in b"{[" else -1 for c in brackets)
    elif fmt.name == "rdfxml":
        tags = _XML_TAG.finditer(_XML_SKIPPED.sub(b"", data))
        steps = (-1 if m.group(1) else 0 if m.group(2) else 1 for m in tags)
    else:
        return 0
    return max(accumulate(steps, initial=0))


def parse_bytes(
    data: bytes,
    fmt: Format,
    *,
    source: str = "input",
    base_iri: str | None = None,
    to_graph: ox.NamedNode | ox.DefaultGraph | None = None,
    max_depth: int = MAX_DEPTH,
) -> list[ox.Quad]:
    """Parse a whole document, or raise :class:`LoadError` naming the line. Nothing is half-read."""
    if fmt.name == "rdfxml" and _DTD.search(data):
        # Internal entities allow "billion laughs"; external ones read files. Neither is needed.
        raise LoadError("RDF/XML with a DOCTYPE or entity declarations is refused", source=source)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8: byte {exc.start} cannot be decoded", source=source) from exc
    depth = document_depth(data, fmt)
    if depth > max_depth:
        raise DocumentTooDeep(
            f"the {fmt.name} document is nested {depth} deep, more than the limit of {max_depth} "
            "(setting max_document_depth)",
            source=source,
            limit=max_depth,
            measured=depth,
        )
    try:
        quads = on_deep_stack(lambda: list(ox.parse(data, format=fmt.ox, base_iri=base_iri)))
    except SyntaxError as exc:
        line = exc.lineno
        if line is None and (m := _POSITION.search(str(exc))):
            line = int(m.group(1))
        raise LoadError(f"{fmt.name} syntax error: {exc.msg}", source=source, line=line) from exc
    if to_graph is not None:
        quads = [
            ox.Quad(q.subject, q.predicate, q.object, to_graph)
            if isinstance(q.graph_name, ox.DefaultGraph)
            else q
            for q in quads
        ]
    return quads


def parse_file(path: Path, fmt: Format | None = None, **kwargs) -> list[ox.Quad]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read {path}: {exc.strerror}", source=str(path)) from exc
    return parse_bytes(data, fmt or rdf_format_of_path(path), source=str(path), **kwargs)


def rebase_quads(quads: Iterable[ox.Quad], names: Names) -> Iterator[ox.Quad]:
    """Rewrite canonical-base IRIs to the deployment base (no-op under the canonical base)."""
    if names.base == CANONICAL_BASE:
        yield from quads
        return

    def fix(term):
        if isinstance(term, ox.NamedNode):
            return ox.NamedNode(names.rebase(term.value))
        if isinstance(term, ox.Literal) and term.datatype.value.startswith(CANONICAL_BASE):
            return ox.Literal(term.value, datatype=ox.NamedNode(names.rebase(term.datatype.value)))
        return term

    for q in quads:
        yield ox.Quad(fix(q.subject), fix(q.predicate), fix(q.object), fix(q.graph_name))


# --- term conversion -------------------------------------------------------------------------
