"""The query page ``/`` in a real browser (Playwright driving Debian's chromium) over the real graph.

Each test saves screenshots to ``tests/artifacts/`` (``query-page-*.png``). Answers shown on the page are
compared with what ``/sparql`` answers for the same query, never with numbers written here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from rdflib import Graph

from kg.config import PROJECT_ROOT, Settings
from kg.engine.process import OxigraphProcess
from kg.rdf.names import Names
from server.app import create_app
from server.pages.query import load_examples
from tests.browser_support import screenshot
from tests.server_support import Live, serving

pytest_plugins = ["tests.browser_support"]

PLACES = "Which places lie (transitively) within Alatau?"  # queries/16-places-in-alatau.rq
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(real_settings: Settings) -> Iterator[Live]:
    settings = real_settings.with_(queries_dir=PROJECT_ROOT / "queries")
    with (
        OxigraphProcess.from_settings(settings) as engine,
        serving(create_app(settings, engine), engine) as live,
    ):
        yield live


def _rows(live: Live, query: str) -> list[dict]:
    response = requests.post(live.sparql, data={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["results"]["bindings"]


def _example(title: str) -> str:
    return next(e.query for e in load_examples(PROJECT_ROOT / "queries") if e.title == title)


def _run_example(page, live: Live, title: str) -> None:
    page.goto(live.url + "/")
    page.get_by_role("button", name=title, exact=True).click()
    page.wait_for_selector("#results tbody tr")


def test_example_runs_and_shows_rows_with_iri_links(page, site: Live, real_settings: Settings) -> None:
    _run_example(page, site, PLACES)
    expected = {row["place"]["value"] for row in _rows(site, _example(PLACES))}
    assert expected, "the example should have answers in the real graph"
    assert page.locator("#query").input_value() == _example(PLACES)
    links = page.locator("#results tbody td a")
    assert {links.nth(i).get_attribute("href") for i in range(links.count())} == expected
    # shown with the service's prefixes (id:place/enbek), the whole IRI in the link and its title
    prefixes = Names(real_settings.base_iri).prefixes()
    for i in range(links.count()):
        prefix, _, local = links.nth(i).inner_text().partition(":")
        assert (
            prefixes[prefix] + local
            == links.nth(i).get_attribute("href")
            == links.nth(i).get_attribute("title")
        )
    assert page.locator("#results thead th").all_inner_texts() == ["place"]
    assert page.locator("#status").inner_text().startswith(f"{len(expected)} row(s) in ")
    assert page.locator("#error").is_hidden()
    screenshot(page, "query-page-results")


def test_syntax_error_shows_the_message_and_position(page, site: Live) -> None:
    page.goto(site.url + "/")
    page.locator("#query").fill("SELECT ?s\nWHERE { ?s ?p }")
    page.get_by_role("button", name="Run").click()
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert "(line 2, column" in error.inner_text()
    assert page.locator("#status").inner_text() == "The query failed (400)."
    assert page.locator("#results").is_hidden() and page.locator("#downloads").is_hidden()
    screenshot(page, "query-page-syntax-error")


def test_csv_download_is_the_result(page, site: Live) -> None:
    _run_example(page, site, PLACES)
    with page.expect_download() as download:
        page.locator('#downloads a[data-format="csv"]').click()
    assert download.value.suggested_filename == "results.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["place"]
    assert {row[0] for row in table[1:]} == {row["place"]["value"] for row in _rows(site, _example(PLACES))}


def test_ask_and_construct_results(page, site: Live) -> None:
    page.goto(site.url + "/")
    page.locator("#query").fill("ASK { ?s ?p ?o }")
    page.get_by_role("button", name="Run").click()
    page.wait_for_function("document.getElementById('status').textContent.startsWith('ASK')")
    assert page.locator("#status").inner_text().startswith("ASK: yes")
    page.locator("#query").fill("CONSTRUCT { ?s a ?c } WHERE { ?s a ?c } LIMIT 3")
    page.get_by_role("button", name="Run").click()
    page.locator("#graph").wait_for(state="visible")
    shown = Graph().parse(data=page.locator("#graph").inner_text(), format="turtle")  # Turtle, not JSON-LD
    assert len(shown) == 3
    assert page.locator("#status").inner_text().startswith("Graph result in ")
    assert page.locator('#downloads span[data-kind="graph"]').is_visible()
    assert page.locator('#downloads span[data-kind="results"]').is_hidden()


def _overflows(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))


def test_phone_sized_viewport(page, site: Live) -> None:
    """Nothing sticks out sideways on a phone: long IRIs wrap, wide tables scroll in their own box."""
    page.set_viewport_size(PHONE)
    page.goto(site.url + "/")
    assert not _overflows(page)
    screenshot(page, "query-page-phone")
    title = load_examples(PROJECT_ROOT / "queries")[0].title  # four columns of IRIs
    page.get_by_role("button", name=title, exact=True).click()
    page.wait_for_selector("#results tbody tr")
    assert not _overflows(page)
    screenshot(page, "query-page-phone-results")
