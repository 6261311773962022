"""Pages for people: ``/``, a SPARQL editor with example queries, results and downloads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, render_template

from server.core import negotiation
from server.core.context import context

bp = Blueprint("pages", __name__)

TITLE_MARK = "# Q:"


@dataclass(frozen=True)
class Example:
    title: str
    query: str


BUILT_IN_EXAMPLES = (
    Example(
        "Classes and how many instances each has",
        "SELECT ?class (COUNT(DISTINCT ?s) AS ?n)\nWHERE { ?s a ?class }\nGROUP BY ?class\nORDER BY DESC(?n)",
    ),
    Example(
        "Labels in every language",
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n\n"
        "SELECT ?thing ?label (LANG(?label) AS ?lang)\nWHERE { ?thing rdfs:label ?label }\n"
        "ORDER BY ?thing ?lang\nLIMIT 100",
    ),
    Example(
        "Named graphs and their sizes",
        "SELECT ?graph (COUNT(*) AS ?triples)\nWHERE { GRAPH ?graph { ?s ?p ?o } }\n"
        "GROUP BY ?graph\nORDER BY ?graph",
    ),
    Example(
        "What was inferred about places (CONSTRUCT)",
        "PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#>\n\n"
        "CONSTRUCT { ?place ?p ?o }\nWHERE { GRAPH <https://w3id.org/alatau-kg/graph/inferred> "
        "{ ?place a ak:Place ; ?p ?o } }\nLIMIT 200",
    ),
)


def load_examples(folder: Path) -> list[Example]:
    """Every ``*.rq`` of ``folder``, titled by its ``# Q: …`` line; the built-in ones if none."""
    examples = []
    for path in sorted(folder.glob("*.rq")) if folder.is_dir() else []:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        first = text.lstrip().splitlines()[0] if text.strip() else ""
        title = first[len(TITLE_MARK) :].strip() if first.startswith(TITLE_MARK) else path.stem
        examples.append(Example(title or path.stem, text.strip()))
    return examples or list(BUILT_IN_EXAMPLES)


@bp.get("/")
def index() -> str:
    ctx = context()
    return render_template(
        "index.html",
        examples=load_examples(ctx.settings.queries_dir),
        results_formats=negotiation.RESULTS,
        graph_formats=negotiation.GRAPHS,
        timeout_s=ctx.engine.timeout_s,
        prefixes=ctx.names.prefixes(),
    )
