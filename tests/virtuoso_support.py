"""A throw-away OpenLink Virtuoso for tests: Debian's ``virtuoso-t`` run in the foreground in a
temporary folder of its own, on free loopback ports, with a generated ``virtuoso.ini``.

:class:`VirtuosoProcess` starts it (a fresh database: 2-4 s on an idle machine, up to 10 s on a busy
one), sets the ``dba`` password, bulk-loads N-Quads through ``isql-vt`` (``ld_dir`` + ``rdf_loader_run`` +
``checkpoint``), gives the URLs a client needs (query, authenticated update, Graph Store with and without
auth) and stops it with SIGTERM (a clean shutdown), removing the folder. It needs only the two binaries
of Debian's ``virtuoso-opensource-7-bin``. Tests call :func:`require_virtuoso` first: it skips them with
the reason when ``virtuoso-t`` or ``isql-vt`` is not installed (and fails them on CI, which installs it).

Self-contained on purpose (imports nothing from ``kg``): it is a fixture for the facts about
Virtuoso that ``tests/test_virtuoso_store.py`` pins, and for the engine tests built on them.

PYTEST_DONT_REWRITE: its asserts would not be rewritten anyway (test modules import it directly).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import pytest

VIRTUOSO_BIN = os.environ.get("ALATAU_KG_VIRTUOSO_BIN") or shutil.which("virtuoso-t") or "virtuoso-t"
ISQL_BIN = os.environ.get("ALATAU_KG_ISQL_BIN") or shutil.which("isql-vt") or "isql-vt"

STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
USER = "dba"
DEFAULT_PASSWORD = "dba"  # what a fresh database has; the launcher replaces it at once

# The realm of /sparql-auth and /sparql-graph-crud-auth (DB.DBA.HP_AUTH_SPARQL_USER, digest).
REALM = "SPARQL"

_PR_SET_PDEATHSIG = 1
try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:  # not Linux: the engine then outlives a test run killed with SIGKILL
    _LIBC = None


def missing() -> str | None:
    """Why a Virtuoso cannot be started here, or None when it can."""
    for binary in (VIRTUOSO_BIN, ISQL_BIN):
        if shutil.which(binary) is None:
            return f"{binary} is not installed (apt-get install virtuoso-opensource)"
    return None


def require_virtuoso() -> None:
    """Skip the calling test (or module) when Virtuoso is not installed; on CI (``CI`` set), where
    ``.ci/run`` installs it, fail instead."""
    reason = missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: on CI, .ci/run should have installed virtuoso-opensource-7-bin")
        pytest.skip(reason)


class VirtuosoError(RuntimeError):
    """Virtuoso did not start, or refused a command of the launcher."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    # In the child between fork and exec: the kernel sends it SIGTERM when the thread that spawned it
    # ends, so a test run killed outright leaves no Virtuoso (and no lock on its folder) behind.
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _ini_text(sections: Mapping[str, Mapping[str, object]]) -> str:
    lines = []
    for name, keys in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {value}" for key, value in keys.items()]
        lines.append("")
    return "\n".join(lines)


class VirtuosoProcess:
    """A Virtuoso of its own in a temporary folder; a context manager.

    ``result_set_max_rows`` and ``max_query_execution_time_s`` go to the ``[SPARQL]`` section
    (``ResultSetMaxRows``, ``MaxQueryExecutionTime``); ``ini`` adds or overrides any key
    (``{"Parameters": {"DefaultIsolation": 4}}``). ``nquads`` (bytes or a file) is bulk-loaded on start.
    """

    def __init__(
        self,
        *,
        nquads: bytes | Path | None = None,
        result_set_max_rows: int = 10_000,
        max_query_execution_time_s: int = 60,
        ini: Mapping[str, Mapping[str, object]] | None = None,
        password: str | None = None,
        keep: bool = False,
    ):
        self._nquads = nquads
        self.result_set_max_rows = result_set_max_rows
        self.max_query_execution_time_s = max_query_execution_time_s
        self._ini_overrides = ini or {}
        self.user = USER
        self.password = password or secrets.token_urlsafe(12)
        self.keep = keep  # keep the folder after stop (to read virtuoso.log)
        self.directory: Path | None = None
        self.http_port = 0
        self.sql_port = 0
        self.startup_s = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._loads = 0

    # --- URLs ----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def query_url(self) -> str:
        """The public SPARQL endpoint (runs as the SPARQL user: reads only)."""
        return self.url + "/sparql"

    @property
    def update_url(self) -> str:
        """The same endpoint behind HTTP digest auth (realm ``SPARQL``): updates as ``dba``."""
        return self.url + "/sparql-auth"

    @property
    def graph_store_url(self) -> str:
        return self.url + "/sparql-graph-crud"

    @property
    def graph_store_auth_url(self) -> str:
        return self.url + "/sparql-graph-crud-auth"

    @property
    def credentials(self) -> tuple[str, str]:
        return self.user, self.password

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def log_path(self) -> Path:
        assert self.directory is not None, "not started"
        return self.directory / "virtuoso.log"

    # --- lifecycle -----------------------------------------------------------------------------

    def ini_sections(self) -> dict[str, dict[str, object]]:
        """The generated virtuoso.ini, as sections (every path inside the folder)."""
        d = self.directory
        assert d is not None
        sections: dict[str, dict[str, object]] = {
            "Database": {
                "DatabaseFile": d / "virtuoso.db",
                "ErrorLogFile": d / "virtuoso.log",
                "LockFile": d / "virtuoso.lck",
                "TransactionFile": d / "virtuoso.trx",
                "xa_persistent_file": d / "virtuoso.pxa",
                "ErrorLogLevel": 7,
                "FileExtend": 200,
                "MaxCheckpointRemap": 2000,
                "Striping": 0,
                "TempStorage": "TempDatabase",
            },
            "TempDatabase": {
                "DatabaseFile": d / "virtuoso-temp.db",
                "TransactionFile": d / "virtuoso-temp.trx",
                "MaxCheckpointRemap": 2000,
                "Striping": 0,
            },
            "Parameters": {
                # host:port binds loopback only (a bare port listens on every interface)
                "ServerPort": f"127.0.0.1:{self.sql_port}",
                "DisableUnixSocket": 1,
                "DisableTcpSocket": 0,
                "CheckpointInterval": 60,
                "CaseMode": 2,
                # ld_dir reads only from these folders
                "DirsAllowed": f"., {d}",
                "NumberOfBuffers": 10000,  # 8 KB pages: ~80 MB, plenty for test data
                "MaxDirtyBuffers": 6000,
                "ThreadsPerQuery": 2,
                "MaxQueryMem": "500M",
            },
            "HTTPServer": {
                "ServerPort": f"127.0.0.1:{self.http_port}",
                "ServerRoot": d / "vsp",
                "ServerThreads": 10,
                "MaxClientConnections": 10,
                "MaxKeepAlives": 10,
                "KeepAliveTimeout": 10,
                "Charset": "UTF-8",
                "EnabledGzipContent": 0,
            },
            "SPARQL": {
                "ResultSetMaxRows": self.result_set_max_rows,
                "MaxQueryCostEstimationTime": 400,
                "MaxQueryExecutionTime": self.max_query_execution_time_s,
            },
        }
        for name, keys in self._ini_overrides.items():
            sections.setdefault(name, {}).update(keys)
        return sections

    def start(self) -> VirtuosoProcess:
        if self._process is not None:
            return self
        reason = missing()
        if reason is not None:
            raise VirtuosoError(reason)
        self.directory = Path(tempfile.mkdtemp(prefix="virtuoso-"))
        (self.directory / "vsp").mkdir()
        (self.directory / "load").mkdir()
        t0 = time.monotonic()
        try:
            self._launch()
            self._set_password()
            if self._nquads is not None:
                self.load_nquads(self._nquads)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - t0
        return self

    def _launch(self) -> None:
        assert self.directory is not None
        error = ""
        for _ in range(3):  # a free port may be taken between our probe and Virtuoso's bind
            self.http_port, self.sql_port = _free_port(), _free_port()
            if self.http_port == self.sql_port:
                continue
            ini = self.directory / "virtuoso.ini"
            ini.write_text(_ini_text(self.ini_sections()))
            with (self.directory / "stderr.log").open("ab") as stderr:
                process = subprocess.Popen(
                    [VIRTUOSO_BIN, "-f", "-c", str(ini)],
                    cwd=self.directory,
                    stdin=subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=stderr,
                    start_new_session=True,  # a Ctrl-C in the terminal is the test runner's, not its
                    preexec_fn=_die_with_parent,
                )
            self._process = process
            if self._wait_ready(process):
                return
            error = self._log_tail()
            self._terminate()
            if "listen" not in error:  # anything but a port taken: no use retrying
                break
        raise VirtuosoError(f"virtuoso-t did not start:\n{error}")

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> bool:
        """True once the HTTP endpoint answers a query; False if the process exits first."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        probe = self.query_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(probe, timeout=2) as response,
            ):
                if response.status == 200:
                    return True
            time.sleep(0.1)
        return False

    def _log_tail(self, lines: int = 15) -> str:
        assert self.directory is not None
        text = ""
        with contextlib.suppress(OSError):
            text = (self.directory / "stderr.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _set_password(self) -> None:
        # SET PASSWORD would need the user name quoted (CaseMode 2 upper-cases bare names)
        self.isql(f"USER_SET_PASSWORD ('dba', '{_sql_string(self.password)}');", password=DEFAULT_PASSWORD)

    def stop(self) -> None:
        """Shut down cleanly (SIGTERM: Virtuoso checkpoints and exits) and remove the folder."""
        self._terminate()
        if self.directory is not None and not self.keep:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def __enter__(self) -> VirtuosoProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- SQL and loading -----------------------------------------------------------------------

    def isql(self, sql: str, *, password: str | None = None, timeout_s: float = 300.0) -> str:
        """Run SQL statements (each ended by ``;``) through ``isql-vt``; its output.

        isql-vt exits 0 whatever happens, so its output is searched for ``*** Error`` instead. It takes the
        password on its command line (visible to ``ps``): fine for a throw-away test database.
        """
        result = subprocess.run(
            [ISQL_BIN, f"127.0.0.1:{self.sql_port}", self.user, password or self.password],
            input=sql.encode("utf-8"),
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
        output = result.stdout.decode("utf-8", "replace") + result.stderr.decode("utf-8", "replace")
        if "*** Error" in output or result.returncode != 0:
            raise VirtuosoError(f"isql-vt refused {sql[:200]!r}:\n{output[-2000:]}")
        return output

    def load_nquads(self, data: bytes | Path, *, default_graph: str = "urn:x-virtuoso-test:default") -> None:
        """Bulk-load N-Quads (a triple without a graph goes to ``default_graph``) and checkpoint.

        The bulk loader commits without a transaction log (hence the checkpoint); readers may see a
        load in progress. ``ld_dir`` takes a file pattern, so every load gets a file of its own.
        """
        assert self.directory is not None, "not started"
        self._loads += 1
        target = self.directory / "load" / f"load-{self._loads:04d}.nq"
        if isinstance(data, Path):
            shutil.copyfile(data, target)
        else:
            target.write_bytes(data)
        folder, graph = _sql_string(str(target.parent)), _sql_string(default_graph)
        output = self.isql(
            f"ld_dir ('{folder}', '{target.name}', '{graph}');\n"
            "rdf_loader_run ();\n"
            "checkpoint;\n"
            "SELECT 'load-failed: ' || ll_file || ': '"
            " || coalesce (ll_error, 'state ' || cast (ll_state AS VARCHAR))"
            f" FROM DB.DBA.LOAD_LIST WHERE ll_file LIKE '%/{target.name}'"
            " AND (ll_error IS NOT NULL OR ll_state <> 2);\n"
        )
        if "load-failed: " in output:
            raise VirtuosoError(f"the bulk loader refused {target.name}:\n{output[-2000:]}")
        target.unlink()

    def version(self) -> str:
        """Virtuoso's version as its log gives it (``07.20.3229``)."""
        match = re.search(r"Version (\S+)", self._log_tail(lines=400))
        return match.group(1).split("-")[0] if match else ""


def _sql_string(text: str) -> str:
    return text.replace("'", "''")
