"""Graceful shutdown of a real server process on SIGTERM / SIGINT."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from extplane.runtime.channels import create_channel
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

SCRIPT = Path(__file__).with_name("runtime_serve_slow.py")
WAIT_S = 60
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
REQUEST = capabilities_pb2.CapabilitiesRequest()


class ServerProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    async def wait_for_line(self, prefix: str) -> str:
        assert self.process.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.process.stdout.readline(), WAIT_S)
            if not raw:
                raise AssertionError(f"server exited before printing {prefix!r}: {self.lines}")
            line = raw.decode().strip()
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    async def exit_code(self) -> int:
        return await asyncio.wait_for(self.process.wait(), WAIT_S)


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    env = {
        **os.environ,
        "EXTPLANE_SHUTDOWN_GRACE_S": "600",
        "EXTPLANE_METRICS__PORT": "0",
        "EXTPLANE_LOGGING__LEVEL": "DEBUG",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        stdout=asyncio.subprocess.PIPE,
        stderr=(tmp_path / "stderr.log").open("wb"),
        env=env,
        cwd=tmp_path,
    )
    server = ServerProcess(process)
    yield server
    if process.returncode is None:
        process.kill()
        await process.wait()


def watch_health(channel: grpc.aio.Channel) -> Any:
    return health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))


async def read_until(watch: Any, status: int) -> None:
    while True:
        update = await asyncio.wait_for(watch.read(), WAIT_S)
        assert update is not grpc.aio.EOF, f"health watch ended before status {status}"
        if update.status == status:
            return


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_signal_drains_the_call_in_flight_refuses_new_ones_and_exits_zero(
    serve: ServerProcess, signum: signal.Signals
) -> None:
    port = int((await serve.wait_for_line("port ")).split()[1])
    async with create_channel(f"127.0.0.1:{port}") as channel:
        stub = capabilities_pb2_grpc.CapabilityProviderStub(channel)
        watch = watch_health(channel)
        await read_until(watch, SERVING)
        in_flight = asyncio.ensure_future(
            stub.Capabilities(REQUEST, metadata=[("x-until-drain", "1")], timeout=WAIT_S)
        )
        await serve.wait_for_line("entered")

        serve.process.send_signal(signum)
        await read_until(watch, NOT_SERVING)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Capabilities(REQUEST, timeout=WAIT_S)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE

        response = await asyncio.wait_for(in_flight, WAIT_S)
        assert response.snapshot.features["slow"] is True

    assert await serve.exit_code() == 0
    assert serve.process.stdout is not None
    lines = serve.lines + (await serve.process.stdout.read()).decode().splitlines()
    assert lines.index("draining") < lines.index("finished") < lines.index("exited")


async def test_second_signal_cuts_the_drain_short(serve: ServerProcess) -> None:
    port = int((await serve.wait_for_line("port ")).split()[1])
    async with create_channel(f"127.0.0.1:{port}") as channel:
        stub = capabilities_pb2_grpc.CapabilityProviderStub(channel)
        watch = watch_health(channel)
        await read_until(watch, SERVING)
        # Far longer than the wait below, and the grace period is 600 s.
        stuck = asyncio.ensure_future(
            stub.Capabilities(REQUEST, metadata=[("x-delay-s", "3600")], timeout=3600)
        )
        await serve.wait_for_line("entered")
        serve.process.send_signal(signal.SIGTERM)
        await read_until(watch, NOT_SERVING)
        serve.process.send_signal(signal.SIGTERM)

        assert await serve.exit_code() == 0
        with pytest.raises(grpc.aio.AioRpcError) as cut:
            await asyncio.wait_for(stuck, WAIT_S)
        assert cut.value.code() is grpc.StatusCode.UNAVAILABLE
