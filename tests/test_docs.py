"""Docs that cannot drift: every CLI command and option group is in the README."""

from __future__ import annotations

import argparse

from kg.config import PROJECT_ROOT
from server.cli import parser

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_readme_starts_with_serve_and_test():
    head = README[:1500]
    assert "make serve" in head and "make test" in head


def test_every_cli_command_is_documented():
    commands = _subcommands()
    assert {"build", "reason", "validate", "query", "export", "stats", "serve"} <= set(commands)
    for name in commands:
        assert f"alatau-kg {name}" in README, name


def test_every_cli_option_is_documented():
    for name, sub in _subcommands().items():
        for action in sub._actions:
            long = [o for o in action.option_strings if o.startswith("--") and o != "--help"]
            for option in long:
                assert option in README, f"alatau-kg {name} {option}"


def test_the_readme_query_gives_the_readme_output(real_settings):
    import io
    import re

    from server.cli import main

    section = README.split("## One real query", 1)[1]
    query = re.search(r"alatau-kg query '(.*?)'\n```", section, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    out = io.StringIO()
    assert main(["query", "--store", str(real_settings.store_path), query], out=out) == 0
    assert out.getvalue() == shown
