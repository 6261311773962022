"""Search by label: an index of every labelled resource, matched in any of kk/ru/en with the
Kazakh letters folded onto their Russian look-alikes (:func:`kg.publish.languages.fold`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.engine import Engine
from kg.publish.describe import select
from kg.publish.languages import fold
from kg.rdf.names import RDFS_LABEL, SKOS_ALT, SKOS_PREF, Names


@dataclass
class SearchEntry:
    iri: str
    labels: list[ox.Literal] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    keys: list[tuple[str, ox.Literal]] = field(default_factory=list)  # (fold(label), label)


def search_index(engine: Engine, names: Names) -> list[SearchEntry]:
    """Every resource under the base with a label, its labels (also alternative ones) and types."""
    rows = select(
        engine,
        f"""SELECT DISTINCT ?s ?l ?t WHERE {{
  {_labelled(names)}
  OPTIONAL {{ ?s a ?t FILTER(STRSTARTS(STR(?t), {json.dumps(names.base)})) }}
}}""",
        union=True,
    )
    entries: dict[str, SearchEntry] = {}
    for row in rows:
        s, label, t = row["s"], row["l"], row["t"]
        if not isinstance(s, ox.NamedNode) or not isinstance(label, ox.Literal):
            continue
        entry = entries.setdefault(s.value, SearchEntry(s.value))
        if label not in entry.labels:
            entry.labels.append(label)
            entry.keys.append((fold(label.value), label))
        if isinstance(t, ox.NamedNode) and t.value not in entry.types:
            entry.types.append(t.value)
    return list(entries.values())


def _labelled(names: Names) -> str:
    """The graph pattern of a labelled resource under the base: ``?s`` and its label ``?l``."""
    return f"""VALUES ?p {{ <{RDFS_LABEL}> <{SKOS_PREF}> <{SKOS_ALT}> }}
  ?s ?p ?l FILTER(isIRI(?s) && isLiteral(?l) && STRSTARTS(STR(?s), {json.dumps(names.base)}))"""


def count_resources(engine: Engine, names: Names) -> int:
    """How many entries :func:`search_index` has, counted by the engine: the index itself holds every
    label in Python (hundreds of MB at 1M triples), which a page that only shows the number must not
    build."""
    rows = select(engine, f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{\n  {_labelled(names)}\n}}", union=True)
    n = rows[0]["n"] if rows else None
    return int(n.value) if isinstance(n, ox.Literal) else 0


def search(index: Sequence[SearchEntry], text: str, limit: int = 50) -> list[tuple[SearchEntry, ox.Literal]]:
    """Entries whose label contains ``text`` (by :func:`fold`), each with the label that matched:
    exact matches first, then labels starting with it, then the rest; shorter labels first."""
    key = fold(text)
    if not key:
        return []
    ranked = []
    for entry in index:
        best: tuple[int, int, ox.Literal] | None = None
        for folded, label in entry.keys:
            if key not in folded:
                continue
            if folded == key:
                rank = 0
            elif folded.startswith(key):
                rank = 1
            elif f" {key}" in folded or f"«{key}" in folded or f"({key}" in folded:
                rank = 2  # a word starts with it
            else:
                rank = 3
            candidate = (rank, len(folded), label)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
        if best is not None:
            ranked.append((best[0], best[1], entry.iri, entry, best[2]))
    ranked.sort(key=lambda r: r[:3])
    return [(entry, label) for *_, entry, label in ranked[:limit]]
