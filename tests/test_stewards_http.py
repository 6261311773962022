"""The stewards' pages over HTTP, without a browser, on a copy of the real graph served writable: sign-in
and its cookie, CSRF on every form, sign-out and expiry; forms that refuse what cannot be read;
proposals that stay out of the public graph until an admin approves them; the review rule for the
API; the history of an entity, the recent changes and their Atom feed.

A real server on loopback (waitress), a real Oxigraph engine, a real durable store, a real SQLite
database of proposals.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests
from itsdangerous import URLSafeTimedSerializer

from kg.changes.tokens import digest
from kg.config import Settings
from server.stewards.sessions import COOKIE, SALT, fingerprint
from tests.server_support import Live, serving_standalone

BASE = "https://w3id.org/alatau-kg/"
AK = BASE + "def/ontology#"
SCHOOL_CLASS = AK + "School"
WRITER_TOKEN = "writer-secret-token-for-forms"
ADMIN_TOKEN = "admin-secret-token-for-forms"
OTHER_TOKEN = "other-writer-token-for-forms"
SECRET = "test-session-secret"
ARTICLE = BASE + "id/source/article-2026-01-17"


@pytest.fixture(scope="module")
def live(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    store = tmp_path_factory.mktemp("stewards") / "store"
    shutil.copytree(real_settings.store_path, store)
    settings = real_settings.with_(
        store_path=store,
        tokens=(
            f"aigerim:writer:{digest(WRITER_TOKEN)},chief:admin:{digest(ADMIN_TOKEN)},"
            f"bolat:writer:{digest(OTHER_TOKEN)}"
        ),
        tokens_file=store.parent / "none.json",
        session_secret=SECRET,
        review_writes=True,
        query_timeout_s=10.0,
    )
    with serving_standalone(settings) as server:
        yield server


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def signed_in(live: Live, token: str) -> tuple[requests.Session, str]:
    s = requests.Session()
    s.headers["Accept-Language"] = "en"
    page = s.get(live.url + "/steward/sign-in", timeout=30)
    r = s.post(
        live.url + "/steward/sign-in", data={"token": token, "csrf_token": csrf_of(page.text)}, timeout=30
    )
    assert r.status_code == 200 and r.url.endswith("/steward/"), r.text[:500]
    return s, csrf_of(r.text)


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


def school_form(key: str, seats: str = "600", **extra: str) -> dict[str, str]:
    return {
        "class": SCHOOL_CLASS,
        "iri": "",
        "f|rdfs:label|1|v": f"Школа {key}",
        "f|rdfs:label|1|l": "ru",
        "f|rdfs:label|2|v": f"School {key}",
        "f|rdfs:label|2|l": "en",
        "f|ak:locatedIn|0|v": "Даулет",
        "f|ak:capacity|0|qudt:numericValue|0|v": seats,
        "f|ak:capacity|0|ak:statedValue|0|v": f"на {seats} мест",
        "f|ak:capacity|0|ak:statedValue|0|l": "ru",
        "f|ak:capacity|0|qudt:unit|0|i": AK + "Seat",
        "source": "existing",
        "source_iri": ARTICLE,
        "summary": f"school {key}",
        "action": "submit",
        **extra,
    }


def new_form(s: requests.Session, live: Live) -> tuple[str, str]:
    url = live.url + "/steward/new?" + requests.compat.urlencode({"class": SCHOOL_CLASS})
    page = s.get(url, timeout=30)
    assert page.status_code == 200, page.text[:300]
    original = re.search(r'name="original" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return url, original


# --- signing in -------------------------------------------------------------------------------------


def test_a_signed_out_visitor_gets_no_form(live):
    url = live.url + "/steward/new?" + requests.compat.urlencode({"class": SCHOOL_CLASS})
    page = requests.get(url, headers={"Accept": "text/html"}, allow_redirects=False, timeout=30)
    assert page.status_code == 303 and page.headers["Location"].startswith("/steward/sign-in?next=")
    assert "f|rdfs:label" not in page.text
    api = requests.get(url, headers={"Accept": "application/json"}, timeout=30)
    assert api.status_code == 401 and api.json()["error"] == "unauthorized"
    for path in ("/steward/", "/steward/proposals", "/steward/lookup?q=a"):
        assert requests.get(live.url + path, timeout=30, allow_redirects=False).status_code in (303, 401)


def test_sign_in_sets_a_safe_cookie_and_never_shows_the_token(live, caplog):
    caplog.set_level(logging.DEBUG)
    s = requests.Session()
    page = s.get(live.url + "/steward/sign-in", timeout=30)
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    wrong = s.post(
        live.url + "/steward/sign-in",
        data={"token": "not-" + WRITER_TOKEN, "csrf_token": csrf_of(page.text)},
        timeout=30,
    )
    assert wrong.status_code == 401 and "not-" + WRITER_TOKEN not in wrong.text
    assert 'type="password"' in wrong.text
    r = s.post(
        live.url + "/steward/sign-in",
        data={"token": WRITER_TOKEN, "csrf_token": csrf_of(wrong.text)},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303 and r.headers["Location"] == "/steward/"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE + "=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="):
        assert attribute in cookie, attribute
    assert "Secure" not in cookie  # served over plain HTTP here (see the HTTPS test below)
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    payload = _serializer().loads(value)  # signed, not encrypted: what it holds is no secret
    assert payload["n"] == "aigerim" and payload["r"] == "writer"
    assert WRITER_TOKEN not in value and digest(WRITER_TOKEN) not in value
    desk = s.get(live.url + "/steward/", timeout=30)
    assert desk.status_code == 200 and "aigerim" in desk.text and WRITER_TOKEN not in desk.text
    assert WRITER_TOKEN not in caplog.text


def test_the_cookie_is_secure_over_https(live):
    client = live.app.test_client()
    page = client.get("/steward/sign-in", base_url="https://kg.example")
    r = client.post(
        "/steward/sign-in",
        base_url="https://kg.example",
        data={"token": WRITER_TOKEN, "csrf_token": csrf_of(page.get_data(as_text=True))},
    )
    assert r.status_code == 303
    assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]


def test_a_redirect_after_sign_in_stays_on_this_site(live):
    s = requests.Session()
    page = s.get(live.url + "/steward/sign-in", timeout=30)
    r = s.post(
        live.url + "/steward/sign-in",
        data={"token": WRITER_TOKEN, "csrf_token": csrf_of(page.text), "next": "https://evil.example/x"},
        allow_redirects=False,
        timeout=30,
    )
    assert r.headers["Location"] == "/steward/"


def test_every_form_post_needs_the_csrf_token_of_its_session(live):
    s, csrf = signed_in(live, ADMIN_TOKEN)
    url, original = new_form(s, live)
    before = triples(live)
    posts = [
        ("/steward/sign-out", {}),
        (url.replace(live.url, ""), {**school_form("csrf"), "original": original}),
        ("/steward/check", {**school_form("csrf"), "original": original}),
        ("/steward/proposals/any/approve", {"comment": "x"}),
        ("/steward/proposals/any/reject", {"comment": "x"}),
        ("/steward/proposals/any/comment", {"comment": "x"}),
        ("/steward/proposals/any/withdraw", {}),
        ("/steward/sign-in", {"token": ADMIN_TOKEN}),
    ]
    for path, data in posts:
        for sent in (data, {**data, "csrf_token": "forged-" + csrf}):
            r = s.post(live.url + path, data=sent, allow_redirects=False, timeout=30)
            assert r.status_code == 403 and r.json()["error"] == "csrf_failed", (
                path,
                r.status_code,
                r.text[:200],
            )
    # the right token from another site's page: refused by its Origin
    r = s.post(
        live.url + "/steward/check",
        data={**school_form("csrf"), "original": original, "csrf_token": csrf},
        headers={"Origin": "https://evil.example"},
        timeout=30,
    )
    assert r.status_code == 403 and r.json()["error"] == "csrf_failed"
    assert triples(live) == before
    assert s.get(live.url + "/steward/", timeout=30).status_code == 200  # still signed in


def test_signing_out_ends_the_session(live):
    s, csrf = signed_in(live, WRITER_TOKEN)
    r = s.post(live.url + "/steward/sign-out", data={"csrf_token": csrf}, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == "/home"
    assert s.get(live.url + "/steward/", allow_redirects=False, timeout=30).status_code in (303, 401)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(SECRET, salt=SALT, signer_kwargs={"digest_method": hashlib.sha512})


def _cookie(**payload: object) -> str:
    return _serializer().dumps({"c": "x" * 32, **payload})


def test_an_expired_a_revoked_or_a_forged_session_is_signed_out(live):
    good = {"n": "aigerim", "r": "writer", "f": fingerprint(digest(WRITER_TOKEN))}
    cases = {
        "fresh": _cookie(**good, t=time.time()),
        "expired": _cookie(**good, t=time.time() - 9 * 3600),  # session_expiry_s is 8 h
        "revoked": _cookie(**{**good, "f": fingerprint(digest("an old token"))}, t=time.time()),
        "promoted": _cookie(**{**good, "r": "admin"}, t=time.time()),
    }
    forged = cases["fresh"][:-4] + ("AAAA" if not cases["fresh"].endswith("AAAA") else "BBBB")
    statuses = {}
    for name, value in [*cases.items(), ("forged", forged)]:
        r = requests.get(
            live.url + "/steward/",
            cookies={COOKIE: value},
            headers={"Accept": "application/json"},
            timeout=30,
        )
        statuses[name] = r.status_code
    assert statuses == {"fresh": 200, "expired": 401, "revoked": 401, "promoted": 401, "forged": 401}


# --- forms ------------------------------------------------------------------------------------------


def test_bad_input_gets_a_message_on_the_form_and_changes_nothing(live):
    s, csrf = signed_in(live, ADMIN_TOKEN)
    url, original = new_form(s, live)
    before = triples(live)
    r = s.post(
        url,
        data={**school_form("bad", seats="six hundred"), "original": original, "csrf_token": csrf},
        timeout=30,
    )
    assert r.status_code == 422
    assert "Write a whole number (digits only)." in r.text
    assert 'value="six hundred"' in r.text  # what was typed comes back to be corrected
    r = s.post(
        url,
        data={**school_form("bad"), "source_iri": "", "original": original, "csrf_token": csrf},
        timeout=30,
    )
    assert r.status_code == 422 and "Choose the source of this edit" in r.text
    r = s.post(
        url,
        data={**school_form("bad", seats="-5"), "original": original, "csrf_token": csrf},
        timeout=30,
    )
    assert r.status_code == 422 and "Capacities, costs and areas are positive." in r.text
    assert triples(live) == before
    assert not ask(live, f"ASK {{ ?s ?p <{BASE}id/facility/school-bad> }}")


def test_the_live_check_answers_messages_by_input_and_a_preview(live):
    s, csrf = signed_in(live, WRITER_TOKEN)
    _, original = new_form(s, live)
    data = {**school_form("live", seats="-5"), "original": original}
    del data["action"]
    r = s.post(live.url + "/steward/check", data=data, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["conforms"] is False and body["counts"]["Violation"] == 1
    assert {
        "name": "f|ak:capacity|0|qudt:numericValue",
        "severity": "Violation",
        "text": "Capacities, costs and areas are positive.",
    } in body["messages"]
    kinds = {row["kind"] for row in body["preview"]}
    assert kinds == {"added", "inferred"}
    assert any(row["property"] == "Located in" and row["value"] == "Alatau" for row in body["preview"])
    data["f|ak:capacity|0|qudt:numericValue|0|v"] = "600"
    body = s.post(live.url + "/steward/check", data=data, headers={"X-CSRF-Token": csrf}, timeout=30).json()
    assert body["conforms"] is True and body["acceptable"] is True


def test_the_picker_finds_entities_by_label_with_kazakh_letters_folded(live):
    s, _ = signed_in(live, WRITER_TOKEN)
    place = "http://schema.org/Place"
    for text in ("Коянкус", "Қоянқұс", "koyan"):
        found = s.get(live.url + "/steward/lookup", params={"q": text, "class": place}, timeout=30).json()
        assert BASE + "id/place/koyankus" in [c["iri"] for c in found["results"]], text
    people = s.get(live.url + "/steward/lookup", params={"q": "Коянкус", "class": AK + "Akimat"}, timeout=30)
    assert people.json()["results"] == []  # a place is not an akimat


def test_a_writers_edit_is_a_proposal_out_of_the_public_graph_until_approved(live):
    writer, csrf = signed_in(live, WRITER_TOKEN)
    url, original = new_form(writer, live)
    before = triples(live)
    r = writer.post(
        url, data={**school_form("proposed"), "original": original, "csrf_token": csrf}, timeout=30
    )
    assert (
        r.status_code == 200
        and "/steward/proposals/" in r.url
        and "Your proposal was sent for review." in r.text
    )
    pid = r.url.split("/steward/proposals/")[1].split("?")[0]
    school = f"{BASE}id/facility/school-proposed"
    # nowhere public: not in SPARQL (any graph, the union default graph), not a page, not in the dumps
    assert triples(live) == before
    assert not ask(live, f"ASK {{ <{school}> ?p ?o }}")
    assert not ask(live, "ASK { GRAPH ?g { ?s ?p ?o FILTER(CONTAINS(STR(?o), 'school proposed')) } }")
    assert requests.get(live.url + "/page/id/facility/school-proposed", timeout=30).status_code == 404
    dump = requests.get(live.url + "/dumps/alatau-kg.nq", timeout=60)
    assert dump.status_code == 200 and "school-proposed" not in dump.text
    # another writer does not see it; its author and the admins do
    other, _ = signed_in(live, OTHER_TOKEN)
    assert other.get(live.url + f"/steward/proposals/{pid}", timeout=30).status_code == 404
    admin, admin_csrf = signed_in(live, ADMIN_TOKEN)
    queue = admin.get(live.url + "/steward/proposals", timeout=30)
    assert pid in queue.text
    page = admin.get(live.url + f"/steward/proposals/{pid}", timeout=30)
    assert "The shapes accept this change." in page.text and "School proposed" in page.text
    r = admin.post(
        live.url + f"/steward/proposals/{pid}/approve",
        data={"csrf_token": admin_csrf, "comment": "ok"},
        timeout=30,
    )
    assert r.status_code == 200 and "approved" in r.text
    assert ask(live, f"ASK {{ <{school}> ak:locatedIn <{BASE}id/place/alatau> ; a ak:Facility }}")
    assert writer.get(live.url + f"/steward/proposals/{pid}", timeout=30).text.count("status-approved") >= 1


def test_a_rejected_proposal_leaves_the_graph_unchanged(live):
    writer, csrf = signed_in(live, WRITER_TOKEN)
    url, original = new_form(writer, live)
    r = writer.post(
        url, data={**school_form("rejected"), "original": original, "csrf_token": csrf}, timeout=30
    )
    pid = r.url.split("/steward/proposals/")[1].split("?")[0]
    before = triples(live)
    admin, admin_csrf = signed_in(live, ADMIN_TOKEN)
    empty = admin.post(
        live.url + f"/steward/proposals/{pid}/reject", data={"csrf_token": admin_csrf}, timeout=30
    )
    assert empty.status_code == 422 and "Say why the proposal is rejected." in empty.text
    r = admin.post(
        live.url + f"/steward/proposals/{pid}/reject",
        data={"csrf_token": admin_csrf, "comment": "no such school"},
        timeout=30,
    )
    assert r.status_code == 200 and "no such school" in r.text
    assert triples(live) == before
    assert not ask(live, f"ASK {{ <{BASE}id/facility/school-rejected> ?p ?o }}")
    late = admin.post(
        live.url + f"/steward/proposals/{pid}/approve", data={"csrf_token": admin_csrf}, timeout=30
    )
    assert late.status_code == 409
    assert triples(live) == before


def test_an_admin_edits_an_entity_and_its_history_shows_it(live):
    admin, _ = signed_in(live, ADMIN_TOKEN)
    iri = BASE + "id/facility/keleshek-school-koyankus"
    page = admin.get(live.url + "/steward/edit", params={"iri": iri}, timeout=30)
    assert page.status_code == 200
    html = page.text
    assert 'value="900"' in html and 'value="Keleshek School (Koyankus, 900 seats)"' in html
    # what the browser would send: the inputs (not the template rows, not the unticked "review" box)
    data = {
        name: value
        for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', html)
        if "§" not in name and name not in ("review", "source")
    }
    for name, value in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        if "§" in name:
            continue
        chosen = re.search(r'<option value="([^"]*)" selected', value)
        data[name] = chosen.group(1) if chosen else ""
    capacity = next(n for n in data if n.endswith("|qudt:numericValue|0|v"))
    data.update(
        {
            capacity: "950",
            "source": "existing",
            "source_iri": ARTICLE,
            "summary": "corrected",
            "action": "submit",
        }
    )
    r = admin.post(
        live.url + "/steward/edit?" + requests.compat.urlencode({"iri": iri}), data=data, timeout=30
    )
    assert r.status_code == 200 and r.url.endswith("/page/id/facility/keleshek-school-koyankus"), r.text[:800]
    cap = f"<{BASE}id/quantity/keleshek-school-koyankus-capacity>"
    assert ask(live, f"ASK {{ {cap} <http://qudt.org/schema/qudt/numericValue> 950 }}")
    assert not ask(live, f"ASK {{ {cap} <http://qudt.org/schema/qudt/numericValue> 900 }}")
    entity = requests.get(live.url + "/page/id/facility/keleshek-school-koyankus?lang=en", timeout=30).text
    history = entity.split('id="history-title"', 1)[1]
    assert "chief" in history and "corrected" in history and "950" in history and "900" in history
    change_id = re.search(r'href="/history/([^"]+)"', history).group(1)  # type: ignore[union-attr]
    detail = requests.get(live.url + f"/history/{change_id}?lang=en", timeout=30)
    assert detail.status_code == 200 and "removed" in detail.text and "950" in detail.text


def test_recent_changes_and_their_atom_feed(live):
    writer, csrf = signed_in(live, WRITER_TOKEN)
    url, original = new_form(writer, live)
    r = writer.post(
        url, data={**school_form("in-the-feed"), "original": original, "csrf_token": csrf}, timeout=30
    )
    pid = r.url.split("/steward/proposals/")[1].split("?")[0]
    admin, admin_csrf = signed_in(live, ADMIN_TOKEN)
    admin.post(live.url + f"/steward/proposals/{pid}/approve", data={"csrf_token": admin_csrf}, timeout=30)
    recent = requests.get(live.url + "/history?lang=en", timeout=30)
    assert (
        recent.status_code == 200
        and "School in-the-feed" in recent.text
        and "approved by chief" in recent.text
    )
    feed = requests.get(live.url + "/history.atom?lang=en", timeout=30)
    assert feed.headers["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    atom = "{http://www.w3.org/2005/Atom}"
    entries = root.findall(atom + "entry")
    assert entries and "School in-the-feed" in entries[0].findtext(atom + "title", "")
    assert entries[0].findtext(atom + "author/" + atom + "name") == "aigerim"
    assert "school in-the-feed" in entries[0].findtext(atom + "summary", "")
    assert root.find(atom + "link[@rel='self']") is not None and root.findtext(atom + "updated")


# --- the review rule for the API --------------------------------------------------------------------


UPDATE = f"""PREFIX ak: <{AK}>
INSERT DATA {{ GRAPH <{BASE}graph/source/article-2026-01-17> {{
  <{BASE}id/facility/industrial-park-alatau> ak:currentStatus <{BASE}def/facility-status/planned> . }} }}"""


def test_under_the_review_rule_a_writers_api_write_is_a_proposal(live):
    bearer = {"Authorization": f"Bearer {WRITER_TOKEN}", "Content-Type": "application/sparql-update"}
    before = triples(live)
    r = requests.post(
        live.url + "/update",
        data=UPDATE.encode(),
        headers={**bearer, "X-Change-Comment": "planned"},
        timeout=30,
    )
    assert r.status_code == 202, r.text
    pid = r.json()["proposal"]
    assert r.headers["Location"] == f"/proposals/{pid}" and r.json()["status"] == "pending"
    assert triples(live) == before
    park = f"<{BASE}id/facility/industrial-park-alatau>"
    assert not ask(live, f"ASK {{ {park} ak:currentStatus ?s }}")
    mine = requests.get(live.url + f"/proposals/{pid}", headers=bearer, timeout=30)
    assert (
        mine.status_code == 200 and mine.json()["status"] == "pending" and mine.json()["summary"] == "planned"
    )
    other = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    assert requests.get(live.url + f"/proposals/{pid}", headers=other, timeout=30).status_code == 404
    listed = requests.get(live.url + "/proposals", headers=other, timeout=30).json()["proposals"]
    assert pid not in [p["id"] for p in listed]
    # a writer cannot approve; an admin can (planned again from the update's text)
    assert (
        requests.post(live.url + f"/proposals/{pid}/approve", headers=bearer, timeout=30).status_code == 403
    )
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    r = requests.post(live.url + f"/proposals/{pid}/approve", headers=admin, timeout=60)
    assert r.status_code == 200 and r.json()["change"] and r.json()["added"] == 1
    assert ask(live, f"ASK {{ {park} ak:currentStatus <{BASE}def/facility-status/planned> }}")
    again = requests.post(live.url + f"/proposals/{pid}/approve", headers=admin, timeout=60)
    assert again.status_code == 409 and again.json()["error"] == "proposal_closed"


def test_an_admins_api_write_is_committed_at_once_and_a_rejection_says_why(live):
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/sparql-update"}
    update = UPDATE.replace("industrial-park-alatau", "transport-logistics-centre-alatau")
    r = requests.post(live.url + "/update", data=update.encode(), headers=admin, timeout=30)
    assert r.status_code == 200 and r.json()["change"]
    bearer = {"Authorization": f"Bearer {WRITER_TOKEN}", "Content-Type": "application/sparql-update"}
    again = f"""INSERT DATA {{ GRAPH <{BASE}graph/source/article-2026-01-17> {{
        <{BASE}id/facility/transport-logistics-centre-alatau>
            <http://www.w3.org/2004/02/skos/core#altLabel> "ТЛЦ"@ru }} }}"""
    pid = requests.post(live.url + "/update", data=again.encode(), headers=bearer, timeout=30).json()[
        "proposal"
    ]
    before = triples(live)
    no_reason = requests.post(live.url + f"/proposals/{pid}/reject", headers=admin, timeout=30)
    assert no_reason.status_code == 400
    r = requests.post(
        live.url + f"/proposals/{pid}/reject",
        headers={**admin, "X-Change-Comment": "it opened later"},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert triples(live) == before
    # a change the shapes refuse is not even proposed (a second current status)
    bad = update.replace("planned", "operating")
    refused = requests.post(live.url + "/update", data=bad.encode(), headers=bearer, timeout=30)
    assert refused.status_code == 422 and refused.json()["error"] == "shapes_violated"
