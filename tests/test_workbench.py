"""The query workbench's page and JSON routes (server/workbench.py) over HTTP on loopback: the page in
the site's layout and languages, the examples of queries/*.rq, completion and labels, their errors."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from flask import Flask

from kg.config import PROJECT_ROOT, Settings
from kg.engine.process import OxigraphProcess
from kg.rdf.names import Names
from server.app import create_app
from server.core import i18n
from server.pages.workbench import (
    BUILT_IN_EXAMPLES,
    TOPICS,
    Completions,
    client_words,
    load_examples,
    parse_example,
)
from tests.server_support import Live, assert_error

pytest_plugins = ["tests.server_support", "tests.linked_support"]

ID = "https://w3id.org/alatau-kg/id/"


def page_words(lang: str = "en") -> dict[str, str]:
    """The workbench's words as a request in ``lang`` gets them."""
    app = Flask(__name__)
    i18n.init(app)
    with app.test_request_context(f"/?lang={lang}"):
        return client_words()


QUERIES = PROJECT_ROOT / "queries"


class Outline(HTMLParser):
    """The tags, asset URLs, example buttons and config of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.assets: list[str] = []
        self.examples: list[dict[str, str]] = []
        self.topics: list[str] = []
        self.html_lang = ""
        self._config = False
        self.config: dict = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if tag == "html":
            self.html_lang = a.get("lang", "")
        if tag == "script" and a.get("src"):
            self.assets.append(a["src"])
        if tag == "link" and a.get("rel") == "stylesheet":
            self.assets.append(a["href"])
        if tag == "button" and "data-query" in a:
            self.examples.append(a)
        if tag == "section" and "data-topic" in a:
            self.topics.append(a["data-topic"])
        self._config = tag == "script" and a.get("id") == "wb-config"

    def handle_data(self, data: str) -> None:
        if self._config:
            self.config = json.loads(data)
            self._config = False


def outline(html: str) -> Outline:
    page = Outline()
    page.feed(html)
    return page


# --- the examples -----------------------------------------------------------------------------------------


def test_an_example_file_gives_its_questions_topic_and_query() -> None:
    text = (
        "# Q: Which schools are there?\n# Q@kk: Қандай мектептер бар?\n# Q@ru: Какие есть школы?\n"
        "# Topic: facilities\nSELECT ?s { ?s a ?c }\n"
    )
    example = parse_example("schools", text)
    assert example.questions == {
        "en": "Which schools are there?",
        "kk": "Қандай мектептер бар?",
        "ru": "Какие есть школы?",
    }
    assert example.topic == "facilities"
    assert example.query == "SELECT ?s { ?s a ?c }"
    assert example.text("kk") == "# Қандай мектептер бар?\nSELECT ?s { ?s a ?c }"
    bare = parse_example("bare", "ASK {}\n")
    assert (bare.title, bare.topic, bare.query) == ("bare", "other", "ASK {}")
    assert parse_example("x", "# Topic: nonsense\nASK {}").topic == "other"


def test_examples_come_from_the_folder_else_the_built_in_ones(tmp_path: Path) -> None:
    (tmp_path / "b.rq").write_text("# Q: Which schools?\nSELECT ?s { ?s a ?c }\n", encoding="utf-8")
    (tmp_path / "a.rq").write_text("ASK {}\n", encoding="utf-8")
    assert [e.name for e in load_examples(tmp_path)] == ["a", "b"]
    assert load_examples(tmp_path / "missing") == list(BUILT_IN_EXAMPLES)


def test_every_repository_query_asks_its_question_in_three_languages() -> None:
    examples = load_examples(QUERIES)
    assert len(examples) == len(list(QUERIES.glob("*.rq"))) >= 25
    for example in examples:
        assert set(example.questions) == {"en", "kk", "ru"}, example.name
        assert example.topic in TOPICS and example.topic != "other", example.name
    words = page_words()
    for topic in TOPICS:
        assert f"topic_{topic}" in words


def test_every_example_runs_as_the_editor_shows_it(real_live: Live) -> None:
    for example in load_examples(QUERIES):
        for lang in ("kk", "ru", "en"):
            response = requests.post(real_live.sparql, data={"query": example.text(lang)}, timeout=30)
            assert response.status_code == 200, (example.name, lang, response.text)


# --- the page ---------------------------------------------------------------------------------------------


def test_every_word_of_the_page_and_its_script_is_there_in_three_languages() -> None:
    script = "".join(p.read_text(encoding="utf-8") for p in (PROJECT_ROOT / "server/web/src").glob("*.js"))
    template = (PROJECT_ROOT / "server/templates/workbench.html").read_text(encoding="utf-8")
    used = set(re.findall(r'\bt\("(\w+)"', script))
    used |= set(re.findall(r"words\['(\w+)'\]", template))
    used |= {"previous", "next"}  # the pager's buttons: t(name)
    words = page_words()
    assert used <= set(words), sorted(used - set(words))
    # every one of them is translated into kk, ru and en: tests/test_i18n_catalogs.py


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_page_is_in_the_sites_layout_and_language(real_live: Live, lang: str) -> None:
    response = requests.get(real_live.url + "/", params={"lang": lang}, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == lang
    page = outline(response.text)
    assert page.html_lang == lang
    for tag in ("header", "nav", "main", "footer", "form", "textarea", "details", "section"):
        assert tag in page.tags, tag
    assert 'class="languages"' in response.text and 'class="site"' in response.text
    assert page.config["lang"] == lang
    assert page.config["words"]["run"] == {"kk": "Орындау", "ru": "Выполнить", "en": "Run"}[lang]
    # the examples grouped by topic, in the order of TOPICS, each asking its question in this language
    assert page.topics == [t for t in TOPICS if t in page.topics]
    examples = {e.name: e for e in load_examples(QUERIES)}
    assert {b["data-example"] for b in page.examples} == set(examples)
    for button in page.examples:
        assert button["data-query"] == examples[button["data-example"]].text(lang)
    # every asset is local and served
    assert page.assets and all(a.startswith("/static/") for a in page.assets)
    for asset in page.assets:
        assert requests.get(real_live.url + asset, timeout=30).status_code == 200


def test_a_shared_link_opens_its_query(real_live: Live) -> None:
    query = "SELECT ?d WHERE { ?d a <https://w3id.org/alatau-kg/def/ontology#FunctionalDistrict> }"
    response = requests.get(
        real_live.url + "/", params={"query": query, "display": "chart", "view": "asserted"}, timeout=30
    )
    page = outline(response.text)
    assert page.config["run"] is True and page.config["display"] == "chart"
    assert f">{query.replace('<', '&lt;').replace('>', '&gt;')}</textarea>" in response.text
    assert re.search(r'<option value="asserted"\s+selected>', response.text)
    plain = outline(requests.get(real_live.url + "/", params={"display": "nonsense"}, timeout=30).text)
    assert plain.config["run"] is False and plain.config["display"] == "table"


def test_the_mini_project_shows_the_built_in_examples(live: Live) -> None:
    page = outline(requests.get(live.url + "/", params={"lang": "ru"}, timeout=30).text)
    assert [b["data-example"] for b in page.examples] == [e.name for e in BUILT_IN_EXAMPLES]
    for example in BUILT_IN_EXAMPLES:
        assert requests.post(live.sparql, data={"query": example.query}, timeout=30).status_code == 200


# --- completion and labels ----------------------------------------------------------------------------------


def complete(live: Live, **params: str) -> dict:
    response = requests.post(live.url + "/workbench/complete", json=params, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def test_completion_answers_from_the_graph(real_live: Live) -> None:
    found = complete(real_live, query="SELECT * WHERE { ?s a Шко", lang="ru")
    assert found["kind"] == "class" and found["typed"] == "Шко"
    assert found["items"][0]["insert"] == "ak:School" and found["items"][0]["label"] == "школа"
    query = "SELECT * WHERE { ?p ak:locatedIn Қоянқұс } LIMIT 5"
    cursor = query.index(" }")
    found = complete(real_live, query=query, cursor=str(cursor), lang="kk")
    assert [i["iri"] for i in found["items"]] == [ID + "place/koyankus"]
    assert found["items"][0]["label"] == "Қоянқұс"
    by_get = requests.get(
        real_live.url + "/workbench/complete", params={"query": "SELECT ?x ?y WHERE { ?x ?p ?"}, timeout=30
    ).json()
    assert [i["insert"] for i in by_get["items"]] == ["?x", "?y", "?p"]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, "missing_query"),
        ({"query": "SELECT", "cursor": "7"}, 400, "bad_request"),
        ({"query": "SELECT", "cursor": "x"}, 400, "bad_request"),
        ({"query": "SELECT", "limit": "0"}, 400, "bad_request"),
        ({"query": "SELECT", "lang": "de"}, 400, "bad_request"),
        ({"query": "x" * 100_001}, 413, "request_too_large"),
    ],
)
def test_completion_refuses_bad_requests_with_the_error_shape(
    live: Live, params: dict, status: int, code: str
) -> None:
    assert_error(requests.post(live.url + "/workbench/complete", data=params, timeout=30), status, code)


def test_completion_refuses_a_body_that_is_not_an_object(live: Live) -> None:
    response = requests.post(live.url + "/workbench/complete", json=["SELECT"], timeout=30)
    assert_error(response, 400, "bad_request")


def test_labels_of_a_result(real_live: Live) -> None:
    iris = [
        ID + "place/koyankus",
        "http://example.org/unknown",
        "https://w3id.org/alatau-kg/def/ontology#School",
    ]
    found = requests.post(
        real_live.url + "/workbench/labels", json={"iris": iris, "lang": "kk"}, timeout=30
    ).json()
    assert found["labels"][ID + "place/koyankus"] == {
        "href": "/page/id/place/koyankus",
        "label": "Қоянқұс",
        "lang": "kk",
    }
    assert (
        found["labels"]["https://w3id.org/alatau-kg/def/ontology#School"]["href"]
        == "/page/def/ontology#School"
    )
    assert "http://example.org/unknown" not in found["labels"]
    by_get = requests.get(
        real_live.url + "/workbench/labels", params={"iri": ID + "place/koyankus", "lang": "ru"}, timeout=30
    ).json()
    assert by_get["labels"][ID + "place/koyankus"]["label"] == "Коянкус"


def test_labels_refuse_bad_requests(live: Live) -> None:
    url = live.url + "/workbench/labels"
    assert_error(requests.post(url, json={"iris": "x"}, timeout=30), 400, "bad_request")
    assert_error(requests.post(url, json={"iris": [1]}, timeout=30), 400, "bad_request")
    assert_error(requests.post(url, json={"iris": ["x"] * 2001}, timeout=30), 413, "request_too_large")
    assert_error(requests.get(url, params={"iri": "x", "lang": "fr"}, timeout=30), 400, "bad_request")


def test_the_index_follows_the_data(server_settings: Settings) -> None:
    """A label written to the store is proposed once the index has seen the new data version."""
    with OxigraphProcess.from_settings(server_settings) as engine:
        state = Completions(engine, Names(), check_every_s=0.0)
        index = state.index()
        assert index is not None
        assert index.complete("SELECT * WHERE { Жаңақала", lang="kk").items == []
        engine.update(
            "INSERT DATA { GRAPH <https://w3id.org/alatau-kg/graph/source/article-test> { "
            f"<{ID}place/new-town> <http://www.w3.org/2000/01/rdf-schema#label> "
            '"Жаңақала"@kk } }'
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            index = state.index()
            assert index is not None
            items = index.complete("SELECT * WHERE { жанакала", lang="kk").items
            if items:
                break
            time.sleep(0.05)
        assert [i.iri for i in items] == [ID + "place/new-town"]
        assert state.index() is index  # unchanged data: the same index


def test_the_app_builds_the_index_for_the_page(
    server_settings: Settings, server_engine: OxigraphProcess
) -> None:
    app = create_app(server_settings, server_engine)
    client = app.test_client()
    assert client.get("/").status_code == 200
    found = client.post("/workbench/complete", json={"query": "SELECT * WHERE { ?s a "}).get_json()
    assert found["kind"] == "class" and found["items"]
