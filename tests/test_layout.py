"""The house keeps its shape: no module of kg/ or server/ imports inside a function (an import there
hides a dependency, and twice hid an import cycle), except an optional dependency, marked so on its
line. The layers themselves are import-linter's contracts in pyproject.toml (`make lint`)."""

from __future__ import annotations

import ast

import pytest

from kg.config import PROJECT_ROOT

OPTIONAL = "# optional dependency"
MODULES = sorted(p for package in ("kg", "server") for p in (PROJECT_ROOT / package).rglob("*.py"))


def imports_inside_functions(path, root=PROJECT_ROOT) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom) and OPTIONAL not in lines[inner.lineno - 1]:
                    found.append(
                        f"{path.relative_to(root)}:{inner.lineno}: {lines[inner.lineno - 1].strip()}"
                    )
    return found


def test_there_are_modules_to_check() -> None:
    assert len(MODULES) > 50


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_no_import_inside_a_function(path) -> None:
    assert not imports_inside_functions(path)


def test_the_check_finds_an_import_inside_a_function(tmp_path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import json\n    from os import path  # optional dependency\n")
    found = imports_inside_functions(module, tmp_path)
    assert found == ["m.py:2: import json"]
