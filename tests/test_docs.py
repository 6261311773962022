"""Docs that cannot drift: the README and the site in ``docs/`` say what the code does.

Every CLI command, option and setting is on the command-line page; every route of the app and every
error code the service answers is documented; the queries and the steward's write shown with their
answers give those answers; the site builds with ``mkdocs build --strict`` and no page of it loads
anything from another host.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import http.server
import importlib
import io
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from kg.changes.tokens import digest
from kg.config import PROJECT_ROOT, Settings
from server.app import create_app
from server.cli import main, parser
from tests.server_support import Live, serving_standalone

pytest_plugins = ["tests.server_support", "tests.browser_support"]

DOCS = PROJECT_ROOT / "docs"
PAGES = DOCS / "pages"
README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
CLI_PAGE = (PAGES / "cli.md").read_text(encoding="utf-8")


def _page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def _pages() -> dict[str, str]:
    """Every page of the site (bench/RESULTS.md and ontology/README.md among them, through their links)."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(PAGES.glob("*.md"))}


# --- the README -------------------------------------------------------------------------------------


def test_readme_starts_with_serve_and_test():
    head = README[:1500]
    assert "make serve" in head and "make test" in head


def test_readme_is_short_and_points_at_every_page():
    assert len(README.splitlines()) <= 200
    for name in _pages():
        if name not in ("index.md", "bench-results.md", "modelling-guide.md"):  # the home; sub-pages
            assert f"(docs/pages/{name})" in README, name


# --- the command line -------------------------------------------------------------------------------


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _long_options(p: argparse.ArgumentParser) -> list[str]:
    return [o for a in p._actions for o in a.option_strings if o.startswith("--") and o != "--help"]


def test_every_cli_command_is_documented():
    commands = _subcommands()
    assert {"build", "reason", "validate", "query", "export", "stats", "serve"} <= set(commands)
    for name in commands:
        assert f"alatau-kg {name}" in CLI_PAGE, name
        assert f"\n## {name}\n" in CLI_PAGE, f"the command line page has no section for {name}"


def test_every_cli_option_is_documented():
    assert "--version" in _long_options(parser())
    for option in _long_options(parser()):
        assert option in CLI_PAGE, f"alatau-kg {option}"
    for name, sub in _subcommands().items():
        for option in _long_options(sub):
            assert option in CLI_PAGE, f"alatau-kg {name} {option}"


def test_every_setting_is_documented_with_its_environment_variable():
    names = [f.name for f in dataclasses.fields(Settings) if f.name != "extra"]
    assert len(names) > 20
    for name in names:
        row = f"| `{name}` | `ALATAU_KG_{name.upper()}` |"
        assert row in CLI_PAGE, f"no row for Settings.{name} in the settings table of cli.md"


# --- routes and errors ------------------------------------------------------------------------------


def _units(text: str) -> Iterator[str]:
    """Paragraphs, with each table row apart (so that a route and its methods are said together)."""
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().splitlines()
        if lines and all(line.startswith("|") for line in lines):
            yield from lines
        else:
            yield block


# A route's variable part as the docs write it: <id>, {file}, … (and only inside a code span)
_PLACEHOLDER = r"(?:<[^>\s`]+>|\{[^}\s`]+\}|…)"


def _route_pattern(rule: str) -> re.Pattern[str]:
    parts = re.split(r"<[^>]+>", rule)
    body = _PLACEHOLDER.join(re.escape(p) for p in parts)
    return re.compile(r"`(?:[^`]*[\s,(])?" + body + r"(?=[`\s?#.,)])")


def test_every_route_is_documented(server_settings, server_engine):
    app = create_app(server_settings, server_engine)
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 20
    units = [u for page in _pages().values() for u in _units(page)]
    for rule in rules:
        pattern = _route_pattern(rule.rule)
        saying = [u for u in units if pattern.search(u)]
        assert saying, f"the route {rule.rule} is not documented in docs/pages"
        for method in sorted((rule.methods or set()) - {"GET", "HEAD", "OPTIONS"}):
            assert any(re.search(rf"\b{method}\b", u) for u in saying), (
                f"{method} {rule.rule} is not documented"
            )


# How the service names its errors, wherever it does: HttpError(404, "not_found", …),
# error_response(409, "write_conflict", …), WriteRefused(…, code="blank_node") or `code = "…"` in an
# error class, the status tables of server/errors.py, and bodies written by hand ({"error": …}).
_ERROR_CODES = (
    r"(?:HttpError|error_response)\(\s*\d{3},\s*\"([a-z_]+)\"",
    r"\bcode\s*=\s*\"([a-z_]+)\"",
    r":\s*\(\d{3},\s*\"([a-z_]+)\"\)",
    r"^\s*\d{3}:\s*\"([a-z_]+)\",",
    r"\"error\":\s*\"([a-z_]+)\"",
)


def _error_codes() -> set[str]:
    codes: set[str] = set()
    for package in ("kg", "server"):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            for pattern in _ERROR_CODES:
                codes.update(re.findall(pattern, source, re.M))
    return codes


def test_every_error_code_is_documented():
    codes = _error_codes()
    assert {"query_syntax_error", "not_found", "write_conflict", "blank_node", "shapes_violated"} <= codes
    text = "\n".join(_pages().values())
    missing = sorted(code for code in codes if f"`{code}`" not in text)
    assert not missing, f"error codes not in docs/pages: {missing}"


# --- names of files and code -----------------------------------------------------------------------

# bench/RESULTS.md is a record of past runs: the modules it names are those of the commits it measured.
_CURRENT = {"README.md": README, **{n: text for n, text in _pages().items() if n != "bench-results.md"}}
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_REPO_PATH = re.compile(r"(?<![\w./-])((?:kg|server|tests|bench|ontology|data|queries|docs)/[\w./*<>-]*)")
_PYTHON_NAME = re.compile(r"(?<![\w./-])((?:kg|server)(?:\.[A-Za-z_]\w*)+)")


def _spans() -> Iterator[tuple[str, str]]:
    for name, text in _CURRENT.items():
        for span in _CODE_SPAN.findall(text):
            yield name, span


def test_every_file_the_docs_name_exists():
    named = {(where, m.rstrip(".,:;)")) for where, span in _spans() for m in _REPO_PATH.findall(span)}
    assert len(named) > 30
    missing = []
    for where, path in sorted(named):
        if path.startswith("tests/artifacts") or re.search(r"NN|[<{…]", path):  # made by the tests; patterns
            continue
        if not (any(PROJECT_ROOT.glob(path)) if "*" in path else (PROJECT_ROOT / path).exists()):
            missing.append(f"{where}: {path}")
    assert not missing


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_every_python_name_the_docs_give_resolves():
    named = {(where, m) for where, span in _spans() for m in _PYTHON_NAME.findall(span)}
    assert len(named) >= 3
    assert not [f"{where}: {dotted}" for where, dotted in sorted(named) if not _resolves(dotted)]


# --- examples that run ------------------------------------------------------------------------------

# A query shown with its output: ```sh … alatau-kg query '…' ``` followed by ```text … ```
_SHOWN_QUERY = re.compile(r"alatau-kg query '(.*?)'\n```\s*\n```text\n(.*?)```", re.S)


def _shown_queries() -> list[tuple[str, str, str]]:
    shown = [
        ("README.md", *m.groups()) for m in _SHOWN_QUERY.finditer(README.split("## One real query", 1)[1])
    ]
    for name, text in _pages().items():
        shown += [(name, *m.groups()) for m in _SHOWN_QUERY.finditer(text)]
    return shown


def test_the_readme_and_the_pages_show_queries_with_their_output():
    assert [where for where, _, _ in _shown_queries()][:1] == ["README.md"]
    assert {"getting-started.md", "ontology.md"} <= {where for where, _, _ in _shown_queries()}


@pytest.mark.parametrize(
    ("where", "query", "output"),
    _shown_queries(),
    ids=[f"{w}-{i}" for i, (w, _, _) in enumerate(_shown_queries())],
)
def test_a_shown_query_gives_the_shown_output(real_settings, where, query, output):
    out = io.StringIO()
    assert main(["query", "--store", str(real_settings.store_path), query], out=out) == 0
    assert out.getvalue() == output, where


STEWARD_TOKEN = "steward-docs-token"


@pytest.fixture(scope="module")
def writable(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The real graph, served writable over a copy of its store, with one writer token."""
    store = tmp_path_factory.mktemp("docs-writes") / "store"
    shutil.copytree(real_settings.store_path, store)
    settings = real_settings.with_(
        store_path=store,
        tokens=f"steward:writer:{digest(STEWARD_TOKEN)}",
        tokens_file=store.parent / "none.json",
    )
    with serving_standalone(settings) as server:
        yield server


def _ask(live: Live, query: str) -> bool:
    r = requests.post(
        live.sparql,
        data=query,
        headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return bool(r.json()["boolean"])


def test_the_stewards_school_gets_the_answers_shown(writable):
    page = _page("writes.md")
    example = page.split("## A steward adds a school", 1)[1]
    update = re.search(r"--data-binary '\n(.*?)'\n```", example, re.S).group(1)
    headers = dict(re.findall(r"-H '([\w-]+): ([^']*)'", example))
    assert headers == {"Content-Type": "application/sparql-update", "X-Change-Comment": "new school"}
    headers["Authorization"] = f"Bearer {STEWARD_TOKEN}"
    shown = re.search(r"report says .*?\n```\n(.*?)\n```", example, re.S).group(1).replace("\n", "")
    school = "<https://w3id.org/alatau-kg/id/facility/school-2-daulet>"
    ak = "PREFIX ak: <https://w3id.org/alatau-kg/def/ontology#>\n"

    # "With qudt:numericValue -5 the answer is 422, nothing is stored, and the report says …"
    negative = update.replace("qudt:numericValue 900 ;", "qudt:numericValue -5 ;")
    assert negative != update
    r = requests.post(writable.url + "/update", data=negative.encode("utf-8"), headers=headers, timeout=60)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "shapes_violated"
    assert shown in [result["sentence"] for result in r.json()["results"]]
    assert not _ask(writable, f"ASK {{ {school} ?p ?o }}")

    # "The answer is 200 with the change's IRI, the counts of quads and inferences added, and the report
    # (here one warning: a school should have a dated status)."
    r = requests.post(writable.url + "/update", data=update.encode("utf-8"), headers=headers, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["change"].startswith("https://w3id.org/alatau-kg/id/change/")
    assert body["added"] > 0 and body["inferred"]["added"] > 0
    assert body["report"]["counts"] == {"Info": 0, "Violation": 0, "Warning": 1}
    assert "dated status" in body["report"]["results"][0]["sentence"]
    # "The school is at /sparql at once, with its inferences (ak:Facility, located in Alatau), and the
    # change is at the top of /changes."
    assert _ask(writable, f"{ak}ASK {{ {school} a ak:Facility }}")
    assert _ask(writable, f"{ak}ASK {{ {school} ak:locatedIn <https://w3id.org/alatau-kg/id/place/alatau> }}")
    changes = requests.get(writable.url + "/changes", headers={"Accept": "application/json"}, timeout=30)
    top = changes.json()["changes"][0]
    assert top["change"] == body["change"]


# --- the site ---------------------------------------------------------------------------------------


# as the Makefile's `docs` target runs it (never with --quiet: that hides the warnings --strict counts)
MKDOCS_BUILD = (
    sys.executable,
    "-m",
    "mkdocs",
    "build",
    "--strict",
    "--config-file",
    str(DOCS / "mkdocs.yml"),
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built as `make docs` builds it, into a folder of the test's own."""
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [*MKDOCS_BUILD, "--site-dir", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    return target


def test_the_site_has_a_page_per_page(site):
    for name in _pages():
        assert (site / name.replace(".md", ".html")).is_file(), name


# What a page loads: scripts, images, frames, style sheets and icons (<a href> is a link, not a load).
_LOADS = re.compile(
    r"<(?:script|img|iframe|source|embed)\b[^>]*\bsrc=\"([^\"]+)\"|<link\b[^>]*\bhref=\"([^\"]+)\""
)
_CSS_LOADS = re.compile(r"@import\s+(?:url\()?[\"']?([^\"')\s;]+)|url\(\s*[\"']?([^\"')\s]+)")


def test_no_page_of_the_site_names_another_host_to_load_from(site):
    remote = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)
    found = []
    for path in site.rglob("*.html"):
        for match in _LOADS.finditer(path.read_text(encoding="utf-8")):
            url = match.group(1) or match.group(2)
            if remote.match(url):
                found.append(f"{path.relative_to(site)}: {url}")
    for path in site.rglob("*.css"):
        for match in _CSS_LOADS.finditer(path.read_text(encoding="utf-8")):
            url = match.group(1) or match.group(2)
            if remote.match(url):
                found.append(f"{path.relative_to(site)}: {url}")
    assert not found


@contextlib.contextmanager
def _static_server(root: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.slow
def test_no_page_of_the_site_loads_anything_from_another_host(site, browser):
    """Every page opened in chromium, every request it makes recorded (the search index included)."""
    requested: list[str] = []
    page = browser.new_page()
    page.on("request", lambda request: requested.append(request.url))
    try:
        with _static_server(site) as url:
            for path in sorted(site.glob("*.html")):
                response = page.goto(f"{url}/{path.name}", wait_until="networkidle")
                assert response is not None and response.status == 200, path.name
            here = urlsplit(url).netloc
    finally:
        page.close()
    assert any(u.endswith("/search/search_index.json") for u in requested)
    elsewhere = [
        u for u in requested if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != here
    ]
    assert not elsewhere
