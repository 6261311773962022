"""``alatau-kg serve`` flags map one-to-one onto the Settings fields the endpoint uses."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from kg.config import Settings
from server import cli

FLAGS = [
    "--max-body-bytes", "1000",
    "--max-result-bytes", "2000",
    "--service-allowlist", "https://query.wikidata.org/ http://dbpedia.org/",
    "--cors-origin", "",
    "--rate-limit-per-minute", "12.5",
    "--rate-limit-burst", "3",
    "--threads", "16",
    "--no-union-default-graph",
    "--oxigraph-bin", "/opt/oxigraph",
    "--queries-dir", "/tmp/q",
]  # fmt: skip


def _settings(argv: list[str]) -> Settings:
    return cli._settings(cli.parser().parse_args(["serve", *argv]))


def test_each_flag_sets_its_field() -> None:
    settings = _settings(FLAGS)
    assert settings.max_body_bytes == 1000
    assert settings.max_result_bytes == 2000
    assert settings.service_allowlist == "https://query.wikidata.org/ http://dbpedia.org/"
    assert settings.cors_origin == ""  # empty turns CORS off: it must not fall back to the default
    assert settings.rate_limit_per_minute == 12.5
    assert settings.rate_limit_burst == 3
    assert settings.server_threads == 16
    assert settings.union_default_graph is False
    assert settings.oxigraph_bin == "/opt/oxigraph"
    assert settings.queries_dir == Path("/tmp/q")


def test_without_flags_the_defaults_and_environment_hold(monkeypatch) -> None:
    for f in fields(Settings):
        monkeypatch.delenv(f"ALATAU_KG_{f.name.upper()}", raising=False)
    assert _settings([]) == Settings()
    monkeypatch.setenv("ALATAU_KG_MAX_BODY_BYTES", "77")
    monkeypatch.setenv("ALATAU_KG_UNION_DEFAULT_GRAPH", "false")
    assert _settings([]).max_body_bytes == 77
    assert _settings([]).union_default_graph is False
    assert _settings(["--max-body-bytes", "88", "--union-default-graph"]).max_body_bytes == 88
    assert _settings(["--union-default-graph"]).union_default_graph is True


def test_every_flag_names_a_settings_field() -> None:
    """One-to-one: each serve flag's destination is a Settings field, and no two flags share one."""
    serve = cli.parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    common = {"store", "base", "data_dir", "ontology_dir", "lang", "help"}
    dests = [a.dest for a in serve._actions if a.dest not in common]
    names = {f.name for f in fields(Settings)}
    assert set(dests) <= names, set(dests) - names
    assert len(dests) == len(set(dests))
    assert set(cli.SERVE_SETTINGS) | {"host", "port", "query_timeout_s"} == set(dests)
