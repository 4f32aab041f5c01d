"""The Python metering adapter delivering to a MeteringSink written in TypeScript.

The sink is `clients/typescript/examples/metering-sink.ts`: it implements only
the seed's `RecordMetering` (the batch RPC answers UNIMPLEMENTED) and prints one
JSON line per event it is sent. Built with `npm run build`, run with Node as a
subprocess; everything talks over loopback.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from extplane_client import DeliveryOptions, GrpcMeteringSink
from extplane_protos.orloj.extensions.v1 import metering_pb2
from tests.adapter.sinks import wait_until
from tests.loopback import unused_port
from tests.polyglot.conftest import EXAMPLES_DIST

SINK_SCRIPT = EXAMPLES_DIST / "metering-sink.js"
STARTUP_TIMEOUT_S = 30.0
WAIT_S = 30.0
OPTIONS = DeliveryOptions(max_delay=0.02, initial_backoff=0.005, max_backoff=0.05)


@dataclass
class NodeSink:
    process: asyncio.subprocess.Process
    port: int
    lines: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def collect(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(json.loads(line))
            self.arrived.set()

    async def wait_for_lines(self, count: int) -> None:
        async def enough() -> None:
            while len(self.lines) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), WAIT_S)


@asynccontextmanager
async def typescript_sink(node: str, port: int = 0) -> AsyncIterator[NodeSink]:
    process = await asyncio.create_subprocess_exec(
        node,
        str(SINK_SCRIPT),
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    collecting: asyncio.Task[None] | None = None
    try:
        try:
            first = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT_S)
        except TimeoutError:
            pytest.fail(f"TypeScript sink printed nothing in {STARTUP_TIMEOUT_S}s")
        words = first.decode().split()
        if len(words) != 2 or words[0] != "listening":
            stderr = (await process.stderr.read()).decode()
            pytest.fail(f"TypeScript sink did not start: {first!r}\n{stderr}")
        sink = NodeSink(process, int(words[1]))
        collecting = asyncio.create_task(sink.collect())
        yield sink
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), WAIT_S)
            except TimeoutError:
                process.kill()
                await process.wait()
        if collecting is not None:
            await collecting  # ends at the closed stdout


def event(index: int, **fields: Any) -> metering_pb2.MeteringEvent:
    values: dict[str, Any] = {"namespace": "team-a", "task": f"task-{index}", "tokens_in": 10}
    values.update(fields)
    return metering_pb2.MeteringEvent(**values)


async def test_every_event_reaches_the_typescript_sink_once_through_the_unary_rpc(
    node: str,
) -> None:
    async with typescript_sink(node) as served:
        sink = GrpcMeteringSink(served.address, options=OPTIONS)
        try:
            for index in range(200):
                sink.record(event(index))
            # A refused event (the sink checks counters) costs only itself.
            sink.record(event(200, tokens_in=-1))
            # A caller's own retry of an event: acknowledged, and the sink says duplicate.
            sink.record(event(201, event_id="retried-by-the-caller"))
            sink.record(event(201, event_id="retried-by-the-caller"))
            assert await asyncio.to_thread(sink.flush, WAIT_S)
            await served.wait_for_lines(202)
            stats = sink.stats()
        finally:
            await asyncio.to_thread(sink.close, WAIT_S)

    assert stats.batch_mode is False
    assert stats.delivered == 202
    assert stats.rejected == 1
    generated = [line for line in served.lines if line["task"] != "task-201"]
    assert sorted(line["task"] for line in generated) == sorted(f"task-{i}" for i in range(200))
    assert not any(line["duplicate"] for line in generated)
    ids = [line["event_id"] for line in generated]
    assert len(set(ids)) == 200
    assert all(uuid.UUID(event_id).version == 7 for event_id in ids)
    retried = [line["duplicate"] for line in served.lines if line["task"] == "task-201"]
    assert retried == [False, True]


async def test_events_recorded_before_the_typescript_sink_starts_arrive_once(node: str) -> None:
    port = unused_port()
    sink = GrpcMeteringSink(f"127.0.0.1:{port}", options=OPTIONS)
    try:
        for index in range(100):
            sink.record(event(index))
        # Nothing listens yet: the adapter retries, and keeps the events.
        await asyncio.to_thread(
            wait_until, lambda: sink.stats().retries >= 2, what="retries against the dead port"
        )
        assert sink.stats().queued == 100

        async with typescript_sink(node, port) as served:
            assert await asyncio.to_thread(sink.flush, WAIT_S)
            await served.wait_for_lines(100)
            stats = sink.stats()
    finally:
        await asyncio.to_thread(sink.close, WAIT_S)

    assert stats.delivered == 100
    assert stats.batch_mode is False
    arrivals = Counter(line["task"] for line in served.lines)
    assert arrivals == Counter({f"task-{i}": 1 for i in range(100)})
