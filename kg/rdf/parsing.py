"""Reading and writing RDF: the formats we speak, parsing with line numbers, term conversion.

Parsing goes through Oxigraph's parsers (fast, strict, line/column in errors, no network: a remote
JSON-LD ``@context`` is never fetched). rdflib terms are produced where reasoning or validation need
them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyoxigraph as ox

from kg.errors import LoadError
from kg.rdf.formats import Format, rdf_format_of_path
from kg.rdf.names import CANONICAL_BASE, Names

_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_POSITION = re.compile(r"line (\d+) column (\d+)")


def parse_bytes(
    data: bytes,
    fmt: Format,
    *,
    source: str = "input",
    base_iri: str | None = None,
    to_graph: ox.NamedNode | ox.DefaultGraph | None = None,
) -> list[ox.Quad]:
    """Parse a whole document, or raise :class:`LoadError` naming the line. Nothing is half-read."""
    if fmt.name == "rdfxml" and _DTD.search(data):
        # Internal entities allow "billion laughs"; external ones read files. Neither is needed.
        raise LoadError("RDF/XML with a DOCTYPE or entity declarations is refused", source=source)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8: byte {exc.start} cannot be decoded", source=source) from exc
    try:
        quads = list(ox.parse(data, format=fmt.ox, base_iri=base_iri))
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
