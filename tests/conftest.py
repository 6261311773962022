"""Shared fixtures: settings → built store, for the tiny fixture project and for the real graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.build import Assembled, assemble, build
from kg.config import PROJECT_ROOT, Settings

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini"


@pytest.fixture
def mini_settings(tmp_path: Path) -> Settings:
    """The tiny fixture project, with a store path of its own (not built)."""
    return Settings(ontology_dir=MINI / "ontology", data_dir=MINI / "data", store_path=tmp_path / "store")


@pytest.fixture
def mini_built(mini_settings: Settings) -> Settings:
    build(mini_settings)
    return mini_settings


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The real ontology and data of the project, built once per test session."""
    store = tmp_path_factory.mktemp("real") / "store"
    settings = Settings(
        ontology_dir=PROJECT_ROOT / "ontology", data_dir=PROJECT_ROOT / "data", store_path=store
    )
    build(settings)
    return settings


@pytest.fixture(scope="session")
def real_assembled(real_settings: Settings) -> Assembled:
    """The real graph assembled in memory (reasoned and validated), once per session."""
    return assemble(real_settings)
