"""Data stewards in a real browser (Playwright + Debian chromium), on a copy of the real graph served
writable: sign in; create a school in a district with its capacity and a new source; see a violation
appear and go away as the field is fixed; send it for review; approve it as an admin; find the
school on the district's page, in SPARQL and in the history. A rejected proposal leaves the graph as
it was; a form without its CSRF token is refused; a signed-out visitor gets no form. At desktop and
phone width, and no page asks anything of another host. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from kg.changes.tokens import digest
from kg.config import Settings
from tests.browser_support import screenshot
from tests.server_support import Live, serving_standalone

pytest_plugins = ["tests.server_support", "tests.browser_support"]

pytestmark = pytest.mark.slow

BASE = "https://w3id.org/alatau-kg/"
AK = BASE + "def/ontology#"
WRITER_TOKEN = "browser-writer-token"
ADMIN_TOKEN = "browser-admin-token"
NEW_SCHOOL = "/steward/new?" + urlencode({"class": AK + "School"})
NUMBER = '[name="f|ak:capacity|0|qudt:numericValue|0|v"]'
NUMBER_MESSAGES = '[data-for="f|ak:capacity|0|qudt:numericValue"] li'


@pytest.fixture(scope="module")
def live(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    store = tmp_path_factory.mktemp("browser-stewards") / "store"
    shutil.copytree(real_settings.store_path, store)
    settings = real_settings.with_(
        store_path=store,
        tokens=f"aigerim:writer:{digest(WRITER_TOKEN)},chief:admin:{digest(ADMIN_TOKEN)}",
        tokens_file=store.parent / "none.json",
        session_secret="browser-test-secret",
    )
    with serving_standalone(settings) as server:
        yield server


@pytest.fixture
def steward_page(browser, live) -> Iterator[object]:
    """A fresh page, no session cookie, every request it makes recorded."""
    browser.clear_cookies()
    page = browser.new_page()
    page.requested = []  # type: ignore[attr-defined]
    page.on("request", lambda request: page.requested.append(request.url))  # type: ignore[attr-defined]
    yield page
    here = urlsplit(live.url).netloc
    requested: list[str] = page.requested  # type: ignore[attr-defined]
    elsewhere = [
        u for u in requested if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != here
    ]
    page.close()
    browser.clear_cookies()
    assert not elsewhere, elsewhere  # the service works offline: nothing is asked of another host


def ask(live: Live, query: str) -> bool:
    r = requests.post(
        live.sparql,
        data=f"PREFIX ak: <{AK}> {query}",
        headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return bool(r.json()["boolean"])


def triples(live: Live) -> int:
    return int(requests.get(live.url + "/-/health", timeout=30).json()["triples"])


def sign_in(page, live: Live, token: str, then: str = "/steward/") -> None:
    page.goto(live.url + "/steward/sign-in?" + urlencode({"next": then, "lang": "en"}))
    page.fill("#token", token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == urlsplit(then).path, page.url
    assert page.locator("#token").count() == 0


def sign_out(page) -> None:
    page.locator("nav.steward-nav form.sign-out button").click()
    page.wait_for_url(re.compile(r"/home"))


def pick(page, name: str, typed: str, choice: str) -> None:
    """Type into an entity picker and choose a suggestion."""
    field = page.locator(f'[name="{name}"]')
    field.fill(typed)
    picker = field.locator("xpath=..")
    suggestion = picker.locator(".suggestions li", has_text=choice).first
    suggestion.wait_for()
    suggestion.click()
    chosen = picker.locator("input[type=hidden]").input_value()  # the entity's IRI, kept for the form
    assert chosen.startswith(BASE), chosen


def fill_school(page, key: str, seats: str) -> None:
    page.fill('[name="f|rdfs:label|1|v"]', f"Школа № {key} (Голден)")
    page.fill('[name="f|rdfs:label|2|v"]', f"School No. {key} (Golden)")
    pick(page, "f|ak:locatedIn|0|v", "golden", "Golden District")
    page.fill(NUMBER, seats)
    page.fill('[name="f|ak:capacity|0|ak:statedValue|0|v"]', f"на {seats} мест")


def wait_checked(page) -> str:
    """Wait for the live check's answer (the status line names the violations) and return it."""
    page.wait_for_function(
        "() => /Violations|Нарушений|Бұзушылық/.test(document.getElementById('check-status').textContent)"
    )
    return page.locator("#check-status").inner_text()


def test_a_signed_out_visitor_gets_no_form(steward_page, live) -> None:
    page = steward_page
    page.goto(live.url + NEW_SCHOOL + "&lang=en")
    assert "/steward/sign-in" in page.url
    assert page.locator("#steward-form").count() == 0 and page.locator("#token").is_visible()
    page.goto(live.url + "/page/id/place/golden-district?lang=en")
    assert page.locator("a.edit-link").count() == 0  # no "Edit" for a visitor
    assert page.locator("nav.steward-nav").get_by_role("link", name="Sign in").is_visible()


def test_create_a_school_review_it_and_find_it_everywhere(steward_page, live) -> None:
    page = steward_page
    page.set_viewport_size({"width": 1200, "height": 900})
    sign_in(page, live, WRITER_TOKEN, then=NEW_SCHOOL + "&lang=en")
    assert page.locator("h1").inner_text() == "New: school"
    fill_school(page, "9", "-5")
    # a new source: its URL, title, language, publisher and date
    page.get_by_label("A new source").check()
    page.fill("#src_url", "https://example.kz/news/school-9")
    page.fill("#src_title", "В Golden District откроют школу № 9")
    page.select_option("#src_lang", "ru")
    pick(page, "src_publisher", "акимат города", "Akimat of Alatau")
    page.fill("#src_date", "2026-03-02")
    page.fill("#summary", "School No. 9, from the akimat's news")

    # the violation appears next to the number, in the steward's language, while typing
    message = page.locator(NUMBER_MESSAGES, has_text="Capacities, costs and areas are positive.")
    message.wait_for()
    assert "Violations: 1" in wait_checked(page)
    assert page.locator("#preview tr.pv-inferred").count() > 0  # what reasoning adds
    assert page.locator("#preview tr.pv-added", has_text="Golden District").count() >= 1
    screenshot(page, "stewards-form-violation-en")

    # fixed, it goes away
    page.fill(NUMBER, "1200")
    message.wait_for(state="detached")
    page.wait_for_function("() => document.getElementById('check-status').dataset.conforms === 'true'")
    assert "The shapes accept this change." in page.locator("#check-status").inner_text()
    screenshot(page, "stewards-form-fixed-en")

    page.get_by_role("button", name="Send for review").click()
    page.wait_for_url(re.compile(r"/steward/proposals/"))
    assert "Your proposal was sent for review." in page.locator(".notice").inner_text()
    assert page.locator("h1 .status").inner_text() == "pending review"
    proposal_url = page.url.split("?")[0]
    school = f"<{BASE}id/facility/school-no-9-golden>"
    assert not ask(live, f"ASK {{ {school} ?p ?o }}")  # proposed, not published

    sign_out(page)
    sign_in(page, live, ADMIN_TOKEN, then="/steward/proposals?lang=en")
    page.get_by_role("link", name="School No. 9 (Golden)").first.click()
    page.wait_for_url(proposal_url)
    assert "The shapes accept this change." in page.locator("main").inner_text()
    screenshot(page, "stewards-proposal-admin-en")
    page.fill("#approve-comment", "Checked against the akimat's site.")
    page.get_by_role("button", name="Approve and publish").click()
    page.wait_for_load_state()
    assert page.locator("h1 .status").inner_text() == "approved"

    # on the district's page, in SPARQL, in the history
    page.goto(live.url + "/page/id/place/golden-district?lang=en")
    page.get_by_role("link", name="School No. 9 (Golden)").first.click()
    page.wait_for_url(re.compile(r"/page/id/facility/school-no-9-golden"))
    assert page.locator("h1").inner_text() == "School No. 9 (Golden)"
    history = page.locator("section.history")
    assert "aigerim" in history.inner_text() and "approved by chief" in history.inner_text()
    assert "В Golden District откроют школу № 9" in history.inner_text()
    assert page.locator("a.edit-link").is_visible()  # the admin may edit it
    screenshot(page, "stewards-school-page-en")
    assert ask(
        live,
        f"ASK {{ {school} ak:locatedIn <{BASE}id/place/alatau> ; a ak:Facility ; ak:capacity ?c . "
        "?c <http://qudt.org/schema/qudt/numericValue> 1200 }",
    )
    assert ask(
        live,
        f"ASK {{ GRAPH ?g {{ {school} a ak:School }} ?g <http://www.w3.org/ns/prov#wasDerivedFrom> ?src . "
        f"?src <http://schema.org/url> <https://example.kz/news/school-9> }}",
    )
    page.goto(live.url + "/history?lang=en")
    first = page.locator("ol.changes li.change").first
    assert "School No. 9 (Golden)" in first.inner_text() and "approved by chief" in first.inner_text()
    first.locator("time").click()
    page.wait_for_url(re.compile(r"/history/"))
    assert "Checked against the akimat's site." in page.locator("main").inner_text()
    assert page.locator("table.diff tr.pv-added").count() > 10


def test_a_rejected_proposal_leaves_the_graph_unchanged(steward_page, live) -> None:
    page = steward_page
    sign_in(page, live, WRITER_TOKEN, then=NEW_SCHOOL + "&lang=ru")
    fill_school(page, "10", "300")
    page.select_option("#source_iri", index=1)
    wait_checked(page)
    page.get_by_role("button", name="Отправить на проверку").click()
    page.wait_for_url(re.compile(r"/steward/proposals/"))
    before = triples(live)
    sign_out(page)
    sign_in(page, live, ADMIN_TOKEN, then="/steward/proposals?lang=ru")
    page.get_by_role("link", name="Школа № 10 (Голден)").first.click()  # the proposed label, in Russian
    page.fill("#reject-comment", "Такой школы нет в источнике.")
    page.get_by_role("button", name="Отклонить").click()
    page.wait_for_load_state()
    assert page.locator("h1 .status").inner_text() == "отклонено"
    assert "Такой школы нет в источнике." in page.locator("#comments").inner_text()
    assert triples(live) == before
    assert not ask(live, f"ASK {{ <{BASE}id/facility/school-no-10-golden> ?p ?o }}")


def test_a_form_post_without_the_csrf_token_is_refused(steward_page, live) -> None:
    page = steward_page
    sign_in(page, live, ADMIN_TOKEN, then=NEW_SCHOOL + "&lang=en")
    fill_school(page, "11", "500")
    page.select_option("#source_iri", index=1)
    wait_checked(page)
    page.evaluate("document.querySelector('#steward-form input[name=csrf_token]').remove()")
    before = triples(live)
    with page.expect_response(lambda r: r.request.method == "POST" and "/steward/new" in r.url) as answer:
        page.get_by_role("button", name="Publish").click()
    assert answer.value.status == 403
    page.wait_for_load_state()
    assert "CSRF" in page.locator("main").inner_text() and page.locator("#steward-form").count() == 0
    assert triples(live) == before
    assert not ask(live, f"ASK {{ <{BASE}id/facility/school-no-11-golden> ?p ?o }}")


def test_the_form_on_a_phone(steward_page, live) -> None:
    page = steward_page
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live, WRITER_TOKEN, then=NEW_SCHOOL + "&lang=kk")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    fill_school(page, "12", "0")
    page.select_option("#source_iri", index=1)
    wait_checked(page)
    page.locator(NUMBER_MESSAGES).first.wait_for()  # zero seats: not positive
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "stewards-form-phone-kk")
    page.goto(live.url + "/history?lang=kk")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "stewards-history-phone-kk")
