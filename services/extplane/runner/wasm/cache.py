"""The compile cache of one worker process: in memory, and serialized on disk.

A component is compiled once per content hash and engine configuration.
In memory: the compiled `Component` by (sha256, engine fingerprint). On disk,
shared by every worker process of the runner, under
`<dir>/<fingerprint>/`: `<sha256>.json` names the artifact and its own
sha256, and the artifact file `<sha256>-<artifact digest>.cwasm` is never
rewritten with other bytes (its name holds its digest), so a reader that
checked the digest loads what it checked even while another process writes.

Loading a serialized artifact trusts its bytes (wasmtime maps it and runs
it), so an artifact is loaded only when its size and sha256 match its
metadata; wasmtime itself refuses one built for another configuration. A
missing, corrupt or refused artifact is compiled again and rewritten; it never
fails the execution. Both files are written to a temporary name and renamed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import wasmtime
from wasmtime.component import Component

from extplane.runner.wasm.engine import EngineSpec

_logger = logging.getLogger(__name__)
_READ_CHUNK = 1024 * 1024


class ComponentContentError(Exception):
    """The component file does not hold the bytes its sha256 names."""


@dataclass
class CacheStats:
    """What the cache did in this process (tests and metrics read it)."""

    compiles: int = 0
    disk_loads: int = 0
    memory_hits: int = 0
    # Disk artifacts found but not used (corrupt, or refused by the engine).
    disk_rejects: int = 0
    disk_writes: int = 0


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomically(path: Path, data: bytes | bytearray) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class CompileCache:
    """Compiled components by (content sha256, engine); `directory` None: memory only."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.stats = CacheStats()
        self._compiled: dict[tuple[str, str], Component] = {}
        self._lock = threading.Lock()

    def get(
        self, engine: wasmtime.Engine, spec: EngineSpec, sha256: str, component_path: str
    ) -> Component:
        key = (sha256, spec.fingerprint)
        with self._lock:
            found = self._compiled.get(key)
            if found is not None:
                self.stats.memory_hits += 1
                return found
            component = self._load(engine, spec, sha256)
            if component is None:
                component = self._compile(engine, spec, sha256, Path(component_path))
            self._compiled[key] = component
            return component

    def _paths(self, spec: EngineSpec, sha256: str) -> tuple[Path, Path] | None:
        if self.directory is None:
            return None
        folder = self.directory / spec.fingerprint
        return folder, folder / f"{sha256}.json"

    def _load(self, engine: wasmtime.Engine, spec: EngineSpec, sha256: str) -> Component | None:
        paths = self._paths(spec, sha256)
        if paths is None or not paths[1].is_file():
            return None
        folder, meta_path = paths
        try:
            meta = json.loads(meta_path.read_text())
            artifact = folder / str(meta["artifact"])
            if artifact.parent != folder or artifact.stat().st_size != int(meta["size"]):
                raise ValueError("artifact size differs from its metadata")
            if _file_digest(artifact) != meta["sha256"]:
                raise ValueError("artifact digest differs from its metadata")
            component = Component.deserialize_file(engine, str(artifact))
        except (OSError, ValueError, KeyError, TypeError, wasmtime.WasmtimeError) as err:
            self.stats.disk_rejects += 1
            _logger.warning("compiled artifact of %s not used (%s): compiling again", sha256, err)
            return None
        self.stats.disk_loads += 1
        return component

    def _compile(
        self, engine: wasmtime.Engine, spec: EngineSpec, sha256: str, path: Path
    ) -> Component:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ComponentContentError(f"component file {path} does not match sha256 {sha256}")
        component = Component(engine, data)
        self.stats.compiles += 1
        paths = self._paths(spec, sha256)
        if paths is not None:
            try:
                self._store(component, *paths, sha256)
            except OSError as err:
                # The execution goes on from memory; the next process compiles again.
                _logger.warning("could not write the compiled artifact of %s: %s", sha256, err)
        return component

    def _store(self, component: Component, folder: Path, meta_path: Path, sha256: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        serialized = component.serialize()
        digest = hashlib.sha256(serialized).hexdigest()
        artifact = folder / f"{sha256}-{digest[:32]}.cwasm"
        _write_atomically(artifact, serialized)
        meta = {"artifact": artifact.name, "sha256": digest, "size": len(serialized)}
        _write_atomically(meta_path, json.dumps(meta).encode())
        self.stats.disk_writes += 1
