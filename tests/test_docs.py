"""Docs that cannot drift: every CLI command and option group is in the README."""

from __future__ import annotations

import argparse

from kg.cli import parser
from kg.config import PROJECT_ROOT

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
