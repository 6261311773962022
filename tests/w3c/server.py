"""Start a throw-away ``oxigraph serve`` (in memory) on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from kg.engine.process import _terminate


def oxigraph_binary() -> str:
    """``$ALATAU_OXIGRAPH_BIN``, else the ``oxigraph`` next to the running Python, else on ``PATH``."""
    configured = os.environ.get("ALATAU_OXIGRAPH_BIN")
    if configured:
        return configured
    beside = Path(sys.executable).with_name("oxigraph")
    if beside.exists():
        return str(beside)
    found = shutil.which("oxigraph")
    if found is None:
        raise FileNotFoundError("no oxigraph binary (pip install oxigraph, or set ALATAU_OXIGRAPH_BIN)")
    return found


STARTS = 3  # attempts to start a server, each on a port of its own


def free_port() -> int:
    """A TCP port nobody listens on right now (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(process: subprocess.Popen[bytes], url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"oxigraph serve exited with status {process.returncode}")
        with (
            contextlib.suppress(requests.ConnectionError),
            requests.get(url, params={"query": "ASK {}"}, timeout=2) as response,
        ):
            if response.ok:
                return
        time.sleep(0.05)
    raise TimeoutError(f"oxigraph serve did not answer on {url} within {timeout} s")


@contextlib.contextmanager
def oxigraph_server(*serve_args: str, timeout: float = 20.0) -> Iterator[str]:
    """Run ``oxigraph serve --bind 127.0.0.1:<free port>`` (in memory, or as ``serve_args`` say, e.g.
    ``--location DIR``); yield its base URL; stop it afterwards.

    The port is free when chosen, but another socket (any outgoing connection's ephemeral port) may
    take it before the server binds it: a server that exits at once is started again on another
    port (seen once on a fresh clone: the whole Graph Store suite errored)."""
    for attempt in range(1, STARTS + 1):
        port = free_port()
        process = subprocess.Popen(
            [oxigraph_binary(), "serve", *serve_args, "--bind", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(process, base_url + "/query", timeout)
            break
        except RuntimeError:  # it exited: the port was taken meanwhile
            if attempt == STARTS:
                raise
        except BaseException:
            _terminate(process)
            raise
    try:
        yield base_url
    finally:
        _terminate(process)
