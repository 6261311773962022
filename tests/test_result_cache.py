"""The result cache: keys (the normalised query, the dataset, the format, the store's version), the
bound in bytes, ETag / 304 / X-Cache at the endpoint, and no result from before an acknowledged write,
in one process and across the workers of ``alatau-kg serve``."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kg.changes.tokens import digest
from kg.changes.versions import VersionCounter
from kg.config import Settings
from kg.engine import EngineResponse
from kg.engine.cache import ResultCache, key_of
from kg.engine.process import OxigraphProcess
from kg.rdf.sparql import normalise, shape
from server.app import create_app
from tests.server_support import Live, serve_process, serving_standalone
from tests.test_writes import PREFIXES, WRITER, WRITER_TOKEN, school_update

pytest_plugins = ["tests.server_support"]

JSON = "application/sparql-results+json"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"

# --- the key ---------------------------------------------------------------------------------------


def test_layout_and_comments_do_not_make_another_query() -> None:
    a = "SELECT ?s\nWHERE {  ?s ?p ?o . # any\n} "
    b = "SELECT ?s WHERE { ?s ?p ?o . }"
    assert normalise(a) == normalise(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ('SELECT * { ?s ?p "a  b" }', 'SELECT * { ?s ?p "a b" }'),  # inside a string
        ("SELECT * { ?s ?p '''a\nb''' }", "SELECT * { ?s ?p '''a b''' }"),
        ('SELECT * { ?s ?p "#x" }', 'SELECT * { ?s ?p "" }'),  # not a comment in a string
        ("SELECT * { ?s <http://e/#a> ?o }", "SELECT * { ?s <http://e/> ?o }"),  # nor in an IRI
        ("SELECT * { ?s ?p 1.5 }", "SELECT * { ?s ?p 1 .5 }"),  # a space is kept where there was one
        # a string broken by a line end (a syntax error) is not the string with a space
        ('SELECT ("a b" AS ?x) {}', 'SELECT ("a\nb" AS ?x) {}'),
        ("SELECT ('a b' AS ?x) {}", "SELECT ('a\r\nb' AS ?x) {}"),
        # the separator of the normal form, inside a string: the tokens are kept apart
        ('SELECT ("a\x1fb" AS ?x) {}', 'SELECT ("a" "b" AS ?x) {}'),
        ('SELECT ("a\\u001Fb" AS ?x) {}', 'SELECT ("a" "b" AS ?x) {}'),
    ],
)
def test_different_queries_have_different_keys(a: str, b: str) -> None:
    assert normalise(a) != normalise(b)


def test_a_codepoint_escape_is_the_character_it_stands_for() -> None:
    assert normalise('SELECT * { ?s ?p "\\u0041" }') == normalise('SELECT * { ?s ?p "A" }')


def test_the_dataset_and_the_format_are_in_the_key() -> None:
    base = key_of(COUNT, JSON)
    assert key_of(COUNT, JSON, base="http://a/sparql") != base
    assert key_of(COUNT, "text/csv") != base
    assert key_of(COUNT, JSON, ["http://g/1"]) != base
    assert key_of(COUNT, JSON, (), ["http://g/1"]) != base
    assert key_of(COUNT, JSON, union_default_graph=True) != base


@pytest.mark.parametrize("call", ["RAND()", "NOW()", "UUID()", "STRUUID()", "BNODE()", "rand()"])
def test_volatile_functions_are_found(call: str) -> None:
    assert shape(f"SELECT * {{ BIND({call} AS ?x) }}").volatile
    assert not shape(f'SELECT * {{ BIND("{call}" AS ?x) }}').volatile  # in a string: not a call


# --- the cache ---------------------------------------------------------------------------------------


def _answer(size: int) -> EngineResponse:
    return EngineResponse(200, JSON, b"x" * size)


def test_an_entry_is_served_only_under_its_version() -> None:
    cache = ResultCache(1_000_000)
    key = key_of(COUNT, JSON)
    cache.put(key, "e.1", _answer(10))
    assert cache.get(key, "e.1") is not None
    assert cache.get(key, "e.2") is None  # a write: everything kept is dropped
    assert len(cache) == 0
    cache.put(key, "e.1", _answer(10))  # read before the write, finished after it: not kept
    assert cache.get(key, "e.2") is None
    assert cache.get(key, "e.1") is None  # and the cache does not go back to the older version


def test_the_cache_is_bounded_in_bytes_least_recently_used_first() -> None:
    cache = ResultCache(8_000)
    keys = [key_of(f"ASK {{ <urn:{i}> ?p ?o }}", JSON) for i in range(12)]
    for key in keys[:6]:
        cache.put(key, "e.1", _answer(700))
    cache.get(keys[0], "e.1")  # used: kept over the others
    for key in keys[6:]:
        cache.put(key, "e.1", _answer(700))
    assert cache.size_bytes <= 8_000
    assert cache.get(keys[0], "e.1") is not None
    assert cache.get(keys[1], "e.1") is None
    cache.put(keys[0], "e.1", _answer(1_001))  # over an eighth of the bound: not kept
    assert cache.size_bytes <= 8_000


def test_the_version_counter_is_shared_with_forked_processes() -> None:
    import os

    counter = VersionCounter()
    before = counter.token()
    pid = os.fork()
    if pid == 0:  # the child advances it, as a worker's writer does
        counter.advance_to(7)
        os._exit(0)
    os.waitpid(pid, 0)
    assert counter.token() != before and counter.number == 7
    counter.advance_to(3)  # writers may report out of order: never back
    assert counter.number == 7


# --- at the endpoint --------------------------------------------------------------------------------


def test_a_repeated_query_is_a_hit_with_the_same_etag(live: Live) -> None:
    query = "SELECT * WHERE { ?s ?p ?o } LIMIT 3 # " + str(time.time())
    first = requests.get(live.sparql, params={"query": query}, headers={"Accept": JSON}, timeout=30)
    again = requests.get(
        live.sparql, params={"query": query.replace(" ", "  ")}, headers={"Accept": JSON}, timeout=30
    )
    assert first.headers["X-Cache"] == "miss" and again.headers["X-Cache"] == "hit"
    assert first.content == again.content
    assert first.headers["ETag"] == again.headers["ETag"] and first.headers["ETag"].startswith('W/"')
    assert first.headers["Cache-Control"] == "public, no-cache"
    other_format = requests.get(
        live.sparql, params={"query": query}, headers={"Accept": "text/csv"}, timeout=30
    )
    assert other_format.headers["X-Cache"] == "miss"
    assert other_format.headers["ETag"] != first.headers["ETag"]


def test_a_cached_answer_is_never_served_for_a_query_that_differs_inside_a_string(live: Live) -> None:
    """The two texts differ only in the white space of a string: one is a query, the other a syntax
    error (a short string cannot hold a line end). The first's answer is cached; the second is refused."""
    valid = 'SELECT ("cache a b" AS ?x) {}'
    first = requests.get(live.sparql, params={"query": valid}, headers={"Accept": JSON}, timeout=30)
    assert first.status_code == 200
    again = requests.get(live.sparql, params={"query": valid}, headers={"Accept": JSON}, timeout=30)
    assert again.headers["X-Cache"] == "hit"
    broken = requests.get(
        live.sparql, params={"query": valid.replace("a b", "a\nb")}, headers={"Accept": JSON}, timeout=30
    )
    assert broken.status_code == 400, broken.text
    assert broken.json()["error"] == "query_syntax_error"


def test_if_none_match_gets_a_304_without_a_body(live: Live) -> None:
    query = "ASK { ?s ?p ?o } # 304"
    first = requests.get(live.sparql, params={"query": query}, timeout=30)
    etag = first.headers["ETag"]
    again = requests.get(live.sparql, params={"query": query}, headers={"If-None-Match": etag}, timeout=30)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    other = requests.get(live.sparql, params={"query": query}, headers={"If-None-Match": 'W/"x"'}, timeout=30)
    assert other.status_code == 200 and other.content == first.content


def test_post_answers_have_no_cache_control(live: Live) -> None:
    response = requests.post(live.sparql, data={"query": "ASK {}"}, timeout=30)
    assert response.status_code == 200
    assert "Cache-Control" not in response.headers
    assert response.headers["X-Cache"] in ("hit", "miss")


def test_a_volatile_query_is_never_served_from_the_cache(live: Live) -> None:
    query = "SELECT (RAND() AS ?r) WHERE {}"
    values = set()
    for _ in range(3):
        r = requests.get(live.sparql, params={"query": query}, headers={"Accept": JSON}, timeout=30)
        assert r.headers["X-Cache"] == "miss"
        values.add(r.json()["results"]["bindings"][0]["r"]["value"])
    assert len(values) == 3


def test_cache_max_age_sets_cache_control(server_settings: Settings, server_engine: OxigraphProcess) -> None:
    client = create_app(server_settings.with_(cache_max_age_s=300), server_engine).test_client()
    response = client.get("/sparql", query_string={"query": "ASK {}"})
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_the_cache_can_be_turned_off(server_settings: Settings, server_engine: OxigraphProcess) -> None:
    client = create_app(server_settings.with_(result_cache_bytes=0), server_engine).test_client()
    statuses = [client.get("/sparql", query_string={"query": "ASK {}"}).headers["X-Cache"] for _ in range(2)]
    assert statuses == ["miss", "miss"]


# --- never a result from before an acknowledged write ------------------------------------------------


def _count_schools(url: str, key: str, **headers: str) -> int:
    query = (
        PREFIXES + f"SELECT (COUNT(*) AS ?n) WHERE {{ <https://w3id.org/alatau-kg/id/facility/{key}> ?p ?o }}"
    )
    r = requests.get(
        url + "/sparql", params={"query": query}, headers={"Accept": JSON, **headers}, timeout=30
    )
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


@pytest.fixture(scope="module")
def writable_store(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("cache-writes") / "store"
    shutil.copytree(real_settings.store_path, target)
    return target


@pytest.fixture
def writable_live(real_settings: Settings, writable_store: Path) -> Iterator[Live]:
    settings = real_settings.with_(
        store_path=writable_store,
        tokens=f"steward:writer:{digest(WRITER_TOKEN)}",
        tokens_file=writable_store.parent / "none.json",
    )
    with serving_standalone(settings) as server:
        yield server


def test_a_write_is_seen_by_the_next_read_in_one_process(writable_live: Live) -> None:
    key = "cache-one-process"
    assert _count_schools(writable_live.url, key) == 0
    assert _count_schools(writable_live.url, key) == 0  # now a hit
    r = requests.post(
        writable_live.url + "/update",
        data=school_update(key).encode(),
        headers={"Content-Type": "application/sparql-update", **WRITER},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    assert _count_schools(writable_live.url, key) > 0


def test_a_write_is_seen_at_once_by_every_worker(real_settings: Settings, tmp_path: Path) -> None:
    """Two workers, each with its own cache: both hold the old result, one acknowledges a write, and
    every read after it, through either worker, sees the write. (A new connection per read: the kernel
    spreads them over the workers; the worker that answered is asked on the same connection.)"""
    store = tmp_path / "store"
    shutil.copytree(real_settings.store_path, store)
    env = {
        "ALATAU_KG_WORKERS": "2",
        "ALATAU_KG_TOKENS": f"steward:writer:{digest(WRITER_TOKEN)}",
        "ALATAU_KG_TOKENS_FILE": str(tmp_path / "none.json"),
    }
    key = "cache-every-worker"
    query = (
        PREFIXES + f"SELECT (COUNT(*) AS ?n) WHERE {{ <https://w3id.org/alatau-kg/id/facility/{key}> ?p ?o }}"
    )

    def read(url: str) -> tuple[int, str, int]:
        """The count, X-Cache and the worker, on one connection."""
        with requests.Session() as session:
            r = session.get(url + "/sparql", params={"query": query}, headers={"Accept": JSON}, timeout=30)
            assert r.status_code == 200, r.text
            worker = session.get(url + "/-/health", timeout=30).json()["worker_pid"]
        return int(r.json()["results"]["bindings"][0]["n"]["value"]), r.headers["X-Cache"], worker

    def through_both(url: str, *, hits: bool) -> list[tuple[int, str, int]]:
        """Reads until both workers have answered (with a hit each, if ``hits``)."""
        reads: list[tuple[int, str, int]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            reads.append(read(url))
            if len({w for _, cached, w in reads if cached == "hit" or not hits}) == 2:
                return reads
        raise AssertionError(f"not both workers: {reads}")

    with serve_process(real_settings.with_(store_path=store, query_timeout_s=10.0), env) as served:
        before = through_both(served.url, hits=True)  # each worker holds the old result
        assert all(n == 0 for n, _, _ in before)
        r = requests.post(
            served.url + "/update",
            data=school_update(key).encode(),
            headers={"Content-Type": "application/sparql-update", **WRITER, "Connection": "close"},
            timeout=120,
        )
        assert r.status_code == 200, r.text
        after = through_both(served.url, hits=False)
        assert all(n > 0 for n, _, _ in after), after


def _metric(url: str, name: str) -> float:
    text = requests.get(url + "/-/metrics", timeout=30).text
    m = re.search(re.escape(name) + r" ([0-9.e+]+)", text)
    return float(m.group(1)) if m else 0.0
