"""Fixtures for the linked-data and page tests: the real graph (built once per session by
``tests/conftest.py``) behind a real engine and a real server on loopback.

PYTEST_DONT_REWRITE: loaded through ``pytest_plugins`` after test modules import from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kg.config import Settings
from kg.engine.process import OxigraphProcess
from server.app import create_app
from tests.server_support import Live, serving

BASE = "https://w3id.org/alatau-kg/"
ID = BASE + "id/"
AK = BASE + "def/ontology#"


@pytest.fixture(scope="session")
def real_engine(real_settings: Settings) -> Iterator[OxigraphProcess]:
    with OxigraphProcess.from_settings(real_settings) as process:
        yield process


@pytest.fixture(scope="session")
def real_live(real_settings: Settings, real_engine: OxigraphProcess) -> Iterator[Live]:
    with serving(create_app(real_settings, real_engine), real_engine) as server:
        yield server


# --- JSON-LD without the network ------------------------------------------------------------------

JsonLdLoader = Callable[[str, Any], dict[str, Any]]


def context_from_app(live: Live) -> JsonLdLoader:
    """A pyld document loader that serves our ``@context`` from the app itself (no network) and
    refuses every other URL."""
    client = live.app.test_client()

    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url != live.url + "/context.jsonld":
            raise AssertionError(f"pyld asked for {url}")
        response = client.get("/context.jsonld")
        if response.status_code != 200:
            raise AssertionError(f"/context.jsonld answered {response.status_code}")
        return {"contextUrl": None, "documentUrl": url, "document": response.get_json(force=True)}

    return load


def refuse_everything(url: str, options: Any = None) -> dict[str, Any]:
    """A pyld document loader for documents that embed their context: it loads nothing."""
    raise AssertionError(f"pyld asked for {url}: the document should embed its context")
