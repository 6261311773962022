"""The pages in a real browser (Playwright + Debian chromium): open a district, switch language,
follow a link, see a chart, search, read the ontology; screenshots go to tests/artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.browser_support import screenshot
from tests.server_support import Live

pytest_plugins = ["tests.server_support", "tests.linked_support", "tests.browser_support"]

pytestmark = pytest.mark.slow


def test_open_a_district_switch_language_follow_a_link(real_live: Live, page) -> None:
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(real_live.url + "/home?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("svg.chart").count() >= 4
    screenshot(page, "pages-home-en")

    page.get_by_role("link", name="Golden District").first.click()
    page.wait_for_url(re.compile(r"/page/id/place/golden-district"))
    assert page.locator("h1").inner_text() == "Golden District"
    chart = page.locator("svg.chart").first
    chart.scroll_into_view_if_needed()
    assert chart.is_visible() and chart.bounding_box()["width"] > 300  # type: ignore[index]
    assert "Facilities by status" in page.locator("figure figcaption").first.inner_text()

    page.locator("nav.languages").get_by_text("Қазақша").click()
    page.wait_for_url(re.compile(r"lang=kk"))
    assert page.locator("html").get_attribute("lang") == "kk"
    assert page.get_by_role("heading", name="Қасиеттері").is_visible()
    screenshot(page, "pages-district-kk")

    page.get_by_role("link", name="Алатау").first.click()  # ak:locatedIn the city
    page.wait_for_url(re.compile(r"/page/id/place/alatau$"))
    assert page.locator("html").get_attribute("lang") == "kk"  # the choice is kept
    assert page.locator("h1").inner_text() == "Алатау"
    assert page.locator("svg.chart").count() >= 4
    assert page.locator(".src-inferred").count() > 0
    screenshot(page, "pages-city-kk")


def test_search_from_the_home_page(real_live: Live, page) -> None:
    page.goto(real_live.url + "/home?lang=ru")
    page.get_by_label("Поиск").first.fill("Қоянқұс")
    page.get_by_role("button", name="Поиск").click()
    page.wait_for_url(re.compile(r"/search\?q="))
    page.get_by_role("link", name="Коянкус").first.click()
    page.wait_for_url(re.compile(r"/page/id/place/koyankus"))
    assert page.locator("h1").inner_text() == "Коянкус"
    screenshot(page, "pages-koyankus-ru")


def test_dereferencing_in_the_browser(real_live: Live, page) -> None:
    page.goto(real_live.url + "/def/ontology#School")  # 303 to the docs, the fragment kept
    assert page.url.endswith("/page/def/ontology#School")
    section = page.locator("section#School")
    assert section.is_visible() and "ak:School" in section.inner_text()
    section.locator("summary").click()
    assert section.locator(".shape").first.is_visible()
    screenshot(page, "pages-ontology")


def test_pages_on_a_phone(real_live: Live, page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(real_live.url + "/page/id/place/alatau?lang=ru")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the screen
    screenshot(page, "pages-city-phone-ru")
    page.goto(real_live.url + "/home?lang=kk")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "pages-home-phone-kk")
    page.goto(real_live.url + "/dataset?lang=en")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "pages-dataset-phone-en")
