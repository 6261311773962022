"""The query workbench in a real browser (Playwright driving Debian's chromium) over the real graph, at
desktop and at phone width: completion of classes and of entities by Russian and Kazakh labels, an
example run, the chart view, a shared link, a syntax error marked in place, cancelling, the history,
and every request each page makes staying on this host. Screenshots go to tests/artifacts/.

Answers shown on the page are compared with what /sparql answers for the same query, never with
numbers written here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

import pytest
import requests

from kg.config import PROJECT_ROOT
from server.pages.workbench import load_examples
from tests.browser_support import screenshot
from tests.server_support import Live

pytest_plugins = ["tests.server_support", "tests.linked_support", "tests.browser_support"]

pytestmark = pytest.mark.slow

ID = "https://w3id.org/alatau-kg/id/"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
EXAMPLES = {e.name: e for e in load_examples(PROJECT_ROOT / "queries")}
PLACES = EXAMPLES["16-places-in-alatau"]
AGES = EXAMPLES["11-age-structure"]


@pytest.fixture(params=list(VIEWPORTS))
def screen(request, page) -> str:
    page.set_viewport_size(VIEWPORTS[request.param])
    return str(request.param)


def answer(live: Live, query: str) -> list[dict]:
    response = requests.post(live.sparql, data={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["results"]["bindings"]


def open_workbench(page, live: Live, lang: str = "en", **params: str) -> None:
    page.goto(f"{live.url}/?{urlencode({'lang': lang, **params})}")
    page.wait_for_selector(".cm-content")


def clear_editor(page) -> None:
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")


def set_query(page, text: str) -> None:
    clear_editor(page)
    page.keyboard.insert_text(text)


def editor_text(page) -> str:
    return str(page.locator("#query").input_value())


def run(page) -> None:
    page.locator("#run").click()


def option(page, text: str):
    """The completion option showing ``text``, once the list shows it."""
    found = page.locator(".cm-tooltip-autocomplete li", has_text=text).first
    found.wait_for(state="visible")
    return found


def run_example(page, live: Live, example, lang: str = "en") -> None:
    if page.locator("#examples").get_attribute("open") is None:  # folded on a phone
        page.locator("#examples > summary").click()
    page.get_by_role("button", name=example.question(lang), exact=True).click()
    page.wait_for_selector("#panel-table tbody tr")


def overflows(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))


def test_a_class_is_picked_from_the_completion_after_a(page, real_live: Live, screen: str) -> None:
    open_workbench(page, real_live)
    clear_editor(page)
    page.keyboard.type("SELECT * WHERE { ?s a ")
    choice = option(page, "ak:")  # the first class of the ontology the list offers
    shown = choice.inner_text()
    screenshot(page, f"workbench-class-completion-{screen}")
    choice.click()
    curie = re.search(r"ak:\w+", shown).group()
    text = editor_text(page)
    assert f"?s a {curie}" in text
    assert "PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#>" in text  # declared as it was picked
    assert not overflows(page)
    run(page)
    page.wait_for_selector("#panel-table tbody tr")
    rows = page.locator("#panel-table tbody tr").count()
    assert rows == min(50, len(answer(real_live, text)))  # the first page of the result


def test_an_entity_is_completed_by_a_russian_and_by_a_kazakh_label(
    page, real_live: Live, screen: str
) -> None:
    open_workbench(page, real_live, lang="ru")
    clear_editor(page)
    page.keyboard.type("SELECT ?p WHERE { ?p ak:locatedIn Коянк")
    assert editor_text(page).startswith("PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#>\n")  # as typed
    choice = option(page, "Коянкус")
    screenshot(page, f"workbench-entity-ru-{screen}")
    choice.click()
    text = editor_text(page)
    assert f"ak:locatedIn <{ID}place/koyankus>" in text
    run(page)
    page.wait_for_selector("#panel-table tbody tr")
    expected = {row["p"]["value"] for row in answer(real_live, text)}
    links = page.locator("#panel-table tbody td a")
    assert expected and {links.nth(i).get_attribute("title") for i in range(links.count())} == expected

    open_workbench(page, real_live, lang="kk")
    clear_editor(page)
    page.keyboard.type("SELECT ?p WHERE { ?p ak:locatedIn Іле")  # a Kazakh label: «Іле ауданы»
    choice = option(page, "Іле ауданы")
    screenshot(page, f"workbench-entity-kk-{screen}")
    page.keyboard.press("Enter")
    assert f"ak:locatedIn <{ID}place/ili-district>" in editor_text(page)
    assert not overflows(page)


def test_an_example_runs_and_shows_labels_linked_to_pages(page, real_live: Live, screen: str) -> None:
    open_workbench(page, real_live)
    run_example(page, real_live, PLACES)
    assert editor_text(page) == PLACES.text("en")
    expected = {row["place"]["value"] for row in answer(real_live, PLACES.text("en"))}
    page.get_by_role("link", name="Koyankus", exact=True).wait_for()  # the labels arrived
    links = page.locator("#panel-table tbody td a")
    assert {links.nth(i).get_attribute("title") for i in range(links.count())} == expected
    assert all(links.nth(i).get_attribute("href").startswith("/page/id/") for i in range(links.count()))
    words = json.loads(page.locator("#wb-config").inner_text())["words"]
    assert page.locator("#status").inner_text().startswith(words["rows"].format(n=len(expected)))
    assert "ms" in page.locator("#status").inner_text() and "B" in page.locator("#status").inner_text()
    page.locator("#show-iris").check()  # the prefixed names instead of the labels
    assert page.get_by_role("link", name="id:place/koyankus", exact=True).count() == 1
    with page.expect_download() as download:
        page.locator('#downloads a[data-format="csv"]').click()
    assert download.value.suggested_filename == "results.csv"
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "place" and set(lines[1:]) == expected
    assert not overflows(page)
    screenshot(page, f"workbench-example-{screen}")


def test_the_examples_are_searched_with_kazakh_letters_folded(page, real_live: Live, screen: str) -> None:
    open_workbench(page, real_live, lang="ru")
    if page.locator("#examples").get_attribute("open") is None:
        page.locator("#examples > summary").click()
    page.locator("#example-search").fill("Қонаев")  # the Kazakh spelling finds «Конаев»
    visible = page.locator(".wb-example:visible")
    assert visible.count() == 1
    assert visible.first.inner_text() == EXAMPLES["27-places-near-konaev"].question("ru")
    page.locator("#example-search").fill("ak:FunctionalDistrict")  # the queries' text too
    assert page.locator(".wb-example:visible").count() > 1
    page.locator("#example-search").fill("нет такого слова")
    assert page.locator(".wb-example:visible").count() == 0 and page.locator("#no-examples").is_visible()


def test_the_chart_view_draws_a_bar_per_row(page, real_live: Live, screen: str) -> None:
    open_workbench(page, real_live, lang="kk")
    run_example(page, real_live, AGES, "kk")
    rows = answer(real_live, AGES.text("kk"))
    page.locator("#tab-chart").click()
    bars = page.locator('#panel-chart svg g[aria-label="bar"] rect')
    bars.first.wait_for()
    assert bars.count() == len(rows) > 0
    widths = sorted(float(bars.nth(i).get_attribute("width")) for i in range(bars.count()))
    people = sorted(float(r["people"]["value"]) for r in rows)
    assert [round(w / widths[-1], 2) for w in widths] == [round(p / people[-1], 2) for p in people]
    assert not overflows(page)
    screenshot(page, f"workbench-chart-{screen}")
    with page.expect_download() as svg:
        page.locator('#downloads button[data-format="svg"]').click()
    drawn = ElementTree.parse(svg.value.path()).getroot()
    assert drawn.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(drawn.findall(".//{http://www.w3.org/2000/svg}rect")) >= len(rows)
    with page.expect_download() as png:
        page.locator('#downloads button[data-format="png"]').click()
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_shared_link_reopens_the_query_and_the_view(page, browser, real_live: Live, screen: str) -> None:
    open_workbench(page, real_live, lang="ru")
    run_example(page, real_live, AGES, "ru")
    page.locator("#tab-chart").click()
    page.locator('#panel-chart svg g[aria-label="bar"] rect').first.wait_for()
    page.locator("#share").click()
    page.locator("#share-note").wait_for(state="visible")
    link = page.url
    assert urlsplit(link).path == "/" and "display=chart" in link
    other = browser.new_page()
    try:
        other.set_viewport_size(VIEWPORTS[screen])
        other.goto(link)
        other.locator('#panel-chart svg g[aria-label="bar"] rect').first.wait_for()
        assert other.locator("#query").input_value() == AGES.text("ru")
        assert other.locator("#tab-chart").get_attribute("aria-selected") == "true"
        assert other.locator('#panel-chart svg g[aria-label="bar"] rect').count() == len(
            answer(real_live, AGES.query)
        )
        screenshot(other, f"workbench-shared-link-{screen}")
    finally:
        other.close()


def test_a_syntax_error_is_marked_at_its_place(page, real_live: Live, screen: str) -> None:
    open_workbench(page, real_live)
    set_query(page, "SELECT ?s\nWHERE { ?s ?p }\nLIMIT 3")  # Oxigraph reports 3:1, past the "}"
    run(page)
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert "(line 3, column 1)" in error.inner_text()
    assert page.locator("#status").inner_text() == "The query failed (400)."
    mark = page.locator(".cm-lintRange-error")
    mark.wait_for()
    assert mark.inner_text() == "}"  # the token the parser could not take
    line = page.locator(".cm-line").nth(1).bounding_box()
    box = mark.bounding_box()
    assert line["y"] <= box["y"] + box["height"] / 2 <= line["y"] + line["height"]
    assert page.locator(".cm-lint-marker-error").count() == 1
    assert page.locator("#panel-table").is_hidden()
    assert not overflows(page)
    screenshot(page, f"workbench-syntax-error-{screen}")


def test_graph_and_timeline_views(page, real_live: Live) -> None:
    open_workbench(page, real_live)
    set_query(
        page,
        "PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#>\n"
        "CONSTRUCT { ?d ak:between ?p } WHERE { ?d a ak:FunctionalDistrict ; ak:between ?p }",
    )
    run(page)
    page.locator("#tab-graph:not([disabled])").click()
    page.locator("svg.wb-graph .wb-node").first.wait_for()
    triples = (
        requests.post(
            real_live.sparql,
            data={"query": editor_text(page)},
            headers={"Accept": "application/n-triples"},
            timeout=30,
        )
        .text.strip()
        .splitlines()
    )
    nodes = {part for line in triples for part in (line.split(" ")[0], line.split(" ")[2])}
    assert page.locator("svg.wb-graph .wb-node").count() == len(nodes)
    assert page.locator("svg.wb-graph .wb-edge").count() == len(triples)
    assert page.locator("#tab-chart").is_disabled()
    screenshot(page, "workbench-graph")
    run_example(page, real_live, EXAMPLES["02-facilities-opening-or-construction-start-2026"])
    page.locator("#tab-timeline").click()
    dots = page.locator('#panel-timeline svg g[aria-label="dot"] circle')
    dots.first.wait_for()
    assert dots.count() == len(answer(real_live, editor_text(page)))
    screenshot(page, "workbench-timeline")


def test_the_history_keeps_the_readers_queries(page, real_live: Live) -> None:
    open_workbench(page, real_live)
    page.evaluate("localStorage.clear()")
    page.reload()
    set_query(page, "SELECT ?s WHERE { ?s a <https://w3id.org/alatau-kg/def/ontology#School> }")
    run(page)
    page.wait_for_selector("#panel-table tbody tr")
    set_query(page, "ASK { ?s ?p ?o }")
    run(page)
    page.locator(".wb-answer").wait_for()
    page.locator("#history > summary").click()
    entries = page.locator("#history ol li")
    assert entries.count() == 2
    assert entries.first.inner_text().startswith("ASK")
    entries.nth(1).locator("button").click()
    assert editor_text(page).startswith("SELECT ?s WHERE")


def test_every_request_stays_on_this_host(page, real_live: Live) -> None:
    """No page loads anything from another host: every request of every page, and of the workbench's
    views (whose chart and graph code loads when first shown), goes to this server."""
    requested: list[str] = []
    failed: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    for path in (
        "/home?lang=kk",
        "/page/id/place/alatau?lang=ru",
        "/search?q=Қоянқұс",
        "/dataset?lang=en",
        "/page/def/ontology",
        "/dumps/",
        "/changes",
    ):
        page.goto(real_live.url + path)
        page.wait_for_load_state("networkidle")
    open_workbench(page, real_live)
    run_example(page, real_live, AGES)
    page.locator("#tab-chart").click()
    page.locator('#panel-chart svg g[aria-label="bar"] rect').first.wait_for()
    set_query(
        page, "CONSTRUCT { ?s ?p ?o } WHERE { ?s a <https://w3id.org/alatau-kg/def/ontology#School> ; ?p ?o }"
    )
    run(page)
    page.locator("#tab-graph:not([disabled])").click()
    page.locator("svg.wb-graph").wait_for()
    clear_editor(page)
    page.keyboard.type("SELECT * WHERE { ?s a ")
    option(page, "ak:")
    page.wait_for_load_state("networkidle")
    origin = urlsplit(real_live.url).netloc
    foreign = [u for u in requested if not u.startswith(("data:", "blob:")) and urlsplit(u).netloc != origin]
    assert foreign == []
    assert [u for u in failed if not u.startswith("blob:")] == []
    paths = {urlsplit(u).path for u in requested}
    assert any(p.startswith("/static/workbench/chunks/charts-") for p in paths)  # the lazy parts were loaded
    assert any(p.startswith("/static/workbench/chunks/graph-") for p in paths)
    assert "/workbench/complete" in paths and "/workbench/labels" in paths


def test_a_running_query_can_be_cancelled(page, real_live: Live, screen: str) -> None:
    open_workbench(page, real_live)
    # a cross product whose filter cannot be pushed down: seconds of work for the engine
    set_query(page, "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f FILTER(STR(?c) < STR(?f)) }")
    run(page)
    cancel = page.locator("#cancel")
    cancel.wait_for(state="visible")
    cancel.click()
    assert page.locator("#status").inner_text() == "The query was cancelled."
    assert cancel.is_hidden() and page.locator("#error").is_hidden()
    set_query(page, "ASK { ?s ?p ?o }")
    run(page)
    page.locator(".wb-answer").wait_for()  # the page runs queries again at once
