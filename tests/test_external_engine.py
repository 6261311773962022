"""Any SPARQL 1.1 store as the engine: the service in front of an Oxigraph server the test starts,
configured as an operator would configure Fuseki or GraphDB (its default graph is the union), with our
union parameter off. Queries, pages and health work; writes are refused (read-only)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import requests

from kg.build import build
from kg.engine.local import OxigraphStore
from kg.engine.process import _post_nquads
from kg.rdf.names import Names
from server.deploy import standalone_app
from tests.server_support import fixture_settings, serving
from tests.w3c import server as w3c_server


@pytest.fixture(scope="module")
def external(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("external") / "store"
    settings = fixture_settings(store)
    build(settings)
    buffer = io.BytesIO()
    OxigraphStore(Names(), store, read_only=True).raw.dump(buffer, ox.RdfFormat.N_QUADS)
    with w3c_server.oxigraph_server("--union-default-graph") as base_url:
        _post_nquads(int(base_url.rsplit(":", 1)[1]), buffer.getvalue())
        yield f"{base_url}/query"


def test_the_service_runs_in_front_of_an_external_store(external, tmp_path):
    settings = fixture_settings(tmp_path / "unused-store").with_(
        engine_url=external, engine_union_param=False
    )
    app = standalone_app(settings)
    engine = app.extensions["alatau_kg"].engine
    with serving(app, engine) as live:
        query = "SELECT ?s WHERE { ?s <https://w3id.org/alatau-kg/def/ontology#locatedIn> ?o }"
        r = requests.get(live.sparql, params={"query": query}, timeout=30)
        assert r.status_code == 200
        subjects = {b["s"]["value"] for b in r.json()["results"]["bindings"]}
        # asserted and inferred triples alike, from the external store's union default graph
        assert "https://w3id.org/alatau-kg/id/facility/keleshek" in subjects
        health = requests.get(live.url + "/-/health", timeout=30).json()
        assert health["triples"] > 50 and health["engine"]["kind"] == "sparql-http"
        page = requests.get(
            live.url + "/page/id/facility/keleshek", headers={"Accept": "text/html"}, timeout=30
        )
        assert page.status_code == 200 and "Keleshek" in page.text
        r = requests.post(
            live.url + "/update",
            data=b"INSERT DATA {}",
            headers={"Content-Type": "application/sparql-update"},
            timeout=30,
        )
        assert r.status_code == 403 and r.json()["error"] == "read_only"
        assert not (tmp_path / "unused-store").exists()  # no local store was opened or created


def test_the_generic_profile_asks_the_store_and_reads_its_service_description(external, tmp_path):
    """Spoken to as any SPARQL 1.1 store (queries form-POSTed, no Oxigraph parameter): its service
    description says its default graph is the union, and so it is."""
    settings = fixture_settings(tmp_path / "unused-store").with_(
        engine_url=external, engine_profile="generic"
    )
    app = standalone_app(settings)
    engine = app.extensions["alatau_kg"].engine
    with serving(app, engine) as live:
        health = requests.get(live.url + "/-/health", timeout=30).json()
        assert health["engine"]["profile"] == "generic"
        assert health["engine"]["union_default_graph"] is True  # sd:UnionDefaultGraph
        query = "SELECT (COUNT(*) AS ?n) WHERE { ?s <https://w3id.org/alatau-kg/def/ontology#locatedIn> ?o }"
        r = requests.get(live.sparql, params={"query": query}, timeout=30)
        assert r.status_code == 200 and int(r.json()["results"]["bindings"][0]["n"]["value"]) > 0


def test_auto_asks_the_store_what_it_is(external):
    from kg.engine.client import SparqlClient
    from kg.engine.profiles import OxigraphProfile

    client = SparqlClient(external)
    assert client.profile_name == "auto"
    assert isinstance(client.profile, OxigraphProfile)  # its Server header: Oxigraph/…
