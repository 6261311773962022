"""The city in a throw-away Virtuoso, loaded the way an operator loads it: ``alatau-kg push`` (Graph
Store PUT per graph, with the dba's credentials from the environment, graph-level security set), and
the settings that serve it (``--engine <its /sparql>``, the profile detected).

PYTEST_DONT_REWRITE: helpers for several test modules (imported before pytest could rewrite them).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from kg.config import Settings
from server.cli import main
from tests.virtuoso_support import VirtuosoProcess, require_virtuoso


def engine_env(v: VirtuosoProcess) -> dict[str, str]:
    """The environment an operator gives the service for this Virtuoso (the password only there)."""
    user, password = v.credentials
    return {
        "ALATAU_KG_ENGINE_URL": v.query_url,
        "ALATAU_KG_ENGINE_USER": user,
        "ALATAU_KG_ENGINE_PASSWORD": password,
    }


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def push(v: VirtuosoProcess, store: Path, *args: str) -> tuple[int, str]:
    """``alatau-kg push --engine <v> …`` with the credentials in the environment: (exit code, output)."""
    out = io.StringIO()
    with environment(engine_env(v)):
        code = main(["push", "--store", str(store), "--engine", v.query_url, *args], out)
    return code, out.getvalue()


@contextlib.contextmanager
def city_in_virtuoso(
    built: Settings, *, max_rows: int = 10_000, ini: Mapping[str, Mapping[str, object]] | None = None
) -> Iterator[tuple[VirtuosoProcess, Settings]]:
    """A Virtuoso holding the built city (pushed), and settings that serve it as the engine."""
    require_virtuoso()
    with VirtuosoProcess(result_set_max_rows=max_rows, ini=ini) as v:
        code, output = push(v, built.store_path)
        assert code == 0, output
        user, password = v.credentials
        yield v, built.with_(engine_url=v.query_url, engine_user=user, engine_password=password)
