"""Search by label, ``/search?q=…``: any of the three languages, case-insensitive, and Kazakh letters
match their Russian look-alikes (Қоянқұс finds Коянкус and the other way round). HTML for people,
JSON (``Accept: application/json`` or ``?format=json``) for programs.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from kg.publish import search as label_search
from server.core.i18n import current_language, render_page
from server.core.negotiation import parse_accept, quality
from server.linked.state import linked
from server.pages.stats import label_of

bp = Blueprint("search", __name__)

MAX_QUERY = 200


@bp.get("/search")
def search() -> Response:
    state = linked()
    lang = current_language()
    text = request.args.get("q", "")[:MAX_QUERY]
    hits = label_search.search(state.cached("search"), text) if text.strip() else []
    results = [
        {
            "iri": entry.iri,
            "href": state.page_href(entry.iri),
            "label": label_of(state, entry.iri, lang),
            "matched": matched.value,
            "matched_lang": matched.language,
            "types": sorted(label_of(state, t, lang) for t in entry.types),
        }
        for entry, matched in hits
    ]
    ranges = parse_accept(request.headers.get("Accept", "") or "*/*")
    as_json = request.args.get("format") == "json" or quality(ranges, ("application/json",)) > quality(
        ranges, ("text/html",)
    )
    if as_json:
        response = jsonify({"query": text, "results": results})
    else:
        response = render_page("search.html", title=text or "Search", q=text, results=results)
    response.vary.add("Accept")
    return response
