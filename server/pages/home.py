"""The dataset's home page, ``/home``: what the dataset is, its size, the four districts, search,
the city's statistics as charts, and links to the query page, the ontology, the changes and the dumps.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response

from kg.publish import catalog
from kg.publish.describe import select
from kg.publish.languages import pick
from server.core.i18n import current_language, render_page
from server.linked.state import linked
from server.pages import stats as pages_stats

bp = Blueprint("pages_home", __name__)

CITY = "id/place/alatau"


@bp.get("/home")
def home() -> Response:
    state = linked()
    lang = current_language()
    version = state.version()
    ak = state.names.base + pages_stats.AK
    rows = select(
        state.engine,
        f"SELECT ?d ?spec WHERE {{ ?d a <{ak}FunctionalDistrict> "
        f"OPTIONAL {{ ?d <{ak}specialisation> ?spec }} }}",
        union=True,
    )
    specialisations: dict[str, set[str]] = {}
    for row in rows:
        d = row["d"]
        if isinstance(d, ox.NamedNode):
            bucket = specialisations.setdefault(d.value, set())
            if isinstance(row["spec"], ox.NamedNode):
                bucket.add(row["spec"].value)
    by_status = pages_stats.facilities_by_status(state)
    districts = [
        {
            "label": pages_stats.label_of(state, d, lang),
            "href": state.page_href(d),
            "specialisations": sorted(pages_stats.label_of(state, s, lang) for s in specs),
            "facilities": len(by_status[d].facilities) if d in by_status else 0,
        }
        for d, specs in sorted(specialisations.items())
    ]
    city = state.names.base + CITY
    charts = pages_stats.observation_charts(state, city, lang)
    status = pages_stats.status_chart(state, list(by_status.values()), lang)
    if status is not None:
        charts.append(status)
    articles = [
        {
            "label": (pick(a.labels, lang).value if pick(a.labels, lang) else a.iri),  # type: ignore[union-attr]
            "href": state.page_href(a.iri),
            "date": a.date,
        }
        for a in state.cached("articles")
    ]
    graphs = [
        {
            "iri": g,
            "href": state.page_href(g),
            "count": n,
            "role": info.role if (info := state.graphs().get(g)) else "",
        }
        for g, n in version.counts.items()
    ]
    return render_page(
        "home.html",
        title=catalog.TITLE[lang],
        description=catalog.DESCRIPTION[lang],
        version=version,
        resources=state.cached("resources"),  # counted, not the search index built (1M: ~400 MB)
        districts=districts,
        charts=charts,
        articles=articles,
        graphs=graphs,
        city_href=state.page_href(city),
        city_label=pages_stats.label_of(state, city, lang),
    )
