"""Where the in-memory engine's dataset comes from: N-Quads, streamed to it in chunks, never held whole
in this process.

- :func:`from_store`: a store on disk nobody writes (``serve`` read-only). Its **snapshot** (the store's
  quads as N-Quads, in a file beside it: :func:`snapshot_path`) when the snapshot was made from the
  store as it is now, else ``oxigraph dump`` of the store, written to a new snapshot as it streams.
  Reading a file is what the engine can parse as fast as it comes (1M quads: the engine's own load
  time, about 5 s); dumping RocksDB is not (about twice as long, and a core busy for it), so it is done
  once per store. A snapshot is the store's when its first line names the store's files as they are
  (names, sizes and modification times of RocksDB's files: any write changes them), so a rebuilt or
  changed store never loads a stale one.
- :func:`from_process`: an ``oxigraph serve`` we run over the store on disk (the durable store of a
  writable service): its whole dataset, streamed from its Graph Store endpoint.

Writable services with one process load from a backup of the store (:func:`from_store` on it, without
a snapshot: the store changes with every write).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from kg.engine import spawning
from kg.engine.client import SparqlClient
from kg.errors import StoreError

log = logging.getLogger("alatau_kg.engine")

Dataset = bytes | Iterable[bytes]  # N-Quads, whole or in chunks
CHUNK = 1 << 20
_HEADER = "# alatau-kg engine snapshot of {stamp}\n"


def snapshot_path(store: Path) -> Path:
    """Where the snapshot of ``store`` is kept: beside it (``build/store`` → ``build/store.nq``)."""
    return store.with_name(store.name + ".nq")


def store_stamp(store: Path) -> str:
    """What the store's files are now (RocksDB's own log and lock files aside): any write changes it."""
    digest = hashlib.sha256()
    for entry in sorted(store.iterdir()):
        if entry.is_file() and not entry.name.startswith(("LOG", "LOCK")):
            stat = entry.stat()
            digest.update(f"{entry.name} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def from_store(store: Path, binary: str, *, snapshot: bool = True) -> Iterator[bytes]:
    """The quads of the store at ``store`` as N-Quads chunks: from its snapshot, or dumped (and, with
    ``snapshot``, kept as its new snapshot)."""
    stamp = store_stamp(store)
    header = _HEADER.format(stamp=stamp).encode()
    kept = snapshot_path(store)
    if snapshot:
        with contextlib.suppress(OSError), kept.open("rb") as source:
            if source.readline() == header:
                log.info("loading the engine from the snapshot %s", kept)
                yield header
                while chunk := source.read(CHUNK):
                    yield chunk
                return
    yield from _dump(store, binary, kept if snapshot else None, header, stamp)


def _dump(store: Path, binary: str, kept: Path | None, header: bytes, stamp: str) -> Iterator[bytes]:
    dump = spawning.popen(
        [binary, "dump", "--location", str(store), "--format", "nq"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    partial = kept.with_name(f"{kept.name}.{os.getpid()}.partial") if kept is not None else None
    sink = None
    if partial is not None:
        try:
            sink = partial.open("wb")
            sink.write(header)
        except OSError as exc:  # a store in a read-only place: load without keeping a snapshot
            log.warning("cannot write the engine snapshot %s: %s", partial, exc)
    try:
        yield header  # a comment line: the same bytes whether dumped or read back
        assert dump.stdout is not None
        while chunk := dump.stdout.read(CHUNK):
            if sink is not None:
                sink.write(chunk)
            yield chunk
        _, errors = dump.communicate()
        if dump.returncode != 0:
            raise StoreError(f"oxigraph dump of {store} failed: {errors.decode('utf-8', 'replace')[-500:]}")
        if sink is not None and partial is not None and kept is not None:
            sink.close()
            if store_stamp(store) == stamp:  # the store did not change while it was dumped
                os.replace(partial, kept)
                log.info("kept the engine snapshot %s", kept)
    finally:
        if dump.poll() is None:
            dump.kill()
            dump.wait()
        if sink is not None:
            sink.close()
        if partial is not None:
            with contextlib.suppress(OSError):
                partial.unlink()


def from_process(client: SparqlClient, *, timeout_s: float = 600.0) -> Iterator[bytes]:
    """The whole dataset of an ``oxigraph serve`` (its Graph Store endpoint's ``GET``, as N-Quads)."""
    yield from client.stream("GET", client.store_url, accept="application/n-quads", timeout_s=timeout_s)
