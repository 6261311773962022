"""Oxigraph in this process (pyoxigraph), in memory or on disk (RocksDB): where the build writes the
dataset, and where the CLI, the checks and the tests query it. It has no timeout and cannot cancel a
query, so the web layer never queries it (:mod:`kg.engine.process`).

Graph views (:data:`kg.rdf.names.VIEWS`): ``all`` is the union of every named graph (asserted,
ontology, inferred); ``asserted`` is the ontology and the source graphs without inferences;
``inferred`` is the OWL RL closure alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

import pyoxigraph as ox

from kg.errors import QuerySyntaxError, StoreError, UsageError
from kg.rdf.formats import Format
from kg.rdf.names import Names

View = Literal["all", "asserted", "inferred"]

RESULTS_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}

_ERROR_AT = re.compile(r"error at (\d+):(\d+)")


class QueryResult:
    """One query's result, read once: ``kind`` is ``select``, ``ask`` or ``graph``.

    Serialising streams from Oxigraph's own writers (exact, blank nodes kept); ``rows()`` and
    ``triples()`` materialise instead. Either consumes the result.
    """

    def __init__(self, raw: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples):
        self._raw: Any = raw
        self.variables: list[str]
        if isinstance(raw, ox.QueryBoolean):
            self.kind, self.variables = "ask", []
        elif isinstance(raw, ox.QueryTriples):
            self.kind, self.variables = "graph", []
        else:
            self.kind, self.variables = "select", [v.value for v in raw.variables]

    @property
    def boolean(self) -> bool:
        if self.kind != "ask":
            raise UsageError("only an ASK query has a boolean result")
        return bool(self._raw)

    def rows(self) -> list[tuple[ox.NamedNode | ox.BlankNode | ox.Literal | None, ...]]:
        if self.kind != "select":
            raise UsageError("only a SELECT query has rows")
        return [tuple(s[v] for v in self.variables) for s in self._raw]

    def triples(self) -> list[ox.Triple]:
        if self.kind != "graph":
            raise UsageError("only a CONSTRUCT or DESCRIBE query has triples")
        return list(self._raw)

    def serialize(self, fmt: str | Format) -> bytes:
        """SELECT/ASK as json|xml|csv|tsv; CONSTRUCT/DESCRIBE as a triples RDF format."""
        if self.kind == "graph":
            if not isinstance(fmt, Format):
                raise UsageError(f"a graph result is serialised as RDF, not as {fmt!r}")
            return bytes(self._raw.serialize(format=fmt.ox))
        if isinstance(fmt, Format) or fmt not in RESULTS_FORMATS:
            raise UsageError(f"a {self.kind.upper()} result is serialised as json, xml, csv or tsv")
        return bytes(self._raw.serialize(format=RESULTS_FORMATS[fmt]))


class OxigraphStore:
    """Oxigraph in this process: in memory (``path=None``) or on disk."""

    def __init__(self, names: Names, path: Path | None = None, *, read_only: bool = False):
        self.names = names
        self.path = path
        try:
            if path is None:
                self._store = ox.Store()
            elif read_only:
                if not (path / "CURRENT").exists():
                    raise StoreError(f"no store at {path}: run `alatau-kg build` first")
                self._store = ox.Store.read_only(str(path))
            else:
                self._store = ox.Store(str(path))
        except OSError as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc

    @property
    def raw(self) -> ox.Store:
        return self._store

    # --- reading ---------------------------------------------------------------------------

    def graphs(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def source_graphs(self) -> list[str]:
        return [g for g in self.graphs() if self.names.is_source_graph(g)]

    def view_graphs(self, view: View) -> list[str] | None:
        """The graphs a view's default graph is made of (``None``: the union of all)."""
        return self.names.view_graphs(view, self.graphs())

    def query(
        self,
        sparql: str,
        *,
        view: View = "all",
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        prefixes: dict[str, str] | None = None,
    ) -> QueryResult:
        """Evaluate ``sparql``; ``prefixes`` are pre-declared (the query's own PREFIXes win)."""
        kwargs: dict = {}
        if default_graphs is not None:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
        else:
            graphs = self.view_graphs(view)
            if graphs is None:
                kwargs["use_default_graph_as_union"] = True
            else:
                kwargs["default_graph"] = [ox.NamedNode(g) for g in graphs]
        if named_graphs is not None:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        try:
            raw = self._store.query(sparql, prefixes=prefixes, **kwargs)
        except SyntaxError as exc:
            raise _syntax_error(exc) from exc
        except OSError as exc:
            raise StoreError(str(exc)) from exc
        return QueryResult(raw)

    def count(self, graph: str | None = None) -> int:
        if graph is None:
            return len(self._store)
        return sum(1 for _ in self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        g = ox.NamedNode(graph) if graph is not None else None
        return iter(self._store.quads_for_pattern(None, None, None, g))

    def dump(self, output: IO[bytes], fmt: Format, graph: str | None = None) -> None:
        prefixes = self.names.prefixes()
        if graph is not None:
            self._store.dump(output, fmt.ox, from_graph=ox.NamedNode(graph), prefixes=prefixes)
        elif fmt.datasets:
            self._store.dump(output, fmt.ox, prefixes=prefixes)
        else:
            # A triples-only format holds the union of all graphs (graph names are lost).
            union = ox.Store()
            union.extend(ox.Quad(q.subject, q.predicate, q.object) for q in self._store)
            union.dump(output, fmt.ox, from_graph=ox.DefaultGraph(), prefixes=prefixes)

    # --- writing ---------------------------------------------------------------------------

    def add_quads(self, quads: Iterable[ox.Quad]) -> None:
        self._store.extend(quads)

    def flush(self) -> None:
        if self.path is not None:
            self._store.flush()


def _syntax_error(exc: SyntaxError) -> QuerySyntaxError:
    message = str(exc.msg if exc.msg else exc)
    position = None
    if m := _ERROR_AT.search(message):
        position = {"line": int(m.group(1)), "column": int(m.group(2))}
    return QuerySyntaxError(f"SPARQL syntax error: {message}", position=position)
