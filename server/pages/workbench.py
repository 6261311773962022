"""The query workbench: the SPARQL page at ``/`` and the JSON routes behind its editor.

- ``GET /``: the page, in the site's layout and language: the editor (CodeMirror 6, built from
  ``server/web/`` into ``static/workbench/``), the examples of ``queries/*.rq`` grouped by topic with
  their question in the reader's language, the result views. ``?query=…`` (with ``display=`` a view
  and ``view=`` the graphs, as ``/sparql`` takes it) opens and runs a query: the page's share links.
- ``GET|POST /workbench/complete`` (``query``, ``cursor`` in characters, ``lang``, ``limit``,
  ``explicit``): what fits at the cursor, from the graph (:mod:`kg.completion`).
- ``GET|POST /workbench/labels`` (``iri``, repeated; ``lang``): labels and page links of the IRIs of
  a result, for its table.

The page stays at ``/`` (as Fuseki's and Oxigraph's UIs are at their root): links to it, and shared
``/?query=`` links, keep working; the dataset's home page is ``/home``.

The completion index is built in the background and checked against the data version at most every
:data:`CHECK_EVERY_S` seconds (or ten times as long as a check takes, on a large graph): while a new
one is built, the previous one answers, so a completion never waits for the graph's aggregates.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_babel import gettext

from kg.engine import Engine
from kg.errors import KGError
from kg.publish import catalog
from kg.publish.completion import DEFAULT_LIMIT, MAX_LIMIT, CompletionIndex, build_index
from kg.publish.labels import LABELS as VOCABULARY_LABELS
from kg.publish.languages import LANGS
from kg.rdf.names import Names
from server.core import negotiation
from server.core.context import context
from server.core.errors import HttpError
from server.core.i18n import current_language, render_page
from server.linked.state import linked

bp = Blueprint("workbench", __name__)
log = logging.getLogger("alatau_kg.workbench")

EXTENSION_KEY = "alatau_kg_workbench"
CHECK_EVERY_S = 2.0
FIRST_BUILD_WAIT_S = 3.0  # a completion asked before the first index is built waits this long
MAX_COMPLETION_QUERY = 100_000  # characters
MAX_LABEL_IRIS = 2_000
DISPLAYS = ("table", "chart", "timeline", "graph", "response")

# --- the examples ---------------------------------------------------------------------------------------

QUESTION_MARK = "# Q"  # "# Q: …" in English, "# Q@kk: …", "# Q@ru: …"
TOPIC_MARK = "# Topic:"
TOPICS = ("places", "population", "economy", "facilities", "government", "sources", "other")


@dataclass(frozen=True)
class Example:
    """One example query: its file's name, its question in each language, its topic, its text."""

    name: str
    questions: dict[str, str]
    topic: str
    query: str  # without the header comments

    @property
    def title(self) -> str:
        return self.questions.get("en") or self.name

    def question(self, lang: str) -> str:
        return self.questions.get(lang) or self.title

    def text(self, lang: str) -> str:
        """The query as the editor shows it: its question in ``lang`` as a comment, then the query."""
        return f"# {self.question(lang)}\n{self.query}"


BUILT_IN_EXAMPLES = (
    Example(
        "classes",
        {
            "en": "Classes and how many instances each has",
            "ru": "Классы и число экземпляров каждого",
            "kk": "Кластар және әрқайсысының даналар саны",
        },
        "other",
        "SELECT ?class (COUNT(DISTINCT ?s) AS ?n)\nWHERE { ?s a ?class }\nGROUP BY ?class\nORDER BY DESC(?n)",
    ),
    Example(
        "labels",
        {
            "en": "Labels in every language",
            "ru": "Названия на всех языках",
            "kk": "Барлық тілдердегі атаулар",
        },
        "other",
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n\n"
        "SELECT ?thing ?label (LANG(?label) AS ?lang)\nWHERE { ?thing rdfs:label ?label }\n"
        "ORDER BY ?thing ?lang\nLIMIT 100",
    ),
    Example(
        "graphs",
        {
            "en": "Named graphs and their sizes",
            "ru": "Именованные графы и их размер",
            "kk": "Атаулы графтар және олардың көлемі",
        },
        "other",
        "SELECT ?graph (COUNT(*) AS ?triples)\nWHERE { GRAPH ?graph { ?s ?p ?o } }\n"
        "GROUP BY ?graph\nORDER BY ?graph",
    ),
    Example(
        "inferred-places",
        {
            "en": "What was inferred about places (CONSTRUCT)",
            "ru": "Что выведено о местах (CONSTRUCT)",
            "kk": "Жерлер туралы не шығарылды (CONSTRUCT)",
        },
        "other",
        "PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#>\n\n"
        "CONSTRUCT { ?place ?p ?o }\nWHERE { GRAPH <https://w3id.org/alatau-kg/graph/inferred> "
        "{ ?place a ak:Place ; ?p ?o } }\nLIMIT 200",
    ),
)


def parse_example(name: str, text: str) -> Example:
    """An example from a ``.rq`` file: its leading ``# Q…:`` and ``# Topic:`` lines, then the query."""
    questions: dict[str, str] = {}
    topic = "other"
    lines = text.strip().splitlines()
    while lines and lines[0].startswith("#"):
        line = lines[0]
        if line.startswith(QUESTION_MARK) and ":" in line:
            mark, _, question = line.partition(":")
            lang = mark[len(QUESTION_MARK) :].lstrip("@").strip().lower() or "en"
            if question.strip():
                questions[lang] = question.strip()
        elif line.startswith(TOPIC_MARK):
            found = line[len(TOPIC_MARK) :].strip().lower()
            topic = found if found in TOPICS else "other"
        else:
            break
        lines.pop(0)
    return Example(name, questions, topic, "\n".join(lines).strip())


def load_examples(folder: Path) -> list[Example]:
    """Every ``*.rq`` of ``folder``, in file order; the built-in ones if there are none."""
    examples = []
    for path in sorted(folder.glob("*.rq")) if folder.is_dir() else []:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        examples.append(parse_example(path.stem, text))
    return examples or list(BUILT_IN_EXAMPLES)


def grouped(examples: list[Example], lang: str) -> list[dict[str, object]]:
    """The examples by topic, in the order of :data:`TOPICS`, as the page lists them."""
    words = client_words()
    return [
        {
            "topic": topic,
            "title": words[f"topic_{topic}"],
            "examples": [
                {"name": e.name, "question": e.question(lang), "text": e.text(lang)}
                for e in examples
                if e.topic == topic
            ],
        }
        for topic in TOPICS
        if any(e.topic == topic for e in examples)
    ]


# --- the completion index, kept fresh in the background -------------------------------------------------


@dataclass
class Completions:
    """The completion index of one app, rebuilt in the background when the data version changes."""

    engine: Engine
    names: Names
    check_every_s: float = CHECK_EVERY_S
    _index: CompletionIndex | None = None
    _token: str | None = None
    _checked_at: float = float("-inf")
    _check_cost_s: float = 0.0
    _worker: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _built: threading.Event = field(default_factory=threading.Event)

    def refresh_soon(self) -> None:
        """Check the data version in the background unless it was checked lately."""
        with self._lock:
            interval = max(self.check_every_s, 10 * self._check_cost_s)
            if self._worker is not None or time.monotonic() - self._checked_at < interval:
                return
            self._worker = threading.Thread(target=self._refresh, name="completion-index", daemon=True)
            self._worker.start()

    def index(self, wait_s: float = FIRST_BUILD_WAIT_S) -> CompletionIndex | None:
        """The current index (None while the first one is still being built after ``wait_s``)."""
        self.refresh_soon()
        if self._index is None:
            self._built.wait(wait_s)
        return self._index

    def _refresh(self) -> None:
        try:
            started = time.monotonic()
            version = catalog.data_version(self.engine, self.names)
            self._check_cost_s = time.monotonic() - started
            if version.token != self._token or self._index is None:
                fallback = {
                    iri: list(zip(words, ("kk", "ru", "en"), strict=True))
                    for iri, words in VOCABULARY_LABELS.items()
                }
                index = build_index(self.engine, self.names, fallback)
                self._index, self._token = index, version.token
                log.info(
                    "completion index: %d entities, %d classes, %d properties in %.1f s",
                    len(index.entity_iris),
                    len(index.classes),
                    len(index.properties),
                    time.monotonic() - started,
                )
        except KGError as exc:  # the engine is down or restarting: the next request tries again
            log.warning("completion index not rebuilt: %s", exc)
        except Exception:
            log.exception("completion index not rebuilt (a bug)")
        finally:
            with self._lock:
                self._checked_at = time.monotonic()
                self._worker = None
            self._built.set()


def completions() -> Completions:
    """The completion state of the current app, created on first use."""
    state = current_app.extensions.get(EXTENSION_KEY)
    if state is None:
        with _create_lock:
            state = current_app.extensions.get(EXTENSION_KEY)
            if state is None:
                ctx = context()
                state = current_app.extensions[EXTENSION_KEY] = Completions(ctx.engine, ctx.names)
    return state  # type: ignore[no-any-return]


_create_lock = threading.Lock()


# --- routes ---------------------------------------------------------------------------------------------


def client_words() -> dict[str, str]:
    """The words of the page and its script (keys as the script names them), in the reader's language."""
    return {
        "intro": gettext("Queries run against the SPARQL 1.1 endpoint (read-only, {timeout} s per query):"),
        "examples": gettext("Examples"),
        "search_examples": gettext("Search the examples"),
        "no_examples": gettext("No example has these words."),
        "topic_places": gettext("Places and districts"),
        "topic_population": gettext("Population"),
        "topic_economy": gettext("Investment and business"),
        "topic_facilities": gettext("Facilities and construction"),
        "topic_government": gettext("Government, acts and events"),
        "topic_sources": gettext("Sources"),
        "topic_other": gettext("General queries"),
        "editor": gettext("SPARQL query"),
        "hint": gettext("Ctrl+Enter runs the query; Ctrl+Space proposes what fits where the cursor is."),
        "run": gettext("Run"),
        "cancel": gettext("Cancel"),
        "graphs": gettext("Graphs"),
        "view_all": gettext("all (asserted + inferred)"),
        "view_asserted": gettext("asserted only"),
        "view_inferred": gettext("inferred only"),
        "share": gettext("Copy link"),
        "link_copied": gettext("Link copied: it opens this query and this view."),
        "history": gettext("History"),
        "history_empty": gettext("No query has run in this browser yet."),
        "clear_history": gettext("Clear the history"),
        "results": gettext("Results"),
        "ready": gettext("Run a query to see its results."),
        "running": gettext("Running…"),
        "cancelled": gettext("The query was cancelled."),
        "failed": gettext("The query failed ({status})."),
        "unreachable": gettext("The server could not be reached:"),
        "position": gettext("line {line}, column {column}"),
        "rows": gettext("Rows: {n}"),
        "triples": gettext("Triples: {n}"),
        "time": gettext("{ms} ms"),
        "yes": gettext("Yes"),
        "no": gettext("No"),
        "tab_table": gettext("Table"),
        "tab_chart": gettext("Chart"),
        "tab_timeline": gettext("Timeline"),
        "tab_graph": gettext("Graph"),
        "tab_response": gettext("Response"),
        "download": gettext("Download"),
        "page": gettext("Page {page} of {pages}"),
        "previous": gettext("Previous"),
        "next": gettext("Next"),
        "per_page": gettext("Rows per page"),
        "show_iris": gettext("Show IRIs"),
        "sort": gettext("Sort"),
        "chart_kind": gettext("Kind"),
        "bar": gettext("bars"),
        "line": gettext("line"),
        "x": gettext("Horizontal axis"),
        "y": gettext("Vertical axis"),
        "no_numbers": gettext("No numeric column to chart."),
        "no_dates": gettext("No date column for a timeline."),
        "no_results": gettext("No results."),
    }


@bp.get("/")
def index() -> Response:
    ctx = context()
    lang = current_language()
    completions().refresh_soon()  # so that the index is ready when the reader starts typing
    examples = load_examples(ctx.settings.queries_dir)
    shared = request.args.get("query", "")
    display = request.args.get("display", "table")
    view = request.args.get("view", "all")
    words = client_words()
    config = {
        "endpoint": url_for("sparql.sparql"),
        "complete": url_for("workbench.complete"),
        "labels": url_for("workbench.labels"),
        "lang": lang,
        "words": words,
        "prefixes": ctx.names.prefixes(),
        "run": bool(shared.strip()),
        "display": display if display in DISPLAYS else "table",
        "resultsFormats": [{"name": f.name, "extension": f.extension} for f in negotiation.RESULTS],
        "graphFormats": [{"name": f.name, "extension": f.extension} for f in negotiation.GRAPHS],
    }
    return render_page(
        "workbench.html",
        title=gettext("SPARQL query"),
        words=words,
        topics=grouped(examples, lang),
        initial=shared or examples[0].text(lang),
        view=view if view in ("all", "asserted", "inferred") else "all",
        timeout_s=ctx.engine.timeout_s,
        config=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
    )


def _params() -> dict[str, str]:
    """The request's parameters, from the query string, a form or a JSON object."""
    params = dict(request.args.items())
    if request.method == "POST":
        if request.is_json:
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                raise HttpError(400, "bad_request", "send a JSON object")
            params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
        else:
            params.update(request.form.items())
    return params


def _integer(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HttpError(
            400, "bad_request", f"`{name}` must be an integer, not {raw!r}", parameter=name
        ) from None
    if not low <= value <= high:
        raise HttpError(400, "bad_request", f"`{name}` must be between {low} and {high}", parameter=name)
    return value


def _language(params: dict[str, str]) -> str:
    lang = params.get("lang") or current_language()
    if lang not in LANGS:
        raise HttpError(400, "bad_request", f"`lang` must be one of {', '.join(LANGS)}", parameter="lang")
    return lang


@bp.route("/workbench/complete", methods=["GET", "POST"])
def complete() -> Response:
    params = _params()
    query = params.get("query")
    if query is None:
        raise HttpError(400, "missing_query", "no `query` parameter: send the text being edited")
    if len(query) > MAX_COMPLETION_QUERY:
        raise HttpError(
            413, "request_too_large", f"the query is longer than {MAX_COMPLETION_QUERY} characters"
        )
    cursor = _integer(params, "cursor", len(query), 0, len(query))
    limit = _integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    lang = _language(params)
    explicit = params.get("explicit", "") in ("1", "true")
    found = completions().index()
    if found is None:
        response = jsonify({"kind": "none", "typed": "", "items": [], "ready": False})
    else:
        response = jsonify(
            {**found.complete(query, cursor, lang=lang, limit=limit, explicit=explicit).to_dict()}
        )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/workbench/labels", methods=["GET", "POST"])
def labels() -> Response:
    if request.method == "POST" and request.is_json:
        body = request.get_json(silent=True)
        iris = body.get("iris") if isinstance(body, dict) else None
        lang = _language({"lang": body.get("lang", "")} if isinstance(body, dict) else {})
    else:
        iris = request.values.getlist("iri")
        lang = _language({"lang": request.values.get("lang", "")})
    if not isinstance(iris, list) or not all(isinstance(i, str) for i in iris):
        raise HttpError(400, "bad_request", "send the IRIs as `iri` parameters or a JSON list `iris`")
    if len(iris) > MAX_LABEL_IRIS:
        raise HttpError(413, "request_too_large", f"ask for at most {MAX_LABEL_IRIS} IRIs at once")
    found = completions().index()
    state = linked()
    result: dict[str, dict[str, str]] = {}
    for iri in dict.fromkeys(iris):
        label = found.label(iri, lang) if found is not None else None
        href = state.page_href(iri)
        if label is not None or href != iri:
            entry = {"href": href}
            if label is not None:
                entry.update(label=label[0], lang=label[1])
            result[iri] = entry
    return jsonify({"labels": result})
