"""Components on local disk, content-addressed: `<cache dir>/components/<sha256>.wasm`.

A component is fetched from the registry once per runner (concurrent first
uses share one fetch), checked against its hash, and written atomically
(a temporary file renamed into place), so a worker never reads half a file
and every process sharing the cache directory sees the same bytes. A file
already present is checked once per process before it is trusted.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from extplane.errors import ExtplaneServerError, StartupError

Fetch = Callable[[str, float | None], Awaitable[bytes]]
"""(sha256, seconds left) -> the component's bytes."""

_SHA256 = re.compile(r"[0-9a-f]{64}")


class ComponentMismatchError(ExtplaneServerError):
    """The registry answered bytes whose hash is not the one asked for."""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _verified(path: Path, sha256: str) -> bool:
    try:
        return _digest(path.read_bytes()) == sha256
    except FileNotFoundError:
        return False


class ComponentFiles:
    def __init__(self, cache_dir: Path, fetch: Fetch) -> None:
        self.directory = cache_dir / "components"
        self._fetch = fetch
        self._verified: set[str] = set()
        self._fetching: dict[str, asyncio.Task[Path]] = {}
        self.fetches = 0

    def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StartupError(
                f"cannot create the runner's cache {self.directory}: {error.strerror}"
            ) from None

    def path_of(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ComponentMismatchError(f"{sha256!r} is not a sha256")
        return self.directory / f"{sha256}.wasm"

    async def local(self, sha256: str, remaining_s: float | None = None) -> Path:
        """The file holding the component, fetched first if this runner lacks it."""
        path = self.path_of(sha256)
        if sha256 in self._verified:
            return path
        task = self._fetching.get(sha256)
        if task is None:
            task = asyncio.ensure_future(self._obtain(sha256, path, remaining_s))
            self._fetching[sha256] = task
            task.add_done_callback(lambda _: self._fetching.pop(sha256, None))
        # Shielded: one caller giving up does not cancel the fetch the others wait on.
        return await asyncio.shield(task)

    async def _obtain(self, sha256: str, path: Path, remaining_s: float | None) -> Path:
        if not await asyncio.to_thread(_verified, path, sha256):
            data = await self._fetch(sha256, remaining_s)
            self.fetches += 1
            if _digest(data) != sha256:
                raise ComponentMismatchError(
                    f"the registry answered other bytes for component {sha256}"
                )
            await asyncio.to_thread(_write_atomically, path, data)
        self._verified.add(sha256)
        return path
