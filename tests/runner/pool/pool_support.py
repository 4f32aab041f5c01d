"""What the pool tests share: the checkpoint server the `checkpoint` job reports to,
and a pool of the test jobs."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from extplane.runner.pool import WorkerPool

# Safety bounds so a broken pool fails a test instead of hanging it; never asserted on.
ARRIVAL_TIMEOUT_S = 60.0
SAFETY_DEADLINE_S = 60.0


def target(function: str) -> str:
    return f"pool_jobs:{function}"


@dataclass
class Arrival:
    """A `checkpoint` job that reported in: its worker's pid, and the line to answer it."""

    pid: int
    writer: asyncio.StreamWriter

    async def answer(self, command: str) -> None:
        self.writer.write(f"{command}\n".encode())
        await self.writer.drain()
        self.writer.close()


class Checkpoints:
    """A Unix socket server: each `checkpoint` job's connection is one arrival."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._arrivals: asyncio.Queue[Arrival] = asyncio.Queue()
        self._open: list[asyncio.StreamWriter] = []

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.append(writer)
        line = await reader.readline()
        await self._arrivals.put(Arrival(int(line), writer))

    async def arrival(self) -> Arrival:
        """The next job to report in (awaited, bounded only as a safety net)."""
        return await asyncio.wait_for(self._arrivals.get(), ARRIVAL_TIMEOUT_S)

    def close_all(self) -> None:
        for writer in self._open:
            writer.close()


@asynccontextmanager
async def checkpoints() -> AsyncIterator[Checkpoints]:
    # Unix socket paths are short (108 bytes): a directory of our own under /tmp.
    with tempfile.TemporaryDirectory(prefix="pool-") as directory:
        served = Checkpoints(str(Path(directory) / "c.sock"))
        server = await asyncio.start_unix_server(served._connected, path=served.socket_path)
        try:
            yield served
        finally:
            served.close_all()
            server.close()
            await server.wait_closed()


@asynccontextmanager
async def running_pool(
    function: str = "call", *, registry: CollectorRegistry | None = None, **options: Any
) -> AsyncIterator[WorkerPool[Any, Any]]:
    """A started pool of `pool_jobs:<function>` (by default `call`: any test job)."""
    pool: WorkerPool[Any, Any] = WorkerPool(target(function), registry=registry, **options)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.drain(0)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, {"pool": "wasm", **labels})
    return 0.0 if value is None else value
