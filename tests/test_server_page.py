"""The query page at ``/``: semantic HTML, local assets, examples from ``queries/*.rq``."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import requests

from kg.config import Settings
from kg.engine.process import OxigraphProcess
from server.app import create_app
from server.pages.query import BUILT_IN_EXAMPLES, load_examples
from tests.server_support import Live

pytest_plugins = ["tests.server_support"]


class Outline(HTMLParser):
    """The tags, the asset URLs and the example buttons of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.assets: list[str] = []
        self.examples: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "script" and a.get("src"):
            self.assets.append(a["src"] or "")
        if tag == "link" and a.get("rel") == "stylesheet":
            self.assets.append(a.get("href") or "")
        if tag == "button" and "data-query" in a:
            self.examples.append(a["data-query"] or "")


def test_page_is_semantic_and_self_contained(live: Live) -> None:
    response = requests.get(live.url + "/", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = Outline()
    page.feed(response.text)
    for tag in ("header", "main", "footer", "form", "label", "textarea", "table", "section"):
        assert tag in page.tags, tag
    assert 'name="viewport"' in response.text
    assert page.assets and all(a.startswith("/static/") for a in page.assets)  # no CDN
    for asset in page.assets:
        assert requests.get(live.url + asset, timeout=30).status_code == 200
    assert page.examples == [e.query for e in BUILT_IN_EXAMPLES]


def test_every_built_in_example_runs(live: Live) -> None:
    for example in BUILT_IN_EXAMPLES:
        response = requests.post(live.sparql, data={"query": example.query}, timeout=30)
        assert response.status_code == 200, (example.title, response.text)


def test_examples_come_from_the_queries_folder(tmp_path: Path) -> None:
    (tmp_path / "b.rq").write_text("# Q: Which schools are there?\nSELECT ?s { ?s a ?c }\n", encoding="utf-8")
    (tmp_path / "a.rq").write_text("ASK {}\n", encoding="utf-8")
    examples = load_examples(tmp_path)
    assert [e.title for e in examples] == ["a", "Which schools are there?"]
    assert examples[1].query.startswith("# Q: Which schools")
    assert load_examples(tmp_path / "missing") == list(BUILT_IN_EXAMPLES)


def test_page_shows_the_queries_folder(
    tmp_path: Path, server_settings: Settings, server_engine: OxigraphProcess
) -> None:
    (tmp_path / "schools.rq").write_text("# Q: Schools & seats\nSELECT * { ?s ?p ?o }\n", encoding="utf-8")
    app = create_app(server_settings.with_(queries_dir=tmp_path), server_engine)
    html = app.test_client().get("/").get_data(as_text=True)
    assert "Schools &amp; seats" in html


def test_repository_queries_all_run(live: Live) -> None:
    """Every example of the repository's queries/ folder is a query the endpoint answers."""
    from kg.config import PROJECT_ROOT

    for example in load_examples(PROJECT_ROOT / "queries"):
        response = requests.post(live.sparql, data={"query": example.query}, timeout=30)
        assert response.status_code == 200, (example.title, response.text)
