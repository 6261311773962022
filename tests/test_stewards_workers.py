"""The stewards' pages under ``alatau-kg serve --workers 2`` (granian workers over a durable Oxigraph):
a session made on one worker holds on the other, a proposal stored by one is in the queue of the
other and is approved through either, and pending proposals are still there after the service is
stopped and started again.

Real processes on loopback: the serve process, its workers, its engines; nothing is mocked.
"""

from __future__ import annotations

import re
import shutil
import signal
from urllib.parse import urlencode

import pytest
import requests

from kg.changes.tokens import digest
from kg.config import Settings
from tests.server_support import serve_process

pytest_plugins = ["tests.server_support"]

pytestmark = pytest.mark.slow

BASE = "https://w3id.org/alatau-kg/"
AK = BASE + "def/ontology#"
WRITER_TOKEN = "workers-writer-token"
ADMIN_TOKEN = "workers-admin-token"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def signed_in(url: str, token: str) -> tuple[requests.Session, str]:
    s = requests.Session()
    s.headers.update({"Accept-Language": "en", "Connection": "close"})  # a new connection: any worker
    page = s.get(url + "/steward/sign-in", timeout=30)
    r = s.post(url + "/steward/sign-in", data={"token": token, "csrf_token": csrf_of(page.text)}, timeout=30)
    assert r.status_code == 200 and r.url.endswith("/steward/"), r.text[:300]
    return s, csrf_of(r.text)


def propose(s: requests.Session, csrf: str, url: str, key: str) -> str:
    form_url = url + "/steward/new?" + urlencode({"class": AK + "School"})
    page = s.get(form_url, timeout=30)
    original = re.search(r'name="original" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    data = {
        "csrf_token": csrf,
        "class": AK + "School",
        "original": original,
        "f|rdfs:label|1|v": f"Школа {key}",
        "f|rdfs:label|1|l": "ru",
        "f|rdfs:label|2|v": f"School {key}",
        "f|rdfs:label|2|l": "en",
        "f|ak:locatedIn|0|i": BASE + "id/place/daulet",
        "f|ak:capacity|0|qudt:numericValue|0|v": "300",  # a school's capacity, in seats, is required
        "f|ak:capacity|0|ak:statedValue|0|v": "на 300 мест",
        "f|ak:capacity|0|ak:statedValue|0|l": "ru",
        "f|ak:capacity|0|qudt:unit|0|i": AK + "Seat",
        "source": "existing",
        "source_iri": BASE + "id/source/article-2026-01-17",
        "action": "submit",
    }
    r = s.post(form_url, data=data, timeout=60)
    assert r.status_code == 200 and "/steward/proposals/" in r.url, r.text[:500]
    return r.url.split("/steward/proposals/")[1].split("?")[0]


def ask(url: str, query: str) -> bool:
    r = requests.get(
        url + "/sparql",
        params={"query": query},
        headers={"Accept": "application/sparql-results+json", "Connection": "close"},
        timeout=30,
    )
    return bool(r.json()["boolean"])


def test_sessions_and_proposals_are_shared_by_the_workers_and_kept_across_a_restart(
    real_settings: Settings, tmp_path
) -> None:
    store = tmp_path / "store"
    shutil.copytree(real_settings.store_path, store)
    env = {
        "ALATAU_KG_WORKERS": "2",
        "ALATAU_KG_TOKENS": f"aigerim:writer:{digest(WRITER_TOKEN)},chief:admin:{digest(ADMIN_TOKEN)}",
        "ALATAU_KG_TOKENS_FILE": str(tmp_path / "none.json"),
    }
    settings = real_settings.with_(store_path=store, query_timeout_s=10.0)
    with serve_process(settings, env) as served:
        writer, csrf = signed_in(served.url, WRITER_TOKEN)
        pids = set()
        for _ in range(12):  # the session, made on one worker, holds on every one
            desk = writer.get(served.url + "/steward/", timeout=30)
            assert desk.status_code == 200 and "aigerim" in desk.text
            health = requests.get(served.url + "/-/health", headers={"Connection": "close"}, timeout=30)
            pids.add(health.json()["worker_pid"])
        assert len(pids) == 2
        approved = propose(writer, csrf, served.url, "workers-approved")
        pending = propose(writer, csrf, served.url, "workers-pending")
        admin, admin_csrf = signed_in(served.url, ADMIN_TOKEN)
        for _ in range(4):  # whichever worker answers has both
            queue = admin.get(served.url + "/steward/proposals", timeout=30).text
            assert approved in queue and pending in queue
        r = admin.post(
            served.url + f"/steward/proposals/{approved}/approve", data={"csrf_token": admin_csrf}, timeout=60
        )
        assert r.status_code == 200 and "status-approved" in r.text
        school = f"<{BASE}id/facility/school-workers-approved>"
        assert all(ask(served.url, f"ASK {{ {school} a <{AK}Facility> }}") for _ in range(4))
        assert not ask(served.url, f"ASK {{ <{BASE}id/facility/school-workers-pending> ?p ?o }}")
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) == 0
    # started again: the pending proposal is there (sessions are not: no session_secret was set)
    with serve_process(settings, env) as served:
        assert writer.get(served.url + "/steward/", allow_redirects=False, timeout=30).status_code in (
            303,
            401,
        )
        admin, admin_csrf = signed_in(served.url, ADMIN_TOKEN)
        page = admin.get(served.url + f"/steward/proposals/{pending}", timeout=30)
        assert (
            page.status_code == 200
            and "pending review" in page.text
            and "School workers-pending" in page.text
        )
        done = admin.get(served.url + f"/steward/proposals/{approved}", timeout=30)
        assert "status-approved" in done.text
        r = admin.post(
            served.url + f"/steward/proposals/{pending}/approve", data={"csrf_token": admin_csrf}, timeout=60
        )
        assert r.status_code == 200 and "status-approved" in r.text
        assert ask(served.url, f"ASK {{ <{BASE}id/facility/school-workers-pending> a <{AK}Facility> }}")
