"""Pages for people: the home page, resource pages, search and the ontology docs, in kk/ru/en."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import pyoxigraph as ox
import pytest
import requests

from kg.config import Settings
from kg.engine import EngineResponse
from kg.engine.process import OxigraphProcess
from kg.publish import search
from kg.publish.languages import fold, language_order, pick
from server.app import create_app
from server.core.i18n import LANGS, format_date, format_number
from server.core.negotiation import best_language
from server.pages import charts
from tests.server_support import Live

pytest_plugins = ["tests.server_support", "tests.linked_support"]


class Outline(HTMLParser):
    """Tags, ids, links, assets and text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.assets: list[str] = []
        self.html_lang = ""
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "html":
            self.html_lang = a.get("lang") or ""
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if tag == "script" and a.get("src"):
            self.assets.append(a["src"] or "")
        if tag == "link" and a.get("rel") == "stylesheet":
            self.assets.append(a.get("href") or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def fetch(live: Live, path: str, **headers: str) -> tuple[requests.Response, Outline]:
    response = requests.get(live.url + path, headers=headers, timeout=30)
    outline = Outline()
    outline.feed(response.text)
    return response, outline


def test_home_page(real_live: Live) -> None:
    response, page = fetch(real_live, "/home", **{"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert response.status_code == 200
    assert page.html_lang == "ru" and response.headers["Content-Language"] == "ru"
    for tag in ("header", "nav", "main", "footer", "section", "form", "svg", "figure", "table"):
        assert tag in page.tags, tag
    assert 'name="viewport"' in response.text
    assert page.assets and all(a.startswith("/static/") for a in page.assets)  # nothing from a CDN
    for link in ("/", "/page/def/ontology", "/changes", "/dumps/", "/dataset"):
        assert link in page.links, link
    for district in ("gate", "golden", "growing", "green"):
        assert f"/page/id/place/{district}-district" in page.links
    assert "Численность населения" in page.all_text and "54 747" in page.all_text.replace("\u202f", " ")
    assert page.tags.count("svg") >= 4  # population, age structure, investment, facilities by status


def test_language_choice(real_live: Live) -> None:
    assert fetch(real_live, "/home")[1].html_lang == "kk"  # nothing asked: Kazakh
    assert fetch(real_live, "/home", **{"Accept-Language": "en-GB,en;q=0.8"})[1].html_lang == "en"
    assert fetch(real_live, "/home", **{"Accept-Language": "de, ru;q=0.3, kk;q=0.2"})[1].html_lang == "ru"
    session = requests.Session()
    chosen = session.get(real_live.url + "/home?lang=en", headers={"Accept-Language": "ru"}, timeout=30)
    assert 'lang="en"' in chosen.text and chosen.cookies.get("lang") == "en"
    kept = session.get(real_live.url + "/page/id/place/alatau", headers={"Accept-Language": "ru"}, timeout=30)
    assert '<html lang="en">' in kept.text  # the choice is kept while following links
    assert "Accept-Language" in kept.headers["Vary"]


def test_resource_page_shows_labels_sources_and_inferences(real_live: Live) -> None:
    response, page = fetch(real_live, "/page/id/place/alatau?lang=en")
    assert response.status_code == 200
    text = page.all_text
    assert '<h1 lang="en">Alatau</h1>' in response.text
    assert "located in" in text  # ak:locatedIn's English label
    assert "founding date" in text  # schema:foundingDate, labelled by the pages
    assert "17 January 2026" in text and "29 September 2025" in text  # the articles' dates as sources
    assert "/page/id/source/article-2026-01-17" in page.links
    assert "src-inferred" in response.text and "inferred" in text
    assert "incoming-title" in page.ids and "/page/id/place/gate-district" in page.links
    assert page.tags.count("svg") >= 4
    for ext in ("ttl", "jsonld", "rdf", "nt", "trig", "nq"):
        assert f"/data/id/place/alatau.{ext}" in page.links
    _, kk_page = fetch(real_live, "/page/id/place/alatau?lang=kk")
    assert "орналасқан" in kk_page.all_text  # ak:locatedIn in Kazakh


def test_labels_fall_back_kk_ru_en(real_live: Live) -> None:
    # the school has English and Russian labels only: a Kazakh reader gets the Russian one
    response, _ = fetch(real_live, "/page/id/facility/keleshek-school-koyankus?lang=kk")
    assert '<h1 lang="ru">школа «Келешек» (Коянкус, 900 мест)</h1>' in response.text
    response, _ = fetch(real_live, "/page/id/place/koyankus?lang=kk")
    assert '<h1 lang="kk">Қоянқұс</h1>' in response.text


def test_district_page_draws_facilities_by_status(real_live: Live) -> None:
    response, page = fetch(real_live, "/page/id/place/green-district?lang=ru")
    assert "Объекты по статусу в каждом районе" in page.all_text
    svg = response.text[response.text.index("<svg") : response.text.index("</svg>") + 6]
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert "запланировано" in "".join(root.itertext())


@pytest.mark.parametrize("query", ["Қоянқұс", "Коянкус", "КОЯНКУС", "koyankus", "қоянқұс"])
def test_search_matches_kazakh_and_russian_spellings(real_live: Live, query: str) -> None:
    response = requests.get(real_live.url + "/search", params={"q": query, "format": "json"}, timeout=30)
    results = response.json()["results"]
    assert results[0]["iri"].endswith("/id/place/koyankus"), results[:3]
    page = requests.get(
        real_live.url + "/search", params={"q": query}, headers={"Accept": "text/html"}, timeout=30
    )
    assert "/page/id/place/koyankus" in page.text


def test_search_finds_russian_spelling_from_kazakh(real_live: Live) -> None:
    # "Жаналык" (ru) and "Жаңалық" (kk) name the same settlement
    hits = requests.get(
        real_live.url + "/search", params={"q": "жаңалық", "format": "json"}, timeout=30
    ).json()
    assert any(r["iri"].endswith("/place/zhanalyk") for r in hits["results"])
    empty = requests.get(real_live.url + "/search", params={"q": "zzzz", "format": "json"}, timeout=30).json()
    assert empty["results"] == []


def test_ontology_docs(real_live: Live) -> None:
    response, page = fetch(real_live, "/page/def/ontology?lang=en")
    assert response.status_code == 200
    for anchor in ("School", "Facility", "locatedIn", "FunctionalDistrict", "schemes"):
        assert anchor in page.ids, anchor
    school = response.text[response.text.index('id="School"') :]
    school = school[: school.index("</section>")]
    assert "мектеп" in school and "школа" in school and "school" in school
    assert "shapes:Facility" in school and "inherited from" in school  # the facility shape applies
    located = response.text[response.text.index('id="locatedIn"') :]
    assert "TransitiveProperty" in located[: located.index("</section>")]
    _, ru = fetch(real_live, "/page/def/ontology?lang=ru")
    assert "Надклассы" in ru.all_text


class CountingEngine:
    """An engine that counts the queries it is asked."""

    def __init__(self, inner: OxigraphProcess):
        self.inner = inner
        self.timeout_s = inner.timeout_s
        self.queries: list[str] = []

    def query(self, sparql: str, **kwargs: Any) -> EngineResponse:
        self.queries.append(sparql)
        return self.inner.query(sparql, **kwargs)

    def graph_counts(self) -> dict[str, int]:
        return self.inner.graph_counts()

    def status(self) -> dict[str, Any]:
        return self.inner.status()


def test_a_page_needs_a_handful_of_queries(real_settings: Settings, real_engine: OxigraphProcess) -> None:
    engine = CountingEngine(real_engine)
    client = create_app(real_settings, engine).test_client()  # type: ignore[arg-type]
    assert client.get("/page/id/place/alatau?lang=ru").status_code == 200  # fills the caches
    engine.queries.clear()
    assert client.get("/page/id/place/golden-district?lang=en").status_code == 200
    assert len(engine.queries) <= 4, engine.queries  # version, description, facilities by status
    assert client.get("/home").status_code == 200
    engine.queries.clear()
    assert client.get("/home?lang=en").status_code == 200
    assert len(engine.queries) <= 4, engine.queries  # version, districts, observations, facilities


def test_the_home_page_counts_resources_without_building_the_search_index(
    real_settings: Settings, real_engine: OxigraphProcess
) -> None:
    """The home page shows how many labelled resources there are: counted by the engine, equal to
    the search index's size, and the index (every label in Python: ~400 MB at 1M triples) is built
    only when someone searches."""
    engine = CountingEngine(real_engine)
    app = create_app(real_settings, engine)  # type: ignore[arg-type]
    client = app.test_client()
    response = client.get("/home?lang=en")
    assert response.status_code == 200
    assert not any("OPTIONAL" in q and "DISTINCT ?s ?l ?t" in q for q in engine.queries), engine.queries
    index = search.search_index(real_engine, real_settings.names)
    counted = search.count_resources(real_engine, real_settings.names)
    assert counted == len(index) > 100
    assert format_number(counted, "en") in response.get_data(as_text=True)


def test_language_helpers() -> None:
    assert fold("Қоянқұс") == fold("КОЯНКУС") == "коянкус"
    assert fold("Іле  ауданы") == "иле ауданы"
    assert language_order("en") == ("en", "kk", "ru")
    labels = [ox.Literal("Alatau", language="en"), ox.Literal("Алатау", language="ru")]
    assert pick(labels, "kk") == labels[1]  # kk → ru → en
    assert pick(labels, "en") == labels[0]
    assert pick([ox.Literal("x")], "ru") == ox.Literal("x")
    assert best_language("fr;q=1, en-US;q=0.7, kk-KZ;q=0.8", LANGS) == "kk"
    assert best_language("fr, de", LANGS) is None
    assert format_number("52086", "ru") == "52\u202f086" and format_number("52086", "en") == "52,086"
    assert format_number("37.1", "kk") == "37,1"
    xsd = "http://www.w3.org/2001/XMLSchema#"
    assert format_date("2026-01-17", xsd + "date", "kk") == "2026 жылғы 17 қаңтар"
    assert format_date("2026-01-17", xsd + "date", "ru") == "17 января 2026"
    assert format_date("2024-01", xsd + "gYearMonth", "en") == "January 2024"


def test_charts_are_well_formed_svg() -> None:
    import datetime as dt

    svgs = [
        charts.bar_chart("Ages", [charts.Bar("0–17", 15972, "15 972"), charts.Bar("18 & over", 0, "0")]),
        charts.column_chart("Investment", [charts.Bar("2024", 37.1, "37,1"), charts.Bar("2025", 120, "120")]),
        charts.time_chart(
            "Population",
            [
                charts.Point(dt.date(2024, 1, 1), "1 Jan 2024", 52086, "52 086"),
                charts.Point(dt.date(2025, 12, 1), "1 Dec 2025", 54747, "54 747"),
            ],
        ),
        charts.stacked_chart(
            "Status",
            [
                charts.StackedRow(
                    "Green <District>", "/page/x", (charts.Segment("a", 5), charts.Segment("b", 2))
                )
            ],
            [("a", "planned"), ("b", "designated")],
        ),
    ]
    for svg in svgs:
        root = ET.fromstring(str(svg))
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("role") == "img"
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
    assert "Green &lt;District&gt;" in str(svgs[3])


def test_no_broken_links(real_live: Live) -> None:
    """Every link of the main pages leads somewhere (``/changes`` belongs to the writes: not checked)."""
    seen: set[str] = set()
    for start in ("/home", "/page/id/place/alatau", "/page/id/place/golden-district", "/dataset", "/dumps/"):
        _, page = fetch(real_live, start, **{"Accept": "text/html"})
        for link in page.links:
            target = link.split("#", 1)[0]
            if not target.startswith("/") or target in seen or target.startswith("/changes"):
                continue
            seen.add(target)
            response = requests.get(real_live.url + target, headers={"Accept": "text/html"}, timeout=30)
            assert response.status_code == 200, (start, target, response.status_code)
    assert len(seen) > 50
