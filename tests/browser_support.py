"""A real browser for page tests: Playwright driving Debian's chromium (never a downloaded browser).

Use the ``page`` fixture (a fresh page per test) or ``browser`` (session). Tests that need a browser
are skipped with a clear reason when chromium is not installed locally, and fail on CI (`CI` set),
where `.ci/run` installs it.
Screenshots go to ``tests/artifacts/`` (kept by CI as test artefacts).

PYTEST_DONT_REWRITE: test modules import ``screenshot`` from here before ``pytest_plugins`` registers it
(it has no asserts to rewrite).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"

# Without the background-networking flags chromium keeps trying to reach hosts this machine cannot.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing on CI: .ci/run should have installed it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with tempfile.TemporaryDirectory() as profile, sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield context
        context.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    page = browser.new_page()
    yield page
    page.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
