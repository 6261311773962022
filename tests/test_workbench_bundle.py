"""The workbench's committed bundle (server/static/workbench/) against its sources (server/web/): pinned
packages, a licence for every package of the lock file, the bundle built from the committed sources
(BUILD.json, written by the build), and, when npm is here, the build script giving the same bytes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kg.config import PROJECT_ROOT

WEB = PROJECT_ROOT / "server" / "web"
BUNDLE = PROJECT_ROOT / "server" / "static" / "workbench"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def lock_packages() -> dict[str, dict]:
    lock = json.loads((WEB / "package-lock.json").read_text(encoding="utf-8"))
    return {
        path.rsplit("node_modules/", 1)[1]: info
        for path, info in lock["packages"].items()
        if path and not info.get("dev")
    }


def test_dependencies_are_pinned_exactly() -> None:
    package = json.loads((WEB / "package.json").read_text(encoding="utf-8"))
    for section in ("dependencies", "devDependencies"):
        for name, version in package[section].items():
            assert version[0].isdigit() and all(c.isdigit() or c == "." for c in version), (name, version)
    lock = json.loads((WEB / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][""]["dependencies"] == package["dependencies"]


def test_licenses_cover_every_package_of_the_lock_file() -> None:
    text = (BUNDLE / "LICENSES").read_text(encoding="utf-8")
    sections = text.split("=" * 78 + "\n")[1:]
    by_package = {}
    for section in sections:
        header, _, body = section.partition("\n" + "-" * 78 + "\n")
        name, version = header.split(" (", 1)[0].rsplit(" ", 1)
        by_package[name] = (version, header, body.strip())
    packages = lock_packages()
    assert set(by_package) == set(packages)
    for name, info in packages.items():
        version, header, body = by_package[name]
        assert version == info["version"], name
        assert info["license"] in header, name
        assert len(body) > 100, name  # the licence's own text, not a name
    assert (
        "@codemirror/view" in by_package and "@observablehq/plot" in by_package and "d3-force" in by_package
    )


def test_the_bundle_was_built_from_the_committed_sources() -> None:
    """build.mjs records the hashes of what it read and wrote: a source changed without a rebuild
    (or a bundle edited by hand) fails here."""
    build = json.loads((BUNDLE / "BUILD.json").read_text(encoding="utf-8"))
    inputs = {
        name: sha256(WEB / name) for name in ("package.json", "package-lock.json", "build.sh", "build.mjs")
    }
    inputs |= {f"src/{name}": sha256(path) for name, path in files(WEB / "src").items()}
    assert build["inputs"] == inputs
    outputs = {name: sha256(path) for name, path in files(BUNDLE).items() if name != "BUILD.json"}
    assert build["outputs"] == outputs
    assert {"workbench.js", "workbench.css", "LICENSES"} <= set(outputs)
    package = json.loads((WEB / "package.json").read_text(encoding="utf-8"))
    assert build["esbuild"] == package["devDependencies"]["esbuild"]


@pytest.mark.slow
def test_the_build_script_gives_the_committed_bytes(tmp_path: Path) -> None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm and node are not installed")
    web = tmp_path / "web"
    shutil.copytree(WEB, web, ignore=shutil.ignore_patterns("node_modules"))
    out = tmp_path / "out"
    done = subprocess.run([str(web / "build.sh"), str(out)], capture_output=True, text=True, timeout=600)
    if (
        done.returncode != 0
        and "npm" in done.stderr
        and ("ENOTFOUND" in done.stderr or "ETIMEDOUT" in done.stderr)
    ):
        pytest.skip(f"npm could not reach its registry: {done.stderr.strip()[-300:]}")
    assert done.returncode == 0, done.stderr
    built, committed = files(out), files(BUNDLE)
    assert set(built) == set(committed)
    for name, path in built.items():
        assert path.read_bytes() == committed[name].read_bytes(), name
