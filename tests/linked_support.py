"""Fixtures for the linked-data and page tests: the real graph (built once per session by
``tests/conftest.py``) behind a real engine and a real server on loopback.

PYTEST_DONT_REWRITE: loaded through ``pytest_plugins`` after test modules import from it.
"""

from __future__ import annotations

from collections.abc import Iterator

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
